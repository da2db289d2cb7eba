"""Hostile input through the real app: junk bodies, markup in typed text, odd filter values.

Every answer to junk is a 4xx (a problem document on the API), never a 500, and the
case is as before. Every text a person typed comes back as text: escaped, never a
tag, never evaluated as a template. Filters match exactly: a LIKE wildcard, an SQL
fragment, a NUL byte or a path matches nothing it should not, and reads no file.
"""

from __future__ import annotations

import gzip
import io
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import pytest
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from engine.clock import FixedClock
from engine.db import Database
from engine.models import ProcessInstance
from engine.runtime import Runtime
from engine.views import CaseView
from tests.web.api_tokens import ApiClient, api_as
from tests.web.conftest import SignIn
from tests.web.test_audit_log import _shown as audit_rows
from tests.web.test_inbox import item, refer
from tests.web.test_incidents import broken_app, fail_decision
from tests.web.test_schema_form import FormReader
from tests.web.test_task_page import SCREENING_POST
from tests.workflows import nrm_answers as answers
from tests.workflows.nrm_driver import START

PROBLEM = "application/problem+json"
MEGABYTE = "x" * 1_000_000
DEEP = 10_000
SCRIPT = "<script>window.__xss=1</script>"
IMAGE = '"><img src=x onerror=alert(1)>'
JS_LINK = "[click me](javascript:alert(1))"
TEMPLATE = "{{7*7}}{% raw %}"
MARKUP = (SCRIPT, IMAGE, JS_LINK, TEMPLATE)
COORDINATOR, AUTHORITY, POLICE, AUDITOR = (
    "demo.coordinator",
    "demo.authority",
    "demo.police",
    "demo.auditor",
)
SQL_LIKE = ["' OR 1=1 --", "%", "_", "\\", "a\x00b", "%' OR '1'='1", "x" * 5_000]
PATHS = ["../../etc/passwd", "..%2f..%2fetc%2fpasswd", "/etc/passwd", "....//....//etc/passwd"]


@pytest.fixture
def as_user(web: Flask, sign_in: SignIn) -> Callable[[str], FlaskClient]:
    return lambda username: sign_in(web.test_client(), username)


def _case_state(db: Database, case_id: int) -> tuple[object, ...]:
    with db.reader() as session:
        instance = session.get(ProcessInstance, case_id)
        assert instance is not None
        return instance.revision, instance.status, instance.state


def _case_count(db: Database) -> int:
    with db.reader() as session:
        return session.scalar(select(func.count()).select_from(ProcessInstance)) or 0


def assert_shown_as_text(html: str, payload: str) -> None:
    """The payload is on the page as escaped text, and nothing of it became markup."""
    assert str(escape(payload)) in html, f"{payload!r} is not shown"
    assert "<script>window.__xss" not in html
    assert "<img src=x" not in html
    assert 'href="javascript:' not in html.lower()


# ------------------------------------------------------------------ junk JSON on the API


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


# name -> (raw body, content type) made from the endpoint's valid body
JUNK_BODIES: dict[str, Callable[[dict[str, Any]], tuple[bytes | str, str]]] = {
    "wrong types everywhere": lambda valid: (
        json.dumps({k: {"not": [k]} for k in valid}),
        "application/json",
    ),
    "wrong types in the data": lambda valid: (
        json.dumps({**valid, "data": {k: [{"x": 1}] for k in valid["data"]}}),
        "application/json",
    ),
    "a 1 MB string in a field": lambda valid: (
        json.dumps({**valid, "data": {**valid["data"], next(iter(valid["data"])): MEGABYTE}}),
        "application/json",
    ),
    "a 1 MB field name": lambda valid: (
        json.dumps({**valid, "data": {**valid["data"], MEGABYTE: 1}}),
        "application/json",
    ),
    "nesting 10k deep in the data": lambda valid: (
        json.dumps({**valid, "data": "@"}).replace('"@"', f'{{"x": {_nested(DEEP)}}}'),
        "application/json",
    ),
    "a body nested 10k deep": lambda valid: (_nested(DEEP), "application/json"),
    "unknown top-level field": lambda valid: (
        json.dumps({**valid, "is_admin": True}),
        "application/json",
    ),
    "unknown data field": lambda valid: (
        json.dumps({**valid, "data": {**valid["data"], "__proto__": {"admin": 1}}}),
        "application/json",
    ),
    "an array": lambda valid: (json.dumps([valid]), "application/json"),
    "a string": lambda valid: (json.dumps("data"), "application/json"),
    "a number": lambda valid: ("1e999", "application/json"),
    "null": lambda valid: ("null", "application/json"),
    "invalid JSON": lambda valid: (json.dumps(valid)[:-1], "application/json"),
    "invalid UTF-8": lambda valid: (b'{"data": "\xff\xfe"}', "application/json"),
    "JSON sent as text": lambda valid: (json.dumps(valid), "text/plain"),
    "a form post": lambda valid: ("data=1", "application/x-www-form-urlencoded"),
}


