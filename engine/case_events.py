"""A case's audit events for the people who check the mechanism (auditor, coordinator).

Reading them is itself audited. Submitted values are shown as the names of
the fields that changed, never the values: the trail says who decided what
and when; the case data stays behind need-to-know.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select

from engine import audit
from engine.audit_search import masked_payload
from engine.clock import Clock, as_utc
from engine.db import Database
from engine.errors import AccessRefused, CaseNotFound
from engine.models import AuditEvent, ProcessInstance
from engine.refusals import audited_refusals
from engine.users import find_user

MAX_EVENTS = 10_000


@dataclass(frozen=True)
class CaseEvent:
    seq: int
    at: datetime
    actor: str
    action: str
    task_id: str | None
    model_version_id: int | None
    payload: dict[str, Any]
    prev_hash: str
    hash: str


def case_events(
    db: Database, instance_id: int, actor: str, may_read: bool, clock: Clock
) -> list[CaseEvent]:
    """The case's events in order; ``may_read`` (the caller's permission) is the domain's call."""
    with audited_refusals(db, clock), db.transaction() as session:
        find_user(session, actor)
        instance = session.get(ProcessInstance, instance_id)
        if not may_read:
            refused_id = instance.id if instance is not None else None
            raise AccessRefused(
                f"'{actor}' may not read case histories", actor, "case_history", refused_id
            )
        if instance is None:
            raise CaseNotFound(f"no case {instance_id}")
        rows = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.instance_id == instance_id)
            .order_by(AuditEvent.seq)
            .limit(MAX_EVENTS)
        )
        events = [
            CaseEvent(
                row.seq,
                as_utc(row.at),
                row.actor,
                row.action,
                row.task_id,
                row.model_version_id,
                masked_payload(row.payload),
                row.prev_hash,
                row.hash,
            )
            for row in rows
        ]
        event = audit.PendingEvent(
            actor, "case_history_viewed", instance_id, payload={"events": len(events)}
        )
        audit.append(session, [event], clock.now())
        return events
