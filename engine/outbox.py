"""Delivering the outbox to partner deployments, with retries and exponential back-off.

A message was recorded in the outbox by the step that threw it; here it is
sent. Each due row is claimed with a short lease in a short transaction, the
HTTP call happens outside any transaction (a SQLite writer holds the whole
database while its transaction is open), and the outcome is recorded in
another short transaction. A worker that dies after sending and before
recording leaves the lease to run out, and the message is sent again: the
receiver deduplicates on the message id, so it still correlates once.

Failures record why in words that carry no payload data ("connection
refused", "HTTP 503 urn:nrmflow:problem:..."); the message is retried after
``base * 2^(attempts - 1)`` seconds, never more than ``max`` apart.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update

from engine import audit, incidents, signing
from engine.clock import as_utc
from engine.db import Database
from engine.errors import EngineError
from engine.models import OutboundMessage, ProcessInstance
from engine.partner_inbox import PartnerEnvelope
from engine.partners import Partner, PartnerDirectory
from engine.retries import RetryPolicy
from engine.step_failures import StepFailure

log = logging.getLogger(__name__)

OUTBOX_ACTOR = "system:outbox"
SEND_TIMEOUT_SECONDS = 10
# a claimed row is left alone this long, so a dead worker's claim runs out and it is retried
LEASE = timedelta(seconds=2 * SEND_TIMEOUT_SECONDS + 10)
MAX_ERROR_LENGTH = 400
_PROBLEM_TYPE = re.compile(r"^[A-Za-z0-9:._/#-]{1,200}$")


class DeliveryFailed(EngineError):
    """The partner did not take the message; the text is safe to store (no payload data)."""


Send = Callable[[str, bytes, Mapping[str, str]], None]


@dataclass
class DeliveryReport:
    delivered: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)  # (message id, why)

    def to_json(self) -> dict[str, object]:
        return {
            "delivered": len(self.delivered),
            "failed": len(self.failed),
            "errors": [{"message_id": i, "error": e} for i, e in self.failed],
        }


def post_message(url: str, body: bytes, headers: Mapping[str, str]) -> None:
    """POST ``body`` as JSON; any answer but 2xx is a :class:`DeliveryFailed`."""
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/json", **headers}
    )
    try:
        with urllib.request.urlopen(request, timeout=SEND_TIMEOUT_SECONDS) as response:
            response.read()
    except urllib.error.HTTPError as error:
        raise DeliveryFailed(_http_failure(error)) from None
    except urllib.error.URLError as error:
        raise DeliveryFailed(_network_failure(error.reason)) from None
    except OSError as error:  # a timeout or reset while reading the answer
        raise DeliveryFailed(_network_failure(error)) from None


def deliver_due(
    db: Database,
    directory: PartnerDirectory,
    now: datetime,
    send: Send = post_message,
    retry: RetryPolicy | None = None,
    batch: int = 50,
    wall_clock: Callable[[], float] = time.time,
) -> DeliveryReport:
    """Send every due message of a configured partner once; oldest first, ``batch`` at most.

    A message that fails ``policy.retries`` more times after its first try is
    held, and an incident tells a coordinator (engine/incident_commands.py retries it).
    """
    policy = retry or RetryPolicy(base_seconds=300)
    report = DeliveryReport()
    for row_id in _claim_due(db, now, batch):
        with db.reader() as session:
            message = session.get(OutboundMessage, row_id)
            assert message is not None  # claimed rows are not deleted meanwhile
        reason = send_once(directory, message, send, wall_clock)
        if reason is None:
            record_delivery(db, message, now)
            report.delivered.append(str(message.message_id))
        else:
            _record_failure(db, message, reason, now, policy)
            report.failed.append((str(message.message_id), reason))
            log.info("message %s not delivered: %s", message.message_id, reason)
    return report


def send_once(
    directory: PartnerDirectory,
    message: OutboundMessage,
    send: Send = post_message,
    wall_clock: Callable[[], float] = time.time,
) -> str | None:
    """Sign and send ``message`` once; None when the partner took it, else why not."""
    try:
        partner = _partner_of(directory, message)
        envelope = PartnerEnvelope(
            str(message.message_id),
            message.message_name,
            message.correlation,
            json.loads(message.payload),
        )
        body = envelope.to_json()
        send(partner.inbox_url, body, signing.sign(partner, body, wall_clock()))
    except DeliveryFailed as failure:
        return str(failure)[:MAX_ERROR_LENGTH]
    return None


def retry_now(db: Database, partner: str | None = None) -> int:
    """Make every undelivered message (of ``partner``) due at once, e.g. after an outage.

    Back-off may have pushed a message an hour out; once the partner is known
    to be back (or a rotated key is in place on both sides) there is no reason
    to wait. Held messages are left to their incidents, whose retry is
    audited. Returns how many messages were made due.
    """
    query = update(OutboundMessage).where(
        OutboundMessage.delivered_at.is_(None),
        OutboundMessage.partner.is_not(None),
        OutboundMessage.on_hold.is_(False),
    )
    if partner is not None:
        query = query.where(OutboundMessage.partner == partner)
    with db.transaction() as session:
        return session.execute(query.values(next_attempt_at=None)).rowcount


def _claim_due(db: Database, now: datetime, batch: int) -> list[int]:
    """Lease due rows to this worker, so a second worker skips them while they are sent."""
    due = (
        select(OutboundMessage.id)
        .where(
            OutboundMessage.delivered_at.is_(None),
            OutboundMessage.partner.is_not(None),
            OutboundMessage.message_id.is_not(None),
            OutboundMessage.on_hold.is_(False),
            or_(OutboundMessage.next_attempt_at.is_(None), OutboundMessage.next_attempt_at <= now),
        )
        .order_by(OutboundMessage.created_at, OutboundMessage.id)
        .limit(batch)
    )
    if db.is_postgresql:
        due = due.with_for_update(skip_locked=True)
    with db.transaction() as session:
        ids = list(session.scalars(due))
        if ids:
            session.execute(
                update(OutboundMessage)
                .where(OutboundMessage.id.in_(ids))
                .values(next_attempt_at=now + LEASE)
            )
    return ids


def _partner_of(directory: PartnerDirectory, message: OutboundMessage) -> Partner:
    partner = directory.named(message.partner or "")
    if partner is None:
        raise DeliveryFailed(f"partner '{message.partner}' is not in the partners file")
    return partner


def record_delivery(db: Database, message: OutboundMessage, now: datetime) -> None:
    with db.transaction() as session:
        session.execute(
            update(OutboundMessage)
            .where(OutboundMessage.id == message.id)
            .values(
                delivered_at=now,
                attempts=OutboundMessage.attempts + 1,
                next_attempt_at=None,
                last_error=None,
            )
        )
        event = audit.PendingEvent(
            OUTBOX_ACTOR,
            "message_delivered",
            message.instance_id,
            payload={
                "message": message.message_name,
                "partner": message.partner,
                "message_id": message.message_id,
            },
        )
        audit.append(session, [event], now)


def _record_failure(
    db: Database, message: OutboundMessage, reason: str, now: datetime, policy: RetryPolicy
) -> None:
    attempts = message.attempts + 1
    held = policy.exhausted(attempts)
    with db.transaction() as session:
        session.execute(
            update(OutboundMessage)
            .where(OutboundMessage.id == message.id)
            .values(
                attempts=attempts,
                next_attempt_at=None if held else now + policy.delay(attempts),
                last_error=reason,
                on_hold=held,
            )
        )
        if held:
            instance = session.get(ProcessInstance, message.instance_id)
            assert instance is not None  # a case's messages go with it
            failure = undelivered(message, reason, attempts)
            incidents.record(
                session, instance, "delivery", failure, now, outbound_message_id=message.id
            )


def undelivered(message: OutboundMessage, reason: str, attempts: int) -> StepFailure:
    """The incident's texts for a message the partner did not take: names, never the payload."""
    return StepFailure(
        "delivery_failed",
        None,
        message.message_name,
        f"The message '{message.message_name}' could not be delivered to partner "
        f"'{message.partner}' ({attempts} attempts).",
        f"last error: {reason}\nmessage id: {message.message_id}",
    )


