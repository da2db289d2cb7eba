"""Suspend and resume a case over the API (the NRM coordinator), with a reason.

Anyone else gets 403 whatever the case, before it is looked up, so the answer
reveals nothing about the case; suspending a suspended or closed case, or
resuming a running one, is 409. The reason is kept in the audit trail only.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue

from engine import case_suspension
from web import services
from web.api.auth import api_user
from web.api.representations import timestamp
from web.api.schemas import NULLABLE_TIMESTAMP
from web.api.spec import Reply, operation

TAG = "cases"
REASON = {"type": "string", "minLength": 1, "maxLength": case_suspension.REASON_MAX_LENGTH}
SUSPENSION = {
    "type": "object",
    "required": ["id", "reference", "suspended", "suspended_at"],
    "properties": {
        "id": {"type": "integer"},
        "reference": {"type": "string"},
        "suspended": {"type": "boolean"},
        "suspended_at": NULLABLE_TIMESTAMP,
        "suspended_for_seconds": {
            "type": ["number", "null"],
            "description": "after a resume: how long the case was suspended",
        },
    },
}


@operation(
    "POST",
    "/cases/<int:case_id>/suspend",
    summary="Suspend a case: no timer fires and no task is offered until it is resumed "
    "(coordinator); the reason is audited",
    tag=TAG,
    body={
        "type": "object",
        "required": ["reason"],
        "additionalProperties": False,
        "properties": {"reason": REASON},
    },
    responses={200: Reply("the case, suspended", SUSPENSION)},
    problems=(403, 404, 409, 422),
)
def suspend_case(case_id: int, body: dict[str, Any]) -> ResponseReturnValue:
    return _suspension(case_suspension.suspend, case_id, body["reason"])


@operation(
    "POST",
    "/cases/<int:case_id>/resume",
    summary="Resume a suspended case; timers that fell due meanwhile fire on the worker's "
    "next pass, once (coordinator)",
    tag=TAG,
    body={
        "type": "object",
        "additionalProperties": False,
        "properties": {"reason": REASON},
    },
    responses={200: Reply("the case, running again", SUSPENSION)},
    problems=(403, 404, 409, 422),
)
def resume_case(case_id: int, body: dict[str, Any]) -> ResponseReturnValue:
    return _suspension(case_suspension.resume, case_id, body.get("reason"))


def _suspension(
    command: Callable[..., case_suspension.Suspension], case_id: int, reason: str | None
) -> ResponseReturnValue:
    runtime = services.runtime()
    done = command(runtime, case_id, reason, api_user().username, runtime.hooks.may_suspend)
    return jsonify(
        id=done.case_id,
        reference=done.reference,
        suspended=done.suspended_at is not None,
        suspended_at=timestamp(done.suspended_at),
        suspended_for_seconds=(
            done.suspended_for.total_seconds() if done.suspended_for is not None else None
        ),
    )
