"""Erasing the personal data of closed cases whose retention has ended, the audit chain intact.

Storage limitation (GDPR art. 5(1)(e), Convention 108+ art. 5(4)(e)) and the
right to erasure (art. 17) meet a log nobody may rewrite. Nothing here
touches an audit event: the events name fields and hold keyed hashes of the
values (engine/case_values.py), so erasure clears what lies beside the chain
(the recorded values, the case's stored state, the messages it sent), drops
the case's hash key, and appends one ``personal_data_erased`` event. What
the domain keeps for statistics (``Hooks.kept_after_erasure``: categories,
never identities) survives; everything else is gone for good.

A case is erased only once it is closed: the process of an open case still
needs its data. Its retention date is the one its process set
(``Hooks.retention_date``, recorded when it closed), else the deployment's
retention period after closing; the domain may also have a case erased the
moment it closes (``Hooks.erase_at_close``: an adult who withdrew consent).
"""

from __future__ import annotations

import gzip
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import Session

from engine import audit
from engine.clock import Clock
from engine.db import Database
from engine.errors import CaseNotFound, EngineError
from engine.hooks import Hooks
from engine.models import CaseValue, OutboundMessage, ProcessInstance, WorkItem

ERASED_ACTION = "personal_data_erased"
RETENTION_ENDED = "retention_ended"
ERASURE_REQUEST = "erasure_request"
# where a stored state keeps case data: the workflow's data and correlations, a task's data
# (its delta's "updates" for a task with a parent), and the payload a caught message left
_DATA_KEYS = frozenset({"data", "updates", "correlations", "event_value"})


class ErasureRefused(EngineError):
    """The case is open, or already erased: nothing was changed."""


@dataclass(frozen=True)
class Erasure:
    instance_id: int
    reference: str
    values_erased: int
    fields_kept: tuple[str, ...]

    def to_json(self) -> dict[str, Any]:
        return {
            "case_id": self.instance_id,
            "reference": self.reference,
            "values_erased": self.values_erased,
            "fields_kept": list(self.fields_kept),
        }


def due_for_erasure(db: Database, now: datetime, retention_days: int) -> list[tuple[int, str]]:
    """(id, reference) of every closed, unerased case whose retention date has passed."""
    default_cut = now - timedelta(days=retention_days)
    query = (
        select(ProcessInstance.id, ProcessInstance.business_key)
        .where(
            ProcessInstance.status == "completed",
            ProcessInstance.erased_at.is_(None),
            or_(
                ProcessInstance.retain_until <= now,
                and_(
                    ProcessInstance.retain_until.is_(None),
                    ProcessInstance.completed_at <= default_cut,
                ),
            ),
        )
        .order_by(ProcessInstance.id)
    )
    with db.reader() as session:
        return [(row.id, row.business_key) for row in session.execute(query)]


def erase_case(
    db: Database,
    clock: Clock,
    instance_id: int,
    kept: frozenset[str],
    actor: str,
    grounds: dict[str, str],
) -> Erasure:
    """Erase one closed case's personal data in one transaction; ``grounds`` go in the audit.

    ``grounds`` is ``{"reason": RETENTION_ENDED}`` or, for a verified request,
    ``{"reason": ERASURE_REQUEST, "request": <its reference>, "verified_by": <who>}``.
    """
    now = clock.now()
    with db.transaction() as session:
        instance = session.get(
            ProcessInstance, instance_id, with_for_update={"of": ProcessInstance}
        )
        if instance is None:
            raise CaseNotFound(f"no case {instance_id}")
        return erase_closed(session, instance, kept, actor, grounds, now)


def erase_closed(
    session: Session,
    instance: ProcessInstance,
    kept: frozenset[str],
    actor: str,
    grounds: dict[str, str],
    now: datetime,
) -> Erasure:
    """Erase a closed case within the caller's transaction (also at the close itself)."""
    _refuse_unless_closed(session, instance)
    instance.state = _scrubbed_state(instance.state, kept)
    instance.value_key = None
    instance.erased_at = now
    erased = _erase_values(session, instance.id, kept, now)
    _erase_messages(session, instance.id, kept)
    kept_fields = tuple(sorted(kept))
    event = audit.PendingEvent(
        actor,
        ERASED_ACTION,
        instance.id,
        None,
        instance.model_version_id,
        {**grounds, "values_erased": erased, "fields_kept": list(kept_fields)},
    )
    audit.append(session, [event], now)
    return Erasure(instance.id, instance.business_key, erased, kept_fields)


def on_close(
    session: Session,
    instance: ProcessInstance,
    data: dict[str, Any],
    hooks: Hooks,
    actor: str,
    now: datetime,
) -> None:
    """As a case closes: note the retention date its data sets, or erase it now if the domain
    says so (an adult who withdrew consent)."""
    instance.retain_until = hooks.retention_date(data)
    reason = hooks.erase_at_close(data)
    if reason is not None:
        erase_closed(session, instance, hooks.kept_after_erasure, actor, {"reason": reason}, now)


def _refuse_unless_closed(session: Session, instance: ProcessInstance) -> None:
    if instance.erased_at is not None:
        raise ErasureRefused(f"case {instance.business_key} was already erased")
    if (
        instance.status != "completed"
        or session.scalars(
            select(WorkItem.id).where(WorkItem.instance_id == instance.id).limit(1)
        ).first()
    ):
        raise ErasureRefused(
            f"case {instance.business_key} is still open: its process needs its data until "
            "it closes (an adult who withdraws consent ends protection; the case then closes)"
        )


def _erase_values(session: Session, instance_id: int, kept: frozenset[str], now: datetime) -> int:
    erased = session.execute(
        update(CaseValue)
        .where(
            CaseValue.instance_id == instance_id,
            CaseValue.erased_at.is_(None),
            CaseValue.field.not_in(kept),
        )
        .values(before=None, after=None, erased_at=now)
    )
    return int(erased.rowcount)


def _erase_messages(session: Session, instance_id: int, kept: frozenset[str]) -> None:
    """What the case sent to partners or by hand is case data too; the envelope stays."""
    for message in session.scalars(
        select(OutboundMessage).where(OutboundMessage.instance_id == instance_id)
    ):
        message.payload = json.dumps(_kept(json.loads(message.payload), kept), sort_keys=True)


def _scrubbed_state(packed: bytes, kept: frozenset[str]) -> bytes:
    """The stored state with every data mapping cut to ``kept``: it still loads and draws."""
    document = json.loads(gzip.decompress(packed))
    _scrub(document, kept)
    return gzip.compress(json.dumps(document).encode("utf-8"))


def _scrub(node: Any, kept: frozenset[str]) -> None:
    if isinstance(node, list):
        for item in node:
            _scrub(item, kept)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key in _DATA_KEYS and isinstance(value, dict):
                node[key] = _kept(value, kept)
            else:
                _scrub(value, kept)


def _kept(values: Any, kept: frozenset[str]) -> Any:
    if not isinstance(values, dict):
        return {}
    return {name: value for name, value in values.items() if name in kept}