def _http_failure(error: urllib.error.HTTPError) -> str:
    """The status and, for a problem answer, its type: never the body's other text."""
    try:
        problem = json.loads(error.read(4096))
    except (ValueError, OSError):
        problem = None
    kind = problem.get("type") if isinstance(problem, dict) else None
    if isinstance(kind, str) and _PROBLEM_TYPE.match(kind):
        return f"HTTP {error.code} {kind}"
    return f"HTTP {error.code}"


def _network_failure(reason: object) -> str:
    if isinstance(reason, ConnectionRefusedError):
        return "connection refused"
    if isinstance(reason, TimeoutError):
        return "timed out"
    if isinstance(reason, socket.gaierror):
        return "host name not resolved"
    if isinstance(reason, ConnectionError):
        return "connection lost"
    return f"network error ({type(reason).__name__})"


@dataclass(frozen=True)
class PendingDelivery:
    """An undelivered outbox row as an operator sees it: never its payload."""

    message_id: str | None
    message: str
    partner: str | None
    case_reference: str
    created_at: datetime
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None
    on_hold: bool

    def to_json(self) -> dict[str, object]:
        return {
            **vars(self),
            "created_at": as_utc(self.created_at).isoformat(),
            "next_attempt_at": as_utc(self.next_attempt_at).isoformat()
            if self.next_attempt_at
            else None,
        }


def pending_deliveries(db: Database, limit: int = 100) -> list[PendingDelivery]:
    """Messages not yet delivered, oldest first; those with no partner wait for a person."""
    query = (
        select(OutboundMessage, ProcessInstance.business_key)
        .join(ProcessInstance, ProcessInstance.id == OutboundMessage.instance_id)
        .where(OutboundMessage.delivered_at.is_(None))
        .order_by(OutboundMessage.created_at, OutboundMessage.id)
        .limit(limit)
    )
    with db.reader() as session:
        return [
            PendingDelivery(
                m.message_id,
                m.message_name,
                m.partner,
                reference,
                m.created_at,
                m.attempts,
                m.next_attempt_at,
                m.last_error,
                m.on_hold,
            )
            for m, reference in session.execute(query)
        ]
