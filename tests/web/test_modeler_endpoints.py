"""The modeler's JSON endpoints: what the page opens, validates, saves as a draft and deploys.

The browser test (tests/browser/test_modeler.py) drives the same endpoints
through the real modeler; these pin each answer and each refusal.
"""

from __future__ import annotations

import io
import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from engine.models import AuditEvent, ProcessModelVersion
from tests.web.conftest import SignIn
from tests.workflows.nrm_driver import NRM_BUNDLE

KEY = "nrm_referral_decision"
PATH = "nrm_referral_decision.bpmn"
OLD_TIMER = 'business_days_from_now(time_limit("rg_target_working_days"))'
URL = f"/models/{KEY}"


def xml(timer: str = "business_days_from_now(10)") -> str:
    return (NRM_BUNDLE / PATH).read_text("utf-8").replace(OLD_TIMER, timer)


@pytest.fixture
def coordinator(web: Flask, sign_in: SignIn) -> FlaskClient:
    return sign_in(web.test_client(), "demo.coordinator")


def newest(web: Flask, key: str = KEY) -> int:
    db = web.extensions["nrmflow.db"]
    with db.reader() as session:
        query = select(func.max(ProcessModelVersion.version)).filter_by(key=key)
        return int(session.scalar(query) or 0)


def post(client: FlaskClient, what: str, body: dict[str, Any], key: str = KEY) -> Any:
    """POST as the page does: with the version and draft it opened, unless the test sets one."""
    if what in ("draft", "deploy") and "base" not in body:
        source = client.get(f"/models/{key}/edit/source.json").get_json()
        body = {**body, "base": {k: source[k] for k in ("version", "draft_saved_at")}}
    return client.post(f"/models/{key}/{what}", json=body, headers={"Accept": "application/json"})


def test_the_source_is_the_deployed_file_with_the_side_panels_choices(
    coordinator: FlaskClient,
) -> None:
    answer = coordinator.get(f"{URL}/edit/source.json")
    assert answer.status_code == 200
    source = answer.get_json()
    assert (source["path"], source["origin"], source["version"]) == (PATH, "version", 1)
    assert source["xml"] == (NRM_BUNDLE / PATH).read_text("utf-8")
    assert "forms/decide_reasonable_grounds.json" in source["forms"]
    choices = source["choices"]
    assert {"Competent Authority", "NRM Coordinator"} <= set(choices["roles"])
    risk = {"id": "nrm_risk_assessment", "name": "Risk assessment and safety plan"}
    assert risk in choices["processes"]
    assert [d["id"] for d in choices["decisions"]] == ["risk_level_decision"]
    helpers = {h["name"]: h for h in choices["timer_helpers"]}
    assert helpers["business_days_from_now"]["example"] == "business_days_from_now(5)"


def test_the_page_says_which_callers_a_deploy_gives_new_versions(coordinator: FlaskClient) -> None:
    page = coordinator.get(f"{URL}/edit").get_data(as_text=True)
    assert "the processes that call this one: nrm_case, nrm_protection." in page


def test_validate_names_each_problem_with_its_element_and_stores_nothing(
    coordinator: FlaskClient, web: Flask
) -> None:
    report = post(coordinator, "validate", {"xml": xml("P30D")}).get_json()
    assert report["valid"] is False
    assert any(
        p["file"] == PATH and p["element"].startswith("rg_target_missed") and p["line"]
        for p in report["problems"]
    )
    assert post(coordinator, "validate", {"xml": xml()}).get_json()["valid"] is True
    assert newest(web) == 1


