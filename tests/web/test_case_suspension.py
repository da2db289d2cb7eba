"""Suspending a case from its page and over the API: the coordinator only, and its items vanish.

The engine's behaviour (timers, refusals, the audit) is tested in
``tests/engine/test_case_suspension.py``; here: who may, what the page shows,
and that the inbox page and the API's work-item list leave a suspended case out.
"""

from __future__ import annotations

import json

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from engine.db import Database
from engine.models import AuditEvent
from engine.views import CaseView
from tests.web.api_tokens import ApiAs, api_as
from tests.web.conftest import SignIn
from tests.web.test_inbox import inbox, item, refer, row
from tests.workflows import nrm_answers as answers

COORDINATOR = "demo.coordinator"
AUTHORITY = "demo.authority"
REASON = "Waiting for the court's order."
PROBLEM = "urn:nrmflow:problem:"


@pytest.fixture
def case(app: Flask) -> CaseView:
    """The competent authority's reasonable-grounds decision is open."""
    return refer(app)


@pytest.fixture
def api(app: Flask) -> ApiAs:
    return api_as(app)


def _page(client: FlaskClient, case: CaseView) -> str:
    response = client.get(f"/cases/{case.id}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _listed(api: ApiAs, case: CaseView, username: str = AUTHORITY) -> set[int]:
    response = api(username).get("/work-items")
    assert response.status_code == 200
    return {i["id"] for i in response.json["items"] if i["case_id"] == case.id}


def _actions(db: Database, case: CaseView) -> list[tuple[str, str, dict[str, str]]]:
    with db.reader() as session:
        events = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.instance_id == case.id)
            .where(AuditEvent.action.in_(["case_suspended", "case_resumed"]))
            .order_by(AuditEvent.seq)
        )
        return [(e.actor, e.action, json.loads(e.payload)) for e in events]


def test_the_coordinator_suspends_and_resumes_from_the_case_page(
    web: Flask, case: CaseView, sign_in: SignIn, db: Database
) -> None:
    decision = item(case, "decide_reasonable_grounds")
    coordinator = sign_in(web.test_client(), COORDINATOR)
    authority = sign_in(web.test_client(), AUTHORITY)
    page = _page(coordinator, case)
    assert "Suspend this case" in page and 'name="reason"' in page
    assert "Suspended since" not in page
    assert f'id="work-item-{decision.id}"' in inbox(authority)
    assert "<a href" in row(_page(authority, case), decision.id)

    response = coordinator.post(f"/cases/{case.id}/suspend", data={"reason": REASON})
    assert response.status_code == 303
    page = _page(coordinator, case)
    assert "Suspended since" in page and "reason in the audit trail" in page
    assert REASON not in page  # the reason stays in the audit trail
    assert f'action="/cases/{case.id}/resume"' in page
    assert f'id="work-item-{decision.id}"' not in inbox(authority)
    assert "<a href" not in row(_page(authority, case), decision.id)  # nothing to open
    assert authority.post(f"/inbox/{decision.id}/claim").status_code == 409

    assert coordinator.post(f"/cases/{case.id}/suspend", data={"reason": "x"}).status_code == 409
    assert coordinator.post(f"/cases/{case.id}/resume", data={"reason": ""}).status_code == 303
    assert "Suspended since" not in _page(coordinator, case)
    assert f'id="work-item-{decision.id}"' in inbox(authority)
    assert coordinator.post(f"/cases/{case.id}/resume", data={}).status_code == 409
    assert [(actor, action) for actor, action, _ in _actions(db, case)] == [
        (COORDINATOR, "case_suspended"),
        (COORDINATOR, "case_resumed"),
    ]


def test_a_missing_reason_suspends_nothing_and_says_why(
    web: Flask, case: CaseView, sign_in: SignIn, db: Database
) -> None:
    coordinator = sign_in(web.test_client(), COORDINATOR)
    response = coordinator.post(
        f"/cases/{case.id}/suspend", data={"reason": "  "}, follow_redirects=True
    )
    assert "Give a reason" in response.get_data(as_text=True)
    assert _actions(db, case) == []


def test_nobody_else_sees_the_form_or_may_post_it(
    web: Flask, case: CaseView, sign_in: SignIn, db: Database
) -> None:
    authority = sign_in(web.test_client(), AUTHORITY)
    assert "Suspend this case" not in _page(authority, case)
    response = authority.post(f"/cases/{case.id}/suspend", data={"reason": REASON})
    assert response.status_code == 403
    assert _actions(db, case) == []


def test_the_form_needs_its_csrf_token(app: Flask, case: CaseView, sign_in: SignIn) -> None:
    coordinator = sign_in(app.test_client(), COORDINATOR)
    assert 'name="csrf_token"' in _page(coordinator, case)
    assert coordinator.post(f"/cases/{case.id}/suspend", data={"reason": REASON}).status_code == 400


def test_the_api_suspends_hides_the_items_refuses_work_and_resumes(
    api: ApiAs, case: CaseView, db: Database
) -> None:
    decision = item(case, "decide_reasonable_grounds")
    coordinator = api(COORDINATOR)
    assert _listed(api, case) == {decision.id}

    suspended = coordinator.post(f"/cases/{case.id}/suspend", {"reason": REASON})
    assert suspended.status_code == 200
    assert suspended.json["suspended"] is True and suspended.json["suspended_at"]
    assert _listed(api, case) == set()
    authority = api(AUTHORITY)
    claim = authority.post(f"/work-items/{decision.id}/claim")
    assert (claim.status_code, claim.json["type"]) == (409, PROBLEM + "case-suspended")
    done = authority.post(f"/work-items/{decision.id}/complete", {"data": answers.rg("positive")})
    assert (done.status_code, done.json["type"]) == (409, PROBLEM + "case-suspended")
    again = coordinator.post(f"/cases/{case.id}/suspend", {"reason": REASON})
    assert (again.status_code, again.json["type"]) == (409, PROBLEM + "case-suspended")

    resumed = coordinator.post(f"/cases/{case.id}/resume", {"reason": "The order arrived."})
    assert resumed.status_code == 200
    assert resumed.json["suspended"] is False and resumed.json["suspended_at"] is None
    assert _listed(api, case) == {decision.id}
    twice = coordinator.post(f"/cases/{case.id}/resume", {})
    assert (twice.status_code, twice.json["type"]) == (409, PROBLEM + "case-not-suspended")
    assert [(action, payload.get("reason")) for _, action, payload in _actions(db, case)] == [
        ("case_suspended", REASON),
        ("case_resumed", "The order arrived."),
    ]


def test_the_api_forbids_everyone_but_the_coordinator(api: ApiAs, case: CaseView) -> None:
    for username in (AUTHORITY, "demo.caseworker"):
        response = api(username).post(f"/cases/{case.id}/suspend", {"reason": REASON})
        assert (response.status_code, response.json["type"]) == (403, PROBLEM + "not-authorized")
        # the same answer for a case that does not exist: it reveals nothing
        assert api(username).post("/cases/999999/suspend", {"reason": REASON}).status_code == 403
    assert api(COORDINATOR).post("/cases/999999/resume", {}).status_code == 404
    missing = api(COORDINATOR).post(f"/cases/{case.id}/suspend", {})
    assert missing.status_code == 422
