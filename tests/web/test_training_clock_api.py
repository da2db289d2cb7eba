"""The training clock over the API: only in a training deployment, only the coordinator moves it,
and the timers that fall due fire; in production the routes do not exist."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from engine.bundle import read_bundle
from engine.clock import FixedClock, SystemClock
from engine.config import load_settings
from engine.db import Database
from engine.deploy import deploy_bundle
from engine.models import DeploymentClock
from engine.runtime import Runtime
from engine.training_clock import TrainingClock
from tests.web.api_tokens import ApiAs, api_as
from tests.workflows.nrm_driver import NRM_BUNDLE, NrmCase
from tests.workflows.nrm_steps import identify_adult
from web import create_app
from workflows.demo import seed_demo_users
from workflows.hooks import build_hooks

PROBLEM = "application/problem+json"


def training_app(db: Database, clock: FixedClock) -> Flask:
    """A training deployment with the NRM library and the demo users, its clock over ``clock``."""
    settings = load_settings({"NRMFLOW_DATABASE_URL": db.url, "NRMFLOW_MODE": "training"})
    deploy_bundle(db, read_bundle(NRM_BUNDLE, 5_000_000), "tester", build_hooks(settings), clock)
    seed_demo_users(db, clock)
    flask_app = create_app(settings, clock=TrainingClock(db, clock))
    flask_app.config.update(TESTING=True)
    return flask_app


@pytest.fixture
def training(db: Database, clock: FixedClock) -> Flask:
    return training_app(db, clock)


def test_production_has_no_clock_routes(app: Flask, db: Database) -> None:
    coordinator = api_as(app)("demo.coordinator")
    unknown = coordinator.post("/no-such-route", json={"days": 1})
    for answer in (
        coordinator.post("/clock/advance", json={"days": 1}),
        coordinator.get("/clock"),
        app.test_client().post("/api/v1/clock/advance", json={"days": 1}),  # no token either
    ):
        assert answer.status_code == unknown.status_code == 404
        assert answer.mimetype == unknown.mimetype == PROBLEM
        assert answer.json["type"] == unknown.json["type"]  # type: ignore[index]
    document = app.test_client().get("/api/v1/openapi.json").json
    paths = document["paths"]  # type: ignore[index]
    assert not [path for path in paths if path.startswith("/api/v1/clock")]
    with db.reader() as session:
        assert session.scalars(select(DeploymentClock)).all() == []  # nothing moved


def test_a_training_app_without_a_clock_runs_on_the_deployment_clock(db: Database) -> None:
    settings = load_settings({"NRMFLOW_DATABASE_URL": db.url, "NRMFLOW_MODE": "training"})
    clock = create_app(settings).extensions["nrmflow.runtime"].clock
    assert isinstance(clock, TrainingClock) and isinstance(clock.base, SystemClock)
    production = load_settings({"NRMFLOW_DATABASE_URL": db.url})
    assert isinstance(create_app(production).extensions["nrmflow.runtime"].clock, SystemClock)


def test_the_coordinator_moves_the_clock_and_a_missed_target_escalates(
    training: Flask, db: Database, clock: FixedClock
) -> None:
    runtime: Runtime = training.extensions["nrmflow.runtime"]
    case = NrmCase.refer(runtime, db, clock)
    identify_adult(case)
    due = case.waiting_timers()["rg_target_missed"]  # Monday 9 March 2026, 09:00
    api = api_as(training)

    moved = api("demo.coordinator").post("/clock/advance", json={"days": 10})

    assert moved.status_code == 200, moved.json
    assert moved.json == {
        "now": (clock.now() + timedelta(days=10)).isoformat(),
        "timers_fired": 1,
        "timers_due": 0,
    }
    assert case.item("escalate_overdue_decision").role == "nrm_coordinator"
    assert case.item("decide_reasonable_grounds").due_at == due
    shown = api("demo.auditor").get("/clock")
    assert shown.json == {
        "now": moved.json["now"],  # type: ignore[index]
        "offset_seconds": 10 * 86_400,
        "training": True,
    }
    hours = api("demo.coordinator").post("/clock/advance", json={"hours": 1.5})
    assert hours.json["timers_fired"] == 0  # type: ignore[index]
    assert api("demo.auditor").get("/clock").json["offset_seconds"] == 10 * 86_400 + 5_400  # type: ignore[index]


def test_every_server_process_sees_the_moved_clock(
    training: Flask, db: Database, clock: FixedClock
) -> None:
    """Another process (a gunicorn worker, the CLI) moves it; the next request here sees it."""
    api = api_as(training)
    TrainingClock(db, clock).advance(timedelta(days=4), "cli")
    assert api("demo.auditor").get("/clock").json["offset_seconds"] == 4 * 86_400  # type: ignore[index]
    assert training.extensions["nrmflow.runtime"].clock.now() == clock.now() + timedelta(days=4)


def test_only_the_coordinator_moves_it(training: Flask) -> None:
    api: ApiAs = api_as(training)
    refused = api("demo.caseworker").post("/clock/advance", json={"days": 1})
    assert refused.status_code == 403 and refused.mimetype == PROBLEM
    assert refused.json["type"] == "urn:nrmflow:problem:not-authorized"  # type: ignore[index]
    anonymous = training.test_client().post("/api/v1/clock/advance", json={"days": 1})
    assert anonymous.status_code == 401
    assert api("demo.auditor").get("/clock").json["offset_seconds"] == 0  # type: ignore[index]


@pytest.mark.parametrize(
    "body",
    [
        {"days": 1, "hours": 1},
        {"days": 0},
        {"hours": -3},
        {"days": 367},
        {"hours": 366 * 24 + 1},
        {"days": "2"},
        {"days": True},
        {"days": None},
        {"weeks": 1},
        {},
        [1],
    ],
)
def test_a_step_must_be_days_or_hours_positive_and_bounded(training: Flask, body: object) -> None:
    coordinator = api_as(training)("demo.coordinator")
    refused = coordinator.post("/clock/advance", json=body)
    assert refused.status_code == 422, refused.json
    assert refused.mimetype == PROBLEM
    assert coordinator.get("/clock").json["offset_seconds"] == 0  # type: ignore[index]


def test_not_a_number_is_refused(training: Flask) -> None:
    coordinator = api_as(training)("demo.coordinator")
    refused = coordinator.client.post(
        "/api/v1/clock/advance",
        data='{"days": NaN}',
        headers={**coordinator.headers, "Content-Type": "application/json"},
    )
    assert refused.status_code == 422 and refused.mimetype == PROBLEM


def test_the_document_lists_the_clock_routes_in_training(training: Flask) -> None:
    document = training.test_client().get("/api/v1/openapi.json").json
    assert {"/api/v1/clock", "/api/v1/clock/advance"} <= set(document["paths"])  # type: ignore[index]
    advance = document["paths"]["/api/v1/clock/advance"]["post"]  # type: ignore[index]
    assert {"200", "403", "422"} <= set(advance["responses"])