def _post_raw(api: ApiClient, path: str, body: bytes | str, content_type: str) -> TestResponse:
    return api.client.post(
        f"/api/v1{path}", data=body, content_type=content_type, headers=api.headers
    )


def _assert_problem_4xx(response: TestResponse, junk: str) -> None:
    assert 400 <= response.status_code < 500, (junk, response.get_data(as_text=True)[:300])
    assert response.mimetype == PROBLEM, junk
    assert response.json["type"].startswith("urn:nrmflow:problem:"), junk


# One app for all the junk of an endpoint: deploying the NRM library is the slow part.


def test_junk_to_start_a_case_is_a_4xx_problem_and_starts_nothing(web: Flask, db: Database) -> None:
    api = api_as(web)(POLICE)
    for junk, make in JUNK_BODIES.items():
        body, content_type = make({"process_key": "nrm_case", "data": START})
        _assert_problem_4xx(_post_raw(api, "/cases", body, content_type), junk)
    assert _case_count(db) == 0


def test_junk_to_complete_a_work_item_is_a_4xx_problem_and_changes_nothing(
    web: Flask, db: Database, runtime: Runtime
) -> None:
    api = api_as(web)(POLICE)
    case = runtime.start("nrm_case", START, POLICE)
    before = _case_state(db, case.id)
    path = f"/work-items/{item(case, 'screen_indicators').id}/complete"
    for junk, make in JUNK_BODIES.items():
        body, content_type = make({"data": answers.screening()})
        _assert_problem_4xx(_post_raw(api, path, body, content_type), junk)
        assert _case_state(db, case.id) == before, junk


# ------------------------------------------------------------------ junk through the task form

FORM_JUNK: dict[str, dict[str, Any]] = {
    "wrong types": {
        "indicators": "not_a_choice",
        "age_status": ["adult", "child"],
        "compelled_offences": "maybe",
        "unaccompanied": "yes please",
    },
    "a 1 MB string": {"age_group": MEGABYTE, "nationality_group": MEGABYTE},
    "control characters": {"willing_to_cooperate": "\x00\x1b[2J", "indicators": "\x00"},
    "markup as a choice": {"indicators": SCRIPT, "exploitation_types": IMAGE},
}
UNKNOWN_FIELDS = {"is_admin": "true", "__class__": "x", "indicators[0][1]": "y"}


def test_junk_through_the_task_form_is_refused_and_the_typed_answers_kept(
    as_user: Callable[[str], FlaskClient], db: Database, runtime: Runtime
) -> None:
    case = runtime.start("nrm_case", START, POLICE)
    screening = item(case, "screen_indicators").id
    before = _case_state(db, case.id)
    police = as_user(POLICE)
    for junk, fields in FORM_JUNK.items():
        post = {**SCREENING_POST, "sex": "female", **fields}
        completed = police.post(f"/work-items/{screening}/complete", data=post)
        assert completed.status_code == 422, junk
        html = completed.get_data(as_text=True)
        [female] = [c for c in FormReader(html).named("sex") if c.get("value") == "female"]
        assert "checked" in female, f"{junk}: the answer typed next to the junk is kept"
        assert "<script>window" not in html and "<img src=x" not in html, junk
        drafted = police.post(f"/work-items/{screening}/draft", data=post)
        assert drafted.status_code < 500, junk
        assert _case_state(db, case.id) == before, junk


def test_fields_the_form_does_not_have_never_reach_the_case(
    as_user: Callable[[str], FlaskClient], db: Database, runtime: Runtime
) -> None:
    case = runtime.start("nrm_case", START, POLICE)
    screening = item(case, "screen_indicators").id
    post = {**SCREENING_POST, **UNKNOWN_FIELDS}
    assert as_user(POLICE).post(f"/work-items/{screening}/complete", data=post).status_code == 302
    with db.reader() as session:
        instance = session.get(ProcessInstance, case.id)
        assert instance is not None and instance.revision > 1  # the screening went through
        stored = gzip.decompress(instance.state).decode("utf-8")
    assert not [name for name in UNKNOWN_FIELDS if json.dumps(name) in stored]


# ------------------------------------------------------------------ markup in typed text


def _consent_with_markup() -> dict[str, Any]:
    return answers.consent_given(
        given_name=SCRIPT,
        family_name=IMAGE,
        preferred_language=TEMPLATE,
        contact_phone=JS_LINK[:30],
    )


