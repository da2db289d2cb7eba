"""The training clock over the API: read it, and move it forward (the NRM coordinator).

Only a training deployment (``NRMFLOW_MODE=training``) has these routes; in
production they answer 404 like any unknown path and the OpenAPI document
leaves them out, so a live mechanism cannot be told that time has passed.
"""

from __future__ import annotations

from flask import jsonify
from flask.typing import ResponseReturnValue

from engine.config import Settings
from engine.errors import NotAuthorized
from engine.training_clock import (
    MAX_STEP,
    ClockRefused,
    TrainingClock,
    advance_and_fire,
    clock_step,
)
from web import services
from web.api.auth import api_user
from web.api.problems import ApiProblem
from web.api.schemas import TIMESTAMP
from web.api.spec import Reply, operation

TAG = "training clock"


def in_training(settings: Settings) -> bool:
    return settings.training


STEP = {
    "type": "object",
    "description": "how far to move the clock: a number of days or of hours, not both",
    "minProperties": 1,
    "maxProperties": 1,
    "additionalProperties": False,
    "properties": {
        "days": {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_STEP.days},
        "hours": {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_STEP.days * 24},
    },
}
ADVANCED = {
    "type": "object",
    "required": ["now", "timers_fired", "timers_due"],
    "properties": {
        "now": TIMESTAMP,
        "timers_fired": {"type": "integer", "description": "timers that fell due and fired"},
        "timers_due": {
            "type": "integer",
            "description": "timers still due: their step failed, or the worker finishes them",
        },
    },
}
CLOCK = {
    "type": "object",
    "required": ["now", "offset_seconds", "training"],
    "properties": {
        "now": TIMESTAMP,
        "offset_seconds": {"type": "number", "description": "how far the clock was moved"},
        "training": {"type": "boolean", "const": True},
    },
}


@operation(
    "GET",
    "/clock",
    summary="The training deployment's time and how far it was moved (training mode only)",
    tag=TAG,
    responses={200: Reply("the deployment's clock", CLOCK)},
    available=in_training,
)
def show_clock() -> ResponseReturnValue:
    clock = _training_clock()
    return jsonify(
        now=clock.now().isoformat(), offset_seconds=clock.offset.total_seconds(), training=True
    )


@operation(
    "POST",
    "/clock/advance",
    summary="Move the training clock forward and fire the timers that fall due (coordinator)",
    tag=TAG,
    body=STEP,
    responses={200: Reply("the new time and the timers that fired", ADVANCED)},
    problems=(403, 409),
    available=in_training,
)
def advance_clock(body: dict[str, float]) -> ResponseReturnValue:
    user = api_user()
    if not services.runtime().hooks.may_move_clock(set(user.roles)):
        raise NotAuthorized(f"'{user.username}' may not move the training clock")
    _training_clock()
    try:
        step = clock_step(days=body.get("days"), hours=body.get("hours"))
    except ClockRefused as error:  # the schema's bounds let NaN through
        raise ApiProblem(
            422, "invalid-request", "The request body is invalid", str(error)
        ) from None
    result = advance_and_fire(
        services.runtime(), step, user.username, services.runtime().hooks.may_move_clock
    )
    return jsonify(
        now=result.now.isoformat(),
        timers_fired=result.timers_fired,
        timers_due=result.timers_due,
    )


def _training_clock() -> TrainingClock:
    clock = services.runtime().clock
    if not isinstance(clock, TrainingClock):  # an app built with another clock (a test's)
        raise ApiProblem(
            409, "clock-fixed", "The clock cannot be moved", "this app runs on a fixed clock"
        )
    return clock
