"""The append-only audit log, chained with SHA-256 so no edit goes unnoticed.

Each event's hash covers the previous event's hash and the event's canonical
JSON. Appending locks the single head row, which orders the chain across
processes and hosts; the head also reveals events cut from the end.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.clock import as_utc
from engine.models import AuditEvent, AuditHead

GENESIS_HASH = "0" * 64
_HEAD_ID = 1


# the stored fields an event's hash covers, in the order an export writes them
HASHED_FIELDS = (
    "seq",
    "at",
    "actor",
    "action",
    "instance_id",
    "task_id",
    "model_version_id",
    "payload",
    "prev_hash",
)


def format_at(moment: datetime) -> str:
    """An event's time as it is hashed: ISO 8601 UTC to the microsecond."""
    return as_utc(moment).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_fields(event: AuditEvent) -> dict[str, Any]:
    """The hashed fields of a stored event as plain values: what an export carries."""
    return {
        "seq": event.seq,
        "at": format_at(event.at),
        "actor": event.actor,
        "action": event.action,
        "instance_id": event.instance_id,
        "task_id": event.task_id,
        "model_version_id": event.model_version_id,
        "payload": event.payload,
        "prev_hash": event.prev_hash,
    }


def canonical_fields(fields: Mapping[str, Any]) -> str:
    """The exact text that is hashed, from plain values, so an export verifies offline."""
    body = {name: fields[name] for name in HASHED_FIELDS}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def fields_hash(fields: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_fields(fields).encode("utf-8")).hexdigest()


def canonical_event(event: AuditEvent) -> str:
    """The exact text that is hashed; any change to a stored field changes it."""
    return canonical_fields(event_fields(event))


def event_hash(event: AuditEvent) -> str:
    return fields_hash(event_fields(event))


@dataclass(frozen=True)
class PendingEvent:
    """An event collected during a step, written when the transaction closes."""

    actor: str
    action: str
    instance_id: int | None = None
    task_id: str | None = None
    model_version_id: int | None = None
    payload: dict[str, Any] | None = None
    # field → {"from", "to"} values whose keyed hashes the payload holds: written beside the
    # chain by engine/case_values.py, never into it, so they can be erased later
    values: dict[str, Any] | None = field(default=None, compare=False)


def field_changes(before: dict[str, Any], submitted: dict[str, Any]) -> dict[str, Any]:
    """What a form submission changed, field by field: "who decided what" for the trail."""
    return {
        name: {"from": before.get(name), "to": value}
        for name, value in sorted(submitted.items())
        if before.get(name) != value
    }


def append(session: Session, events: Iterable[PendingEvent], at: datetime) -> list[AuditEvent]:
    """Append events at the end of the chain; call last in a transaction to keep the lock short."""
    head = session.scalars(
        select(AuditHead).where(AuditHead.id == _HEAD_ID).with_for_update()
    ).one_or_none()
    if head is None:
        head = AuditHead(id=_HEAD_ID, seq=0, hash=GENESIS_HASH)
        session.add(head)
    written = []
    for pending in events:
        event = AuditEvent(
            seq=head.seq + 1,
            at=at,
            actor=pending.actor,
            action=pending.action,
            instance_id=pending.instance_id,
            task_id=pending.task_id,
            model_version_id=pending.model_version_id,
            payload=json.dumps(pending.payload or {}, sort_keys=True, ensure_ascii=False),
            prev_hash=head.hash,
        )
        event.hash = event_hash(event)
        session.add(event)
        head.seq, head.hash = event.seq, event.hash
        written.append(event)
    session.flush()
    return written


@dataclass(frozen=True)
class Verification:
    intact: bool
    count: int
    first_bad_seq: int | None = None
    reason: str = ""
    last_hash: str = GENESIS_HASH


def verify(session: Session, batch: int = 1000) -> Verification:
    """Walk the whole chain in order, streaming, and report the first break."""
    expected_seq, previous, count = 1, GENESIS_HASH, 0
    query = select(AuditEvent).order_by(AuditEvent.seq).execution_options(yield_per=batch)
    for event in session.scalars(query):
        problem = _check(event, expected_seq, previous)
        if problem:
            return Verification(False, count, expected_seq, problem, previous)
        previous, expected_seq, count = event.hash, expected_seq + 1, count + 1
    head = session.get(AuditHead, _HEAD_ID)
    head_seq, head_hash = (head.seq, head.hash) if head else (0, GENESIS_HASH)
    if (head_seq, head_hash) != (count, previous):
        return Verification(False, count, count + 1, "events missing after the last one", previous)
    return Verification(True, count, last_hash=previous)


def _check(event: AuditEvent, expected_seq: int, previous: str) -> str:
    if event.seq != expected_seq:
        return f"expected sequence {expected_seq}, found {event.seq} (deleted or reordered)"
    if event.prev_hash != previous:
        return "previous-hash link broken (deleted or reordered)"
    if event_hash(event) != event.hash:
        return "content does not match its hash (edited)"
    return ""
