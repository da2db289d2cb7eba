"""Forged ids: another agency's case and work items answer like ids that do not exist.

An id in a URL is easy to change. A supervisor of a support provider (demo.supervisor,
Harbour Light NGO) who types the id of a police referral or of its screening task
must learn nothing from the answer, must change nothing, and leaves exactly one
``access_refused`` audit event naming them and the case, so an auditor sees who probed
what.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from engine.db import Database
from engine.models import AuditEvent, ProcessInstance, WorkItem
from engine.runtime import Runtime
from tests.web.api_tokens import ApiClient, api_as
from tests.web.conftest import SignIn
from tests.workflows import nrm_answers as answers
from tests.workflows.nrm_driver import START

PROBER = "demo.supervisor"  # support provider and supervisor at Harbour Light NGO
OWNER = "demo.police"
MISSING = 10_000  # added to a real id: an id nothing has


@dataclass(frozen=True)
class Target:
    """The ids a request is aimed at: the police referral's, or ids that do not exist."""

    case: int
    item: int


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # with {case} and {item}
    form: dict[str, str] | None = None

    def url(self, target: Target) -> str:
        return self.path.format(case=target.case, item=target.item)


FORM = {"to_user": "demo.caseworker2", "reason": "A documented reason for this check, invented."}
WEB_ROUTES = [
    Route("GET", "/cases/{case}"),
    Route("GET", "/cases/{case}/history"),
    Route("GET", "/cases/{case}/history/diagram.json"),
    Route("POST", "/cases/{case}/history/reason", FORM),
    Route("GET", "/work-items/{item}"),
    Route("POST", "/inbox/{item}/claim", FORM),
    Route("POST", "/inbox/{item}/unclaim", FORM),
    Route("POST", "/inbox/{item}/reassign", FORM),
    Route("POST", "/work-items/{item}/draft", {"indicators": "debt_bondage"}),
    Route("POST", "/work-items/{item}/complete", {"indicators": "debt_bondage"}),
]
API_ROUTES = [
    Route("GET", "/cases/{case}"),
    Route("GET", "/cases/{case}/events"),
    Route("GET", "/work-items/{item}"),
    Route("POST", "/work-items/{item}/claim"),
    Route("POST", "/work-items/{item}/unclaim"),
    Route("POST", "/work-items/{item}/complete"),
]


@pytest.fixture
def police_case(runtime: Runtime) -> Target:
    """A police referral waiting for its screening, claimed and half filled in by the police."""
    case = runtime.start("nrm_case", START, OWNER)
    (screening,) = case.work_items
    runtime.claim(screening.id, OWNER)
    runtime.save_draft(screening.id, {"indicators": ["debt_bondage"]}, OWNER)
    return Target(case.id, screening.id)


@pytest.fixture
def missing(police_case: Target) -> Target:
    return Target(police_case.case + MISSING, police_case.item + MISSING)


def _snapshot(db: Database, case_id: int) -> tuple[object, ...]:
    """Everything a forged request could change about the case."""
    with db.reader() as session:
        instance = session.get(ProcessInstance, case_id)
        assert instance is not None
        items = session.scalars(select(WorkItem).filter_by(instance_id=case_id)).all()
        return (
            instance.revision,
            instance.status,
            instance.state,
            sorted((i.id, i.assignee, i.draft) for i in items),
        )


def _refusals(db: Database) -> list[AuditEvent]:
    with db.reader() as session:
        query = select(AuditEvent).filter_by(action="access_refused").order_by(AuditEvent.seq)
        return list(session.scalars(query))


def _send(client: FlaskClient, route: Route, target: Target) -> TestResponse:
    if route.method == "GET":
        return client.get(route.url(target))
    return client.post(route.url(target), data=route.form or {})


def _page_shape(response: TestResponse, target: Target) -> tuple[object, ...]:
    """Status, redirect and page with the ids asked for blanked out: what the prober learns."""
    body = response.get_data(as_text=True)
    body = re.sub(rf"/({target.case}|{target.item})\b", "/ID", body)
    # a CSRF token is signed with the second it was made: two pages a second apart differ
    body = re.sub(r'name="csrf_token" value="[^"]*"', 'name="csrf_token"', body)
    return response.status_code, response.headers.get("Location"), body


def _assert_audited_once(db: Database, before: int, case_id: int, route: Route) -> None:
    refusals = _refusals(db)[before:]
    assert len(refusals) == 1, f"{route.path}: {[(e.actor, e.instance_id) for e in refusals]}"
    (refusal,) = refusals
    assert (refusal.actor, refusal.instance_id) == (PROBER, case_id)
    assert json.loads(refusal.payload)["attempt"]


@pytest.mark.parametrize("route", WEB_ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_a_page_for_another_agencys_id_is_the_page_for_a_missing_one(
    web: Flask,
    db: Database,
    sign_in: SignIn,
    police_case: Target,
    missing: Target,
    route: Route,
) -> None:
    prober = sign_in(web.test_client(), PROBER)
    before, refusals_before = _snapshot(db, police_case.case), len(_refusals(db))

    forged = _send(prober, route, police_case)
    _assert_audited_once(db, refusals_before, police_case.case, route)
    absent = _send(prober, route, missing)

    assert forged.status_code < 500
    assert _page_shape(forged, police_case) == _page_shape(absent, missing)
    assert _snapshot(db, police_case.case) == before


@pytest.mark.parametrize("route", API_ROUTES, ids=lambda r: f"{r.method} {r.path}")
def test_an_api_call_with_another_agencys_id_is_the_404_of_a_missing_one(
    web: Flask, db: Database, police_case: Target, missing: Target, route: Route
) -> None:
    """The 404 problem a missing case or item's GET answers, word for word.

    (An action on an item that is not open answers 409 by design, so a client can
    tell a lost race from a mistake; an item of another role is "not found".)
    """
    prober: ApiClient = api_as(web)(PROBER)
    before, refusals_before = _snapshot(db, police_case.case), len(_refusals(db))

    if route.method == "GET":
        forged = prober.get(route.url(police_case))
    else:
        forged = prober.post(route.url(police_case), {"data": answers.screening()})
    _assert_audited_once(db, refusals_before, police_case.case, route)
    missing_read = "/cases/{case}" if "{case}" in route.path else "/work-items/{item}"
    if route.path.endswith("/events"):
        missing_read = route.path  # histories are refused to this role whatever the id
    absent = prober.get(missing_read.format(case=missing.case, item=missing.item))

    assert (forged.status_code, forged.mimetype) == (absent.status_code, absent.mimetype)
    assert forged.json == absent.json
    assert _snapshot(db, police_case.case) == before


def test_the_owner_still_works_the_case_after_the_probes(
    web: Flask, db: Database, sign_in: SignIn, police_case: Target
) -> None:
    """The refusals above are about the prober: the same requests by the owner go through."""
    owner = sign_in(web.test_client(), OWNER)
    assert owner.get(f"/work-items/{police_case.item}").status_code == 200
    refusals_before = len(_refusals(db))
    api_owner = api_as(web)(OWNER)
    done = api_owner.post(f"/work-items/{police_case.item}/complete", {"data": answers.screening()})
    assert done.status_code == 200, done.json
    assert len(_refusals(db)) == refusals_before
