"""A voluntary return between two deployments on loopback: each its own database and server.

The destination country (where the person was identified) refers the person
to the origin country's reception; the origin's support provider accepts and
plans the reception; the plan goes back and the destination's waiting case
moves on to agreeing the reintegration plan with the person. On the way the
origin's server is killed outright: the referral waits in the outbox, is
retried after its back-off once the server is back, and arrives exactly once,
even when the sender, having lost the answer, sends it again.
"""

from __future__ import annotations

import json
import secrets
import urllib.request
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from engine.clock import FixedClock, SystemClock, as_utc
from engine.db import Database
from engine.models import OutboundMessage, ProcessInstance, ReceivedMessage
from engine.outbox import SEND_TIMEOUT_SECONDS, deliver_due
from engine.retries import RetryPolicy
from tests.integration.deployments import Deployment
from tests.workflows import nrm_answers as answers
from tests.workflows.nrm_driver import NrmCase
from tests.workflows.nrm_steps import assess_risk, referral_to_recognition
from workflows.demo import demo_user_for

PAIR_KEY = "destination-origin-2026"  # one shared secret per pair, named alike on both sides
RECEPTION_PLAN = {
    "reception_accepted": True,
    "reception_arrangement": "met_shelter",
    "reception_support_offered": ["housing", "psychosocial"],
}


class RecordingSend:
    """Posts like the worker does and keeps each answer, to see what the receiver said."""

    def __init__(self) -> None:
        self.answers: list[dict[str, Any]] = []

    def __call__(self, url: str, body: bytes, headers: Mapping[str, str]) -> None:
        request = urllib.request.Request(
            url,
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", **headers},
        )
        with urllib.request.urlopen(request, timeout=SEND_TIMEOUT_SECONDS) as response:
            self.answers.append(json.loads(response.read()))


@pytest.fixture
def deployments(tmp_path: Path) -> Iterator[tuple[Deployment, Deployment]]:
    destination = Deployment("destination", tmp_path / "destination")
    origin = Deployment("origin", tmp_path / "origin")
    secret = secrets.token_urlsafe(32)
    for home in (destination.home, origin.home):
        home.mkdir()
    destination.write_partners(
        {
            "origin": {
                "url": origin.url,
                "key_id": PAIR_KEY,
                "secret": secret,
                "messages": ["reintegration_referral"],
            }
        }
    )
    # the origin sends nothing of its own accord: it only answers the cases the destination starts
    origin.write_partners(
        {"destination": {"url": destination.url, "key_id": PAIR_KEY, "secret": secret}}
    )
    try:
        yield destination, origin
    finally:
        destination.kill()
        origin.kill()


def _outbox_row(db: Database, message: str) -> OutboundMessage:
    with db.reader() as session:
        return session.scalars(select(OutboundMessage).filter_by(message_name=message)).one()


def _reception_cases(db: Database) -> list[ProcessInstance]:
    with db.reader() as session:
        query = select(ProcessInstance).join(ProcessInstance.model_version)
        return [i for i in session.scalars(query) if i.model_version.key == "nrm_return_reception"]


def _received(db: Database) -> list[tuple[str, str, str]]:
    with db.reader() as session:
        rows = session.scalars(select(ReceivedMessage))
        return [(r.partner, r.message_id, r.message_name) for r in rows]


