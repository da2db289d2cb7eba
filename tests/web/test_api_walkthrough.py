"""A whole referral walked over HTTP by examples/walk_referral.py, one token per role.

The script knows only the JSON API; the server is the real app in training
mode. The case must close, each role's work must be done by that role's own
user, and the OpenAPI document must describe every request the walk made
and every status it got back.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from engine.models import AuditEvent
from examples.walk_referral import ANSWERS, Walk, walk_referral
from tests.web.api_live import ROLE_USERS, api_app, close, db_of, issue_tokens, serve
from workflows.demo import DEMO_USERS

# the roles scenario (a) gives work to, besides the coordinator (reads, clock) and the partners
WORKING_ROLES = {
    "first_responder",
    "competent_authority",
    "support_provider",
    "social_services",
    "health_services",
    "interpreter",
    "legal_aid",
    "prosecutor",
    "return_organisation",
}


@pytest.fixture
def training_app(database_url: str) -> Iterator[Flask]:
    app = api_app(database_url, training=True)
    yield app
    close(app)


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def _case_events(app: Flask, case_id: int) -> list[AuditEvent]:
    with db_of(app).reader() as session:
        query = select(AuditEvent).where(AuditEvent.instance_id == case_id).order_by(AuditEvent.seq)
        return list(session.scalars(query))


def test_a_referral_walks_to_closure_over_http_with_one_token_per_role(
    training_app: Flask,
) -> None:
    tokens = issue_tokens(training_app)
    lines: list[str] = []
    with serve(training_app) as base_url:
        walk = walk_referral(base_url, tokens, log=lines.append)
        document = _get_json(f"{base_url}/api/v1/openapi.json")

    assert walk.status == "completed"
    assert walk.case_id is not None
    assert {role for role, _task in walk.completed} == WORKING_ROLES
    assert walk.delivered == ["travel_documents_issued", "reception_confirmed", "arrival_confirmed"]
    assert [task for _role, task in walk.completed].count("record_follow_up") == 3
    assert all(line.startswith(f"{walk.reference}: ") for line in lines)
    consent = ANSWERS["obtain_consent"]
    assert not [line for line in lines if consent["family_name"] in line]  # no case data logged
    _assert_each_role_acted_as_itself(training_app, walk)
    _assert_the_document_describes_the_walk(document, walk)


def _assert_each_role_acted_as_itself(app: Flask, walk: Walk) -> None:
    """The audit log names, for each step, the user whose token the role's requests carried."""
    assert walk.case_id is not None
    events = _case_events(app, walk.case_id)
    roles_of = {name: set(roles) for name, _agency, roles in DEMO_USERS}
    completed = [
        (event.actor, json.loads(event.payload)["task"])
        for event in events
        if event.action == "task_completed"
    ]
    assert completed == [(ROLE_USERS[role], task) for role, task in walk.completed]
    assert all(role in roles_of[ROLE_USERS[role]] for role, _task in walk.completed)
    started = next(event for event in events if event.action == "case_started")
    assert started.actor == ROLE_USERS["first_responder"]
    received = {event.actor for event in events if event.action == "message_received"}
    assert received == {ROLE_USERS["partner_gateway"]}
    # the clock's moves belong to no case: the coordinator made every one
    assert {call.role for call in walk.calls if call.path.endswith("/clock/advance")} == {
        "nrm_coordinator"
    }


def _assert_the_document_describes_the_walk(document: dict[str, Any], walk: Walk) -> None:
    used = sorted({(call.method, call.path, call.status) for call in walk.calls})
    undocumented = [
        (method, path, status)
        for method, path, status in used
        if str(status)
        not in document["paths"].get(path, {}).get(method.lower(), {}).get("responses", {})
    ]
    assert not undocumented, f"used but not in the OpenAPI document: {undocumented}"
    assert {(m, p) for m, p, _s in used} >= {
        ("POST", "/api/v1/cases"),
        ("GET", "/api/v1/cases/{case_id}"),
        ("GET", "/api/v1/work-items"),
        ("GET", "/api/v1/work-items/{work_item_id}"),
        ("POST", "/api/v1/work-items/{work_item_id}/claim"),
        ("POST", "/api/v1/work-items/{work_item_id}/complete"),
        ("POST", "/api/v1/messages"),
        ("POST", "/api/v1/clock/advance"),
    }
