"""Receiving partner messages: verified first, once per id, only into cases that wrote to them.

Two bundles play the two sides of a conversation in one deployment: the
``messages`` sample throws ``partner_request`` and waits for ``partner_reply``
(this deployment asks a partner), and ``reception`` below is started by a
partner's ``referral`` and answers it (a partner asks this deployment).
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine import partner_inbox
from engine.audit import verify as verify_audit
from engine.bundle import Bundle
from engine.case_suspension import CaseSuspended, resume, suspend
from engine.clock import FixedClock
from engine.db import Database
from engine.deploy import deploy_bundle
from engine.errors import FormInvalid, MessageNotExpected, NotAuthorized
from engine.hooks import Hooks
from engine.models import AuditEvent, OutboundMessage, ProcessInstance, ReceivedMessage
from engine.partner_inbox import MAX_PAYLOAD_DEPTH, PartnerEnvelope
from engine.partners import Partner, PartnerDirectory
from engine.runtime import Runtime
from engine.signing import SignatureInvalid, sign
from tests.engine.helpers import item_named, sample_runtime

ORIGIN = Partner(
    "origin", "http://127.0.0.1:9", "origin-key", b"o" * 32, frozenset({"partner_request"})
)
OTHER = Partner("other", "http://127.0.0.1:9", "other-key", b"x" * 32)
CONSULATE = Partner(
    "consulate", "http://127.0.0.1:9", "consulate-key", b"c" * 32, roles=frozenset({"consulate"})
)
DIRECTORY = PartnerDirectory({p.name: p for p in (ORIGIN, OTHER, CONSULATE)})
GATEWAY_ONLY = Hooks(may_deliver=lambda _message, roles: "partner_gateway" in roles)

RECEPTION = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
    id="reception_definitions" targetNamespace="http://nrmflow.example/tests">
  <bpmn:message id="message_referral" name="referral"/>
  <bpmn:message id="message_referral_answer" name="referral_answer"/>
  <bpmn:message id="message_arrival" name="arrival"/>
  <bpmn:process id="reception" name="Reception" isExecutable="true">
    <bpmn:laneSet id="reception_lanes">
      <bpmn:lane id="lane_clerk" name="Clerk">
        <bpmn:flowNodeRef>referred</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>plan</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>answer</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>arrived</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>done</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="referred" name="Referred">
      <bpmn:messageEventDefinition id="referred_message" messageRef="message_referral">
        <bpmn:extensionElements><spiffworkflow:messageVariable>referral</spiffworkflow:messageVariable></bpmn:extensionElements>
      </bpmn:messageEventDefinition>
    </bpmn:startEvent>
    <bpmn:userTask id="plan" name="Plan"/>
    <bpmn:intermediateThrowEvent id="answer" name="Answer">
      <bpmn:messageEventDefinition id="answer_message" messageRef="message_referral_answer">
        <bpmn:extensionElements>
          <spiffworkflow:messagePayload>{"accepted": True}</spiffworkflow:messagePayload>
        </bpmn:extensionElements>
      </bpmn:messageEventDefinition>
    </bpmn:intermediateThrowEvent>
    <bpmn:intermediateCatchEvent id="arrived" name="Arrived">
      <bpmn:messageEventDefinition id="arrived_message" messageRef="message_arrival">
        <bpmn:extensionElements><spiffworkflow:messageVariable>arrival</spiffworkflow:messageVariable></bpmn:extensionElements>
      </bpmn:messageEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="done"/>
    <bpmn:sequenceFlow id="to_plan" sourceRef="referred" targetRef="plan"/>
    <bpmn:sequenceFlow id="to_answer" sourceRef="plan" targetRef="answer"/>
    <bpmn:sequenceFlow id="to_arrived" sourceRef="answer" targetRef="arrived"/>
    <bpmn:sequenceFlow id="to_done" sourceRef="arrived" targetRef="done"/>
  </bpmn:process>
</bpmn:definitions>
"""


def _runtime(db: Database, clock: FixedClock, hooks: Hooks | None = None) -> Runtime:
    sample_runtime(db, clock, bundle="messages")
    deploy_bundle(db, Bundle({"reception.bpmn": RECEPTION}), "tester", Hooks(), clock)
    return Runtime(db, hooks or Hooks(), clock, script_time_limit=1.0, partners=DIRECTORY)


def _signed(
    partner: Partner, name: str, correlation: str, payload: Any, message_id: str | None = None
) -> tuple[dict[str, str], bytes]:
    envelope = PartnerEnvelope(message_id or str(uuid.uuid4()), name, correlation, payload)
    body = envelope.to_json()
    return sign(partner, body, time.time()), body


