"""Reading the audit log as a person: search, export and the integrity check.

The log says who looked at whose case, so reading it is sensitive too: each
search, export and integrity check appends an event naming what was asked
(the filters), never what came back. Whether the reader may do it at all is
the domain's call, passed in as ``may_read`` (as for ``case_events``).

Every filter is served by an index: ``actor``, ``action`` and ``instance_id``
are indexed columns; an agency becomes the user names of its staff
(``app_user.username`` is unique) and a case reference its instance id
(``process_instance.business_key`` is unique). An event's agency is its
actor's agency today: the log records people, and people change agency rarely.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from engine import audit
from engine.clock import Clock, as_utc
from engine.db import Database
from engine.errors import NotAuthorized
from engine.models import AuditEvent, ProcessInstance, User

PAGE_SIZE = 50
EXPORT_BATCH = 500


@dataclass(frozen=True)
class AuditFilters:
    """What a reader narrows the log to; ``None`` means no narrowing. Time is [since, until)."""

    actor: str | None = None
    agency: str | None = None
    action: str | None = None
    case_reference: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def noted(self) -> dict[str, str]:
        """The filters as an audit payload: what was asked, in plain text."""
        values = {
            "actor": self.actor,
            "agency": self.agency,
            "action": self.action,
            "case_reference": self.case_reference,
            "since": audit.format_at(self.since) if self.since else None,
            "until": audit.format_at(self.until) if self.until else None,
        }
        return {name: value for name, value in values.items() if value is not None}


@dataclass(frozen=True)
class AuditRow:
    """One stored event exactly as stored, with its actor's agency and its case reference."""

    seq: int
    at: datetime
    actor: str
    agency: str | None
    action: str
    instance_id: int | None
    case_reference: str | None
    task_id: str | None
    model_version_id: int | None
    payload: str
    prev_hash: str
    hash: str

    @classmethod
    def of(cls, event: AuditEvent, agency: str | None, case_reference: str | None) -> AuditRow:
        return cls(
            event.seq,
            as_utc(event.at),
            event.actor,
            agency,
            event.action,
            event.instance_id,
            case_reference,
            event.task_id,
            event.model_version_id,
            event.payload,
            event.prev_hash,
            event.hash,
        )

    def hashed_fields(self) -> dict[str, Any]:
        """The fields the event's hash covers, as plain values: what an export carries."""
        fields = {name: getattr(self, name) for name in audit.HASHED_FIELDS}
        return fields | {"at": audit.format_at(self.at)}

    def masked_payload(self) -> dict[str, Any]:
        """The payload for a screen: submitted values become the names of the changed fields."""
        return masked_payload(self.payload)


@dataclass(frozen=True)
class AuditPage:
    rows: list[AuditRow]
    total: int
    page: int
    pages: int


@dataclass(frozen=True)
class SearchChoices:
    """The values the search form offers: every action in the log, every agency with staff."""

    actions: list[str]
    agencies: list[str]


@dataclass(frozen=True)
class ExportPlan:
    """An export fixed at the moment it was asked for: events up to ``through_seq`` only.

    Its audit event is committed before the first row is read, and the
    export never includes events appended while it streams (its own included).
    """

    filters: AuditFilters
    through_seq: int
    count: int


@dataclass(frozen=True)
class IntegrityCheck:
    verification: audit.Verification
    checked_at: datetime

    @property
    def head_seq(self) -> int:
        """The last event the check vouches for (the one before the break, if broken)."""
        return self.verification.count


def masked_payload(payload: str) -> dict[str, Any]:
    """A stored payload without submitted values: the idea of ``case_events``, for any event."""
    try:
        value = json.loads(payload)
    except ValueError:
        return {}
    if not isinstance(value, dict):
        return {}
    changes = value.get("changes")
    if isinstance(changes, dict):
        return {**value, "changes": sorted(changes)}
    return value


