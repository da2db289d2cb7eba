"""The outbox: routed when recorded, sent signed, retried with back-off; unrouted rows wait."""

from __future__ import annotations

import json
import socket
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from sqlalchemy import select

from engine.clock import FixedClock, as_utc
from engine.db import Database
from engine.hooks import Hooks
from engine.models import AuditEvent, OutboundMessage
from engine.outbox import (
    LEASE,
    DeliveryFailed,
    _claim_due,
    deliver_due,
    pending_deliveries,
    post_message,
    retry_now,
)
from engine.partners import NO_PARTNERS, PartnerDirectory
from engine.retries import RetryPolicy
from engine.runtime import Runtime
from engine.signing import verify
from tests.engine.helpers import sample_runtime
from tests.engine.partner_fakes import DIRECTORY, ORIGIN, WALL_TIME, FakePartner


def _runtime(db: Database, clock: FixedClock, partners: PartnerDirectory = DIRECTORY) -> Runtime:
    sample_runtime(db, clock, bundle="messages")
    return Runtime(db, Hooks(), clock, script_time_limit=1.0, partners=partners)


def _outbox(db: Database) -> OutboundMessage:
    with db.reader() as session:
        return session.scalars(select(OutboundMessage)).one()


def _deliver(
    db: Database, now: datetime, send: FakePartner, retry: RetryPolicy | None = None
) -> list[str]:
    report = deliver_due(db, DIRECTORY, now, send=send, retry=retry, wall_clock=lambda: WALL_TIME)
    return report.delivered


def test_a_configured_message_goes_to_its_partner_signed(db: Database, clock: FixedClock) -> None:
    case = _runtime(db, clock).start("message_case", {"topic": "documents"}, "clara")
    row = _outbox(db)
    assert (row.partner, row.correlation, row.attempts) == ("origin", case.business_key, 0)
    assert uuid.UUID(str(row.message_id)).version == 4
    with db.reader() as session:
        sent = session.scalars(select(AuditEvent).filter_by(action="message_sent")).one()
    assert json.loads(sent.payload) == {"message": "partner_request", "partner": "origin"}

    partner = FakePartner()
    assert _deliver(db, clock.now(), partner) == [row.message_id]
    ((url, body, headers),) = partner.sent
    assert url == "http://127.0.0.1:9/api/v1/partner-messages"
    assert verify(headers, body, DIRECTORY, WALL_TIME) is ORIGIN
    assert json.loads(body) == {
        "id": row.message_id,
        "name": "partner_request",
        "correlation": case.business_key,
        "payload": {"topic": "documents"},
    }
    delivered = _outbox(db)
    assert delivered.delivered_at is not None and as_utc(delivered.delivered_at) == clock.now()
    assert (delivered.attempts, delivered.next_attempt_at) == (1, None)
    with db.reader() as session:
        event = session.scalars(select(AuditEvent).filter_by(action="message_delivered")).one()
    assert json.loads(event.payload) == {
        "message": "partner_request",
        "partner": "origin",
        "message_id": row.message_id,
    }
    assert event.instance_id == case.id
    assert _deliver(db, clock.now() + timedelta(days=1), partner) == []  # sent once


def test_a_message_no_partner_takes_waits_for_a_person(db: Database, clock: FixedClock) -> None:
    _runtime(db, clock, NO_PARTNERS).start("message_case", {"topic": "documents"}, "clara")
    assert (_outbox(db).partner, _outbox(db).message_id is not None) == (None, True)
    partner = FakePartner()
    assert _deliver(db, clock.now() + timedelta(days=30), partner) == []
    assert partner.sent == []
    (waiting,) = pending_deliveries(db)
    assert (waiting.partner, waiting.message, waiting.attempts) == (None, "partner_request", 0)


def test_failures_back_off_exponentially_up_to_the_maximum(db: Database, clock: FixedClock) -> None:
    case = _runtime(db, clock).start("message_case", {"topic": "documents"}, "clara")
    partner = FakePartner("connection refused", "HTTP 503", "timed out", "HTTP 502")
    policy = RetryPolicy(base_seconds=30, max_seconds=100, retries=10)
    now = clock.now()
    schedule = []
    for expected_delay in (30, 60, 100, 100):
        assert _deliver(db, now, partner, retry=policy) == []
        row = _outbox(db)
        schedule.append((row.attempts, row.last_error))
        assert row.next_attempt_at is not None
        assert as_utc(row.next_attempt_at) == now + timedelta(seconds=expected_delay)
        assert _deliver(db, now + timedelta(seconds=expected_delay - 1), partner) == []
        now += timedelta(seconds=expected_delay)
    assert schedule == [
        (1, "connection refused"),
        (2, "HTTP 503"),
        (3, "timed out"),
        (4, "HTTP 502"),
    ]
    assert len(partner.sent) == 4  # nothing was sent before it was due
    (waiting,) = pending_deliveries(db)
    assert (waiting.case_reference, waiting.attempts, waiting.last_error) == (
        case.business_key,
        4,
        "HTTP 502",
    )
    assert "documents" not in json.dumps(waiting.to_json())  # never the payload

    assert len(_deliver(db, now, partner, retry=policy)) == 1
    row = _outbox(db)
    assert (row.attempts, row.last_error, row.next_attempt_at) == (5, None, None)
    assert pending_deliveries(db) == []


