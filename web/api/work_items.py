"""Work items over the API: the caller's inbox, one item with its form, claim, give back, complete.

A work item of a role the caller does not hold answers 404 like a missing
one; an item that was completed or withdrawn meanwhile, or that someone else
holds, answers 409, so a client can tell "gone" from "never yours".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import jsonify
from flask.typing import ResponseReturnValue

from engine.errors import NotAuthorized, NotClaimant, TaskNotReady
from engine.inbox import InboxFilters, inbox_page
from engine.views import WorkItemView
from web import services
from web.api.auth import api_user
from web.api.problems import MEDIA_TYPE, not_found
from web.api.representations import case_json, page_json, work_item_json
from web.api.schemas import DATA_OBJECT, ref
from web.api.spec import PAGE, Param, Reply, operation

T = TypeVar("T")
ITEM_NOT_YOURS = "no open work item with this id for your roles"


@operation(
    "GET",
    "/work-items",
    summary="Open work items of the caller's roles, by due date, 50 a page",
    tag="work items",
    params=(
        Param("role", {"type": "string", "maxLength": 200}, "only this role's items"),
        Param("assignee", {"type": "string", "enum": ["me"]}, "'me': only items I claimed"),
        Param("overdue", {"type": "boolean", "default": False}, "only items past due"),
        PAGE,
    ),
    responses={200: Reply("a page of work items", ref("WorkItemPage"))},
)
def list_work_items(query: dict[str, Any]) -> ResponseReturnValue:
    user = api_user()
    now = services.runtime().clock.now()
    filters = InboxFilters(
        role=query["role"],
        overdue=query["overdue"],
        assigned_to_me=query["assignee"] == "me",
    )
    page = inbox_page(
        services.database(), user.roles, user.username, filters, "due", query["page"], now
    )
    return jsonify(page_json(page, [work_item_json(entry.item, now) for entry in page.items]))


@operation(
    "GET",
    "/work-items/<int:work_item_id>",
    summary="One work item with its form's JSON Schema and instructions; the read is audited",
    tag="work items",
    responses={200: Reply("the work item", ref("WorkItemDetail"))},
    problems=(404,),
)
def get_work_item(work_item_id: int) -> ResponseReturnValue:
    runtime = services.runtime()
    try:
        task = runtime.task_form(work_item_id, api_user().username)
    except (TaskNotReady, NotAuthorized):
        raise not_found(ITEM_NOT_YOURS) from None
    return jsonify(
        {
            **work_item_json(task.item, runtime.clock.now()),
            "form": task.schema,
            "instructions": task.instructions,
            "draft": task.draft,
        }
    )


@operation(
    "POST",
    "/work-items/<int:work_item_id>/claim",
    summary="Claim a work item so colleagues see it is taken",
    tag="work items",
    responses={200: Reply("the claimed work item", ref("WorkItem"))},
    problems=(404, 409),
)
def claim_work_item(work_item_id: int) -> ResponseReturnValue:
    return _item_after(services.runtime().claim, work_item_id)


@operation(
    "POST",
    "/work-items/<int:work_item_id>/unclaim",
    summary="Give a claimed work item back to the role's queue",
    tag="work items",
    responses={200: Reply("the work item, unclaimed", ref("WorkItem"))},
    problems=(404, 409),
)
def unclaim_work_item(work_item_id: int) -> ResponseReturnValue:
    return _item_after(services.runtime().unclaim, work_item_id)


@operation(
    "POST",
    "/work-items/<int:work_item_id>/complete",
    summary="Complete a work item with data that satisfies its form",
    tag="work items",
    body={
        "type": "object",
        "required": ["data"],
        "additionalProperties": False,
        "properties": {"data": DATA_OBJECT},
    },
    responses={
        200: Reply("the case after the step", ref("Case")),
        409: Reply(
            "Conflict: the item was completed or withdrawn, someone else holds it, the case "
            "changed or is suspended; or the step after the task failed and became an "
            "incident (`incident-raised`, with `incident_id`): the case is as before and the "
            "answers are kept as the item's draft for the coordinator's retry",
            ref("Problem"),
            MEDIA_TYPE,
        ),
    },
    problems=(404, 422),
)
def complete_work_item(work_item_id: int, body: dict[str, Any]) -> ResponseReturnValue:
    runtime = services.runtime()
    case = _mine(lambda: runtime.complete(work_item_id, body["data"], api_user().username))
    return jsonify(case_json(case, runtime.clock.now()))


def _item_after(
    command: Callable[[int, str], WorkItemView], work_item_id: int
) -> ResponseReturnValue:
    """Claim or give back as the caller; the item as it now stands, or 404/409 (see ``_mine``)."""
    item = _mine(lambda: command(work_item_id, api_user().username))
    return jsonify(work_item_json(item, services.runtime().clock.now()))


def _mine(act: Callable[[], T]) -> T:
    """Run ``act``; an item of a role the caller lacks is "not found", not "forbidden"."""
    try:
        return act()
    except NotClaimant:
        raise  # an item of the caller's role that they do not hold: 409
    except NotAuthorized:
        raise not_found(ITEM_NOT_YOURS) from None
