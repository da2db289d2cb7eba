"""Incidents: a step that failed, kept where a coordinator sees it, until they retry or cancel it.

When a step fails its transaction rolls back, so the case keeps its last
committed state, and then, in a transaction of its own, the failure is
written here: which case, where, what kind, a message for a person and the
detail for an administrator (engine/step_failures.py keeps both free of case
data). A repeat of the same failure (same case, source and task) counts an
occurrence on the open incident instead of opening another. Every incident
raised, retried and cancelled is in the audit log. The commands that act on
an incident live in engine/incident_commands.py.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import audit
from engine.clock import as_utc
from engine.db import Database
from engine.errors import CaseNotFound, EngineError, WorkflowFailed
from engine.models import (
    Incident,
    OutboundMessage,
    ProcessInstance,
    ProcessModelVersion,
    WorkItem,
)
from engine.step_failures import StepFailure

SOURCES = ("task", "timer", "delivery")
STATUSES = ("open", "resolved", "cancelled")


class IncidentNotFound(CaseNotFound):
    """No incident with that id (HTTP 404, like a missing case)."""


class IncidentClosed(EngineError):
    """The incident was already retried successfully or cancelled (HTTP 409)."""


class IncidentRaised(WorkflowFailed):
    """A person's step failed and became an incident; their answers were kept as a draft."""

    def __init__(self, incident_id: int, message: str):
        self.incident_id = incident_id
        super().__init__(
            f"{message} Your answers were kept as a draft and a coordinator was alerted "
            f"(incident {incident_id}); you do not need to enter them again."
        )


@dataclass(frozen=True)
class IncidentView:
    """An incident as the coordinator's page, the API and the CLI show it."""

    id: int
    case_id: int
    reference: str
    process: str
    version: int
    model_version_id: int
    source: str
    task_title: str | None
    element_id: str | None
    partner: str | None
    submitted_by: str | None
    error_type: str
    message: str
    detail: str
    occurrences: int
    first_at: datetime
    last_at: datetime
    status: str
    closed_at: datetime | None
    closed_by: str | None

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    def to_json(self) -> dict[str, Any]:
        moments = {"first_at", "last_at", "closed_at"}
        return {
            key: (as_utc(value).isoformat() if key in moments and value is not None else value)
            for key, value in vars(self).items()
        }


@dataclass(frozen=True)
class IncidentPage:
    incidents: list[IncidentView]
    total: int


# ----------------------------------------------------------------- recording


def record(
    session: Session,
    instance: ProcessInstance,
    source: str,
    failure: StepFailure,
    now: datetime,
    task_id: str | None = None,
    task_title: str | None = None,
    submitted_by: str | None = None,
    outbound_message_id: int | None = None,
) -> Incident:
    """Open an incident for the failure, or count one more occurrence of the open one."""
    incident = session.scalars(
        select(Incident).where(
            Incident.instance_id == instance.id,
            Incident.source == source,
            Incident.status == "open",
            _same_subject(task_id, outbound_message_id),
        )
    ).first()
    if incident is None:
        incident = Incident(
            instance_id=instance.id,
            model_version_id=instance.model_version_id,
            source=source,
            task_id=task_id,
            task_title=task_title,
            outbound_message_id=outbound_message_id,
            occurrences=0,
            first_at=now,
            status="open",
        )
        session.add(incident)
    incident.occurrences += 1
    incident.last_at = now
    incident.model_version_id = instance.model_version_id
    incident.element_id = failure.element_id
    incident.error_type = failure.error_type
    incident.message = failure.message
    incident.detail = failure.detail
    incident.submitted_by = submitted_by or incident.submitted_by
    session.flush()
    audit_incident(
        session,
        incident,
        "system:incidents",
        "incident_raised",
        now,
        occurrence=incident.occurrences,
        error_type=failure.error_type,
        element=failure.element_id,
    )
    return incident


def close(session: Session, incident: Incident, status: str, actor: str, now: datetime) -> None:
    incident.status, incident.closed_at, incident.closed_by = status, now, actor


