"""The case page: each agency sees only its share of a real case, and every view is audited."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from engine.clock import FixedClock
from engine.db import Database
from engine.models import AuditEvent
from engine.runtime import Runtime
from tests.web.conftest import SignIn
from tests.workflows import nrm_answers as answers
from tests.workflows.nrm_driver import NrmCase
from tests.workflows.nrm_steps import (
    cooperate_with_witness_protection,
    identify_adult,
    provide_assistance,
)

MEASURES_NOTE = "Agreed with the duty officer at the station."
# what the police recorded, as the page would show it: labels and values
MEASURES_HTML = (
    "Protection measures agreed",
    "Note on the measures",
    "Relocation to another area",
    "Police protection",
    MEASURES_NOTE,
    "<h3>Protection measures</h3>",
)


def _runtime(app: Flask) -> Runtime:
    return app.extensions["nrmflow.runtime"]  # type: ignore[no-any-return]


@pytest.fixture
def protected_case(app: Flask, db: Database, clock: FixedClock) -> NrmCase:
    """A recognised adult at high risk, with police measures agreed; the person chose to
    cooperate, so the police arrange witness protection while the caseworker agrees a
    durable solution: open items for both."""
    case = NrmCase.refer(_runtime(app), db, clock, as_user="demo.police")
    identify_adult(case, willing_to_cooperate="yes")
    case.advance(days=3)
    case.complete("decide_reasonable_grounds", answers.rg("positive"), "competent_authority")
    provide_assistance(case)
    case.complete("assess_risk", answers.risk("high"), "support_provider")
    case.complete(
        "agree_protection_measures",
        {
            "protection_measures": ["relocation", "police_protection"],
            "measures_note": MEASURES_NOTE,
        },
        "police",
    )
    cooperate_with_witness_protection(case)
    return case


def _views(db: Database, instance_id: int) -> list[tuple[str, list[str]]]:
    with db.reader() as session:
        query = (
            select(AuditEvent)
            .where(AuditEvent.instance_id == instance_id, AuditEvent.action == "case_viewed")
            .order_by(AuditEvent.seq)
        )
        return [(e.actor, json.loads(e.payload)["fields"]) for e in session.scalars(query)]


def test_the_police_see_the_protection_measures(
    client: FlaskClient, sign_in: SignIn, protected_case: NrmCase
) -> None:
    response = sign_in(client, "demo.police").get(f"/cases/{protected_case.view.id}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for text in MEASURES_HTML:
        assert text in html
    assert protected_case.view.business_key in html
    assert "Criminal and civil proceedings" in html  # the police item's stage
    item = protected_case.item("request_witness_protection")
    assert f'href="/work-items/{item.id}"' in html
    assert "Alex" in html  # identity: the police need to know whom they protect
    assert "Psychological support" not in html  # health is not theirs


def test_the_caseworker_gets_no_trace_of_the_police_measures(
    client: FlaskClient, sign_in: SignIn, protected_case: NrmCase, db: Database
) -> None:
    response = sign_in(client, "demo.caseworker").get(f"/cases/{protected_case.view.id}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    for text in MEASURES_HTML:
        assert text not in html, text
    assert "Risk level" in html and "Threats from the exploiters" in html
    assert "fields are not shown to your role" in html
    own = protected_case.item("agree_durable_solution")
    police = protected_case.item("request_witness_protection")
    assert f'href="/work-items/{own.id}"' in html
    assert f'href="/work-items/{police.id}"' not in html  # listed, but not theirs to open
    assert "Arrange witness protection" in html
    [(actor, fields)] = _views(db, protected_case.view.id)
    assert actor == "demo.caseworker"
    assert "protection_measures" not in fields and "measures_note" not in fields
    assert {"given_name", "risk_level", "accommodation"} <= set(fields)


def test_each_view_is_audited_with_only_the_fields_shown(
    client: FlaskClient, sign_in: SignIn, protected_case: NrmCase, db: Database
) -> None:
    case_id = protected_case.view.id
    sign_in(client, "demo.police").get(f"/cases/{case_id}")
    sign_in(client, "demo.police").get(f"/cases/{case_id}")
    sign_in(client, "demo.caseworker").get(f"/cases/{case_id}")
    views = _views(db, case_id)
    assert [actor for actor, _fields in views] == ["demo.police", "demo.police", "demo.caseworker"]
    police_fields, caseworker_fields = set(views[0][1]), set(views[2][1])
    assert {"protection_measures", "measures_note"} <= police_fields
    assert "medical_care" in caseworker_fields and "medical_care" not in police_fields
    every_field = set(protected_case.data()) | police_fields | caseworker_fields
    assert police_fields < every_field and caseworker_fields < every_field


def test_someone_without_work_on_the_case_gets_the_page_of_a_missing_case(
    client: FlaskClient, sign_in: SignIn, protected_case: NrmCase, db: Database
) -> None:
    """Another agency's case looks exactly like one that does not exist: an id reveals nothing."""
    for username in ("demo.immigration", "demo.social", "demo.auditor"):
        signed_in = sign_in(client, username)
        response = signed_in.get(f"/cases/{protected_case.view.id}")
        missing = signed_in.get("/cases/999999")
        assert response.status_code == missing.status_code == 404, username
        html = response.get_data(as_text=True)
        assert _without_tokens(html) == _without_tokens(missing.get_data(as_text=True))
        assert "Alex" not in html and MEASURES_NOTE not in html
    assert _views(db, protected_case.view.id) == []


def _without_tokens(html: str) -> str:
    """The page less its CSRF tokens, which differ between any two requests."""
    return re.sub(r'name="csrf_token" value="[^"]*"', "", html)


def test_the_coordinator_opens_any_case(
    client: FlaskClient, sign_in: SignIn, protected_case: NrmCase
) -> None:
    response = sign_in(client, "demo.coordinator").get(f"/cases/{protected_case.view.id}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert MEASURES_NOTE in html and "fields are not shown" not in html


def test_an_unknown_case_is_404(client: FlaskClient, sign_in: SignIn) -> None:
    assert sign_in(client, "demo.coordinator").get("/cases/999999").status_code == 404


def test_a_stranger_is_sent_to_sign_in(client: FlaskClient, protected_case: NrmCase) -> None:
    response = client.get(f"/cases/{protected_case.view.id}")
    assert response.status_code == 302
    assert "/sign-in" in response.headers["Location"]


def test_the_page_shows_labels_values_timeline_and_an_overdue_task(
    app: Flask, client: FlaskClient, sign_in: SignIn, db: Database, clock: FixedClock
) -> None:
    case = NrmCase.refer(_runtime(app), db, clock, as_user="demo.police")
    identify_adult(case)
    decision = case.item("decide_reasonable_grounds")
    assert decision.due_at is not None
    clock.set(decision.due_at + timedelta(hours=1))  # past due, the worker has not run
    html = sign_in(client, "demo.authority").get(f"/cases/{case.view.id}").get_data(as_text=True)
    assert "Overdue" in html  # in words, not only in colour
    assert "Referral decision" in html  # the stage's title
    assert "Type of first responder" in html and "Labour inspector" in html  # enum → title
    assert "Debt bondage" in html  # a list of choices, each by its title
    assert "Was an interpreter used?" in html and "<dd>Yes</dd>" in html  # a boolean
    assert "Case started" in html and "Task completed" in html  # the timeline in words
    assert "demo.police" in html  # who did it
    assert "Screen for indicators of trafficking" in html  # the task by its diagram name
    assert "medical_care" not in html and "Accommodation arranged" not in html
