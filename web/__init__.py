"""The Flask app: thin routes over the services; no business rules here.

``create_app`` wires the engine (database, runtime with the NRM hooks), the
session security (Flask-Login, CSRF on every form, cookie flags, inactivity
timeout), translations and the blueprints, and maps domain errors to pages.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask, g, request
from werkzeug.middleware.proxy_fix import ProxyFix

from engine.clock import Clock
from engine.config import Settings, check_production_ready, load_settings
from engine.db import Database
from engine.partners import load_partner_directory
from engine.runtime import Runtime
from engine.training_clock import deployment_clock, refresh_if_training
from web import (
    api,
    audit_log,
    auth,
    cases,
    errors,
    health,
    history,
    i18n,
    inbox,
    incidents,
    modeler,
    monitoring,
    process_models,
    security_headers,
    tasks,
)
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
        # the largest request: a bundle upload plus room for the multipart envelope
        MAX_CONTENT_LENGTH=settings.max_bundle_bytes + 64 * 1024,
    )
    if settings.trusted_proxies:
        # one hop per proxy: a client can write any X-Forwarded-For, so trust no more than exist
        hops = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    db = Database(settings.database_url)
    app.extensions["nrmflow.settings"] = settings
    app.extensions["nrmflow.db"] = db
    deployment = clock or deployment_clock(settings, db)
    app.extensions["nrmflow.runtime"] = Runtime(
        db,
        build_hooks(settings),
        deployment,
        settings.script_time_limit_seconds,
        partners=load_partner_directory(settings.partners_file),
        timer_retry=settings.timer_retry(),
    )

    @app.before_request  # before the session checks, which read the clock
    def read_training_clock() -> None:
        """Every server process picks up a coordinator's latest advance at each request."""
        if settings.training and request.endpoint != "static" and request.blueprint != "health":
            refresh_if_training(deployment)
            g.training_now = deployment.now()  # base.html's training banner

    csrf.init_app(app)
    login_manager.init_app(app)
    i18n.init_app(app)
    errors.init_app(app)
    security_headers.init_app(app)
    for blueprint in (
        auth.blueprint,
        inbox.blueprint,
        tasks.blueprint,
        cases.blueprint,
        health.blueprint,
        history.blueprint,
        audit_log.blueprint,
        monitoring.blueprint,
        incidents.blueprint,
        process_models.blueprint,
        modeler.blueprint,
    ):
        app.register_blueprint(blueprint)
    api.init_app(app)
    return app
