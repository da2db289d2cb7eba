"""The engine's records (DESIGN.md "Core records").

Workflow state and specs are stored as gzip-compressed JSON in binary columns,
never JSONB: SpiffWorkflow rebuilds task data from key-ordered deltas and
PostgreSQL JSONB reorders keys, which corrupts it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy import false as sa_false
from sqlalchemy import true as sa_true
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


Timestamp = DateTime(timezone=True)


class ProcessModelVersion(Base):
    """Immutable once inserted: running cases keep the version they started on."""

    __tablename__ = "process_model_version"
    __table_args__ = (UniqueConstraint("key", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(400))
    content_hash: Mapped[str] = mapped_column(String(64))
    source_files: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    spec: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    deployed_by: Mapped[str] = mapped_column(String(200))
    deployed_at: Mapped[datetime] = mapped_column(Timestamp)
    validation_report: Mapped[str] = mapped_column(Text)


class ProcessInstance(Base):
    __tablename__ = "process_instance"

    id: Mapped[int] = mapped_column(primary_key=True)
    model_version_id: Mapped[int] = mapped_column(ForeignKey("process_model_version.id"))
    business_key: Mapped[str] = mapped_column(String(40), unique=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    state: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    revision: Mapped[int] = mapped_column(Integer)
    started_by: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime] = mapped_column(Timestamp)
    updated_at: Mapped[datetime] = mapped_column(Timestamp)
    completed_at: Mapped[datetime | None] = mapped_column(Timestamp, nullable=True)
    # set when a partner deployment's message started the case: replies go back to that
    # partner, quoting its reference as their correlation
    partner: Mapped[str | None] = mapped_column(String(100), nullable=True)
    partner_reference: Mapped[str | None] = mapped_column(String(40), nullable=True)
    # set while a coordinator has suspended the case: no timer fires, no task is offered
    suspended_at: Mapped[datetime | None] = mapped_column(Timestamp, nullable=True)
    # the key of the audit's hashes of this case's answers (engine/case_values.py);
    # dropped when the case's personal data is erased, so the hashes link to nothing
    value_key: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True, deferred=True)
    # the date its process set for erasure, recorded when the case closed (engine/retention.py)
    retain_until: Mapped[datetime | None] = mapped_column(Timestamp, nullable=True)
    erased_at: Mapped[datetime | None] = mapped_column(Timestamp, nullable=True)

    model_version: Mapped[ProcessModelVersion] = relationship(lazy="joined")


class WorkItem(Base):
    """One row per open user task: the inbox reads only this table."""

    __tablename__ = "work_item"
    __table_args__ = (
        # the inbox filters on role and "offered" and counts by stage from these indexes alone
        Index("ix_work_item_role_due", "role", "offered", "due_at"),
        Index("ix_work_item_role_stage_due", "role", "offered", "stage", "due_at"),
        # rows go when their task is done; an id must never come back for another task, or a
        # stale "claim item 7" would take someone else's task (SQLite reuses max id + 1 otherwise)
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(
        ForeignKey("process_instance.id", ondelete="CASCADE"), index=True
    )
    task_id: Mapped[str] = mapped_column(String(36), unique=True)
    task_name: Mapped[str] = mapped_column(String(200))
    title: Mapped[str] = mapped_column(String(400))
    lane: Mapped[str | None] = mapped_column(String(200), nullable=True)
    role: Mapped[str | None] = mapped_column(String(200), nullable=True)
    form: Mapped[str | None] = mapped_column(String(400), nullable=True)
    assignee: Mapped[str | None] = mapped_column(String(200), nullable=True, index=True)
    due_at: Mapped[datetime | None] = mapped_column(Timestamp, nullable=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    stage: Mapped[str | None] = mapped_column(String(200), nullable=True, index=True)
    draft: Mapped[str | None] = mapped_column(Text, nullable=True, deferred=True)
    draft_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # False while the case is suspended: kept on the row, so the inbox needs no join to know
    offered: Mapped[bool] = mapped_column(Boolean, default=True, server_default=sa_true())

    instance: Mapped[ProcessInstance] = relationship()


class TimerJob(Base):
    """One row per waiting timer; workers claim due rows, so any number can run."""

    __tablename__ = "timer_job"
    __table_args__ = (UniqueConstraint("instance_id", "task_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(
        ForeignKey("process_instance.id", ondelete="CASCADE"), index=True
    )
    task_id: Mapped[str] = mapped_column(String(36))
    task_name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    due_at: Mapped[datetime] = mapped_column(Timestamp, index=True)
    # failed firings of this due time: the worker waits until retry_at before the next one,
    # and after the last automatic retry the job is held until an incident is retried
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    retry_at: Mapped[datetime | None] = mapped_column(Timestamp, nullable=True)
    on_hold: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())


class AuditEvent(Base):
    """Append-only; each row's hash covers the previous hash and its own content."""

    __tablename__ = "audit_event"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(Timestamp, index=True)
    actor: Mapped[str] = mapped_column(String(200), index=True)
    action: Mapped[str] = mapped_column(String(100), index=True)
    instance_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    task_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    model_version_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    payload: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditHead(Base):
    """A single row naming the chain's last event.

    Appenders lock it, which serialises the chain across processes and hosts,
    and it lets verification notice events cut off the end.
    """

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))


