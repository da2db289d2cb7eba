"""Cases over the API: start, list, read, history; other agencies' cases are 404, not 403."""

from __future__ import annotations

import json

import pytest
from flask import Flask
from sqlalchemy import select

from engine.db import Database
from engine.models import AuditEvent
from tests.web.api_tokens import ApiAs, api_as
from tests.workflows import nrm_answers as answers
from tests.workflows.nrm_driver import START

PROBLEM = "application/problem+json"


@pytest.fixture
def api(app: Flask) -> ApiAs:
    return api_as(app)


def _start(api: ApiAs) -> dict:
    response = api("demo.police").post("/cases", {"process_key": "nrm_case", "data": START})
    assert response.status_code == 201, response.json
    return response.json


def test_a_first_responder_starts_a_referral(api: ApiAs) -> None:
    case = _start(api)
    assert case["reference"] and case["status"] == "running"
    assert case["process_key"] == "nrm_case" and case["model_version"] == 1
    assert [item["task"] for item in case["work_items"]] == ["screen_indicators"]
    assert case["work_items"][0]["role"] == "first_responder"


def test_start_data_outside_the_form_is_422_naming_the_field(api: ApiAs) -> None:
    response = api("demo.police").post(
        "/cases", {"process_key": "nrm_case", "data": {**START, "given_name": "Invented"}}
    )
    assert response.status_code == 422
    assert response.mimetype == PROBLEM
    assert response.json["type"] == "urn:nrmflow:problem:invalid-data"
    assert {"path": "given_name", "message": "is not a field of this form"} in response.json[
        "errors"
    ]
    assert "Invented" not in response.get_data(as_text=True)  # values are never echoed


def test_only_a_first_responder_may_start_a_referral(api: ApiAs) -> None:
    response = api("demo.caseworker").post("/cases", {"process_key": "nrm_case", "data": START})
    assert response.status_code == 403
    assert response.json["type"] == "urn:nrmflow:problem:not-authorized"


def test_a_stage_process_cannot_be_started_on_its_own(api: ApiAs) -> None:
    """Stage processes run only inside a case; the answer does not say which keys exist."""
    for key in ("nrm_identification", "no_such_process"):
        response = api("demo.police").post("/cases", {"process_key": key, "data": {}})
        assert (response.status_code, response.json["type"]) == (
            403,
            "urn:nrmflow:problem:not-authorized",
        )


def test_a_body_that_breaks_the_request_schema_lists_every_error(api: ApiAs) -> None:
    response = api("demo.police").post("/cases", {"data": [], "extra": 1})
    assert response.status_code == 422
    assert response.json["type"] == "urn:nrmflow:problem:invalid-request"
    paths = {error["path"] for error in response.json["errors"]}
    assert paths == {"process_key", "data", "extra"}


def test_malformed_json_is_400_and_a_form_post_415(api: ApiAs) -> None:
    client = api("demo.police")
    malformed = client.client.post(
        "/api/v1/cases", data="{", content_type="application/json", headers=client.headers
    )
    assert (malformed.status_code, malformed.mimetype) == (400, PROBLEM)
    form = client.client.post("/api/v1/cases", data={"a": "b"}, headers=client.headers)
    assert form.status_code == 415


def test_deeply_nested_json_is_refused_before_validation(api: ApiAs) -> None:
    nested: dict = {}
    for _ in range(100):
        nested = {"x": nested}
    response = api("demo.police").post("/cases", {"process_key": "nrm_case", "data": nested})
    assert response.status_code == 422


def test_the_case_list_holds_only_cases_with_work_for_the_callers_roles(api: ApiAs) -> None:
    first = _start(api)
    _start(api)
    police = api("demo.police").get("/cases")
    assert police.status_code == 200 and police.json["total"] == 2
    assert api("demo.caseworker").get("/cases").json["total"] == 0
    assert api("demo.auditor").get("/cases").json["total"] == 2  # to find histories to read
    assert api("demo.auditor").get(f"/cases/{first['id']}").status_code == 404  # not the data
    coordinator = api("demo.coordinator").get("/cases").json
    assert coordinator["total"] == 2 and coordinator["pages"] == 1
    assert first["reference"] in {c["reference"] for c in coordinator["items"]}


def test_a_case_shows_need_to_know_data_and_the_read_is_audited(api: ApiAs, db: Database) -> None:
    case = _start(api)
    police = api("demo.police")
    item = case["work_items"][0]
    done = police.post(f"/work-items/{item['id']}/complete", {"data": answers.screening()})
    assert done.status_code == 200
    response = police.get(f"/cases/{case['id']}")
    assert response.status_code == 200
    body = response.json
    assert body["reference"] == case["reference"]
    assert body["stages"] == ["nrm_identification"]
    assert body["data"]["first_responder_type"] == START["first_responder_type"]
    with db.reader() as session:
        viewed = session.scalars(
            select(AuditEvent).where(
                AuditEvent.action == "case_viewed", AuditEvent.actor == "demo.police"
            )
        ).all()
    assert len(viewed) == 1 and viewed[0].instance_id == case["id"]


def test_another_agencys_case_is_404_like_a_missing_one(api: ApiAs) -> None:
    case = _start(api)
    other = api("demo.caseworker").get(f"/cases/{case['id']}")
    missing = api("demo.caseworker").get("/cases/999999")
    assert other.status_code == missing.status_code == 404
    assert other.json == missing.json  # nothing tells the two apart


def test_the_history_is_for_auditors_and_coordinators_and_hides_values(
    api: ApiAs, db: Database
) -> None:
    case = _start(api)
    police = api("demo.police")
    police.post(
        f"/work-items/{case['work_items'][0]['id']}/complete", {"data": answers.screening()}
    )
    assert police.get(f"/cases/{case['id']}/events").status_code == 403
    response = api("demo.auditor").get(f"/cases/{case['id']}/events")
    assert response.status_code == 200
    actions = [event["action"] for event in response.json]
    assert actions[:2] == ["case_started", "engine_steps"]
    completed = next(e for e in response.json if e["action"] == "task_completed")
    assert completed["payload"]["changes"] == sorted(answers.screening())  # names, no values
    for previous, event in zip(response.json, response.json[1:], strict=False):
        assert event["seq"] > previous["seq"]
    with db.reader() as session:
        read = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "case_history_viewed")
        ).one()
    assert (read.actor, read.instance_id, json.loads(read.payload)["events"]) == (
        "demo.auditor",
        case["id"],
        len(response.json),
    )
    assert api("demo.auditor").get("/cases/999999/events").status_code == 404
