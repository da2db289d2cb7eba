"""The OpenAPI 3.1 document, built from the ``@operation`` declarations the routes are made of.

Beside what each route declares, the answers every route of a kind can give
are added here once: 401 for a bearer-token route, 400/415/422 for a JSON
body, 422 for query parameters, 413 for an upload.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue

from engine.config import Settings
from web import services
from web.api.problems import MEDIA_TYPE
from web.api.schemas import COMPONENTS, ref
from web.api.spec import MAX_ID, OPERATIONS, Operation, Reply, operation

PROBLEM_TITLES = {
    400: "Malformed request",
    401: "Missing, invalid or revoked token",
    403: "The caller's roles do not allow it",
    404: "Not found, or not the caller's to see",
    409: "Conflict: the item or case changed, or someone else holds it",
    413: "The upload is too large",
    415: "The body is not JSON",
    422: "The request is well-formed but its content is refused",
    503: "Not ready",
}
SECURITY_SCHEMES = {
    "bearerAuth": {
        "type": "http",
        "scheme": "bearer",
        "description": "a token from `nrmflow tokens create --user NAME`",
    },
    "partnerSignature": {
        "type": "apiKey",
        "in": "header",
        "name": "X-Nrmflow-Signature",
        "description": "HMAC-SHA256 of timestamp and body with the partner's shared secret, "
        "sent with X-Nrmflow-Key and X-Nrmflow-Timestamp",
    },
}


def openapi_document(settings: Settings) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for declared in OPERATIONS:
        if declared.available is None or declared.available(settings):
            paths.setdefault(declared.path, {})[declared.method.lower()] = _operation(declared)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "nrmflow API",
            "version": "1",
            "description": "A National Referral Mechanism run as executable BPMN. Errors are "
            "RFC 9457 problem details with a stable `type` per domain error.",
        },
        "paths": dict(sorted(paths.items())),
        "components": {"schemas": COMPONENTS, "securitySchemes": SECURITY_SCHEMES},
    }


def _operation(declared: Operation) -> dict[str, Any]:
    document: dict[str, Any] = {
        "operationId": declared.endpoint,
        "summary": declared.summary,
        "tags": [declared.tag],
        "responses": _responses(declared),
    }
    parameters = [
        {
            "name": name,
            "in": "path",
            "required": True,
            "schema": {"type": "integer", "minimum": 0, "maximum": MAX_ID},
        }
        for name in declared.path_parameters
    ] + [
        {
            "name": param.name,
            "in": "query",
            "required": param.required,
            "description": param.description,
            "schema": dict(param.schema),
        }
        for param in declared.params
    ]
    if parameters:
        document["parameters"] = parameters
    if declared.body is not None:
        document["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": declared.body}},
        }
    if declared.multipart is not None:
        document["requestBody"] = {
            "required": True,
            "content": {"multipart/form-data": {"schema": declared.multipart}},
        }
    document["security"] = {
        "token": [{"bearerAuth": []}],
        "partner": [{"partnerSignature": []}],
        "none": [],
    }[declared.auth]
    return document


def _responses(declared: Operation) -> dict[str, Any]:
    codes = set(declared.problems)
    if declared.auth == "token":
        codes.add(401)
    if declared.body is not None:
        codes |= {400, 415, 422}
    if declared.params:
        codes.add(422)
    if declared.multipart is not None:
        codes |= {413, 422}
    if declared.available is not None:
        codes.add(404)
    responses = {str(code): _reply(reply) for code, reply in sorted(declared.responses.items())}
    for code in sorted(codes - set(declared.responses)):
        responses[str(code)] = {
            "description": PROBLEM_TITLES.get(code, "Problem"),
            "content": {MEDIA_TYPE: {"schema": ref("Problem")}},
        }
    return responses


def _reply(reply: Reply) -> dict[str, Any]:
    if reply.schema is None:
        return {"description": reply.description}
    return {
        "description": reply.description,
        "content": {reply.media_type: {"schema": reply.schema}},
    }


@operation(
    "GET",
    "/openapi.json",
    summary="This document",
    tag="meta",
    auth="none",
    responses={200: Reply("the OpenAPI 3.1 document", {"type": "object"})},
)
def openapi_json() -> ResponseReturnValue:
    return jsonify(openapi_document(services.settings()))
