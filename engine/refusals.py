"""Refused attempts on a case or work item are audited, after the attempt rolled back.

An id in a URL is easy to forge. The person gets the answer a missing id
gets; the auditor gets an ``access_refused`` event naming who tried which
case, written in a transaction of its own because the attempt's is gone.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from engine import audit
from engine.clock import Clock
from engine.db import Database
from engine.errors import AccessRefused

ACTION = "access_refused"


@contextmanager
def audited_refusals(db: Database, clock: Clock) -> Iterator[None]:
    """Around a transaction: an :class:`AccessRefused` leaving it is recorded, then re-raised."""
    try:
        yield
    except AccessRefused as refused:
        record_refusal(db, clock, refused)
        raise


def record_refusal(db: Database, clock: Clock, refused: AccessRefused) -> None:
    with db.transaction() as session:
        event = audit.PendingEvent(
            refused.actor,
            ACTION,
            refused.instance_id,
            refused.task_id,
            None,
            {"attempt": refused.attempt},
        )
        audit.append(session, [event], clock.now())
