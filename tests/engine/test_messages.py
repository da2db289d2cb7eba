"""Messages across the deployment's edge: start forms, the outbox, subscriptions, delivery."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import select

from engine.audit import verify
from engine.bundle import Bundle, read_bundle
from engine.clock import FixedClock
from engine.db import Database
from engine.deploy import deploy_bundle
from engine.errors import (
    CaseNotFound,
    FormInvalid,
    MessageNotExpected,
    ModelInvalid,
    NotAuthorized,
)
from engine.hooks import Hooks
from engine.models import AuditEvent, MessageSubscription, OutboundMessage
from engine.validation import validate_bundle
from tests.engine.helpers import BUNDLES, item_named, sample_runtime


def _subscriptions(db: Database) -> list[str]:
    with db.reader() as session:
        return sorted(session.scalars(select(MessageSubscription.message_name)))


def test_start_data_must_satisfy_the_start_form(db: Database, clock: FixedClock) -> None:
    runtime = sample_runtime(db, clock, bundle="messages")
    with pytest.raises(FormInvalid) as missing:
        runtime.start("message_case", {}, "clara")
    assert [e.path for e in missing.value.errors] == ["topic"]
    with pytest.raises(FormInvalid) as extra:
        runtime.start("message_case", {"topic": "housing", "name": "Someone"}, "clara")
    assert "is not a field of this form" in str(extra.value)


def test_a_thrown_message_goes_to_the_outbox_and_the_reply_moves_the_case(
    db: Database, clock: FixedClock
) -> None:
    runtime = sample_runtime(db, clock, bundle="messages")
    case = runtime.start("message_case", {"topic": "documents"}, "clara")
    assert case.status == "waiting" and case.work_items == []
    with db.reader() as session:
        (outbound,) = session.scalars(select(OutboundMessage))
        sent = session.scalars(select(AuditEvent).filter_by(action="message_sent")).one()
    assert (outbound.message_name, outbound.correlation) == ("partner_request", case.business_key)
    assert json.loads(outbound.payload) == {"topic": "documents"}
    assert json.loads(sent.payload) == {"message": "partner_request"}  # no content in the audit
    assert _subscriptions(db) == ["partner_reply"]

    case = runtime.deliver_message(case.business_key, "partner_reply", {"ok": True}, "clara")
    review = item_named(case, "review_reply")
    assert _subscriptions(db) == ["cancel_request"]  # the boundary of the open task
    with pytest.raises(MessageNotExpected):
        runtime.deliver_message(case.business_key, "partner_reply", {"ok": True}, "clara")

    case = runtime.complete(review.id, {}, "clara")
    assert case.status == "completed" and _subscriptions(db) == []
    with db.reader() as session:
        received = session.scalars(select(AuditEvent).filter_by(action="message_received")).one()
        assert verify(session).intact
    assert json.loads(received.payload) == {"fields": ["ok"], "message": "partner_reply"}


def test_an_interrupting_message_withdraws_the_open_task(db: Database, clock: FixedClock) -> None:
    runtime = sample_runtime(db, clock, bundle="messages")
    case = runtime.start("message_case", {"topic": "housing"}, "clara")
    case = runtime.deliver_message(case.business_key, "partner_reply", {}, "clara")
    assert [w.task_name for w in case.work_items] == ["review_reply"]
    case = runtime.deliver_message(case.business_key, "cancel_request", {}, "clara")
    assert case.status == "completed" and case.work_items == []


def test_delivery_is_refused_cleanly(db: Database, clock: FixedClock) -> None:
    runtime = sample_runtime(db, clock, bundle="messages")
    case = runtime.start("message_case", {"topic": "housing"}, "clara")
    with pytest.raises(CaseNotFound):
        runtime.deliver_message("2026-0000-0000", "partner_reply", {}, "clara")
    with pytest.raises(MessageNotExpected):
        runtime.deliver_message(case.business_key, "cancel_request", {}, "clara")
    with pytest.raises(FormInvalid):
        not_an_object: Any = ["a", "list"]
        runtime.deliver_message(case.business_key, "partner_reply", not_an_object, "clara")
    runtime.hooks = Hooks(may_deliver=lambda _message, roles: "partner" in roles)
    with pytest.raises(NotAuthorized):
        runtime.deliver_message(case.business_key, "partner_reply", {}, "clara")
    assert runtime.case(case.id).revision == case.revision


def test_deploy_reports_lanes_no_role_serves_and_spiff_warnings(
    db: Database, clock: FixedClock
) -> None:
    bundle = read_bundle(BUNDLES / "messages", 5_000_000)
    with pytest.raises(ModelInvalid) as refused:
        validate_bundle(bundle, {}, role_for_lane=lambda lane: None)
    assert "lane 'Clerk' is not served by any known role" in str(refused.value)

    source = bundle.files["messages.bpmn"].decode()
    deprecated = source.replace(
        '<bpmn:message id="message_partner_request" name="partner_request" />',
        '<bpmn:message id="message_partner_request" name="partner_request">'
        "<bpmn:extensionElements><spiffworkflow:messagePayload>topic"
        "</spiffworkflow:messagePayload></bpmn:extensionElements></bpmn:message>",
    )
    files = {**bundle.files, "messages.bpmn": deprecated.encode()}
    (deployed,) = deploy_bundle(db, Bundle(files), "tester", Hooks(), clock)
    assert any("DeprecationWarning" in w and "messagePayload" in w for w in deployed.warnings)
