"""The inbox: the open work items of the signed-in person's roles, and what they do with one.

Filters travel as GET parameters that carry no personal data (role, stage,
overdue, mine, sort, page), so a view can be bookmarked and reloaded.
Claim, unclaim and reassign are POST forms that redirect back to the same
view with a flash message: a reload never repeats an action. Everything
works without JavaScript.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from engine.errors import AccessRefused, AlreadyClaimed, TaskNotReady
from engine.inbox import SORTS, InboxFilters, Sort, colleagues_for, inbox_page
from engine.views import WorkItemView
from web import services
from web.i18n import role_title, stage_title
from web.typed_text import without_nul

blueprint = Blueprint("inbox", __name__)

MAX_STAGE_LENGTH = 200
# an item of another role is answered like one that is not open: an id reveals nothing
NOT_OPEN = (TaskNotReady, AccessRefused)


@dataclass(frozen=True)
class InboxQuery:
    """One view of the inbox as its GET parameters say; unknown values fall back to defaults."""

    filters: InboxFilters
    sort: Sort = "due"
    page: int = 1

    @classmethod
    def parse(cls, args: Mapping[str, str], roles: Collection[str]) -> InboxQuery:
        role = args.get("role") or None
        stage = without_nul(args.get("stage") or "")[:MAX_STAGE_LENGTH] or None
        sort = args.get("sort", "due")
        page = args.get("page", "1")
        return cls(
            InboxFilters(
                role=role if role in roles else None,
                stage=stage,
                overdue=args.get("overdue") == "1",
                assigned_to_me=args.get("mine") == "1",
            ),
            sort if sort in SORTS else "due",  # type: ignore[arg-type]
            int(page) if page.isascii() and page.isdigit() else 1,
        )

    def params(self, **changes: object) -> dict[str, str]:
        """This view's GET parameters with ``changes``, defaults left out: links and redirects."""
        params: dict[str, object] = {
            "role": self.filters.role,
            "stage": self.filters.stage,
            "overdue": "1" if self.filters.overdue else None,
            "mine": "1" if self.filters.assigned_to_me else None,
            "sort": self.sort,
            "page": self.page,
            **changes,
        }
        defaults = {"sort": "due", "page": "1"}
        return {
            key: str(value)
            for key, value in params.items()
            if value is not None and str(value) != defaults.get(key)
        }

    def url(self, **changes: object) -> str:
        if "page" not in changes:
            changes["page"] = None  # a new filter or sort starts on its first page
        return url_for("inbox.index", **self.params(**changes))

    def filtered(self) -> bool:
        return self.filters != InboxFilters()


@blueprint.get("/")
@login_required
def home() -> Response:
    """The inbox is where staff start."""
    return redirect(url_for("inbox.index"))


@blueprint.get("/inbox")
@login_required
def index() -> str:
    roles = set(current_user.roles)
    query = InboxQuery.parse(request.args, roles)
    runtime = services.runtime()
    page = inbox_page(
        services.database(),
        roles,
        current_user.username,
        query.filters,
        query.sort,
        query.page,
        runtime.clock.now(),
    )
    query = replace(query, page=page.page)
    may_reassign = runtime.hooks.may_reassign(roles)
    colleagues = {
        role: colleagues_for(services.database(), current_user.agency, role)
        for role in sorted({entry.item.role for entry in page.items if entry.item.role})
        if may_reassign
    }
    return render_template(
        "inbox.html",
        page=page,
        query=query,
        may_reassign=may_reassign,
        colleagues=colleagues,
        task_url=task_url,
        case_url=case_url,
        role_title=role_title,
        stage_title=stage_title,
    )


@blueprint.post("/inbox/<int:work_item_id>/claim")
@login_required
def claim(work_item_id: int) -> Response:
    try:
        item = services.runtime().claim(work_item_id, current_user.username)
    except AlreadyClaimed:
        flash(_("Someone else has claimed this task. Ask them or a supervisor."), "error")
    except NOT_OPEN:
        flash(_("This task is no longer open: it was completed or withdrawn meanwhile."), "error")
    else:
        flash(_("You claimed “%(task)s” of case %(reference)s.", **_named(item)), "success")
    return _back()


@blueprint.post("/inbox/<int:work_item_id>/unclaim")
@login_required
def unclaim(work_item_id: int) -> Response:
    try:
        item = services.runtime().unclaim(work_item_id, current_user.username)
    except NOT_OPEN:
        flash(_("This task is no longer open: it was completed or withdrawn meanwhile."), "error")
    else:
        flash(_("You gave back “%(task)s” of case %(reference)s.", **_named(item)), "success")
    return _back()


@blueprint.post("/inbox/<int:work_item_id>/reassign")
@login_required
def reassign(work_item_id: int) -> Response:
    """Who may reassign, and to whom, is the engine's rule: a refusal rises as a 403 page."""
    colleague = without_nul(request.form.get("to_user", "")).strip()
    if not colleague:
        flash(_("Choose a colleague to hand the task to."), "error")
        return _back()
    try:
        item = services.runtime().reassign(work_item_id, colleague, current_user.username)
    except NOT_OPEN:
        flash(_("This task is no longer open: it was completed or withdrawn meanwhile."), "error")
    else:
        flash(
            _(
                "You handed “%(task)s” of case %(reference)s to %(colleague)s.",
                colleague=colleague,
                **_named(item),
            ),
            "success",
        )
    return _back()


def task_url(work_item_id: int) -> str:
    """The task page, also before its blueprint has its route."""
    if "tasks.show" in current_app.view_functions:
        return url_for("tasks.show", work_item_id=work_item_id)
    return f"/work-items/{work_item_id}"


def case_url(instance_id: int) -> str:
    if "cases.show" in current_app.view_functions:
        return url_for("cases.show", instance_id=instance_id)
    return f"/cases/{instance_id}"


def _named(item: WorkItemView) -> dict[str, str]:
    return {"task": item.title, "reference": item.business_key}


def _back() -> Response:
    """To the view the form was posted from: its filters come back as hidden fields."""
    query = InboxQuery.parse(request.form, set(current_user.roles))
    return redirect(url_for("inbox.index", **query.params()))
