"""Liveness and readiness for load balancers and orchestrators; no session, no personal data."""

from __future__ import annotations

from flask import Blueprint, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy.exc import SQLAlchemyError

from web import services
from web.api.spec import Reply, operation

blueprint = Blueprint("health", __name__)

STATUS = {
    "type": "object",
    "required": ["status"],
    "properties": {"status": {"type": "string"}, "detail": {"type": "string"}},
}


@operation(
    "GET",
    "/healthz",
    summary="Liveness: the process answers (the database is not consulted)",
    tag="meta",
    auth="none",
    responses={200: Reply("alive", STATUS)},
    on=blueprint,
)
def healthz() -> ResponseReturnValue:
    return jsonify(status="ok")


@operation(
    "GET",
    "/readyz",
    summary="Readiness: the database answers and its schema is at the code's migration",
    tag="meta",
    auth="none",
    responses={200: Reply("ready", STATUS), 503: Reply("not ready, and why", STATUS)},
    on=blueprint,
)
def readyz() -> ResponseReturnValue:
    try:
        current = services.database().is_current()
    except SQLAlchemyError:
        return jsonify(status="unavailable", detail="the database does not answer"), 503
    if not current:
        detail = "the database schema is not current: run 'nrmflow db upgrade'"
        return jsonify(status="unavailable", detail=detail), 503
    return jsonify(status="ready")