def _count(db: Database, model: type[Any]) -> int:
    with db.reader() as session:
        return session.scalar(select(func.count()).select_from(model)) or 0


def _audit(db: Database, action: str) -> list[dict[str, Any]]:
    with db.reader() as session:
        events = session.scalars(select(AuditEvent).filter_by(action=action))
        return [json.loads(e.payload) | {"actor": e.actor} for e in events]


def test_a_reply_is_delivered_once_however_often_it_arrives(
    db: Database, clock: FixedClock
) -> None:
    runtime = _runtime(db, clock)
    case = runtime.start("message_case", {"topic": "documents"}, "clara")
    headers, body = _signed(ORIGIN, "partner_reply", case.business_key, {"ok": True})

    first = runtime.receive_partner_message(headers, body)
    again = runtime.receive_partner_message(headers, body)

    assert (first.status, first.instance_id, first.partner) == ("delivered", case.id, "origin")
    assert (again.status, again.message_id) == ("duplicate", first.message_id)
    assert [w.task_name for w in runtime.case(case.id).work_items] == ["review_reply"]
    assert _count(db, ReceivedMessage) == 1
    (received,) = _audit(db, "message_received")
    assert received == {
        "message": "partner_reply",
        "fields": ["ok"],
        "message_id": first.message_id,
        "actor": "partner:origin",
    }
    with db.reader() as session:
        row = session.scalars(select(ReceivedMessage)).one()
        assert (row.partner, row.message_name, row.instance_id) == (
            "origin",
            "partner_reply",
            case.id,
        )
        assert verify_audit(session).intact


def test_a_partner_cannot_reach_a_case_that_never_wrote_to_it(
    db: Database, clock: FixedClock
) -> None:
    runtime = _runtime(db, clock)
    case = runtime.start("message_case", {"topic": "documents"}, "clara")  # wrote to origin
    with pytest.raises(MessageNotExpected):
        runtime.receive_partner_message(
            *_signed(OTHER, "partner_reply", case.business_key, {"ok": True})
        )
    assert runtime.case(case.id).status == "waiting"
    assert _count(db, ReceivedMessage) == 0 and _audit(db, "message_received") == []


def test_a_suspended_case_refuses_a_reply_until_it_is_resumed(
    db: Database, clock: FixedClock
) -> None:
    """The refusal is a 409 for the partner, whose outbox retries; nothing is recorded meanwhile."""
    runtime = _runtime(db, clock)
    case = runtime.start("message_case", {"topic": "documents"}, "clara")
    suspend(runtime, case.id, "Waiting for a court order", "clara", None)
    headers, body = _signed(ORIGIN, "partner_reply", case.business_key, {"ok": True})
    with pytest.raises(CaseSuspended):
        runtime.receive_partner_message(headers, body)
    assert _count(db, ReceivedMessage) == 0 and _audit(db, "message_received") == []
    resume(runtime, case.id, None, "clara", None)
    assert runtime.receive_partner_message(headers, body).status == "delivered"


def test_a_message_nothing_waits_for_is_refused_and_can_come_again_later(
    db: Database, clock: FixedClock
) -> None:
    runtime = _runtime(db, clock)
    case = runtime.start("message_case", {"topic": "documents"}, "clara")
    runtime.receive_partner_message(*_signed(ORIGIN, "partner_reply", case.business_key, {}))
    headers, body = _signed(ORIGIN, "partner_reply", case.business_key, {})
    with pytest.raises(MessageNotExpected):
        runtime.receive_partner_message(headers, body)
    assert _count(db, ReceivedMessage) == 1  # the refused id is not recorded: a retry may pass


def test_a_partner_message_is_authorised_by_the_partners_roles(
    db: Database, clock: FixedClock
) -> None:
    runtime = _runtime(db, clock, GATEWAY_ONLY)
    with pytest.raises(NotAuthorized, match="partner 'consulate' may not deliver 'referral'"):
        runtime.receive_partner_message(*_signed(CONSULATE, "referral", "2026-AAAA-BBBB", {}))
    assert _count(db, ProcessInstance) == 0 and _count(db, ReceivedMessage) == 0
    started = runtime.receive_partner_message(*_signed(ORIGIN, "referral", "2026-AAAA-BBBB", {}))
    assert started.status == "started"