def _screened_case(runtime: Runtime) -> CaseView:
    case = runtime.start("nrm_case", START, POLICE)
    return runtime.complete(item(case, "screen_indicators").id, answers.screening(), POLICE)


def _reveal_narrative(client: FlaskClient, case_id: int, reason: str) -> None:
    response = client.post(f"/cases/{case_id}/history/reason", data={"reason": reason})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


def test_form_answers_come_back_as_text_on_the_task_case_and_history_pages(
    as_user: Callable[[str], FlaskClient], runtime: Runtime
) -> None:
    case = _screened_case(runtime)
    consent = item(case, "obtain_consent").id
    police = as_user(POLICE)
    draft = as_user(POLICE).post(f"/work-items/{consent}/draft", data=_consent_with_markup())
    assert draft.status_code == 302
    task_page = police.get(f"/work-items/{consent}").get_data(as_text=True)
    for payload in (SCRIPT, IMAGE, TEMPLATE, JS_LINK[:30]):
        assert_shown_as_text(task_page, payload)

    runtime.complete(consent, _consent_with_markup(), POLICE)
    coordinator = as_user(COORDINATOR)
    case_page = coordinator.get(f"/cases/{case.id}").get_data(as_text=True)
    history = coordinator.get(f"/cases/{case.id}/history").get_data(as_text=True)
    for page in (case_page, history):
        for payload in (SCRIPT, IMAGE, TEMPLATE):
            assert_shown_as_text(page, payload)


def test_reasons_come_back_as_text_in_the_history(
    as_user: Callable[[str], FlaskClient], runtime: Runtime
) -> None:
    case = refer_with_decision(runtime, rg_reasons=f"Reasons {SCRIPT} {JS_LINK}")
    coordinator = as_user(COORDINATOR)
    assert coordinator.post(f"/cases/{case.id}/suspend", data={"reason": IMAGE}).status_code == 303
    assert (
        coordinator.post(f"/cases/{case.id}/resume", data={"reason": TEMPLATE}).status_code == 303
    )
    _reveal_narrative(coordinator, case.id, f"Complaint 2026-17 about {SCRIPT}")

    history = coordinator.get(f"/cases/{case.id}/history").get_data(as_text=True)
    for payload in (f"Reasons {SCRIPT} {JS_LINK}", IMAGE, TEMPLATE, SCRIPT):
        assert_shown_as_text(history, payload)


def refer_with_decision(runtime: Runtime, **changes: Any) -> CaseView:
    """A case past its reasonable-grounds decision, whose reasons are ``changes``."""
    with_consent = runtime.complete(
        item(_screened_case(runtime), "obtain_consent").id, answers.consent_given(), POLICE
    )
    decision = item(with_consent, "decide_reasonable_grounds").id
    return runtime.complete(decision, {**answers.rg("positive"), **changes}, AUTHORITY)


def test_a_refused_narrative_reason_comes_back_as_text(
    as_user: Callable[[str], FlaskClient], runtime: Runtime
) -> None:
    """A reason too short to accept is shown again in its box, for the person to finish."""
    case = _screened_case(runtime)
    response = as_user(COORDINATOR).post(
        f"/cases/{case.id}/history/reason", data={"reason": IMAGE[:8]}
    )
    assert response.status_code == 422
    assert_shown_as_text(response.get_data(as_text=True), IMAGE[:8])


def test_a_failed_sign_in_echoes_the_user_name_as_text(web: Flask) -> None:
    for name in MARKUP:
        response = web.test_client().post("/sign-in", data={"username": name, "password": "x"})
        assert response.status_code == 200
        assert_shown_as_text(response.get_data(as_text=True), name)


def test_a_nul_in_a_posted_user_name_is_nobody_not_a_crash(
    web: Flask, as_user: Callable[[str], FlaskClient]
) -> None:
    """PostgreSQL refuses NUL in a parameter: the pages must not pass one on."""
    signed_in = web.test_client().post(
        "/sign-in", data={"username": f"{POLICE}\x00", "password": "x"}
    )
    assert signed_in.status_code == 200
    assert "Wrong user name or password." in signed_in.get_data(as_text=True)
    support = item(refer(web), "assess_needs").id
    handed = as_user("demo.supervisor").post(
        f"/inbox/{support}/reassign", data={"to_user": "demo.caseworker2\x00"}
    )
    assert handed.status_code < 500


@pytest.mark.parametrize("payload", MARKUP)
def test_search_terms_and_filters_are_echoed_as_text(
    web: Flask, as_user: Callable[[str], FlaskClient], payload: str
) -> None:
    refer(web)
    audit = as_user(AUDITOR).get("/audit?" + urlencode({"actor": payload, "case": payload}))
    inbox = as_user(POLICE).get("/inbox?" + urlencode({"stage": payload}))
    for response in (audit, inbox):
        assert response.status_code == 200
        assert_shown_as_text(response.get_data(as_text=True), payload)


