"""The inbox page on a real NRM case: who sees what, markers, filters and the item actions."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

from flask import Flask, url_for
from flask.testing import FlaskClient
from sqlalchemy import select

from engine.clock import FixedClock
from engine.db import Database
from engine.models import AuditEvent, WorkItem
from engine.views import CaseView, WorkItemView
from tests.web.conftest import SignIn
from tests.workflows import nrm_answers as answers
from web import services

START = {"first_responder_type": "police", "first_contact_date": "2026-03-02"}


def refer(app: Flask) -> CaseView:
    """A case past consent: open items for the competent authority and the support provider."""
    with app.app_context():
        runtime = services.runtime()
        case = runtime.start("nrm_case", START, "demo.police")
        case = runtime.complete(
            item(case, "screen_indicators").id, answers.screening(), "demo.police"
        )
        return runtime.complete(
            item(case, "obtain_consent").id, answers.consent_given(), "demo.police"
        )


def item(case: CaseView, task_name: str) -> WorkItemView:
    return next(w for w in case.work_items if w.task_name == task_name)


def inbox(client: FlaskClient, query: str = "") -> str:
    response = client.get(f"/inbox{query}")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def row(html: str, work_item_id: int) -> str:
    found = re.search(rf'<tr id="work-item-{work_item_id}">(.*?)</tr>', html, re.S)
    assert found, f"no row for work item {work_item_id}"
    return found.group(1)


def assignee(db: Database, work_item_id: int) -> str | None:
    with db.reader() as session:
        return session.get(WorkItem, work_item_id).assignee  # type: ignore[union-attr]


def test_a_caseworker_sees_only_support_provider_items(
    app: Flask, client: FlaskClient, sign_in: SignIn
) -> None:
    case = refer(app)
    html = inbox(sign_in(client, "demo.caseworker"))
    assert "Assess assistance needs" in html and "Assess risks and update the safety plan" in html
    assert "Decide on reasonable grounds" not in html
    assert "2 matching tasks" in html
    assert case.business_key in row(html, item(case, "assess_needs").id)
    with app.test_request_context():
        task_link = (
            url_for("tasks.show", work_item_id=item(case, "assess_needs").id)
            if "tasks.show" in app.view_functions
            else f"/work-items/{item(case, 'assess_needs').id}"
        )
    assert f'href="{task_link}"' in row(html, item(case, "assess_needs").id)
    # a role the caseworker does not hold shows nothing more
    assert "Decide on reasonable grounds" not in inbox(client, "?role=competent_authority")
    assert client.get("/").headers["Location"] == "/inbox"


def test_due_today_and_overdue_stand_out_in_words_too(
    app: Flask, client: FlaskClient, sign_in: SignIn, clock: FixedClock
) -> None:
    case = refer(app)
    decision = item(case, "decide_reasonable_grounds")
    assert decision.due_at == datetime(2026, 3, 9, 9, 0, tzinfo=UTC)

    clock.set(datetime(2026, 3, 9, 8, 0, tzinfo=UTC))
    cells = row(inbox(sign_in(client, "demo.authority")), decision.id)
    assert 'class="due-today"' in cells and "Due today" in cells and "Overdue" not in cells

    clock.set(datetime(2026, 3, 10, 8, 0, tzinfo=UTC))
    cells = row(inbox(sign_in(client, "demo.authority")), decision.id)
    assert 'class="overdue"' in cells and "Overdue" in cells and "Due today" not in cells


def test_filters_by_stage_and_overdue(
    app: Flask, client: FlaskClient, sign_in: SignIn, clock: FixedClock
) -> None:
    first = refer(app)
    clock.advance(days=1)
    second = refer(app)
    clock.set(datetime(2026, 3, 9, 12, 0, tzinfo=UTC))  # the first decision is overdue

    html = inbox(sign_in(client, "demo.caseworker"), "?stage=nrm_assistance")
    assert "Assess assistance needs" in html and "Assess risks" not in html
    assert "2 matching tasks" in html  # one needs assessment per case

    sign_in(client, "demo.authority")
    assert "2 matching tasks" in inbox(client)
    html = inbox(client, "?overdue=1")
    assert "1 matching task" in html
    assert first.business_key in html and second.business_key not in html


def test_claim_then_give_back(
    web: Flask, client: FlaskClient, sign_in: SignIn, db: Database
) -> None:
    needs = item(refer(web), "assess_needs")
    sign_in(client, "demo.caseworker")

    response = client.post(f"/inbox/{needs.id}/claim", data={"stage": "nrm_assistance"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/inbox?stage=nrm_assistance"
    assert assignee(db, needs.id) == "demo.caseworker"
    html = inbox(client)
    assert "You claimed “Assess assistance needs”" in html
    assert f'action="/inbox/{needs.id}/unclaim"' in row(html, needs.id)

    response = client.post(f"/inbox/{needs.id}/unclaim", follow_redirects=True)
    assert "You gave back" in response.get_data(as_text=True)
    assert assignee(db, needs.id) is None


def test_claiming_what_a_colleague_holds_is_explained_not_a_crash(
    web: Flask, client: FlaskClient, sign_in: SignIn, db: Database
) -> None:
    needs = item(refer(web), "assess_needs")
    with web.app_context():
        services.runtime().claim(needs.id, "demo.caseworker2")
    sign_in(client, "demo.caseworker")
    assert f'action="/inbox/{needs.id}/claim"' not in row(inbox(client), needs.id)

    response = client.post(f"/inbox/{needs.id}/claim", follow_redirects=True)
    assert response.status_code == 200
    assert "Someone else has claimed this task" in response.get_data(as_text=True)
    assert assignee(db, needs.id) == "demo.caseworker2"


def test_a_supervisor_reassigns_within_the_agency(
    web: Flask, client: FlaskClient, sign_in: SignIn, db: Database
) -> None:
    needs = item(refer(web), "assess_needs")
    cells = row(inbox(sign_in(client, "demo.supervisor")), needs.id)
    choices = re.findall(r'<option value="([^"]+)">', cells)
    assert choices == ["demo.caseworker", "demo.caseworker2", "demo.supervisor"]

    response = client.post(
        f"/inbox/{needs.id}/reassign", data={"to_user": "demo.caseworker2"}, follow_redirects=True
    )
    assert "to demo.caseworker2" in response.get_data(as_text=True)
    assert assignee(db, needs.id) == "demo.caseworker2"
    with db.reader() as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "work_item_reassigned")
        ).all()
    assert [(e.actor, e.instance_id, json.loads(e.payload)) for e in events] == [
        (
            "demo.supervisor",
            needs.instance_id,
            {"task": "assess_needs", "from": None, "to": "demo.caseworker2"},
        )
    ]


def test_no_reassign_for_others_and_a_forged_one_is_refused(
    web: Flask, client: FlaskClient, sign_in: SignIn, db: Database
) -> None:
    needs = item(refer(web), "assess_needs")
    html = inbox(sign_in(client, "demo.caseworker"))
    assert "/reassign" not in html and 'name="to_user"' not in html

    response = client.post(f"/inbox/{needs.id}/reassign", data={"to_user": "demo.caseworker2"})
    assert response.status_code == 403
    assert "You are not allowed to do this" in response.get_data(as_text=True)
    assert "Traceback" not in response.get_data(as_text=True)
    assert assignee(db, needs.id) is None


def test_actions_need_the_csrf_token(app: Flask, client: FlaskClient, sign_in: SignIn) -> None:
    needs = item(refer(app), "assess_needs")
    html = inbox(sign_in(client, "demo.caseworker"))
    assert 'name="csrf_token"' in row(html, needs.id)
    assert client.post(f"/inbox/{needs.id}/claim").status_code == 400


def test_odd_parameters_fall_back_to_the_default_view(
    app: Flask, client: FlaskClient, sign_in: SignIn
) -> None:
    refer(app)
    html = inbox(sign_in(client, "demo.caseworker"), "?sort=name&page=²&overdue=maybe")
    assert "2 matching tasks" in html


def test_signed_out_visitors_are_sent_to_sign_in(app: Flask, client: FlaskClient) -> None:
    response = client.get("/inbox")
    assert response.status_code == 302
    with app.test_request_context():
        sign_in_url = url_for("auth.sign_in")
    assert response.headers["Location"].startswith(sign_in_url)
