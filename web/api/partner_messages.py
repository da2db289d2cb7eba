"""A partner deployment's message: the signature is the authentication, so no token, no session.

The raw body is read as sent and handed to the engine, which checks the
signature before it parses a byte of it (so no body schema is declared: the
generic JSON parsing would run first). The answer says only what became of
the message id; a case reference of ours never goes back to a partner.
"""

from __future__ import annotations

from flask import jsonify, request
from flask.typing import ResponseReturnValue

from engine.partner_inbox import MAX_MESSAGE_BYTES
from web import services
from web.api.problems import ApiProblem
from web.api.spec import Reply, operation

RECEIPT = {
    "type": "object",
    "required": ["status", "id"],
    "properties": {
        "status": {"enum": ["delivered", "started", "duplicate"]},
        "id": {"type": "string", "description": "the message id, as sent"},
    },
}


@operation(
    "POST",
    "/partner-messages",
    summary="Receive a signed message from a partner deployment (once per message id)",
    tag="partners",
    auth="partner",
    responses={200: Reply("what became of the message; a repeated id is a duplicate", RECEIPT)},
    problems=(401, 403, 409, 413, 422),
)
def receive_partner_message() -> ResponseReturnValue:
    body = request.stream.read(MAX_MESSAGE_BYTES + 1)
    if len(body) > MAX_MESSAGE_BYTES:
        raise ApiProblem(413, "too-large", "The message is too large")
    receipt = services.runtime().receive_partner_message(request.headers, body)
    return jsonify(status=receipt.status, id=receipt.message_id)
