"""Every domain error has one stable problem type and status, and says nothing it should not."""

from __future__ import annotations

import json

import pytest
from flask import Flask

from engine.api_tokens import TokenRejected
from engine.errors import (
    AlreadyClaimed,
    CaseNotFound,
    EngineError,
    FieldError,
    FormInvalid,
    MessageNotExpected,
    ModelInvalid,
    ModelNotFound,
    NotAuthorized,
    NotClaimant,
    Problem,
    StaleRevision,
    TaskNotReady,
    WorkflowFailed,
)
from engine.signing import SignatureExpired, SignatureInvalid, SignatureMissing, UnknownPartnerKey
from web.api.problems import MEDIA_TYPE, from_engine_error

EXPECTED = [
    (TokenRejected("x"), 401, "unauthorized"),
    (SignatureMissing("x"), 401, "signature-missing"),
    (UnknownPartnerKey("x"), 401, "unknown-partner-key"),
    (SignatureExpired("x"), 401, "signature-expired"),
    (SignatureInvalid("x"), 401, "signature-invalid"),
    (NotAuthorized("x"), 403, "not-authorized"),
    (CaseNotFound("x"), 404, "not-found"),
    (TaskNotReady("x"), 409, "task-not-ready"),
    (AlreadyClaimed("x"), 409, "already-claimed"),
    (NotClaimant("x"), 409, "not-claimant"),
    (StaleRevision("x"), 409, "stale-revision"),
    (MessageNotExpected("x"), 409, "message-not-expected"),
    (FormInvalid([FieldError("age", "is required")]), 422, "invalid-data"),
    (ModelInvalid([Problem("a.bpmn", 3, "t1", "bad")]), 422, "model-invalid"),
    (ModelNotFound("x"), 422, "model-not-found"),
    (WorkflowFailed("x"), 500, "workflow-failed"),
    (EngineError("x"), 400, "request-refused"),
]


@pytest.mark.parametrize(("error", "status", "slug"), EXPECTED, ids=lambda v: str(v)[:30])
def test_each_engine_error_has_its_status_and_type(
    app: Flask, error: EngineError, status: int, slug: str
) -> None:
    with app.test_request_context():
        response = from_engine_error(error).response()
    body = json.loads(response.get_data())
    assert (response.status_code, response.mimetype) == (status, MEDIA_TYPE)
    assert body["type"] == f"urn:nrmflow:problem:{slug}" and body["status"] == status
    assert ("WWW-Authenticate" in response.headers) == (slug == "unauthorized")


def test_field_and_bundle_problems_carry_their_lists(app: Flask) -> None:
    with app.test_request_context():
        form = json.loads(
            from_engine_error(FormInvalid([FieldError("a/b", "is too long")])).response().data
        )
        bundle = json.loads(
            from_engine_error(ModelInvalid([Problem("x.bpmn", None, "", "no")])).response().data
        )
    assert form["errors"] == [{"path": "a/b", "message": "is too long"}]
    assert bundle["problems"] == [
        {"file": "x.bpmn", "line": None, "element_id": "", "message": "no"}
    ]


def test_an_unexpected_crash_is_a_bare_500_problem(app: Flask) -> None:
    @app.get("/api/v1/test-crash")
    def crash() -> str:
        raise RuntimeError("secret detail of a person")

    response = app.test_client().get("/api/v1/test-crash")
    assert (response.status_code, response.mimetype) == (500, MEDIA_TYPE)
    assert response.json["type"] == "urn:nrmflow:problem:internal-error"
    assert "secret detail" not in response.get_data(as_text=True)
