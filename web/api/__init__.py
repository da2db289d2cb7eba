"""JSON API v1 under ``/api/v1``: bearer tokens, RFC 9457 problems, OpenAPI 3.1 from the code.

Importing the route modules registers their operations on ``blueprint``
(see ``web.api.spec``); ``init_app`` mounts it without session or CSRF,
since API callers authenticate every request with a token (or, partners,
with a signature).
"""

from __future__ import annotations

import logging

from flask import Flask, request
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import HTTPException

from engine.errors import EngineError
from web.api import (  # noqa: F401  (imported to register their routes)
    case_suspension,
    cases,
    clock,
    incidents,
    messages,
    openapi,
    partner_messages,
    process_models,
    work_items,
)
from web.api.problems import ApiProblem, from_engine_error, from_http_error, internal_error
from web.api.spec import blueprint
from web.extensions import csrf

log = logging.getLogger(__name__)
PREFIX = "/api/"
HEALTH_PATHS = frozenset({"/healthz", "/readyz"})


def init_app(app: Flask) -> None:
    csrf.exempt(blueprint)
    app.register_blueprint(blueprint)


@blueprint.errorhandler(ApiProblem)
def _problem(problem: ApiProblem) -> ResponseReturnValue:
    return problem.response()


@blueprint.errorhandler(EngineError)
def _engine_error(error: EngineError) -> ResponseReturnValue:
    return from_engine_error(error).response()


def is_api_request() -> bool:
    """API and health-check paths answer errors as problem JSON, never as pages."""
    return request.path.startswith(PREFIX) or request.path in HEALTH_PATHS


def problem_for_http_error(error: HTTPException) -> ResponseReturnValue:
    """Unknown API paths and wrong methods answer as problems too (app-level handlers)."""
    return from_http_error(error).response()


def problem_for_crash(error: Exception) -> ResponseReturnValue:
    log.exception("API request failed: %s", type(error).__name__)
    return internal_error().response()
