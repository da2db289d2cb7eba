"""Domain errors and HTTP errors as pages in the app's layout: never a stack trace.

Engine errors are mapped here, once: a route calls a service and lets the
error rise. Messages shown are the engine's, which never carry case data.
"""

from __future__ import annotations

import logging

from flask import Flask, render_template
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException

from engine.case_suspension import SuspensionConflict
from engine.errors import (
    AlreadyClaimed,
    CaseNotFound,
    EngineError,
    MessageNotExpected,
    ModelNotFound,
    NotAuthorized,
    StaleRevision,
    TaskNotReady,
    UserNotFound,
)
from engine.incidents import IncidentClosed, IncidentRaised
from engine.state import StateFormatUnsupported
from web import api

log = logging.getLogger(__name__)

STATUS_OF: dict[type[EngineError], int] = {
    NotAuthorized: 403,
    CaseNotFound: 404,
    ModelNotFound: 404,
    UserNotFound: 404,
    TaskNotReady: 409,
    AlreadyClaimed: 409,
    StaleRevision: 409,
    MessageNotExpected: 409,
    StateFormatUnsupported: 503,
    SuspensionConflict: 409,
    IncidentClosed: 409,
    IncidentRaised: 409,  # the step failed and became an incident; the answers were kept
}


def status_of(error: EngineError) -> int:
    """The HTTP status of a domain error: its own class's, else its nearest base's, else 400."""
    return next((STATUS_OF[kind] for kind in type(error).__mro__ if kind in STATUS_OF), 400)


def _titles() -> dict[int, str]:
    return {
        400: _("The request could not be understood"),
        403: _("You are not allowed to do this"),
        404: _("Not found"),
        409: _("Someone else changed this first"),
        413: _("The upload is too large"),
        500: _("Something went wrong on our side"),
    }


def error_page(status: int, message: str | None = None) -> tuple[str, int]:
    title = _titles().get(status, _("Something went wrong on our side"))
    return render_template("error.html", status=status, title=title, message=message), status


def init_app(app: Flask) -> None:
    @app.errorhandler(EngineError)
    def engine_error(error: EngineError):  # type: ignore[no-untyped-def]
        return error_page(status_of(error), str(error))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):  # type: ignore[no-untyped-def]
        if api.is_api_request():
            return api.problem_for_http_error(error)
        return error_page(error.code or 500)

    @app.errorhandler(Exception)
    def unexpected(error: Exception):  # type: ignore[no-untyped-def]
        if api.is_api_request():
            return api.problem_for_crash(error)
        log.error("unhandled %s", type(error).__name__, exc_info=error)
        return error_page(500)