def audit_incident(
    session: Session, incident: Incident, actor: str, action: str, now: datetime, **noted: Any
) -> None:
    """One audit event about ``incident``: its id, source and task, plus what ``noted`` adds."""
    payload = {"incident": incident.id, "source": incident.source, **noted}
    if incident.task_title:
        payload["task"] = incident.task_title
    event = audit.PendingEvent(
        actor, action, incident.instance_id, incident.task_id, incident.model_version_id, payload
    )
    audit.append(session, [event], now)


def keep_draft(session: Session, task_id: str, data: dict[str, Any], actor: str) -> None:
    """The answers of a completion that failed stay on the work item, so nothing is typed twice."""
    item = session.scalars(select(WorkItem).where(WorkItem.task_id == task_id)).first()
    if item is not None:
        item.draft, item.draft_by = json.dumps(data, sort_keys=True), actor


# ----------------------------------------------------------------- reading


def list_incidents(
    db: Database, status: str | None = "open", page: int = 1, per_page: int = 50
) -> IncidentPage:
    """Incidents, the most recent failure first; ``status`` None lists every one."""
    query = _joined()
    count = select(func.count(Incident.id))
    if status is not None:
        query = query.where(Incident.status == status)
        count = count.where(Incident.status == status)
    query = query.order_by(Incident.last_at.desc(), Incident.id.desc())
    query = query.offset((max(page, 1) - 1) * per_page).limit(per_page)
    with db.reader() as session:
        return IncidentPage(
            [_view(*row) for row in session.execute(query)], session.scalar(count) or 0
        )


def get_incident(db: Database, incident_id: int) -> IncidentView:
    with db.reader() as session:
        row = session.execute(_joined().where(Incident.id == incident_id)).first()
    if row is None:
        raise IncidentNotFound(f"no incident {incident_id}")
    return _view(*row)


def open_incidents_of_case(db: Database, instance_id: int) -> list[IncidentView]:
    """What makes a case "need attention"; empty when nothing does."""
    query = _joined().where(Incident.instance_id == instance_id, Incident.status == "open")
    with db.reader() as session:
        return [_view(*row) for row in session.execute(query.order_by(Incident.id))]


def open_incident_count(db: Database) -> int:
    with db.reader() as session:
        return session.scalar(select(func.count(Incident.id)).where(Incident.status == "open")) or 0


def _same_subject(task_id: str | None, outbound_message_id: int | None) -> Any:
    if outbound_message_id is not None:
        return Incident.outbound_message_id == outbound_message_id
    return Incident.task_id.is_(None) if task_id is None else Incident.task_id == task_id


def _joined() -> Any:
    return (
        select(
            Incident,
            ProcessInstance.business_key,
            ProcessModelVersion.key,
            ProcessModelVersion.version,
            OutboundMessage.partner,
        )
        .join(ProcessInstance, ProcessInstance.id == Incident.instance_id)
        .join(ProcessModelVersion, ProcessModelVersion.id == Incident.model_version_id)
        .outerjoin(OutboundMessage, OutboundMessage.id == Incident.outbound_message_id)
    )


def _view(
    incident: Incident, reference: str, process: str, version: int, partner: str | None
) -> IncidentView:
    return IncidentView(
        id=incident.id,
        case_id=incident.instance_id,
        reference=reference,
        process=process,
        version=version,
        model_version_id=incident.model_version_id,
        source=incident.source,
        task_title=incident.task_title,
        element_id=incident.element_id,
        partner=partner,
        submitted_by=incident.submitted_by,
        error_type=incident.error_type,
        message=incident.message,
        detail=incident.detail,
        occurrences=incident.occurrences,
        first_at=as_utc(incident.first_at),
        last_at=as_utc(incident.last_at),
        status=incident.status,
        closed_at=as_utc(incident.closed_at) if incident.closed_at else None,
        closed_by=incident.closed_by,
    )