def test_a_return_between_two_deployments_survives_the_receiver_dying(
    deployments: tuple[Deployment, Deployment],
) -> None:
    destination, origin = deployments
    clock = FixedClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    destination_db = destination.set_up(clock)
    origin_db = origin.set_up(clock)
    destination.start()
    origin.start()

    # The destination walks the case to the referral, in its own process as its staff would.
    case = NrmCase.refer(destination.runtime(destination_db, clock), destination_db, clock)
    referral_to_recognition(case, exploitation_types=["labour"])
    case.complete("record_informed_choice", answers.proceedings_choice(), "legal_aid")
    case.complete(
        "agree_durable_solution", answers.durable_solution("voluntary_return"), "support_provider"
    )
    case.complete("record_return_request", answers.RETURN_REQUEST, "support_provider")
    assess_risk(case, "low")
    case.complete("check_proceedings_status", answers.PROCEEDINGS_STATUS, "prosecutor")
    assert case.waiting_messages() >= {"reception_confirmed", "travel_documents_issued"}
    referral = _outbox_row(destination_db, "reintegration_referral")
    assert (referral.partner, referral.correlation) == ("origin", case.view.business_key)
    assert _outbox_row(destination_db, "travel_document_request").partner is None  # by hand

    # The origin's server dies; the referral stays in the outbox with its back-off.
    origin.kill()
    policy = RetryPolicy(base_seconds=30, max_seconds=3600)
    now = clock.now()
    failed = deliver_due(destination_db, destination.directory(), now, retry=policy)
    assert (failed.delivered, [e for _i, e in failed.failed]) == ([], ["connection refused"])
    referral = _outbox_row(destination_db, "reintegration_referral")
    assert (referral.attempts, referral.last_error, referral.delivered_at) == (
        1,
        "connection refused",
        None,
    )
    assert referral.next_attempt_at is not None
    assert as_utc(referral.next_attempt_at) == now + timedelta(seconds=30)

    # It comes back; nothing is sent before the back-off has passed, then the referral arrives.
    origin.start()
    send = RecordingSend()
    early = deliver_due(destination_db, destination.directory(), now + timedelta(seconds=29), send)
    assert (early.delivered, early.failed, send.answers) == ([], [], [])
    later = now + timedelta(seconds=31)
    delivered = deliver_due(destination_db, destination.directory(), later, send, policy)
    assert delivered.delivered == [referral.message_id]
    assert send.answers == [{"status": "started", "id": referral.message_id}]  # no case reference
    (reception,) = _reception_cases(origin_db)
    assert (reception.partner, reception.partner_reference) == (
        "destination",
        case.view.business_key,
    )
    assert reception.business_key != case.view.business_key

    # The answer was lost on the way back: the destination sends the referral again.
    with destination_db.transaction() as session:
        session.execute(
            update(OutboundMessage)
            .where(OutboundMessage.id == referral.id)
            .values(delivered_at=None, next_attempt_at=None)
        )
    resent = deliver_due(destination_db, destination.directory(), later, send, policy)
    assert resent.delivered == [referral.message_id]
    assert send.answers[-1] == {"status": "duplicate", "id": referral.message_id}
    assert len(_reception_cases(origin_db)) == 1
    assert _received(origin_db) == [
        ("destination", str(referral.message_id), "reintegration_referral")
    ]

    # The origin's support provider accepts the referral and plans the reception.
    origin_runtime = origin.runtime(origin_db, SystemClock())
    (task,) = origin_runtime.work_items(role="support_provider")
    assert (task.task_name, task.business_key) == (
        "accept_reintegration_referral",
        reception.business_key,
    )
    shown = origin_runtime.case_record(reception.id, demo_user_for("support_provider")).data
    assert shown["reintegration_referral"] == {
        "assistance_needs": answers.NEEDS["assistance_needs"],
        "risk_level": "low",
    }
    origin_runtime.complete(task.id, RECEPTION_PLAN, demo_user_for("support_provider"))
    confirmation = _outbox_row(origin_db, "reception_confirmed")
    assert (confirmation.partner, confirmation.correlation) == (
        "destination",
        case.view.business_key,
    )

    # The plan goes back over HTTP and the destination's waiting case moves on.
    back = deliver_due(origin_db, origin.directory(), datetime.now(UTC), send)
    assert back.delivered == [confirmation.message_id]
    assert send.answers[-1] == {"status": "delivered", "id": confirmation.message_id}
    assert "reception_confirmed" not in case.waiting_messages()
    assert "agree_reintegration_plan" in case.open_tasks()
    organiser = demo_user_for("return_organisation")
    assert case.runtime.case_record(case.view.id, organiser).data["reception"] == RECEPTION_PLAN
    assert _received(destination_db) == [
        ("origin", str(confirmation.message_id), "reception_confirmed")
    ]
