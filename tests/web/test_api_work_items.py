"""Work items over the API: inbox filters, the form, claim races, completion, messages."""

from __future__ import annotations

import pytest
from flask import Flask

from engine.clock import FixedClock
from tests.web.api_tokens import ApiAs, api_as
from tests.workflows import nrm_answers as answers
from tests.workflows.nrm_driver import START


@pytest.fixture
def api(app: Flask) -> ApiAs:
    return api_as(app)


def _screening_item(api: ApiAs) -> dict:
    response = api("demo.police").post("/cases", {"process_key": "nrm_case", "data": START})
    return response.json["work_items"][0]


def _decision_item(api: ApiAs) -> dict:
    """A case past screening and consent: the competent authority's decision is open."""
    police = api("demo.police")
    item = _screening_item(api)
    case = police.post(f"/work-items/{item['id']}/complete", {"data": answers.screening()}).json
    consent = case["work_items"][0]
    return police.post(
        f"/work-items/{consent['id']}/complete", {"data": answers.consent_given()}
    ).json


def test_the_inbox_lists_the_callers_roles_items_by_due_date(api: ApiAs) -> None:
    item = _screening_item(api)
    _screening_item(api)
    page = api("demo.police").get("/work-items").json
    assert page["total"] == 2 and page["page"] == page["pages"] == 1
    assert item["id"] in {i["id"] for i in page["items"]}
    assert api("demo.caseworker").get("/work-items").json["total"] == 0
    assert api("demo.police").get("/work-items?role=support_provider").json["total"] == 0


def test_inbox_filter_assignee_me(api: ApiAs) -> None:
    item = _screening_item(api)
    _screening_item(api)
    police = api("demo.police")
    police.post(f"/work-items/{item['id']}/claim")
    mine = police.get("/work-items?assignee=me").json
    assert [i["id"] for i in mine["items"]] == [item["id"]]
    assert mine["items"][0]["assignee"] == "demo.police"


def test_inbox_filter_overdue(api: ApiAs, clock: FixedClock) -> None:
    """The reasonable-grounds decision has a target of 5 working days."""
    _decision_item(api)
    authority = api("demo.authority")
    [item] = authority.get("/work-items").json["items"]
    assert item["task"] == "decide_reasonable_grounds" and item["due_at"] is not None
    assert authority.get("/work-items?overdue=true").json["total"] == 0
    clock.advance(days=30)
    overdue = authority.get("/work-items?overdue=true").json
    assert [i["id"] for i in overdue["items"]] == [item["id"]] and overdue["items"][0]["overdue"]


def test_bad_query_parameters_are_422_naming_each(api: ApiAs) -> None:
    response = api("demo.police").get("/work-items?overdue=maybe&page=0&assignee=you")
    assert response.status_code == 422
    assert {e["path"] for e in response.json["errors"]} == {"overdue", "page", "assignee"}


def test_an_item_carries_its_form_schema_and_instructions(api: ApiAs) -> None:
    item = _screening_item(api)
    response = api("demo.police").get(f"/work-items/{item['id']}")
    assert response.status_code == 200
    body = response.json
    assert body["task"] == "screen_indicators"
    assert body["form"]["type"] == "object" and "properties" in body["form"]
    assert body["instructions"]


def test_an_item_of_another_role_is_404_on_every_route(api: ApiAs) -> None:
    item = _screening_item(api)
    caseworker = api("demo.caseworker")
    assert caseworker.get(f"/work-items/{item['id']}").status_code == 404
    assert caseworker.post(f"/work-items/{item['id']}/claim").status_code == 404
    assert caseworker.post(f"/work-items/{item['id']}/unclaim").status_code == 404
    completed = caseworker.post(f"/work-items/{item['id']}/complete", {"data": {}})
    assert completed.status_code == 404