def test_an_incident_cancel_reason_comes_back_as_text(
    app: Flask, db: Database, clock: FixedClock, sign_in: SignIn
) -> None:
    """Refused (too long), it is shown again in its box; accepted, in the case's history."""
    failed = fail_decision(broken_app(db, clock))
    coordinator = sign_in(failed.app.test_client(), COORDINATOR)
    cancel = f"/incidents/{failed.incident_id}/cancel"
    too_long = coordinator.post(cancel, data={"reason": IMAGE * 200})
    assert too_long.status_code == 422
    assert_shown_as_text(too_long.get_data(as_text=True), IMAGE)

    assert coordinator.post(cancel, data={"reason": f"{SCRIPT} {TEMPLATE}"}).status_code == 303
    _reveal_narrative(coordinator, failed.case.id, "Inspection of failed steps, 2026-17.")
    history = coordinator.get(f"/cases/{failed.case.id}/history").get_data(as_text=True)
    assert_shown_as_text(history, f"{SCRIPT} {TEMPLATE}")


# ------------------------------------------------------------------ filters match exactly


def _no_file_read(html: str) -> None:
    assert "root:" not in html and "/bin/" not in html


def test_odd_filter_values_in_the_inbox_and_audit_log_match_nothing(
    web: Flask, as_user: Callable[[str], FlaskClient]
) -> None:
    case = refer(web)
    decision = item(case, "decide_reasonable_grounds").id
    authority, auditor = as_user(AUTHORITY), as_user(AUDITOR)
    assert f'id="work-item-{decision}"' in authority.get("/inbox").get_data(as_text=True)
    assert audit_rows(auditor.get("/audit").get_data(as_text=True))

    for value in SQL_LIKE + PATHS:
        page = authority.get("/inbox?" + urlencode({"stage": value}))
        assert page.status_code == 200, repr(value)
        assert f'id="work-item-{decision}"' not in page.get_data(as_text=True), repr(value)
        for name in ("actor", "agency", "action", "case"):
            found = auditor.get("/audit?" + urlencode({name: value}))
            assert found.status_code == 200, (name, repr(value))
            assert audit_rows(found.get_data(as_text=True)) == [], (name, repr(value))
            _no_file_read(found.get_data(as_text=True))


def test_odd_list_parameters_never_crash_a_list(
    web: Flask, as_user: Callable[[str], FlaskClient]
) -> None:
    """Unknown values fall back to the default view (pages) or are 422 problems (API)."""
    refer(web)
    coordinator = as_user(COORDINATOR)
    api = api_as(web)(AUTHORITY)
    huge = "9" * 40
    for value in [*SQL_LIKE, *PATHS, huge, "-1", "1e9", "²"]:
        query = urlencode({"status": value, "page": value})
        assert coordinator.get(f"/incidents?{query}").status_code == 200, repr(value)
        for path in ("/work-items", "/cases", "/incidents"):
            listed = api.get(f"{path}?" + urlencode({"role": value, "page": value}))
            assert listed.status_code in (200, 403, 422), (path, repr(value))
            if listed.status_code == 200:
                assert listed.json["items"] == [], (path, repr(value))


def test_process_model_names_are_never_paths(
    web: Flask, as_user: Callable[[str], FlaskClient]
) -> None:
    coordinator = as_user(COORDINATOR)
    for name in [*PATHS, "nrm_case\x00", "x" * 5_000, "%", "' OR 1=1 --"]:
        for path in (f"/monitoring/diagram/{name}", f"/monitoring/diagram/{name}/data.json"):
            response = coordinator.get(path)
            assert response.status_code == 404, (path[:60], response.status_code)
            _no_file_read(response.get_data(as_text=True))


BAD_FILE_NAMES = ["escape\x00.bpmn", "x" * 301 + ".bpmn", "\x1b[2J.bpmn", "./a.bpmn", "a//b.bpmn"]


def test_uploaded_file_names_that_are_not_plain_relative_paths_are_refused(web: Flask) -> None:
    """tests/web/test_api_process_models covers ``../``, absolute and Windows paths."""
    api = api_as(web)(COORDINATOR)
    for name in BAD_FILE_NAMES:
        response = api.client.post(
            "/api/v1/process-models",
            data={"files": [(io.BytesIO(b"<definitions/>"), name)]},
            headers=api.headers,
            content_type="multipart/form-data",
        )
        assert (response.status_code, response.mimetype) == (422, PROBLEM), repr(name)
        assert response.json["type"] == "urn:nrmflow:problem:model-invalid", repr(name)
