"""Cases over the API: start one, list the ones you may see, read one, read its history.

The same need-to-know rules as the pages apply, from the same engine calls
(``case_record`` audits the read). A case the caller may not see answers
404, exactly like one that does not exist.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify
from flask.typing import ResponseReturnValue

from engine.case_events import case_events
from engine.case_list import case_page
from engine.errors import CaseNotFound, NotAuthorized
from web import services
from web.api.auth import api_user
from web.api.problems import not_found
from web.api.representations import case_json, case_summary_json, page_json, timestamp
from web.api.schemas import DATA_OBJECT, ref
from web.api.spec import PAGE, Reply, operation


@operation(
    "POST",
    "/cases",
    summary="Start a case (a referral): the data must satisfy the start event's form",
    tag="cases",
    body={
        "type": "object",
        "required": ["process_key", "data"],
        "additionalProperties": False,
        "properties": {"process_key": {"type": "string", "maxLength": 200}, "data": DATA_OBJECT},
    },
    responses={201: Reply("the case started", ref("Case"))},
    problems=(403, 422),
)
def start_case(body: dict[str, Any]) -> ResponseReturnValue:
    runtime = services.runtime()
    case = runtime.start(body["process_key"], body["data"], api_user().username)
    return jsonify(case_json(case, runtime.clock.now())), 201


@operation(
    "GET",
    "/cases",
    summary="The cases the caller may see, newest first, 50 a page",
    tag="cases",
    params=(PAGE,),
    responses={200: Reply("a page of cases", ref("CasePage"))},
)
def list_cases(query: dict[str, Any]) -> ResponseReturnValue:
    user = api_user()
    hooks = services.runtime().hooks
    # an overseer sees every case; an auditor lists them all to read their histories
    # (the list holds references and statuses, no case data)
    sees_every_case = hooks.may_view_case(set(user.roles), set()) or hooks.may_read_history(
        set(user.roles)
    )
    page = case_page(services.database(), user.roles, sees_every_case, query["page"])
    return jsonify(page_json(page, [case_summary_json(case) for case in page.items]))


@operation(
    "GET",
    "/cases/<int:case_id>",
    summary="A case as the caller may see it: status, stages, need-to-know data, open items",
    tag="cases",
    responses={200: Reply("the case", ref("CaseDetail"))},
    problems=(404,),
)
def get_case(case_id: int) -> ResponseReturnValue:
    runtime = services.runtime()
    try:
        record = runtime.case_record(case_id, api_user().username)
    except (CaseNotFound, NotAuthorized):
        raise not_found() from None
    return jsonify(
        {
            **case_json(record.case, runtime.clock.now()),
            "stages": record.stages,
            "data": record.data,
            "withheld": record.withheld,
        }
    )


@operation(
    "GET",
    "/cases/<int:case_id>/events",
    summary="A case's audit events in order (auditor and coordinator); the read is audited",
    tag="cases",
    responses={200: Reply("the events", {"type": "array", "items": ref("Event")})},
    problems=(403, 404),
)
def get_case_events(case_id: int) -> ResponseReturnValue:
    runtime = services.runtime()
    user = api_user()
    may_read = runtime.hooks.may_read_history(set(user.roles))
    try:
        events = case_events(services.database(), case_id, user.username, may_read, runtime.clock)
    except CaseNotFound:
        raise not_found() from None
    return jsonify(
        [
            {
                "seq": e.seq,
                "at": timestamp(e.at),
                "actor": e.actor,
                "action": e.action,
                "task_id": e.task_id,
                "model_version_id": e.model_version_id,
                "payload": e.payload,
                "prev_hash": e.prev_hash,
                "hash": e.hash,
            }
            for e in events
        ]
    )
