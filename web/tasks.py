"""The task page: read a work item's instructions, fill in its form, save a draft or complete it.

Each route parses the post, calls one runtime command and renders the
result; the engine validates the data against the task's schema. Losing a
race (someone else completed or claimed the task) is an expected outcome
with its own message, never a crash. So is a step after the task failing:
the engine rolls it back, keeps the answers as the item's draft and raises
an incident; the person sees the form again, filled in, with what happened.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from werkzeug.routing import BuildError
from werkzeug.wrappers import Response

from engine.case_reads import TaskForm
from engine.errors import (
    AccessRefused,
    AlreadyClaimed,
    FormInvalid,
    StaleRevision,
    TaskNotReady,
)
from engine.forms import validate_form_data
from engine.incidents import IncidentRaised
from web import services
from web.errors import error_page
from web.i18n import stage_title
from web.markdown import render_markdown
from web.schema_form import error_summary, errors_by_field, parse_submission, render_fields

blueprint = Blueprint("tasks", __name__)

Page = tuple[str, int] | Response


@blueprint.get("/work-items/<int:work_item_id>")
@login_required
def show(work_item_id: int) -> Page:
    try:
        task = services.runtime().task_form(work_item_id, current_user.username)
    except (TaskNotReady, AccessRefused):  # another role's item looks like a missing one
        return error_page(
            404, _("This task is not open: it was completed or withdrawn, or it never existed.")
        )
    return _task_page(task, task.draft or {}, {}, 200)


@blueprint.post("/work-items/<int:work_item_id>/complete")
@login_required
def complete(work_item_id: int) -> Page:
    return _submit(
        work_item_id,
        services.runtime().complete,
        _("Task completed"),
        lambda: url_for("inbox.index"),
    )


@blueprint.post("/work-items/<int:work_item_id>/draft")
@login_required
def save_draft(work_item_id: int) -> Page:
    return _submit(
        work_item_id,
        services.runtime().save_draft,
        _("Draft saved"),
        lambda: url_for("tasks.show", work_item_id=work_item_id),
    )


def _submit(
    work_item_id: int,
    act: Callable[[int, dict[str, Any], str], object],
    done: str,
    next_url: Callable[[], str],
) -> Page:
    """Type the posted form, act on it, and answer every way it can go for a person."""
    actor = current_user.username
    try:
        task = services.runtime().task_form(work_item_id, actor, record_view=False)
        data, errors = _submission(task)
        if errors:
            return _invalid(task, data, errors)
        act(work_item_id, data, actor)
    except FormInvalid as invalid:
        return _invalid(task, data, errors_by_field(invalid.errors))
    except (TaskNotReady, AccessRefused, AlreadyClaimed, StaleRevision) as lost:
        return _lost_race(lost)
    except IncidentRaised as failed:
        return _failed_step(task, data, failed)
    flash(done, "success")
    return redirect(next_url())


def _submission(task: TaskForm) -> tuple[dict[str, Any], dict[str, str]]:
    """The posted data typed by the schema; a task without a form takes none."""
    if task.schema is None:
        return {}, {}
    return parse_submission(task.schema, request.form)


def _invalid(task: TaskForm, data: dict[str, Any], errors: dict[str, str]) -> Page:
    """Show every problem at once: what could not be typed, and what the schema refuses."""
    if task.schema is not None:
        try:
            validate_form_data(task.schema, data)
        except FormInvalid as invalid:
            errors = {**errors_by_field(invalid.errors), **errors}
    return _task_page(task, data, errors, 422)


def _failed_step(task: TaskForm, data: dict[str, Any], failed: IncidentRaised) -> Page:
    """The form again as they filled it in, under the engine's message for them (no case data)."""
    flash(str(failed), "error")  # drawn by this very page, not the next one
    return _task_page(task, data, {}, 409)


def _lost_race(error: Exception) -> Page:
    if isinstance(error, AlreadyClaimed):
        message = _(
            "Someone else has claimed this task; ask them or a supervisor to give it back. "
            "Your input was not saved."
        )
    elif isinstance(error, StaleRevision):
        message = _(
            "Someone else changed this case at the same moment; your input was not saved. "
            "Open the task again to see where it stands."
        )
    else:
        message = _(
            "This task was completed or withdrawn by someone else; your input was not saved."
        )
    return error_page(409, message)


def _task_page(
    task: TaskForm, values: dict[str, Any], errors: dict[str, str], status: int
) -> tuple[str, int]:
    item = task.item
    schema = task.schema
    page = render_template(
        "task.html",
        item=item,
        stage=stage_title(item.stage),
        case_url=_case_url(item.instance_id),
        overdue=item.due_at is not None and item.due_at < services.runtime().clock.now(),
        instructions=render_markdown(task.instructions) if task.instructions else None,
        schema=schema,
        fields=render_fields(schema, values, errors) if schema else None,
        summary=error_summary(schema or {}, errors),
    )
    return page, status


def _case_url(instance_id: int) -> str | None:
    """The case page, once the cases blueprint serves one."""
    if "cases.show" not in current_app.view_functions:
        return None
    try:
        return url_for("cases.show", instance_id=instance_id)
    except BuildError:
        return None
