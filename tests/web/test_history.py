"""The case history page: an auditor traces a case without reading the person's story.

Values are masked by policy and never sent to the browser; the narrative is
shown only after a documented reason, which is audited; every read is an
event; the auditor can read but never act on a case.
"""

from __future__ import annotations

import json
import re

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape
from sqlalchemy import select

from engine.clock import FixedClock
from engine.db import Database
from engine.models import AuditEvent
from engine.runtime import Runtime
from tests.web.conftest import SignIn
from tests.workflows import nrm_answers as answers
from tests.workflows.nrm_driver import NrmCase
from tests.workflows.nrm_steps import identify_adult

RG_REASONS = answers.rg("positive")["rg_reasons"]
RG_REASONS_HTML = str(escape(RG_REASONS))  # as the page writes it
REASON = "Complaint 2026/14 to the ombudsperson about the reasonable-grounds decision."


def _runtime(app: Flask) -> Runtime:
    return app.extensions["nrmflow.runtime"]  # type: ignore[no-any-return]


@pytest.fixture
def decided_case(app: Flask, db: Database, clock: FixedClock) -> NrmCase:
    """An adult identified with consent (an invented name), positive reasonable grounds."""
    case = NrmCase.refer(_runtime(app), db, clock, as_user="demo.police")
    identify_adult(case)
    case.advance(days=3)
    case.complete("decide_reasonable_grounds", answers.rg("positive"), "competent_authority")
    return case


def _events(db: Database, instance_id: int, action: str) -> list[AuditEvent]:
    with db.reader() as session:
        query = (
            select(AuditEvent)
            .where(AuditEvent.instance_id == instance_id, AuditEvent.action == action)
            .order_by(AuditEvent.seq)
        )
        return list(session.scalars(query))