def test_claimed_by_someone_else_is_409_and_only_the_claimant_gives_it_back(
    api: ApiAs,
) -> None:
    item = _screening_item(api)
    police, labour = api("demo.police"), api("demo.labour")
    assert police.post(f"/work-items/{item['id']}/claim").json["assignee"] == "demo.police"
    taken = labour.post(f"/work-items/{item['id']}/claim")
    assert (taken.status_code, taken.json["type"]) == (409, "urn:nrmflow:problem:already-claimed")
    blocked = labour.post(f"/work-items/{item['id']}/complete", {"data": answers.screening()})
    assert (blocked.status_code, blocked.json["type"]) == (
        409,
        "urn:nrmflow:problem:already-claimed",
    )
    refused = labour.post(f"/work-items/{item['id']}/unclaim")
    assert (refused.status_code, refused.json["type"]) == (409, "urn:nrmflow:problem:not-claimant")
    assert police.post(f"/work-items/{item['id']}/unclaim").json["assignee"] is None


def test_complete_moves_the_case_on_and_a_second_completion_is_409(api: ApiAs) -> None:
    item = _screening_item(api)
    police = api("demo.police")
    response = police.post(f"/work-items/{item['id']}/complete", {"data": answers.screening()})
    assert response.status_code == 200
    assert [i["task"] for i in response.json["work_items"]] == ["obtain_consent"]
    again = police.post(f"/work-items/{item['id']}/complete", {"data": answers.screening()})
    assert (again.status_code, again.json["type"]) == (409, "urn:nrmflow:problem:task-not-ready")
    assert police.get(f"/work-items/{item['id']}").status_code == 404


def test_form_errors_are_422_with_a_path_per_field(api: ApiAs) -> None:
    item = _screening_item(api)
    response = api("demo.police").post(
        f"/work-items/{item['id']}/complete", {"data": {"indicators_observed": "many"}}
    )
    assert response.status_code == 422
    assert response.json["type"] == "urn:nrmflow:problem:invalid-data"
    errors = response.json["errors"]
    assert errors and all(set(e) == {"path", "message"} for e in errors)
    assert "many" not in response.get_data(as_text=True)


def test_data_that_cannot_be_stored_exactly_is_422_and_the_case_waits(api: ApiAs) -> None:
    """Python's JSON reads a lone surrogate, NaN and 2**64; storage cannot keep them."""
    police = api("demo.police")
    item = _screening_item(api)
    case = police.post(f"/work-items/{item['id']}/complete", {"data": answers.screening()}).json
    consent = case["work_items"][0]
    junk = answers.consent_given(given_name="Al\ud800ex", family_name=2**64)
    response = police.post(f"/work-items/{consent['id']}/complete", {"data": junk})
    assert (response.status_code, response.json["type"]) == (
        422,
        "urn:nrmflow:problem:invalid-request",  # the request's own shape is checked first
    )
    problems = {e["path"]: e["message"] for e in response.json["errors"]}
    assert problems == {
        "data/given_name": "contains characters that are not valid Unicode text",
        "data/family_name": "is a number too large to store exactly",
    }
    assert police.get(f"/work-items/{consent['id']}").status_code == 200


def test_a_message_is_delivered_by_correlation_and_checked_like_a_task(api: ApiAs) -> None:
    case = _decision_item(api)
    message = {
        "name": "consent_withdrawn",
        "correlation": case["reference"],
        "payload": {"withdrawn_on": "2026-03-10"},
    }
    refused = api("demo.partners").post("/messages", message)
    assert (refused.status_code, refused.json["type"]) == (
        403,
        "urn:nrmflow:problem:not-authorized",
    )
    delivered = api("demo.caseworker").post("/messages", message)
    assert delivered.status_code == 200 and delivered.json["status"] == "completed"
    again = api("demo.caseworker").post("/messages", message)
    assert (again.status_code, again.json["type"]) == (
        409,
        "urn:nrmflow:problem:message-not-expected",
    )
    unknown = api("demo.caseworker").post("/messages", {**message, "correlation": "2026-XXXX"})
    assert unknown.status_code == 404
