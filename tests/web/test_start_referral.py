"""Starting a referral from the browser: first responders only, the start form's rules kept."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.runtime import Runtime
from tests.web.conftest import SignIn

ANSWER = {
    "first_responder_type": "police",
    "first_contact_date": "2026-03-02",
    "contact_setting": "inspection_or_operation",
}


@pytest.fixture(autouse=True)
def no_csrf(web: Flask) -> None:
    """Every test here posts the form without a token (the shared ``web`` fixture)."""


def _runtime(app: Flask) -> Runtime:
    return app.extensions["nrmflow.runtime"]  # type: ignore[no-any-return]


def test_the_form_is_drawn_from_the_deployed_start_form(
    client: FlaskClient, sign_in: SignIn
) -> None:
    response = sign_in(client, "demo.police").get("/referrals/new")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Type of first responder" in html and "Border guard" in html
    assert 'name="first_contact_date"' in html and 'type="date"' in html


def test_a_first_responder_starts_a_referral_and_lands_on_the_case(
    app: Flask, client: FlaskClient, sign_in: SignIn
) -> None:
    response = sign_in(client, "demo.police").post("/referrals/new", data=ANSWER)
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith("/cases/")
    case = _runtime(app).case(int(location.rsplit("/", 1)[1]))
    assert case.process_key == "nrm_case"
    assert [item.task_name for item in case.work_items] == ["screen_indicators"]
    page = client.get(location)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert f"Referral started: case {case.business_key}." in html  # the flash
    assert "Screen for indicators of trafficking" in html


def test_a_missing_date_is_refused_beside_its_field_and_the_input_kept(
    app: Flask, client: FlaskClient, sign_in: SignIn
) -> None:
    answer = {k: v for k, v in ANSWER.items() if k != "first_contact_date"}
    response = sign_in(client, "demo.police").post("/referrals/new", data=answer)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="field-first_contact_date-error"' in html
    assert "This field is required." in html
    assert '<option value="police" selected>' in html
    assert '<option value="inspection_or_operation" selected>' in html
    assert _runtime(app).work_items(role="first_responder") == []


def test_someone_who_may_not_start_gets_the_403_page(
    app: Flask, client: FlaskClient, sign_in: SignIn
) -> None:
    signed_in = sign_in(client, "demo.caseworker")
    assert signed_in.get("/referrals/new").status_code == 403
    forged = signed_in.post("/referrals/new", data=ANSWER)
    assert forged.status_code == 403
    assert "You are not allowed to do this" in forged.get_data(as_text=True)
    assert _runtime(app).work_items(role="first_responder") == []


def test_only_first_responders_see_the_start_link(client: FlaskClient, sign_in: SignIn) -> None:
    link = 'href="/referrals/new"'
    assert link in sign_in(client, "demo.labour").get("/inbox").get_data(as_text=True)
    assert link not in sign_in(client, "demo.caseworker").get("/inbox").get_data(as_text=True)
    assert link not in sign_in(client, "demo.auditor").get("/inbox").get_data(as_text=True)


def test_a_stranger_is_sent_to_sign_in(client: FlaskClient) -> None:
    response = client.get("/referrals/new")
    assert response.status_code == 302 and "/sign-in" in response.headers["Location"]
