"""Suspend and resume a case: the NRM coordinator stops a case's clock and its inbox, for a reason.

A case may have to wait for something outside the process (a court order, a
person who cannot be reached, a data protection review) without its time
limits running out and its tasks being worked meanwhile. While a case is
suspended no timer fires and none of its work items is offered, claimed,
drafted or completed, and no message is delivered to it. Its timers keep
their due times: resuming leaves the ones that fell due meanwhile due, so the
worker's next pass fires each of them once, as it would have without the
pause. Suspending stores only ``process_instance.suspended_at`` and bumps
nothing else (not the revision: the workflow did not change), so a form a
person opened before the pause still saves after it. The reason goes to the
audit log, never to a log line or an error message: it may name the person.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from engine import audit
from engine.clock import as_utc, iso_duration
from engine.db import Database
from engine.errors import CaseNotFound, EngineError, FieldError, FormInvalid, NotAuthorized
from engine.models import ProcessInstance, TimerJob, WorkItem
from engine.retries import timer_firing_due
from engine.users import find_user

if TYPE_CHECKING:
    from engine.runtime import Runtime

REASON_MAX_LENGTH = 2000
MaySuspend = Callable[[set[str]], bool]


class SuspensionConflict(EngineError):
    """The case is not in a state the command applies to (HTTP 409)."""


class CaseSuspended(SuspensionConflict):
    """The case is suspended: nothing moves on it until a coordinator resumes it."""


class CaseNotSuspended(SuspensionConflict):
    """Only a suspended case can be resumed."""


class CaseClosed(SuspensionConflict):
    """A completed case has nothing left to suspend."""


@dataclass(frozen=True)
class Suspension:
    """A case's suspension after a command: ``suspended_at`` is None once it is resumed."""

    case_id: int
    reference: str
    suspended_at: datetime | None
    suspended_for: timedelta | None = None


def suspend(
    runtime: Runtime, instance_id: int, reason: str, actor: str, may_suspend: MaySuspend | None
) -> Suspension:
    """Suspend a running case; ``may_suspend`` None means the operator (the CLI without --as)."""
    noted = {"reason": checked_reason(reason, required=True)}
    with runtime.db.transaction() as session:
        _authorize(session, actor, may_suspend)
        instance = _locked_case(session, instance_id, runtime.db)
        if instance.status == "completed":
            raise CaseClosed(f"case {instance.business_key} is closed; there is nothing to suspend")
        if instance.suspended_at is not None:
            raise CaseSuspended(f"case {instance.business_key} is already suspended")
        now = runtime.clock.now()
        instance.suspended_at = now
        _offer_items(session, instance, offered=False)
        _audit(session, instance, actor, "case_suspended", noted, now)
        return Suspension(instance.id, instance.business_key, now)


def resume(
    runtime: Runtime,
    instance_id: int,
    reason: str | None,
    actor: str,
    may_suspend: MaySuspend | None,
) -> Suspension:
    """Resume a suspended case; its overdue timers fire on the worker's next pass, once."""
    reason = checked_reason(reason or "", required=False)
    with runtime.db.transaction() as session:
        _authorize(session, actor, may_suspend)
        instance = _locked_case(session, instance_id, runtime.db)
        if instance.suspended_at is None:
            raise CaseNotSuspended(f"case {instance.business_key} is not suspended")
        now = runtime.clock.now()
        suspended_for = max(now - as_utc(instance.suspended_at), timedelta(0))
        instance.suspended_at = None
        _offer_items(session, instance, offered=True)
        noted = {"suspended_for": iso_duration(suspended_for)}
        if reason:
            noted["reason"] = reason
        _audit(session, instance, actor, "case_resumed", noted, now)
        return Suspension(instance.id, instance.business_key, None, suspended_for)


def case_id_for(db: Database, reference: str) -> int:
    """The case a reference names (the CLI's way to name one)."""
    with db.reader() as session:
        found = session.scalar(
            select(ProcessInstance.id).where(ProcessInstance.business_key == reference)
        )
    if found is None:
        raise CaseNotFound(f"no case {reference}")
    return found


def suspended_since(db: Database, instance_id: int) -> datetime | None:
    with db.reader() as session:
        moment = session.scalar(
            select(ProcessInstance.suspended_at).where(ProcessInstance.id == instance_id)
        )
    return as_utc(moment) if moment is not None else None


# ----------------------------------------------------------------- the runtime's guards


def refuse_if_suspended(instance: ProcessInstance) -> None:
    """Called by every command that would move a case or work on its items."""
    if instance.suspended_at is not None:
        raise CaseSuspended(
            f"case {instance.business_key} is suspended; a coordinator must resume it first"
        )


def cases_with_timers_due(now: datetime, limit: int) -> Select[tuple[int]]:
    """The cases the worker fires timers of: due (or due a retry), not held, not suspended."""
    return (
        select(TimerJob.instance_id)
        .join(ProcessInstance, TimerJob.instance_id == ProcessInstance.id)
        .where(timer_firing_due(now), ProcessInstance.suspended_at.is_(None))
        .distinct()
        .limit(limit)
    )


def running_case_for_timers(
    session: Session, instance_id: int, db: Database
) -> ProcessInstance | None:
    """The case, locked on PostgreSQL so no suspension slips in while its timers fire.

    None when it was suspended since the worker read its due timers: they wait.
    """
    instance = _locked_case(session, instance_id, db)
    return instance if instance.suspended_at is None else None


# ----------------------------------------------------------------- internals


def _offer_items(session: Session, instance: ProcessInstance, offered: bool) -> None:
    """A suspended case's items stay, marked not offered: the inbox filters on the mark."""
    session.execute(
        update(WorkItem).where(WorkItem.instance_id == instance.id).values(offered=offered)
    )


def checked_reason(reason: str, required: bool) -> str:
    """A reason for the audit log: trimmed, required when ``required``, of bounded length."""
    reason = reason.strip()
    if required and not reason:
        raise FormInvalid([FieldError("reason", "a reason is required")])
    if len(reason) > REASON_MAX_LENGTH:
        raise FormInvalid(
            [FieldError("reason", f"a reason has at most {REASON_MAX_LENGTH} characters")]
        )
    return reason


def _authorize(session: Session, actor: str, may_suspend: MaySuspend | None) -> None:
    if may_suspend is not None and not may_suspend(find_user(session, actor).role_names):
        raise NotAuthorized(f"'{actor}' may not suspend or resume cases")


def _locked_case(session: Session, instance_id: int, db: Database) -> ProcessInstance:
    """The case row, locked on PostgreSQL (SQLite's ``BEGIN IMMEDIATE`` already serializes)."""
    # "of": the eager join to the model version must not be locked (PostgreSQL refuses it)
    lock = {"of": ProcessInstance} if db.is_postgresql else None
    instance = session.get(ProcessInstance, instance_id, with_for_update=lock)
    if instance is None:
        raise CaseNotFound(f"no case {instance_id}")
    return instance


def _audit(
    session: Session,
    instance: ProcessInstance,
    actor: str,
    action: str,
    payload: dict[str, str],
    now: datetime,
) -> None:
    event = audit.PendingEvent(actor, action, instance.id, None, instance.model_version_id, payload)
    audit.append(session, [event], now)
