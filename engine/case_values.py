"""What people answered, kept beside the audit chain so it can be erased without breaking it.

The trail must show who decided what, yet the person's data must go when its
retention ends (GDPR art. 5(1)(e), 17). A hash chain cannot forget: rewriting
one payload breaks every later hash. So a ``task_completed`` event holds each
changed field's name and an HMAC of its old and new value under the case's
own key, and the values themselves live in ``case_value`` rows next to it.
While the case's data is kept, each row can be checked against its event;
erasure clears the rows and drops the key, after which the hashes point to
nothing (a guessed value cannot be confirmed) and the chain still verifies.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import audit
from engine.models import AuditEvent, CaseValue, ProcessInstance

KEY_BYTES = 32
ERASED = "erased"


def new_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


def key_of(instance: ProcessInstance) -> bytes:
    """The case's hash key, made on first use for a case stored before keys existed.

    Only a closed case is erased (its key dropped), and a closed case takes no answers.
    """
    if instance.value_key is None:
        instance.value_key = new_key()
    return instance.value_key


def keyed_hash(key: bytes, value: Any) -> str:
    """The HMAC-SHA256 of a value's canonical JSON: equal values, equal hashes, per case."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()


def hashed_changes(key: bytes, changes: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """What the audit keeps of ``audit.field_changes``: names, and hashes for the values."""
    return {
        name: {"from": keyed_hash(key, change["from"]), "to": keyed_hash(key, change["to"])}
        for name, change in changes.items()
    }


def journal(
    session: Session, pending: Iterable[audit.PendingEvent], written: Iterable[AuditEvent]
) -> None:
    """Store the values of the events just appended that carry some, under their sequence."""
    for event, stored in zip(pending, written, strict=True):
        for name, change in (event.values or {}).items():
            session.add(
                CaseValue(
                    instance_id=stored.instance_id,
                    audit_seq=stored.seq,
                    field=name,
                    before=json.dumps(change["from"], ensure_ascii=False),
                    after=json.dumps(change["to"], ensure_ascii=False),
                )
            )


@dataclass(frozen=True)
class RecordedValue:
    """A field's values as a submission changed them, or ``erased``."""

    before: Any
    after: Any
    erased: bool


def values_of(session: Session, instance_id: int) -> dict[int, dict[str, RecordedValue]]:
    """Every recorded value of a case, by the sequence number of its event, then by field."""
    found: dict[int, dict[str, RecordedValue]] = {}
    query = select(CaseValue).where(CaseValue.instance_id == instance_id)
    for row in session.scalars(query):
        found.setdefault(row.audit_seq, {})[row.field] = recorded(row)
    return found


def submitted_values(session: Session) -> dict[int, dict[str, Any]]:
    """Every kept value as its submission set it, by event sequence number: for aggregates."""
    found: dict[int, dict[str, Any]] = {}
    query = select(CaseValue.audit_seq, CaseValue.field, CaseValue.after).where(
        CaseValue.erased_at.is_(None)
    )
    for seq, name, after in session.execute(query.execution_options(yield_per=5000)):
        found.setdefault(seq, {})[name] = _load(after)
    return found


def recorded(row: CaseValue) -> RecordedValue:
    if row.erased_at is not None:
        return RecordedValue(None, None, True)
    return RecordedValue(_load(row.before), _load(row.after), False)


def mismatches(session: Session, instance: ProcessInstance) -> list[tuple[int, str]]:
    """(sequence, field) of every kept value its audit event does not vouch for.

    Empty once the case is erased: there is no key left to check with.
    """
    key = instance.value_key
    if key is None:
        return []
    payloads = dict(
        session.execute(
            select(AuditEvent.seq, AuditEvent.payload).where(
                AuditEvent.instance_id == instance.id, AuditEvent.action == "task_completed"
            )
        ).all()
    )
    wrong = []
    query = select(CaseValue).where(
        CaseValue.instance_id == instance.id, CaseValue.erased_at.is_(None)
    )
    for row in session.scalars(query.order_by(CaseValue.audit_seq, CaseValue.field)):
        hashes = json.loads(payloads.get(row.audit_seq, "{}")).get("changes", {}).get(row.field)
        value = recorded(row)
        expected = {"from": keyed_hash(key, value.before), "to": keyed_hash(key, value.after)}
        if hashes != expected:
            wrong.append((row.audit_seq, row.field))
    return wrong


def _load(text: str | None) -> Any:
    return None if text is None else json.loads(text)
