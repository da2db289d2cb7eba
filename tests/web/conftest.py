"""A real app on a real database (SQLite, and PostgreSQL when configured) with the
NRM library deployed, the demo users seeded and a clock the test controls."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.bundle import read_bundle
from engine.clock import FixedClock
from engine.config import load_settings
from engine.db import Database
from engine.deploy import deploy_bundle
from engine.runtime import Runtime
from tests.workflows.nrm_driver import NRM_BUNDLE
from web import create_app
from workflows.demo import seed_demo_users
from workflows.hooks import build_hooks

SignIn = Callable[[FlaskClient, str], FlaskClient]


@pytest.fixture
def web(app: Flask) -> Flask:
    """The app with CSRF off, for tests about something else (CSRF tests take ``app``)."""
    app.config["WTF_CSRF_ENABLED"] = False
    return app


@pytest.fixture
def runtime(web: Flask) -> Runtime:
    return web.extensions["nrmflow.runtime"]  # type: ignore[no-any-return]


@pytest.fixture
def app(db: Database, clock: FixedClock) -> Flask:
    settings = load_settings({"NRMFLOW_DATABASE_URL": db.url})
    deploy_bundle(db, read_bundle(NRM_BUNDLE, 5_000_000), "tester", build_hooks(settings), clock)
    seed_demo_users(db, clock)
    flask_app = create_app(settings, clock=clock)
    flask_app.config.update(TESTING=True)
    return flask_app


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def sign_in(clock: FixedClock) -> SignIn:
    """Sign a test client in as a user without the sign-in form (tests/web/test_auth covers it)."""

    def signed_in(test_client: FlaskClient, username: str) -> FlaskClient:
        with test_client.session_transaction() as session:
            session["_user_id"] = username
            session["_fresh"] = True
            session["last_seen"] = clock.now().isoformat()
            session.permanent = True  # as sign-in does; else "strong" protection drops the user
        return test_client

    return signed_in
