"""The task page on a real NRM case: read, fill in, save a draft, complete, lose a race."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, render_template
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from engine.models import AuditEvent
from engine.runtime import Runtime
from engine.views import CaseView
from tests.web.conftest import SignIn
from tests.web.test_schema_form import FormReader

# What a browser sends for a valid screening (nrm_answers.screening): the box for
# compelled_offences is left unticked, so it is not sent at all.
SCREENING_POST: dict[str, Any] = {
    "indicators": ["debt_bondage", "documents_withheld", "wages_withheld"],
    "exploitation_types": ["labour"],
    "age_status": "adult",
    "sex": "male",
    "age_group": "25_34",
    "nationality_group": "third_country",
    "willing_to_cooperate": "undecided",
    "immediate_needs": ["shelter"],
    "compelled_offences": "false",
}


@pytest.fixture
def case(runtime: Runtime) -> CaseView:
    start = {"first_responder_type": "police", "first_contact_date": "2026-03-02"}
    return runtime.start("nrm_case", start, "demo.police")


@pytest.fixture
def screening_id(case: CaseView) -> int:
    (item,) = [w for w in case.work_items if w.task_name == "screen_indicators"]
    return item.id


@pytest.fixture
def police(web: Flask, sign_in: SignIn) -> FlaskClient:
    return sign_in(web.test_client(), "demo.police")


def open_tasks(runtime: Runtime, case: CaseView) -> dict[str, int]:
    return {w.task_name: w.id for w in runtime.case(case.id).work_items}


def complete(client: FlaskClient, work_item_id: int, data: dict[str, Any]) -> TestResponse:
    return client.post(f"/work-items/{work_item_id}/complete", data=data)


def flashes(client: FlaskClient) -> list[str]:
    with client.session_transaction() as session:
        return [message for _category, message in session.get("_flashes", [])]


def test_the_screening_page_shows_the_case_the_instructions_and_the_form(
    police: FlaskClient, case: CaseView, screening_id: int
) -> None:
    response = police.get(f"/work-items/{screening_id}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<h1>Screen for indicators of trafficking</h1>" in html
    assert case.business_key in html and "Identification" in html
    assert '<section class="instructions"' in html and "<strong>not</strong>" in html
    page = FormReader(html)
    for name in ("indicators", "age_status", "sex", "age_group", "compelled_offences"):
        assert page.named(name) and all(c["id"] in page.label_targets for c in page.named(name))
    assert f'action="/work-items/{screening_id}/complete"' in html
    assert f'formaction="/work-items/{screening_id}/draft"' in html
    assert ">Complete</button>" in html and ">Save draft</button>" in html


def test_an_invalid_submission_shows_each_error_beside_its_field_and_keeps_the_input(
    police: FlaskClient, runtime: Runtime, case: CaseView, screening_id: int
) -> None:
    posted = {"indicators": ["debt_bondage"], "age_status": "uncertain", "age_group": "16_17"}
    response = police.post(f"/work-items/{screening_id}/complete", data=posted)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "There is a problem" in html and '<a href="#field-sex-0">Sex:' in html
    assert '<a href="#field-reasons_to_believe_child-0">' in html  # the if/then rule
    assert '<p class="error" id="field-sex-error">' in html
    page = FormReader(html)
    assert all(c.get("aria-invalid") == "true" for c in page.named("sex"))
    assert "aria-invalid" not in page.named("indicators")[0]
    assert [c["value"] for c in page.named("indicators") if "checked" in c] == ["debt_bondage"]
    assert [c["value"] for c in page.named("age_status") if "checked" in c] == ["uncertain"]
    (age_group,) = page.named("age_group")
    assert [o["value"] for o in age_group["options"] if "selected" in o] == ["16_17"]
    assert open_tasks(runtime, case) == {"screen_indicators": screening_id}


def test_typed_text_is_kept_when_the_form_is_refused(
    police: FlaskClient, runtime: Runtime, case: CaseView, screening_id: int
) -> None:
    assert complete(police, screening_id, SCREENING_POST).status_code == 302
    consent = open_tasks(runtime, case)["obtain_consent"]
    posted = {"consent_given": "on", "given_name": "Alex <Example>", "contact_phone": "x" * 31}
    response = police.post(f"/work-items/{consent}/complete", data=posted)
    assert response.status_code == 422
    page = FormReader(response.get_data(as_text=True))
    assert page.named("given_name")[0]["value"] == "Alex <Example>"
    assert page.named("contact_phone")[0]["aria-invalid"] == "true"
    assert "checked" in page.named("consent_given")[0]
    assert page.named("informed_of_rights")[0]["aria-invalid"] == "true"


def test_a_valid_submission_completes_the_task_and_the_case_moves_on(
    police: FlaskClient, runtime: Runtime, case: CaseView, screening_id: int
) -> None:
    response = police.post(f"/work-items/{screening_id}/complete", data=SCREENING_POST)
    assert response.status_code == 302 and response.headers["Location"].endswith("/inbox")
    assert flashes(police) == ["Task completed"]
    assert set(open_tasks(runtime, case)) == {"obtain_consent"}


def test_a_saved_draft_is_shown_when_the_task_is_opened_again(
    police: FlaskClient, runtime: Runtime, case: CaseView, screening_id: int
) -> None:
    draft = {"indicators": ["isolation"], "age_status": "child", "compelled_offences": "on"}
    response = police.post(f"/work-items/{screening_id}/draft", data=draft)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/work-items/{screening_id}")
    assert flashes(police) == ["Draft saved"]
    page = FormReader(police.get(f"/work-items/{screening_id}").get_data(as_text=True))
    assert [c["value"] for c in page.named("indicators") if "checked" in c] == ["isolation"]
    assert [c["value"] for c in page.named("age_status") if "checked" in c] == ["child"]
    assert "checked" in page.named("compelled_offences")[0]
    assert open_tasks(runtime, case) == {"screen_indicators": screening_id}


def test_completing_a_task_someone_else_just_completed_says_so_and_saves_nothing(
    web: Flask, sign_in: SignIn, police: FlaskClient, screening_id: int
) -> None:
    colleague = sign_in(web.test_client(), "demo.police")
    assert complete(police, screening_id, SCREENING_POST).status_code == 302
    response = complete(colleague, screening_id, SCREENING_POST)
    html = response.get_data(as_text=True)
    assert response.status_code == 409
    message = "This task was completed or withdrawn by someone else; your input was not saved."
    assert message in html
    assert "Traceback" not in html


def test_a_task_claimed_by_someone_else_cannot_be_completed(
    web: Flask, sign_in: SignIn, runtime: Runtime, case: CaseView, screening_id: int
) -> None:
    runtime.claim(screening_id, "demo.police")
    other = sign_in(web.test_client(), "demo.labour")
    response = other.post(f"/work-items/{screening_id}/complete", data=SCREENING_POST)
    assert response.status_code == 409
    assert "Someone else has claimed this task" in response.get_data(as_text=True)
    assert open_tasks(runtime, case) == {"screen_indicators": screening_id}


def test_someone_without_the_role_gets_the_page_of_a_task_that_is_not_open(
    web: Flask, sign_in: SignIn, screening_id: int
) -> None:
    """An id of another role's task reveals nothing (tests/web/test_forged_ids.py: audited)."""
    caseworker = sign_in(web.test_client(), "demo.caseworker")
    page = caseworker.get(f"/work-items/{screening_id}")
    assert page.status_code == 404 and "This task is not open" in page.get_data(as_text=True)
    response = caseworker.post(f"/work-items/{screening_id}/complete", data=SCREENING_POST)
    assert response.status_code == 409
    assert "your input was not saved" in response.get_data(as_text=True)