class User(Base):
    __tablename__ = "app_user"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(200), unique=True)
    agency: Mapped[str | None] = mapped_column(String(200), nullable=True)
    password_hash: Mapped[str | None] = mapped_column(String(400), nullable=True)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    failed_sign_ins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(Timestamp, nullable=True)
    language: Mapped[str | None] = mapped_column(String(10), nullable=True)
    # raised by signing out and by a new password: a session signed in under an older epoch
    # is over, even one whose cookie was copied (web/auth.py)
    session_epoch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    roles: Mapped[list[UserRole]] = relationship(
        cascade="all, delete-orphan", lazy="selectin", order_by="UserRole.role"
    )

    @property
    def role_names(self) -> set[str]:
        return {r.role for r in self.roles}


class UserRole(Base):
    __tablename__ = "user_role"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("app_user.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(200), primary_key=True, index=True)


class MessageSubscription(Base):
    """One row per waiting message catch: a case that waits for a named message.

    Derived after every step like work items, so delivering a message finds
    its case with an indexed query instead of loading workflows.
    """

    __tablename__ = "message_subscription"
    __table_args__ = (UniqueConstraint("instance_id", "task_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(
        ForeignKey("process_instance.id", ondelete="CASCADE"), index=True
    )
    task_id: Mapped[str] = mapped_column(String(36))
    task_name: Mapped[str] = mapped_column(String(200))
    message_name: Mapped[str] = mapped_column(String(200), index=True)


class OutboundMessage(Base):
    """The outbox: a message a case threw for a partner outside this deployment.

    Written in the same transaction as the step that threw it, so a message
    is recorded exactly when its step is; a sender delivers it afterwards.
    ``correlation`` is the case reference the partner quotes in its reply.
    """

    __tablename__ = "outbound_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(
        ForeignKey("process_instance.id", ondelete="CASCADE"), index=True
    )
    message_name: Mapped[str] = mapped_column(String(200))
    correlation: Mapped[str] = mapped_column(String(40))
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    delivered_at: Mapped[datetime | None] = mapped_column(Timestamp, nullable=True, index=True)
    # the id the receiving side deduplicates on, so a retried delivery correlates once
    message_id: Mapped[str | None] = mapped_column(String(36), nullable=True, unique=True)
    partner: Mapped[str | None] = mapped_column(String(100), nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(Timestamp, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(400), nullable=True)
    # True once the automatic retries are spent: an incident holds it until a person acts
    on_hold: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())


class ReceivedMessage(Base):
    """Every message id a partner delivered: a second delivery of one id changes nothing.

    Inserted in the same transaction as the delivery it records, so an id is
    here exactly when its message reached a case.
    """

    __tablename__ = "received_message"
    __table_args__ = (UniqueConstraint("partner", "message_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    partner: Mapped[str] = mapped_column(String(100))
    message_id: Mapped[str] = mapped_column(String(36))
    message_name: Mapped[str] = mapped_column(String(200))
    instance_id: Mapped[int | None] = mapped_column(
        ForeignKey("process_instance.id", ondelete="SET NULL"), nullable=True
    )
    received_at: Mapped[datetime] = mapped_column(Timestamp)


class ApiToken(Base):
    """A bearer token for the API; only a SHA-256 of it is stored (it is 256 random bits)."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("app_user.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(Timestamp)
    last_used_at: Mapped[datetime | None] = mapped_column(Timestamp, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(Timestamp, nullable=True)

    user: Mapped[User] = relationship(lazy="joined")


class DeploymentClock(Base):
    """Training mode only: how far this deployment's clock has been moved ahead.

    One row shared by every server process and worker, so all of them agree
    on what time it is after a coordinator moves the clock.
    """

    __tablename__ = "deployment_clock"

    id: Mapped[int] = mapped_column(primary_key=True)
    offset_seconds: Mapped[float] = mapped_column(Float)


class Incident(Base):
    """A step that failed and was rolled back, waiting for a coordinator to retry or cancel it.

    ``message`` is for a person and ``detail`` for an administrator; neither
    holds case data (see engine/step_failures.py). One open incident per case,
    source and failing task: a repeat of the same failure counts an occurrence.
    """

    __tablename__ = "incident"
    __table_args__ = (Index("ix_incident_status_last", "status", "last_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(
        ForeignKey("process_instance.id", ondelete="CASCADE"), index=True
    )
    model_version_id: Mapped[int] = mapped_column(ForeignKey("process_model_version.id"))
    # what was going on: a person completing a task, a timer firing, a message being sent
    source: Mapped[str] = mapped_column(String(20))
    # the task the step started from (a work item's task, the timer's task), and the element
    # that raised (a script task or gateway after it)
    task_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    task_title: Mapped[str | None] = mapped_column(String(400), nullable=True)
    element_id: Mapped[str | None] = mapped_column(String(200), nullable=True)
    outbound_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("outbound_message.id", ondelete="SET NULL"), nullable=True
    )
    # who submitted the task whose completion failed: a retry completes it with their answers
    submitted_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    error_type: Mapped[str] = mapped_column(String(40))
    message: Mapped[str] = mapped_column(String(400))
    detail: Mapped[str] = mapped_column(Text)
    occurrences: Mapped[int] = mapped_column(Integer, default=1)
    first_at: Mapped[datetime] = mapped_column(Timestamp)
    last_at: Mapped[datetime] = mapped_column(Timestamp)
    status: Mapped[str] = mapped_column(String(20), default="open")
    closed_at: Mapped[datetime | None] = mapped_column(Timestamp, nullable=True)
    closed_by: Mapped[str | None] = mapped_column(String(200), nullable=True)

    instance: Mapped[ProcessInstance] = relationship()


class SignInAttempt(Base):
    """A password sign-in from one address within the throttling window (engine/sign_in_limits).

    ``address`` is an HMAC of the client's address keyed with the app secret,
    never the address itself: the table answers "how often did this address
    fail lately?" without becoming a log of where staff sign in from. A row is
    written before the password is checked and removed if it was right, so
    what remains are failures (and attempts still being checked, which must
    count too, or parallel guesses would slip past the limit). A ``throttled``
    row only marks that the address's refusal was audited in this window.
    Rows older than the window are pruned.
    """

    __tablename__ = "sign_in_attempt"
    __table_args__ = (Index("ix_sign_in_attempt_address_at", "address", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(Timestamp)
    throttled: Mapped[bool] = mapped_column(Boolean, default=False)


class CaseValue(Base):
    """One field a person's form submission changed, with its values: kept beside the audit.

    The audit event (``audit_seq``) holds the field's name and keyed hashes of
    its values, never the values, so erasing personal data here never needs the
    chain rewritten. ``before``/``after`` are JSON; erasure sets them to NULL
    and ``erased_at`` (fields the domain keeps for statistics stay).
    """

    __tablename__ = "case_value"
    __table_args__ = (Index("ix_case_value_instance_seq", "instance_id", "audit_seq"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id", ondelete="CASCADE"))
    audit_seq: Mapped[int] = mapped_column(Integer)
    field: Mapped[str] = mapped_column(String(200))
    before: Mapped[str | None] = mapped_column(Text, nullable=True)
    after: Mapped[str | None] = mapped_column(Text, nullable=True)
    erased_at: Mapped[datetime | None] = mapped_column(Timestamp, nullable=True)


class ModelDraft(Base):
    """A coordinator's unfinished edit of a process: saved, not deployed, nothing runs on it.

    One per process key (a key not deployed yet, for an imported diagram):
    saving again replaces it, deploying it or discarding it removes it.
    ``files`` holds only the bundle files the edit changed (packed like a
    version's sources); the rest comes from the deployed versions.
    """

    __tablename__ = "model_draft"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    files: Mapped[bytes] = mapped_column(LargeBinary)
    # the version the edit started from; None for a process imported and not yet deployed
    base_version_id: Mapped[int | None] = mapped_column(
        ForeignKey("process_model_version.id"), nullable=True
    )
    saved_by: Mapped[str] = mapped_column(String(200))
    saved_at: Mapped[datetime] = mapped_column(Timestamp)
