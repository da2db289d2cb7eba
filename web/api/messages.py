"""Deliver a BPMN message to the case it correlates with (partner systems, staff).

The correlation is the case reference the partner received with the
outbound message; who may deliver which message is the domain's rule.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue

from web import services
from web.api.auth import api_user
from web.api.representations import case_json
from web.api.schemas import ref
from web.api.spec import Reply, operation


@operation(
    "POST",
    "/messages",
    summary="Deliver a named message to the waiting case whose reference is the correlation",
    tag="messages",
    body={
        "type": "object",
        "required": ["name", "correlation"],
        "additionalProperties": False,
        "properties": {
            "name": {"type": "string", "maxLength": 200},
            "correlation": {"type": "string", "maxLength": 40},
            "payload": {"type": "object", "maxProperties": 500},
        },
    },
    responses={200: Reply("the case after the message", ref("Case"))},
    problems=(403, 404, 409, 422),
)
def deliver_message(body: dict[str, Any]) -> ResponseReturnValue:
    runtime = services.runtime()
    case = runtime.deliver_message(
        body["correlation"], body["name"], body.get("payload") or {}, api_user().username
    )
    return jsonify(case_json(case, runtime.clock.now()))