def test_a_draft_is_what_the_modeler_opens_next(coordinator: FlaskClient, web: Flask) -> None:
    answer = post(coordinator, "draft", {"xml": xml("P30D")})  # a draft may be invalid
    assert answer.status_code == 200 and answer.get_json()["message"] == "Draft saved."
    source = coordinator.get(f"{URL}/edit/source.json").get_json()
    assert (source["origin"], source["draft_saved_by"]) == ("draft", "demo.coordinator")
    assert source["xml"] == xml("P30D")
    assert newest(web) == 1
    listing = coordinator.get("/models").get_data(as_text=True)
    assert "A draft saved by demo.coordinator" in listing
    assert f'action="{URL}/draft/discard"' in listing
    coordinator.post(f"{URL}/draft/discard")
    assert coordinator.get(f"{URL}/edit/source.json").get_json()["origin"] == "version"


def test_deploy_stores_exactly_the_sent_xml_and_answers_where_to_go(
    coordinator: FlaskClient, web: Flask
) -> None:
    sent = xml()
    answer = post(coordinator, "deploy", {"xml": sent})
    assert answer.status_code == 201
    body = answer.get_json()
    assert {m["key"] for m in body["models"] if m["created"]} == {
        KEY,
        "nrm_protection",
        "nrm_case",
    }
    assert body["redirect"] == f"/models/{KEY}/2"
    assert coordinator.get(f"/models/{KEY}/2/diagram.bpmn").get_data(as_text=True) == sent
    again = post(coordinator, "deploy", {"xml": sent})
    assert again.status_code == 200 and newest(web) == 2  # nothing changed, nothing new


def test_an_invalid_deploy_answers_422_with_the_problems(
    coordinator: FlaskClient, web: Flask
) -> None:
    answer = post(coordinator, "deploy", {"xml": xml("P30D")})
    assert answer.status_code == 422
    body = answer.get_json()
    assert body["valid"] is False and body["problems"]
    assert newest(web) == 1


def test_a_new_form_travels_with_the_diagram(coordinator: FlaskClient, web: Flask) -> None:
    form = {"type": "object", "title": "Second look", "properties": {}}
    changed = xml().replace('value="decide_reasonable_grounds.json"', 'value="second_look.json"', 1)
    body = {"xml": changed, "forms": {"forms/second_look.json": json.dumps(form)}}
    assert post(coordinator, "deploy", body).status_code == 201
    source = coordinator.get(f"{URL}/edit/source.json").get_json()
    assert json.loads(source["forms"]["forms/second_look.json"]) == form


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "Send the diagram as XML text."),
        ({"xml": 3}, "Send the diagram as XML text."),
        ({"xml": "<x/>", "forms": {"a.json": 1}}, "Send each form schema as text."),
        (
            {"xml": "<x/>", "forms": {"nrm_case.bpmn": "<x/>"}},
            "Only form schemas (.json files) can be sent beside the diagram.",
        ),
    ],
)
def test_a_malformed_request_gets_a_sentence_not_a_trace(
    coordinator: FlaskClient, body: dict[str, Any], message: str
) -> None:
    answer = post(coordinator, "validate", body)
    assert answer.status_code == 422
    assert answer.get_json() == {"message": message}


def test_a_form_name_outside_the_bundle_is_a_problem_not_a_crash(
    coordinator: FlaskClient, web: Flask
) -> None:
    body = {"xml": xml(), "forms": {"../up.json": "{}"}}
    report = post(coordinator, "validate", body).get_json()
    assert report["valid"] is False
    assert report["problems"][0]["message"] == "a file name is not a relative path"
    for what in ("draft", "deploy"):
        answer = post(coordinator, what, body)
        assert answer.status_code == 422, what
        assert answer.get_json()["problems"] == report["problems"]
    assert newest(web) == 1
    assert coordinator.get(f"{URL}/edit/source.json").get_json()["origin"] == "version"


