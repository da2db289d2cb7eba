"""The Flask app: thin routes over the services; no business rules here.

``create_app`` wires the engine (database, runtime with the NRM hooks), the
session security (Flask-Login, CSRF on every form, cookie flags, inactivity
timeout), translations and the blueprints, and maps domain errors to pages.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask, jsonify

from engine.clock import Clock, SystemClock
from engine.config import Settings, check_production_ready, load_settings
from engine.db import Database
from engine.runtime import Runtime
from web import auth, cases, errors, i18n, inbox, tasks
from web.extensions import csrf, login_manager
from workflows.hooks import build_hooks


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> Flask:
    settings = settings or load_settings()
    check_production_ready(settings)
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.production,
        REMEMBER_COOKIE_SECURE=settings.production,
        PERMANENT_SESSION_LIFETIME=timedelta(minutes=settings.session_timeout_minutes),
        WTF_CSRF_TIME_LIMIT=None,  # the token lives as long as the session, which times out
    )
    db = Database(settings.database_url)
    app.extensions["nrmflow.settings"] = settings
    app.extensions["nrmflow.db"] = db
    app.extensions["nrmflow.runtime"] = Runtime(
        db, build_hooks(settings), clock or SystemClock(), settings.script_time_limit_seconds
    )
    csrf.init_app(app)
    login_manager.init_app(app)
    i18n.init_app(app)
    errors.init_app(app)
    for blueprint in (auth.blueprint, inbox.blueprint, tasks.blueprint, cases.blueprint):
        app.register_blueprint(blueprint)

    @app.get("/healthz")
    def healthz():  # type: ignore[no-untyped-def]
        """Liveness only: the process answers. Readiness (database) is /readyz."""
        return jsonify(status="ok")

    return app