def test_an_operator_can_make_backed_off_messages_due_at_once(
    db: Database, clock: FixedClock
) -> None:
    _runtime(db, clock).start("message_case", {"topic": "documents"}, "clara")
    _runtime(db, clock, NO_PARTNERS).start("message_case", {"topic": "housing"}, "clara")
    partner = FakePartner("connection refused")
    assert _deliver(db, clock.now(), partner) == []
    assert (retry_now(db, "consulate"), retry_now(db, "origin")) == (0, 1)  # never the by-hand one
    assert len(_deliver(db, clock.now(), partner)) == 1


def test_a_policy_doubles_its_delay_up_to_its_cap() -> None:
    delays = [RetryPolicy(30, 3600).delay(n).total_seconds() for n in range(1, 10)]
    assert delays == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]


def test_a_claimed_message_waits_out_its_lease_before_another_worker_sends_it(
    db: Database, clock: FixedClock
) -> None:
    """A worker that died after claiming (or after sending) leaves the message to be sent again."""
    _runtime(db, clock).start("message_case", {"topic": "documents"}, "clara")
    assert len(_claim_due(db, clock.now(), 10)) == 1  # the worker that dies
    partner = FakePartner()
    assert _deliver(db, clock.now(), partner) == []
    assert _deliver(db, clock.now() + LEASE, partner) == [_outbox(db).message_id]


def test_a_partner_missing_from_the_directory_is_a_recorded_failure(
    db: Database, clock: FixedClock
) -> None:
    _runtime(db, clock).start("message_case", {"topic": "documents"}, "clara")
    report = deliver_due(db, NO_PARTNERS, clock.now(), send=FakePartner())
    assert [error for _id, error in report.failed] == [
        "partner 'origin' is not in the partners file"
    ]
    assert _outbox(db).attempts == 1


# ---------------------------------------------------------------- over HTTP


class _Answer(BaseHTTPRequestHandler):
    status = 200
    body = b'{"status": "delivered"}'

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(self.status)
        self.send_header("Content-Type", "application/problem+json")
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args: object) -> None:
        pass  # quiet: pytest shows stderr of failing tests


@dataclass
class LocalPartner:
    """A local HTTP server answering every POST with ``handler``'s status and body."""

    url: str
    handler: type[_Answer]


@pytest.fixture
def answering() -> Iterator[LocalPartner]:
    handler = type("Answer", (_Answer,), {})
    server = HTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LocalPartner(
            f"http://127.0.0.1:{server.server_port}/api/v1/partner-messages", handler
        )
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_a_2xx_answer_is_a_delivery(answering: LocalPartner) -> None:
    post_message(answering.url, b"{}", {"X-Nrmflow-Key": "k"})


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (
            503,
            b'{"type": "urn:nrmflow:problem:unavailable", "detail": "x"}',
            "HTTP 503 urn:nrmflow:problem:unavailable",
        ),
        (
            401,
            b'{"type": "urn:nrmflow:problem:signature-expired"}',
            "HTTP 401 urn:nrmflow:problem:signature-expired",
        ),
        (409, b'{"type": "the case of Alex Example is closed"}', "HTTP 409"),
        (500, b"<html>Internal error</html>", "HTTP 500"),
    ],
)
def test_a_refusal_keeps_the_status_and_problem_type_only(
    answering: LocalPartner, status: int, body: bytes, error: str
) -> None:
    answering.handler.status, answering.handler.body = status, body
    with pytest.raises(DeliveryFailed) as failed:
        post_message(answering.url, b"{}", {})
    assert str(failed.value) == error


def test_a_closed_port_is_connection_refused() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(DeliveryFailed, match=r"^connection refused$"):
        post_message(f"http://127.0.0.1:{port}/api/v1/partner-messages", b"{}", {})