def search_page(
    db: Database, filters: AuditFilters, page: int, reader: str, may_read: bool, clock: Clock
) -> AuditPage:
    """The ``page``-th page (from 1, clamped), newest first; the search itself is audited."""
    _require(may_read, reader)
    conditions = _conditions(filters)
    with db.transaction() as session:
        total = _count(session, conditions)
        pages = max(1, -(-total // PAGE_SIZE))
        page = min(max(1, page), pages)
        seqs = list(
            session.scalars(
                select(AuditEvent.seq)
                .where(*conditions)
                .order_by(AuditEvent.seq.desc())
                .limit(PAGE_SIZE)
                .offset((page - 1) * PAGE_SIZE)
            )
        )
        rows = [
            AuditRow.of(event, agency, reference)
            for event, agency, reference in session.execute(
                _with_context(select(AuditEvent, User.agency, ProcessInstance.business_key))
                .where(AuditEvent.seq.in_(seqs))
                .order_by(AuditEvent.seq.desc())
            )
        ]
        noted = {"filters": filters.noted(), "page": page, "total": total}
        audit.append(
            session, [audit.PendingEvent(reader, "audit_searched", payload=noted)], clock.now()
        )
        return AuditPage(rows, total, page, pages)


def search_choices(db: Database) -> SearchChoices:
    with db.reader() as session:
        actions = session.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action))
        agencies = session.scalars(
            select(User.agency).where(User.agency.is_not(None)).distinct().order_by(User.agency)
        )
        return SearchChoices(list(actions), [a for a in agencies if a])


def begin_export(
    db: Database,
    filters: AuditFilters,
    reader: str,
    may_read: bool,
    clock: Clock,
    export_format: str,
) -> ExportPlan:
    """Fix what an export holds and audit it, before a single row leaves the database."""
    _require(may_read, reader)
    conditions = _conditions(filters)
    with db.transaction() as session:
        through = session.scalar(select(func.max(AuditEvent.seq))) or 0
        count = _count(session, [*conditions, AuditEvent.seq <= through])
        noted = {
            "filters": filters.noted(),
            "count": count,
            "through_seq": through,
            "format": export_format,
        }
        audit.append(
            session, [audit.PendingEvent(reader, "audit_exported", payload=noted)], clock.now()
        )
    return ExportPlan(filters, through, count)


def export_rows(db: Database, plan: ExportPlan, batch: int = EXPORT_BATCH) -> Iterator[AuditRow]:
    """Every event of ``plan`` in chain order, streamed ``batch`` rows at a time."""
    query = (
        _with_context(select(AuditEvent, User.agency, ProcessInstance.business_key))
        .where(*_conditions(plan.filters), AuditEvent.seq <= plan.through_seq)
        .order_by(AuditEvent.seq)
        .execution_options(yield_per=batch)
    )
    with db.reader() as session:
        for event, agency, reference in session.execute(query):
            yield AuditRow.of(event, agency, reference)


def check_integrity(db: Database, reader: str, may_read: bool, clock: Clock) -> IntegrityCheck:
    """Verify the whole chain on one snapshot, then audit the check and its result.

    On PostgreSQL the walk and the head are read in one REPEATABLE READ
    transaction: under READ COMMITTED an event appended mid-walk would move
    the head and look like events cut from the end.
    """
    _require(may_read, reader)
    result = verify_chain(db)
    checked_at = clock.now()
    noted: dict[str, Any] = {"intact": result.intact, "events": result.count}
    if not result.intact:
        noted |= {"first_bad_seq": result.first_bad_seq, "reason": result.reason}
    with db.transaction() as session:
        audit.append(
            session, [audit.PendingEvent(reader, "integrity_checked", payload=noted)], checked_at
        )
    return IntegrityCheck(result, checked_at)


def verify_chain(db: Database) -> audit.Verification:
    """The whole chain checked on one snapshot (see :func:`check_integrity`)."""
    with db.reader() as session:
        if db.is_postgresql:
            session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        return audit.verify(session)


def _require(may_read: bool, reader: str) -> None:
    if not may_read:
        raise NotAuthorized(f"'{reader}' may not read the audit log")


def _conditions(filters: AuditFilters) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.actor is not None:
        conditions.append(AuditEvent.actor == filters.actor)
    if filters.agency is not None:
        staff = select(User.username).where(User.agency == filters.agency)
        conditions.append(AuditEvent.actor.in_(staff))
    if filters.action is not None:
        conditions.append(AuditEvent.action == filters.action)
    if filters.case_reference is not None:
        case = select(ProcessInstance.id).where(
            ProcessInstance.business_key == filters.case_reference
        )
        conditions.append(AuditEvent.instance_id == case.scalar_subquery())
    if filters.since is not None:
        conditions.append(AuditEvent.at >= as_utc(filters.since))
    if filters.until is not None:
        conditions.append(AuditEvent.at < as_utc(filters.until))
    return conditions


def _count(session: Session, conditions: list[ColumnElement[bool]]) -> int:
    return session.scalar(select(func.count()).select_from(AuditEvent).where(*conditions)) or 0


def _with_context(query: Select[Any]) -> Select[Any]:
    """Each event with its actor's agency and its case reference, where it has them."""
    return query.outerjoin(User, User.username == AuditEvent.actor).outerjoin(
        ProcessInstance, ProcessInstance.id == AuditEvent.instance_id
    )