def test_an_unknown_work_item_is_not_found(police: FlaskClient, case: CaseView) -> None:
    response = police.get("/work-items/999999")
    assert response.status_code == 404
    assert "Not found" in response.get_data(as_text=True)


def test_the_task_page_needs_a_signed_in_user(web: Flask, screening_id: int) -> None:
    response = web.test_client().get(f"/work-items/{screening_id}")
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]


def test_a_task_without_a_form_offers_only_complete(web: Flask, case: CaseView) -> None:
    item = case.work_items[0]
    with web.test_request_context():
        html = render_template(
            "task.html",
            item=item,
            stage="",
            case_url=None,
            overdue=False,
            instructions=None,
            schema=None,
            fields=None,
            summary=[],
        )
    assert ">Complete</button>" in html and "Save draft" not in html
    assert "Fields marked" not in html


def test_opening_a_task_is_audited_and_submitting_it_is_audited_once(
    police: FlaskClient, runtime: Runtime, case: CaseView, screening_id: int
) -> None:
    def actions() -> list[str]:
        with runtime.db.reader() as session:
            query = select(AuditEvent.action).where(AuditEvent.instance_id == case.id)
            return list(session.scalars(query.order_by(AuditEvent.seq)))

    before = actions()
    police.get(f"/work-items/{screening_id}")
    assert actions()[len(before) :] == ["work_item_opened"]
    opened = actions()
    assert complete(police, screening_id, SCREENING_POST).status_code == 302
    assert "work_item_opened" not in actions()[len(opened) :]
    assert "task_completed" in actions()[len(opened) :]