def test_the_form_preview_renders_fields_or_says_why_not(coordinator: FlaskClient) -> None:
    schema = {
        "type": "object",
        "properties": {"rg_note": {"type": "string", "title": "Note <b>", "maxLength": 200}},
    }
    preview = post(coordinator, "form-preview", {"schema": json.dumps(schema)}).get_json()
    assert preview["problems"] == []
    assert "Note &lt;b&gt;" in preview["html"] and 'name="preview.rg_note"' in preview["html"]
    broken = post(coordinator, "form-preview", {"schema": '{"type": 5}'}).get_json()
    assert broken["html"] == "" and "not a valid JSON Schema" in broken["problems"][0]
    assert post(coordinator, "form-preview", {"schema": "{"}).get_json()["problems"]


def test_nobody_but_the_coordinator_reaches_the_modeler(web: Flask, sign_in: SignIn) -> None:
    responder = sign_in(web.test_client(), "demo.outreach")
    assert responder.get(f"{URL}/edit").status_code == 403
    assert responder.get(f"{URL}/edit/source.json").status_code == 403
    opened = {"version": 1, "draft_saved_at": None}
    assert post(responder, "deploy", {"xml": xml(), "base": opened}).status_code == 403
    assert responder.get("/models").status_code == 403
    anonymous = web.test_client().get(f"{URL}/edit/source.json")
    assert anonymous.status_code == 302 and "/sign-in" in anonymous.location
    assert newest(web) == 1


def test_posts_need_the_csrf_token_in_a_header(app: Flask, sign_in: SignIn) -> None:
    client = sign_in(app.test_client(), "demo.coordinator")
    assert post(client, "validate", {"xml": xml()}).status_code == 400
    client.get("/models")  # a page puts the session's token in the form fields
    with client.session_transaction() as session:
        assert session.get("csrf_token")
    page = client.get(f"/models/{KEY}/1").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    answer = client.post(f"{URL}/validate", json={"xml": xml()}, headers={"X-CSRFToken": token})
    assert answer.status_code == 200


def test_saving_and_deploying_are_audited_with_the_coordinator(
    coordinator: FlaskClient, web: Flask
) -> None:
    post(coordinator, "draft", {"xml": xml()})
    post(coordinator, "deploy", {"xml": xml()})
    db = web.extensions["nrmflow.db"]
    with db.reader() as session:
        rows = session.execute(
            select(AuditEvent.action, AuditEvent.actor).where(
                AuditEvent.actor == "demo.coordinator"
            )
        ).all()
    assert sorted(a for a, _ in rows) == ["model_deployed"] * 3 + ["model_draft_saved"]


FOREIGN = NRM_BUNDLE.parents[1] / "tests" / "fixtures" / "foreign_bpmn"


def test_a_file_from_another_tool_opens_in_the_modeler_and_validate_names_what_cannot_run(
    coordinator: FlaskClient,
) -> None:
    content = (FOREIGN / "unsupported_elements.bpmn").read_bytes()
    answer = coordinator.post(
        "/models/import", data={"diagram": (io.BytesIO(content), "parcels.bpmn")}
    )
    assert answer.status_code == 302
    edit_url = answer.location
    key = edit_url.split("/")[2]
    assert coordinator.get(edit_url).status_code == 200
    source = coordinator.get(f"/models/{key}/edit/source.json").get_json()
    assert (source["origin"], source["version"]) == ("draft", 0)
    assert source["xml"] == content.decode("utf-8")
    report = coordinator.post(f"/models/{key}/validate", json={"xml": source["xml"]}).get_json()
    assert report["valid"] is False
    gateway = next(p for p in report["problems"] if "complexGateway" in p["message"])
    assert gateway["element"] and gateway["line"]
    listing = coordinator.get("/models").get_data(as_text=True)
    assert f'href="/models/{key}/edit"' in listing  # under "Imported, not deployed yet"


def test_importing_a_file_that_is_no_process_says_why(coordinator: FlaskClient) -> None:
    answer = coordinator.post(
        "/models/import", data={"diagram": (io.BytesIO(b"<x/>"), "x.bpmn")}, follow_redirects=True
    )
    assert "The file could not be imported: the file holds no BPMN process" in answer.get_data(
        as_text=True
    )
    empty = coordinator.post("/models/import", data={}, follow_redirects=True)
    assert "Choose a BPMN file to import." in empty.get_data(as_text=True)


