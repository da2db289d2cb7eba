"""The Flask app: thin routes over the services; no business rules here."""

from __future__ import annotations

from flask import Flask, jsonify

from engine.config import Settings, check_production_ready, load_settings
from engine.db import Database


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or load_settings()
    check_production_ready(settings)
    app = Flask(__name__)
    app.config["SECRET_KEY"] = settings.secret_key
    app.extensions["nrmflow.db"] = Database(settings.database_url)

    @app.get("/healthz")
    def healthz():  # type: ignore[no-untyped-def]
        """Liveness only: the process answers. Readiness (database) is /readyz."""
        return jsonify(status="ok")

    return app
