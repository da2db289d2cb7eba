"""Incidents over the API (the NRM coordinator): list, read, retry the failed step, cancel it.

Anyone else gets 403 whatever the incident, before it is looked up, so the
answer reveals nothing about which incidents exist. Retrying or cancelling
an incident that is already closed is 409 (``incident-closed``). The texts
of an incident are the engine's, written never to carry case data.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue

from engine import incident_commands, incidents
from engine.case_suspension import REASON_MAX_LENGTH
from engine.errors import NotAuthorized
from web import services
from web.api.auth import api_user
from web.api.representations import page_json
from web.api.schemas import NULLABLE_STRING, NULLABLE_TIMESTAMP, TIMESTAMP
from web.api.spec import PAGE, Param, Reply, operation
from web.incidents import FILTERS, incident_list_page

TAG = "incidents"
INCIDENT = {
    "type": "object",
    "required": [
        "id",
        "case_id",
        "reference",
        "process",
        "version",
        "source",
        "error_type",
        "message",
        "detail",
        "occurrences",
        "first_at",
        "last_at",
        "status",
    ],
    "properties": {
        "id": {"type": "integer"},
        "case_id": {"type": "integer"},
        "reference": {"type": "string"},
        "process": {"type": "string", "description": "the process model's key"},
        "version": {"type": "integer"},
        "model_version_id": {"type": "integer"},
        "source": {
            "enum": list(incidents.SOURCES),
            "description": "a person's completion, a timer, or a message to a partner",
        },
        "task_title": NULLABLE_STRING,
        "element_id": {**NULLABLE_STRING, "description": "the diagram element that failed"},
        "partner": {**NULLABLE_STRING, "description": "for a message: the partner"},
        "submitted_by": {**NULLABLE_STRING, "description": "for a completion: whose answers"},
        "error_type": {
            "type": "string",
            "description": "script_error, no_matching_rule, delivery_failed or step_failed",
        },
        "message": {"type": "string", "description": "for a person; no case data"},
        "detail": {"type": "string", "description": "for an administrator; no case data"},
        "occurrences": {"type": "integer", "minimum": 1},
        "first_at": TIMESTAMP,
        "last_at": TIMESTAMP,
        "status": {"enum": list(incidents.STATUSES)},
        "closed_at": NULLABLE_TIMESTAMP,
        "closed_by": NULLABLE_STRING,
    },
}
INCIDENT_PAGE = {
    "type": "object",
    "required": ["items", "total", "page", "pages"],
    "properties": {
        "items": {"type": "array", "items": INCIDENT},
        "total": {"type": "integer", "minimum": 0},
        "page": {"type": "integer", "minimum": 1},
        "pages": {"type": "integer", "minimum": 1},
    },
}
RETRIED = {
    "type": "object",
    "required": ["resolved", "incident"],
    "properties": {
        "resolved": {
            "type": "boolean",
            "description": "true: the step went through and the incident is resolved; "
            "false: it failed again and the incident stays open, with one more occurrence",
        },
        "incident": INCIDENT,
    },
}
STATUS = Param(
    "status",
    {"type": "string", "enum": list(FILTERS), "default": "open"},
    "open (the default), resolved, cancelled, or all",
)


@operation(
    "GET",
    "/incidents",
    summary="Incidents, the most recent failure first, 50 a page (coordinator)",
    tag=TAG,
    params=(STATUS, PAGE),
    responses={200: Reply("a page of incidents", INCIDENT_PAGE)},
    problems=(403,),
)
def list_incidents(query: dict[str, Any]) -> ResponseReturnValue:
    _coordinator()
    page = incident_list_page(query["status"], query["page"])
    return jsonify(page_json(page, [incident.to_json() for incident in page.incidents]))


@operation(
    "GET",
    "/incidents/<int:incident_id>",
    summary="One incident with its message for a person and detail for an administrator "
    "(coordinator)",
    tag=TAG,
    responses={200: Reply("the incident", INCIDENT)},
    problems=(403, 404),
)
def get_incident(incident_id: int) -> ResponseReturnValue:
    _coordinator()
    return jsonify(incidents.get_incident(services.database(), incident_id).to_json())


@operation(
    "POST",
    "/incidents/<int:incident_id>/retry",
    summary="Run the failed step again: the completion with the kept answers, the held timers, "
    "or the held message; audited (coordinator)",
    tag=TAG,
    responses={200: Reply("whether it went through, and the incident now", RETRIED)},
    problems=(403, 404, 409),
)
def retry_incident(incident_id: int) -> ResponseReturnValue:
    runtime = services.runtime()
    outcome = incident_commands.retry(
        runtime, incident_id, _coordinator(), runtime.hooks.may_handle_incidents
    )
    return jsonify(resolved=outcome.resolved, incident=outcome.incident.to_json())


@operation(
    "POST",
    "/incidents/<int:incident_id>/cancel",
    summary="Cancel the failed branch (the case goes on without it, or ends if nothing is "
    "left), or give up a held message; the reason is audited (coordinator)",
    tag=TAG,
    body={
        "type": "object",
        "required": ["reason"],
        "additionalProperties": False,
        "properties": {
            "reason": {"type": "string", "minLength": 1, "maxLength": REASON_MAX_LENGTH}
        },
    },
    responses={200: Reply("the incident, cancelled", INCIDENT)},
    problems=(403, 404, 409, 422),
)
def cancel_incident(incident_id: int, body: dict[str, Any]) -> ResponseReturnValue:
    runtime = services.runtime()
    closed = incident_commands.cancel(
        runtime, incident_id, body["reason"], _coordinator(), runtime.hooks.may_handle_incidents
    )
    return jsonify(closed.to_json())


def _coordinator() -> str:
    """The caller's name, if they may handle incidents; else 403 before anything is looked up."""
    user = api_user()
    if not services.runtime().hooks.may_handle_incidents(set(user.roles)):
        raise NotAuthorized(f"'{user.username}' may not see or handle incidents")
    return user.username
