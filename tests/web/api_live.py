"""The real app in training mode for API tests: the NRM library, the demo users, a token per role.

The deployment's clock is the real ``TrainingClock`` (its offset stored in the
database, moved by ``POST /api/v1/clock/advance``) over a fixed base time, so
a walk through a year of a case takes seconds and always lands on the same
dates. ``serve`` puts the app on a free local port for a client that speaks
only HTTP.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from flask import Flask
from werkzeug.serving import make_server

from engine.api_tokens import create_token
from engine.bundle import read_bundle
from engine.clock import FixedClock
from engine.config import load_settings
from engine.db import Database
from engine.deploy import deploy_bundle
from engine.runtime import Runtime
from engine.training_clock import TrainingClock, advance_and_fire
from examples.walk_referral import ANSWERS, START
from tests.workflows.nrm_driver import NRM_BUNDLE
from web import create_app
from workflows.demo import DEMO_USERS, demo_user_for, seed_demo_users
from workflows.hooks import build_hooks

MAX_BUNDLE_BYTES = 5_000_000
MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TOKEN_ACTOR = "tester"
# every NRM role, each acted by the first demo user who holds it
ROLE_USERS = {role: demo_user_for(role) for _name, _agency, roles in DEMO_USERS for role in roles}


def api_app(database_url: str, training: bool = True, base: FixedClock | None = None) -> Flask:
    """The app on a new database holding the NRM library and the demo users.

    In training mode the deployment runs on a ``TrainingClock`` over ``base``
    (Monday 2 March 2026, 09:00 UTC unless given); otherwise on ``base`` itself.
    """
    base = base or FixedClock(MONDAY)
    env = {"NRMFLOW_DATABASE_URL": database_url}
    if training:
        env["NRMFLOW_MODE"] = "training"
    settings = load_settings(env)
    db = Database(database_url)
    try:
        db.upgrade()
        bundle = read_bundle(NRM_BUNDLE, MAX_BUNDLE_BYTES)
        deploy_bundle(db, bundle, TOKEN_ACTOR, build_hooks(settings), base)
        seed_demo_users(db, base)
    finally:
        db.dispose()
    if not training:
        return create_app(settings, clock=base)
    clock_db = Database(database_url)  # the clock's own handle; disposed with the app's (close)
    app = create_app(settings, clock=TrainingClock(clock_db, base))
    app.extensions["tests.clock_db"] = clock_db
    return app


def runtime_of(app: Flask) -> Runtime:
    return app.extensions["nrmflow.runtime"]  # type: ignore[no-any-return]


def db_of(app: Flask) -> Database:
    return app.extensions["nrmflow.db"]  # type: ignore[no-any-return]


def issue_tokens(app: Flask, roles: list[str] | None = None) -> dict[str, str]:
    """A bearer token for each role (every NRM role unless given), owned by its demo user."""
    runtime = runtime_of(app)
    return {
        role: create_token(
            db_of(app), ROLE_USERS[role], f"{role} tests", TOKEN_ACTOR, runtime.clock
        )
        for role in roles or sorted(ROLE_USERS)
    }


def close(app: Flask) -> None:
    db_of(app).dispose()
    if "tests.clock_db" in app.extensions:
        app.extensions["tests.clock_db"].dispose()


@contextmanager
def serve(app: Flask) -> Iterator[str]:
    """Serve ``app`` on a free local port until the block ends; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="nrmflow-api-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


def seed_cases(app: Flask) -> list[int]:
    """Three referrals at different stages, so ids name real cases and items in several inboxes.

    One waits for screening (first responder), one for its reasonable-grounds
    decision, which then runs past its target and is escalated to the
    coordinator, and one for its needs assessment (support provider). The
    answers are the walk-through script's (invented).
    """
    runtime = runtime_of(app)
    police, authority = ROLE_USERS["first_responder"], ROLE_USERS["competent_authority"]
    identify = [("screen_indicators", police), ("obtain_consent", police)]
    stages = [[], identify, [*identify, ("decide_reasonable_grounds", authority)]]
    cases = []
    for steps in stages:
        case_id = runtime.start("nrm_case", START, police).id
        for task, actor in steps:
            item = next(i for i in runtime.case(case_id).work_items if i.task_name == task)
            runtime.complete(item.id, ANSWERS[task], actor)
        cases.append(case_id)
    target_missed = timedelta(days=8)  # 5 working days and a weekend
    clock = runtime.clock
    if isinstance(clock, TrainingClock):
        advance_and_fire(runtime, target_missed, TOKEN_ACTOR)
    elif isinstance(clock, FixedClock):
        clock.advance(days=target_missed.days)
        runtime.fire_due_timers()
    return cases
