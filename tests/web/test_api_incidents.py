"""Incidents over the API: the coordinator lists, reads, retries and cancels; everyone else 403.

The failing step is the one ``tests/web/test_incidents.py`` makes: the
reasonable-grounds decision's script, broken in the stored spec, run by a new
app; the fix puts it back and starts another.
"""

from __future__ import annotations

import pytest
from flask import Flask

from engine.clock import FixedClock
from engine.db import Database
from engine.incidents import get_incident
from engine.views import CaseView
from tests.web.api_tokens import ApiAs, api_as
from tests.web.test_inbox import item, refer
from tests.web.test_incidents import (
    AUTHORITY,
    CASEWORKER,
    COORDINATOR,
    FAILED_AT,
    Failed,
    broken_app,
    fail_decision,
    fixed_app,
    runtime_of,
)
from tests.workflows import nrm_answers as answers

PROBLEM = "urn:nrmflow:problem:"


@pytest.fixture
def broken(app: Flask, db: Database, clock: FixedClock) -> Flask:
    return broken_app(db, clock)


@pytest.fixture
def failed(broken: Flask) -> Failed:
    return fail_decision(broken)


@pytest.fixture
def api(broken: Flask) -> ApiAs:
    return api_as(broken)


def test_everyone_but_the_coordinator_gets_403_whatever_the_incident(
    api: ApiAs, failed: Failed
) -> None:
    for username in (AUTHORITY, CASEWORKER):
        caller = api(username)
        for incident_id in (failed.incident_id, 999999):
            for response in (
                caller.get("/incidents"),
                caller.get(f"/incidents/{incident_id}"),
                caller.post(f"/incidents/{incident_id}/retry"),
                caller.post(f"/incidents/{incident_id}/cancel", {"reason": "no"}),
                caller.post(f"/incidents/{incident_id}/cancel", {"reason": " "}),
            ):
                assert (response.status_code, response.json["type"]) == (
                    403,
                    PROBLEM + "not-authorized",
                )
    incident = get_incident(runtime_of(failed.app).db, failed.incident_id)
    assert (incident.status, incident.occurrences) == ("open", 1)


def test_a_completion_whose_step_fails_answers_409_incident_raised(
    api: ApiAs, broken: Flask
) -> None:
    case = refer(broken)
    decision = item(case, "decide_reasonable_grounds")
    authority = api(AUTHORITY)

    response = authority.post(
        f"/work-items/{decision.id}/complete", {"data": answers.rg("positive")}
    )

    assert response.status_code == 409
    assert response.mimetype == "application/problem+json"
    problem = response.json
    assert problem["type"] == PROBLEM + "incident-raised"
    assert problem["title"] == "The step failed and became an incident"
    assert problem["detail"].startswith(FAILED_AT) and "kept as a draft" in problem["detail"]
    incident = get_incident(runtime_of(broken).db, problem["incident_id"])
    assert (incident.case_id, incident.submitted_by) == (case.id, AUTHORITY)
    kept = authority.get(f"/work-items/{decision.id}").json["draft"]
    assert kept == answers.rg("positive")  # nothing to type again


def test_the_coordinator_lists_incidents_by_status(api: ApiAs, failed: Failed) -> None:
    coordinator = api(COORDINATOR)

    listed = coordinator.get("/incidents")

    assert listed.status_code == 200
    assert {k: listed.json[k] for k in ("total", "page", "pages")} == {
        "total": 1,
        "page": 1,
        "pages": 1,
    }
    (shown,) = listed.json["items"]
    assert shown == get_incident(runtime_of(failed.app).db, failed.incident_id).to_json()
    assert (shown["id"], shown["case_id"], shown["reference"]) == (
        failed.incident_id,
        failed.case.id,
        failed.case.business_key,
    )
    assert (shown["source"], shown["error_type"], shown["status"]) == (
        "task",
        "script_error",
        "open",
    )
    assert shown["first_at"] == "2026-03-02T09:00:00+00:00"
    for status, total in (("open", 1), ("resolved", 0), ("cancelled", 0), ("all", 1)):
        assert coordinator.get(f"/incidents?status={status}").json["total"] == total
    wrong = coordinator.get("/incidents?status=closed")
    assert (wrong.status_code, wrong.json["type"]) == (422, PROBLEM + "invalid-query")
    beyond = coordinator.get("/incidents?page=7").json
    assert (beyond["page"], len(beyond["items"])) == (1, 1)


