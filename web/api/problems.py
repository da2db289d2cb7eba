"""RFC 9457 problem details: every API error, one shape, one stable ``type`` per domain error.

Engine errors are mapped here once. The ``detail`` is the engine's message,
which is written never to carry case data; unexpected errors say nothing
beyond "internal error".
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Response, json
from werkzeug.exceptions import HTTPException

from engine.api_tokens import TokenRejected
from engine.case_suspension import CaseClosed, CaseNotSuspended, CaseSuspended
from engine.errors import (
    AlreadyClaimed,
    CaseNotFound,
    EngineError,
    FormInvalid,
    MessageNotExpected,
    ModelInvalid,
    ModelNotFound,
    NotAuthorized,
    NotClaimant,
    StaleRevision,
    TaskNotReady,
    UserNotFound,
    WorkflowFailed,
)
from engine.incidents import IncidentClosed, IncidentRaised
from engine.signing import SignatureExpired, SignatureMissing, SignatureRejected, UnknownPartnerKey

log = logging.getLogger(__name__)

MEDIA_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:nrmflow:problem:"

# engine error → (status, slug, title); the first matching class wins
ENGINE_ERRORS: tuple[tuple[type[EngineError], int, str, str], ...] = (
    (TokenRejected, 401, "unauthorized", "Authentication required"),
    (SignatureMissing, 401, "signature-missing", "The partner signature was rejected"),
    (UnknownPartnerKey, 401, "unknown-partner-key", "The partner signature was rejected"),
    (SignatureExpired, 401, "signature-expired", "The partner signature was rejected"),
    (SignatureRejected, 401, "signature-invalid", "The partner signature was rejected"),
    (UserNotFound, 401, "unauthorized", "Authentication required"),
    (NotClaimant, 409, "not-claimant", "Only the person who claimed it may give it back"),
    (NotAuthorized, 403, "not-authorized", "Not allowed"),
    (CaseNotFound, 404, "not-found", "Not found"),
    (TaskNotReady, 409, "task-not-ready", "The work item is no longer open"),
    (AlreadyClaimed, 409, "already-claimed", "The work item is claimed by someone else"),
    (StaleRevision, 409, "stale-revision", "The case changed meanwhile"),
    (CaseSuspended, 409, "case-suspended", "The case is suspended"),
    (CaseNotSuspended, 409, "case-not-suspended", "The case is not suspended"),
    (CaseClosed, 409, "case-closed", "The case is closed"),
    (MessageNotExpected, 409, "message-not-expected", "The case is not waiting for it"),
    (IncidentClosed, 409, "incident-closed", "The incident was already retried or cancelled"),
    (FormInvalid, 422, "invalid-data", "The data does not satisfy the form"),
    (ModelInvalid, 422, "model-invalid", "The bundle is not valid"),
    (ModelNotFound, 422, "model-not-found", "No such process model"),
    (IncidentRaised, 409, "incident-raised", "The step failed and became an incident"),
    (WorkflowFailed, 500, "workflow-failed", "The process could not continue"),
)


class ApiProblem(Exception):
    """Raise from an API view to answer with a problem; ``extra`` adds members."""

    def __init__(self, status: int, slug: str, title: str, detail: str | None = None, **extra: Any):
        super().__init__(detail or title)
        self.headers: dict[str, str] = {}
        self.status, self.slug, self.title, self.detail, self.extra = (
            status,
            slug,
            title,
            detail,
            extra,
        )

    def response(self) -> Response:
        body: dict[str, Any] = {
            "type": TYPE_PREFIX + self.slug,
            "title": self.title,
            "status": self.status,
        }
        if self.detail:
            body["detail"] = self.detail
        body.update(self.extra)
        response = Response(json.dumps(body), self.status, mimetype=MEDIA_TYPE)
        response.headers.update(self.headers)
        if self.slug == "unauthorized":  # a bearer-token route; partners sign instead
            response.headers["WWW-Authenticate"] = 'Bearer realm="nrmflow"'
        return response


def not_found(detail: str = "no such resource, or not one you may see") -> ApiProblem:
    """One answer for "absent" and "not yours", so an id reveals nothing about other agencies."""
    return ApiProblem(404, "not-found", "Not found", detail)


def from_engine_error(error: EngineError) -> ApiProblem:
    for kind, status, slug, title in ENGINE_ERRORS:
        if isinstance(error, kind):
            return ApiProblem(status, slug, title, str(error), **_members(error))
    log.warning("unmapped engine error %s", type(error).__name__)
    return ApiProblem(400, "request-refused", "The request was refused", str(error))


def from_http_error(error: HTTPException) -> ApiProblem:
    status = error.code or 500
    slug = {
        400: "bad-request",
        401: "unauthorized",
        403: "not-authorized",
        404: "not-found",
        405: "method-not-allowed",
        413: "too-large",
        415: "unsupported-media-type",
    }.get(status, "http-error")
    problem = ApiProblem(status, slug, error.name, error.description)
    # keep what the error says beyond its body, e.g. the Allow header of a 405
    problem.headers = {k: v for k, v in error.get_headers() if k.lower() != "content-type"}
    return problem


def internal_error() -> ApiProblem:
    return ApiProblem(500, "internal-error", "Internal error", "the error was logged")


def _members(error: EngineError) -> dict[str, Any]:
    if isinstance(error, FormInvalid):
        return {"errors": [{"path": e.path, "message": e.message} for e in error.errors]}
    if isinstance(error, IncidentRaised):  # the answers were kept; the coordinator acts on it
        return {"incident_id": error.incident_id}
    if isinstance(error, ModelInvalid):
        return {
            "problems": [
                {"file": p.file, "line": p.line, "element_id": p.element_id, "message": p.message}
                for p in error.problems
            ]
        }
    return {}