def test_a_page_older_than_the_newest_version_or_draft_gets_409_and_nothing_changes(
    coordinator: FlaskClient, web: Flask
) -> None:
    source = coordinator.get(f"{URL}/edit/source.json").get_json()
    opened = {"version": source["version"], "draft_saved_at": source["draft_saved_at"]}
    assert post(coordinator, "deploy", {"xml": xml(), "base": opened}).status_code == 201
    stale = post(coordinator, "deploy", {"xml": xml('"P3D"'), "base": opened})
    assert stale.status_code == 409
    assert "was deployed after this page opened" in stale.get_json()["message"]
    assert post(coordinator, "draft", {"xml": xml('"P3D"'), "base": opened}).status_code == 409
    assert newest(web) == 2
    assert post(coordinator, "deploy", {"xml": xml()}).status_code == 200  # a fresh page may


def test_saving_twice_in_one_sitting_uses_the_base_the_first_save_returned(
    coordinator: FlaskClient,
) -> None:
    first = post(coordinator, "draft", {"xml": xml()})
    base = first.get_json()["base"]
    assert base == {"version": 1, "draft_saved_at": first.get_json()["saved_at"]}
    second = post(coordinator, "draft", {"xml": xml('"P3D"'), "base": base})
    assert second.status_code == 200
    old_page = {"version": 1, "draft_saved_at": None}
    assert post(coordinator, "draft", {"xml": xml(), "base": old_page}).status_code == 409


def test_a_save_without_the_opened_base_is_refused(coordinator: FlaskClient) -> None:
    for base in (None, {"version": "1"}, {"version": 1, "draft_saved_at": "yesterday"}):
        answer = post(coordinator, "draft", {"xml": xml(), "base": base})
        assert answer.status_code == 422, base
        assert answer.get_json()["message"].startswith("Send the version and draft")


def test_a_process_marked_not_executable_is_reported_and_its_draft_kept(
    coordinator: FlaskClient,
) -> None:
    """Signavio's default: SpiffWorkflow would skip it without a word."""
    content = (
        (FOREIGN / "signavio.bpmn")
        .read_bytes()
        .replace(b'isExecutable="true"', b'isExecutable="false"')
    )
    answer = coordinator.post(
        "/models/import", data={"diagram": (io.BytesIO(content), "hall.bpmn")}
    )
    key = answer.location.split("/")[2]
    body = {"xml": content.decode("utf-8")}
    report = post(coordinator, "validate", body, key=key).get_json()
    assert report["valid"] is False
    assert "marked not executable" in report["problems"][0]["message"]
    assert post(coordinator, "deploy", body, key=key).status_code == 422
    assert coordinator.get(f"/models/{key}/edit/source.json").get_json()["origin"] == "draft"


def test_the_called_process_choices_are_what_the_bundle_can_call(
    coordinator: FlaskClient,
) -> None:
    choices = coordinator.get(f"{URL}/edit/source.json").get_json()["choices"]
    offered = {p["id"] for p in choices["processes"]}
    assert KEY not in offered  # not itself
    assert {"nrm_case", "nrm_risk_assessment"} <= offered


def test_a_true_or_false_field_schema_is_a_problem_in_the_preview_and_at_deploy(
    coordinator: FlaskClient, web: Flask
) -> None:
    schema = {"type": "object", "properties": {"note": True}}
    preview = post(coordinator, "form-preview", {"schema": json.dumps(schema)})
    assert preview.status_code == 200
    assert preview.get_json()["problems"] == ["the field note must be a schema object, not true"]
    body = {"xml": xml(), "forms": {"forms/decide_reasonable_grounds.json": json.dumps(schema)}}
    assert post(coordinator, "deploy", body).status_code == 422
    assert newest(web) == 1