def test_the_coordinator_reads_one_incident(api: ApiAs, failed: Failed) -> None:
    coordinator = api(COORDINATOR)

    shown = coordinator.get(f"/incidents/{failed.incident_id}")

    assert shown.status_code == 200
    assert shown.json["message"] == FAILED_AT
    assert "NameError" in shown.json["detail"] and shown.json["element_id"] == "record_rg_decision"
    assert (shown.json["process"], shown.json["version"]) == ("nrm_case", 1)
    missing = coordinator.get("/incidents/999999")
    assert (missing.status_code, missing.json["type"]) == (404, PROBLEM + "not-found")


def test_a_retry_that_fails_again_stays_open_with_one_more_occurrence(
    api: ApiAs, failed: Failed
) -> None:
    response = api(COORDINATOR).post(f"/incidents/{failed.incident_id}/retry")

    assert response.status_code == 200
    assert response.json["resolved"] is False
    assert (response.json["incident"]["status"], response.json["incident"]["occurrences"]) == (
        "open",
        2,
    )
    assert runtime_of(failed.app).case(failed.case.id).revision == failed.case.revision


def test_a_retry_after_the_fix_resolves_it_and_a_second_is_409(
    failed: Failed, db: Database, clock: FixedClock
) -> None:
    fixed = fixed_app(db, clock)
    coordinator = api_as(fixed)(COORDINATOR)

    response = coordinator.post(f"/incidents/{failed.incident_id}/retry")

    assert response.status_code == 200 and response.json["resolved"] is True
    incident = response.json["incident"]
    assert (incident["status"], incident["closed_by"]) == ("resolved", COORDINATOR)
    assert incident["closed_at"] == "2026-03-02T09:00:00+00:00"
    case: CaseView = runtime_of(fixed).case(failed.case.id)
    assert "decide_reasonable_grounds" not in [w.task_name for w in case.work_items]
    again = coordinator.post(f"/incidents/{failed.incident_id}/retry")
    assert (again.status_code, again.json["type"]) == (409, PROBLEM + "incident-closed")
    assert coordinator.get("/incidents?status=resolved").json["total"] == 1


def test_cancel_needs_a_reason_and_a_closed_incident_is_409(api: ApiAs, failed: Failed) -> None:
    coordinator = api(COORDINATOR)
    path = f"/incidents/{failed.incident_id}/cancel"

    missing = coordinator.post(path, {})
    assert (missing.status_code, missing.json["type"]) == (422, PROBLEM + "invalid-request")
    blank = coordinator.post(path, {"reason": "   "})
    assert (blank.status_code, blank.json["type"]) == (422, PROBLEM + "invalid-data")
    assert blank.json["errors"][0]["path"] == "reason"

    cancelled = coordinator.post(path, {"reason": "Referral withdrawn"})

    assert cancelled.status_code == 200
    assert (cancelled.json["status"], cancelled.json["closed_by"]) == ("cancelled", COORDINATOR)
    again = coordinator.post(path, {"reason": "Referral withdrawn"})
    assert (again.status_code, again.json["type"]) == (409, PROBLEM + "incident-closed")
    retried = coordinator.post(f"/incidents/{failed.incident_id}/retry")
    assert (retried.status_code, retried.json["type"]) == (409, PROBLEM + "incident-closed")
    assert coordinator.post("/incidents/999999/cancel", {"reason": "x"}).status_code == 404


def test_the_document_describes_the_incident_routes_and_the_new_409(api: ApiAs) -> None:
    paths = api(COORDINATOR).client.get("/api/v1/openapi.json").json["paths"]
    assert {"/api/v1/incidents", "/api/v1/incidents/{incident_id}"} <= set(paths)
    for action in ("retry", "cancel"):
        responses = paths[f"/api/v1/incidents/{{incident_id}}/{action}"]["post"]["responses"]
        assert {"200", "401", "403", "404", "409"} <= set(responses)
    complete = paths["/api/v1/work-items/{work_item_id}/complete"]["post"]["responses"]
    assert "incident-raised" in complete["409"]["description"]