def test_a_partners_message_starts_a_case_that_answers_that_partner(
    db: Database, clock: FixedClock
) -> None:
    runtime = _runtime(db, clock)
    payload = {"needs": ["housing"], "risk_level": "low"}
    started = runtime.receive_partner_message(
        *_signed(ORIGIN, "referral", "2026-AAAA-BBBB", payload)
    )
    assert started.status == "started" and started.instance_id is not None
    with db.reader() as session:
        instance = session.get(ProcessInstance, started.instance_id)
        assert instance is not None
        assert (instance.partner, instance.partner_reference) == ("origin", "2026-AAAA-BBBB")
        assert instance.started_by == "partner:origin"
        assert instance.business_key != "2026-AAAA-BBBB"
    (case_started,) = _audit(db, "case_started")
    assert case_started["fields"] == ["needs", "risk_level"] and "low" not in str(case_started)
    case = runtime.case(started.instance_id)
    plan = item_named(case, "plan")
    assert runtime.case_record(started.instance_id, "clara").data["referral"] == payload

    runtime.complete(plan.id, {}, "clara")
    with db.reader() as session:
        answer = session.scalars(select(OutboundMessage)).one()
    # the answer goes back to the partner that asked, quoting the partner's own reference
    assert (answer.partner, answer.correlation, answer.message_name) == (
        "origin",
        "2026-AAAA-BBBB",
        "referral_answer",
    )

    arrived = runtime.receive_partner_message(
        *_signed(ORIGIN, "arrival", "2026-AAAA-BBBB", {"on": "2026-05-20"})
    )
    assert (arrived.status, arrived.instance_id) == ("delivered", started.instance_id)
    assert runtime.case(started.instance_id).status == "completed"


def test_a_signature_is_checked_before_anything_is_read(db: Database, clock: FixedClock) -> None:
    runtime = _runtime(db, clock)
    headers, body = _signed(ORIGIN, "referral", "2026-AAAA-BBBB", {})
    with pytest.raises(SignatureInvalid):
        runtime.receive_partner_message(headers, body.replace(b"AAAA", b"CCCC"))
    with pytest.raises(SignatureInvalid):
        runtime.receive_partner_message(headers, b"not even JSON")
    assert _count(db, ProcessInstance) == 0 and _count(db, ReceivedMessage) == 0


@pytest.mark.parametrize(
    ("body", "path"),
    [
        (b"[1, 2]", ""),
        (b'{"id": "1", "name": "referral", "correlation": "R", "payload": {}}', "id"),
        (
            b'{"id": "%s", "name": "referral", "correlation": "R", "payload": []}',
            "payload",
        ),
        (b'{"id": "%s", "name": "referral", "correlation": "R"}', "payload"),
        (b'{"id": "%s", "name": "referral", "correlation": "R", "payload": {}, "x": 1}', "x"),
        (b"{nope", ""),
    ],
)
def test_an_authentic_but_malformed_message_is_refused(
    db: Database, clock: FixedClock, body: bytes, path: str
) -> None:
    runtime = _runtime(db, clock)
    if b"%s" in body:
        body = body % str(uuid.uuid4()).encode()
    with pytest.raises(FormInvalid) as invalid:
        runtime.receive_partner_message(sign(ORIGIN, body, time.time()), body)
    assert [e.path for e in invalid.value.errors] == [path]
    assert _count(db, ReceivedMessage) == 0


def test_a_deeply_nested_payload_is_refused(db: Database, clock: FixedClock) -> None:
    runtime = _runtime(db, clock)
    nested: Any = "bottom"
    for _ in range(MAX_PAYLOAD_DEPTH):
        nested = [nested]
    with pytest.raises(FormInvalid, match="payload: is nested too deeply"):
        runtime.receive_partner_message(*_signed(ORIGIN, "referral", "R", {"deep": nested}))


def test_a_concurrent_duplicate_that_commits_first_makes_this_one_a_duplicate(
    db: Database, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The check finds nothing, the other delivery commits, then the unique key decides."""
    runtime = _runtime(db, clock)
    case = runtime.start("message_case", {"topic": "documents"}, "clara")
    headers, body = _signed(ORIGIN, "partner_reply", case.business_key, {})
    first = runtime.receive_partner_message(headers, body)
    real_check = partner_inbox._received
    checks: list[str] = []

    def check_that_misses_the_other_delivery(
        session: Session, partner: Partner, message_id: str
    ) -> bool:
        checks.append(message_id)
        return len(checks) > 1 and real_check(session, partner, message_id)

    monkeypatch.setattr(partner_inbox, "_received", check_that_misses_the_other_delivery)
    raced = runtime.receive_partner_message(headers, body)
    assert (raced.status, raced.message_id) == ("duplicate", first.message_id)
    assert len(checks) == 2 and _count(db, ReceivedMessage) == 1