def _csrf_token(html: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert match is not None
    return match[1]


def _history(client: FlaskClient, case: NrmCase) -> str:
    response = client.get(f"/cases/{case.view.id}/history")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_the_auditor_sees_every_event_with_values_masked(
    client: FlaskClient, sign_in: SignIn, decided_case: NrmCase, db: Database
) -> None:
    html = _history(sign_in(client, "demo.auditor"), decided_case)

    assert f"History of case {decided_case.view.business_key}" in html
    with db.reader() as session:
        seqs = list(
            session.scalars(
                select(AuditEvent.seq)
                .where(AuditEvent.instance_id == decided_case.view.id)
                .where(AuditEvent.action != "case_history_viewed")
                .order_by(AuditEvent.seq)
            )
        )
    rows = re.findall(r'<tr id="event-(\d+)"', html)
    assert [int(seq) for seq in rows] == seqs  # every event, in order
    # who, which agency, what, which task, which version, the diff's field labels
    for shown in (
        "demo.authority",
        "Competent Authority",
        "Riverside Police",
        "Task completed",
        "Decide on reasonable grounds",
        "Screen for indicators of trafficking",
        "Given name",
        "•••",
        "(withheld)",
    ):
        assert shown in html, shown
    # nothing the auditor may not see reaches the browser: no name, no decision, no reasons
    for hidden in ("Alex", "Example", "1990-01-01", "Romanian", RG_REASONS_HTML, "Debt bondage"):
        assert hidden not in html, hidden
    assert 'data-element="decide_reasonable_grounds"' in html

    (viewed,) = _events(db, decided_case.view.id, "case_history_viewed")
    assert viewed.actor == "demo.auditor"
    assert json.loads(viewed.payload)["fields"] == []


def test_the_narrative_is_shown_only_after_a_documented_reason(
    client: FlaskClient, sign_in: SignIn, decided_case: NrmCase, db: Database
) -> None:
    auditor = sign_in(client, "demo.auditor")
    url = f"/cases/{decided_case.view.id}/history"
    page = _history(auditor, decided_case)
    assert RG_REASONS_HTML not in page
    token = _csrf_token(page)

    refused = auditor.post(f"{url}/reason", data={"reason": "Because.", "csrf_token": token})
    assert refused.status_code == 422
    refused_html = refused.get_data(as_text=True)
    assert "Give a reason of at least 20 characters." in refused_html
    assert RG_REASONS_HTML not in refused_html
    assert _events(db, decided_case.view.id, "narrative_revealed") == []

    accepted = auditor.post(f"{url}/reason", data={"reason": REASON, "csrf_token": token})
    assert accepted.status_code == 302
    (revealed,) = _events(db, decided_case.view.id, "narrative_revealed")
    assert revealed.actor == "demo.auditor"
    assert json.loads(revealed.payload) == {"reason": REASON}

    html = _history(auditor, decided_case)
    assert RG_REASONS_HTML in html
    assert REASON in html  # the reason is in the trail the page shows
    for hidden in ("Alex", "Example", "1990-01-01"):  # identity is never narrative
        assert hidden not in html, hidden
    last_view = _events(db, decided_case.view.id, "case_history_viewed")[-1]
    assert json.loads(last_view.payload)["fields"] == ["rg_reasons"]
    assert json.loads(last_view.payload)["under_reason"] == revealed.seq

    # the grant belongs to this session: another sign-in sees the narrative withheld again
    other = sign_in(client.application.test_client(), "demo.auditor")
    assert RG_REASONS_HTML not in _history(other, decided_case)


def test_the_grant_lapses(
    client: FlaskClient, sign_in: SignIn, decided_case: NrmCase, clock: FixedClock
) -> None:
    auditor = sign_in(client, "demo.auditor")
    token = _csrf_token(_history(auditor, decided_case))
    auditor.post(
        f"/cases/{decided_case.view.id}/history/reason",
        data={"reason": REASON, "csrf_token": token},
    )
    assert RG_REASONS_HTML in _history(auditor, decided_case)
    clock.advance(minutes=31)
    sign_in(auditor, "demo.auditor")  # keep the session itself alive
    assert RG_REASONS_HTML not in _history(auditor, decided_case)


def test_the_coordinator_sees_values_but_not_the_narrative_without_a_reason(
    client: FlaskClient, sign_in: SignIn, decided_case: NrmCase
) -> None:
    html = _history(sign_in(client, "demo.coordinator"), decided_case)
    assert "Alex" in html and "Debt bondage" in html
    assert RG_REASONS_HTML not in html


def test_a_caseworker_viewing_the_case_appears_in_the_history(
    client: FlaskClient, sign_in: SignIn, decided_case: NrmCase, app: Flask
) -> None:
    caseworker = sign_in(client, "demo.caseworker")
    assert caseworker.get(f"/cases/{decided_case.view.id}").status_code == 200

    auditor = sign_in(app.test_client(), "demo.auditor")
    html = _history(auditor, decided_case)
    (row,) = re.findall(r'<tr id="event-\d+"[^>]*data-action="case_viewed">.*?</tr>', html, re.S)
    assert "demo.caseworker" in row
    assert "Harbour Light NGO" in row
    assert "Case viewed" in row
    assert "Given name" in row  # which data they looked at, by field, never the values
    assert "Alex" not in row


def test_people_with_case_work_may_not_read_histories(
    web: Flask, client: FlaskClient, sign_in: SignIn, decided_case: NrmCase
) -> None:
    caseworker = sign_in(client, "demo.caseworker")
    url = f"/cases/{decided_case.view.id}/history"
    assert caseworker.get(url).status_code == 403
    assert caseworker.get(f"{url}/diagram.json").status_code == 403
    assert caseworker.post(f"{url}/reason", data={"reason": REASON}).status_code == 403


def test_the_auditor_may_not_claim_or_complete_a_task(
    web: Flask, client: FlaskClient, sign_in: SignIn, decided_case: NrmCase, db: Database
) -> None:
    item = decided_case.item("assess_needs")
    auditor = sign_in(client, "demo.auditor")
    before = len(_events(db, decided_case.view.id, "task_completed"))

    # answered as for an item that is not open: holding no task role, the auditor sees none
    assert auditor.post(f"/inbox/{item.id}/claim").status_code == 302
    complete = auditor.post(f"/work-items/{item.id}/complete", data=answers.NEEDS)
    assert complete.status_code == 409
    assert auditor.get(f"/work-items/{item.id}").status_code == 404

    assert decided_case.item("assess_needs").assignee is None
    assert len(_events(db, decided_case.view.id, "task_completed")) == before


def test_the_diagram_endpoint_gives_ids_and_marks_only(
    client: FlaskClient, sign_in: SignIn, decided_case: NrmCase
) -> None:
    auditor = sign_in(client, "demo.auditor")
    url = f"/cases/{decided_case.view.id}/history/diagram.json"
    top = auditor.get(url).get_json()
    assert top["process"] == "nrm_case"
    assert top["xml"].lstrip().startswith("<?xml")
    assert top["active"] == ["protect_with_consent"]
    assert top["call_activities"]["identification"] == "nrm_identification"

    decision = auditor.get(url, query_string={"process": "nrm_referral_decision"}).get_json()
    assert "decide_reasonable_grounds" in decision["completed"]
    assert decision["waiting_timers"] == ["recovery_period_ended"]
    assert "rg_positive" in decision["taken_flows"]
    assert set(decision["events_by_element"]) >= {"decide_reasonable_grounds"}
    body = json.dumps(decision)
    assert "Alex" not in body and RG_REASONS not in body

    assert auditor.get(url, query_string={"process": "no_such_process"}).status_code == 404
