"""A case as the signed-in person may see it, and starting a referral.

Who may open a case and which of its data they see is the domain's rule
(``workflows.visibility``), applied by the engine's ``case_record``, which
also audits the read: this page only draws what comes back. A field the
person may not see is never sent to the browser.

The case id in the URL is the internal number: it carries no personal data,
and another agency's case answers exactly like one that does not exist (404),
so an id reveals nothing about cases elsewhere.

The NRM coordinator suspends and resumes a case from this page; the engine
checks who may (a 403 page for anyone else) and keeps the reason in the
audit trail, not on the page.

A case with an open incident (a step that failed and was rolled back) says
so to everyone who may open it, since nobody's work on it will move until
the coordinator acts; the incidents' messages carry no case data. Only those
who may handle incidents get the links to them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_login import current_user, login_required

from engine import case_suspension
from engine.errors import CaseNotFound, FormInvalid, NotAuthorized
from engine.inbox import DueState, due_state
from engine.incidents import open_incidents_of_case
from engine.model_labels import ModelLabels, model_labels
from engine.start_forms import start_form
from engine.views import WorkItemView
from web import services
from web.case_data import case_sections
from web.errors import error_page
from web.i18n import role_title, stage_title
from web.inbox import task_url
from web.schema_form import error_summary, errors_by_field, parse_submission, render_fields
from workflows.hooks import CASE_PROCESS

blueprint = Blueprint("cases", __name__)

ACTIONS = {
    "case_started": lazy_gettext("Case started"),
    "task_completed": lazy_gettext("Task completed"),
    "timer_fired": lazy_gettext("Time limit reached"),
    "message_received": lazy_gettext("Message received"),
    "message_sent": lazy_gettext("Message sent"),
    "work_item_claimed": lazy_gettext("Task claimed"),
    "work_item_reassigned": lazy_gettext("Task reassigned"),
    "case_completed": lazy_gettext("Case closed"),
    "case_suspended": lazy_gettext("Case suspended"),
    "case_resumed": lazy_gettext("Case resumed"),
    "incident_raised": lazy_gettext("A step failed (incident)"),
    "incident_retried": lazy_gettext("Failed step retried"),
    "incident_cancelled": lazy_gettext("Failed branch cancelled"),
    "case_migrated": lazy_gettext("Moved to a new process version"),
}
STATUSES = {
    "running": lazy_gettext("Open"),
    "waiting": lazy_gettext("Waiting"),
    "completed": lazy_gettext("Closed"),
    "error": lazy_gettext("Stopped by an error"),
    "cancelled": lazy_gettext("Cancelled"),
}


@dataclass(frozen=True)
class OpenTask:
    item: WorkItemView
    due: DueState | None
    mine: bool  # the viewer holds the task's role, so may open it


@blueprint.get("/cases/<int:instance_id>")
@login_required
def show(instance_id: int) -> ResponseReturnValue:
    runtime = services.runtime()
    try:
        record = runtime.case_record(instance_id, current_user.username)
    except (CaseNotFound, NotAuthorized):
        return error_page(404, _("There is no such case, or it is not one you may open."))
    case = record.case
    labels = model_labels(services.database(), case.process_key, case.model_version)
    now = runtime.clock.now()
    roles = set(current_user.roles)
    tasks = [
        OpenTask(item, due_state(item.due_at, now), item.role in roles)
        for item in sorted(case.work_items, key=lambda i: (i.created_at, i.id))
    ]
    return render_template(
        "case.html",
        record=record,
        case=case,
        status=STATUSES.get(case.status, case.status),
        stages=[stage_title(stage) for stage in record.stages],
        tasks=tasks,
        sections=case_sections(record.data, labels.fields),
        timeline=[
            (entry, ACTIONS.get(entry.action, entry.action), _task_title(entry.task, labels))
            for entry in record.timeline
        ],
        task_url=task_url,
        role_title=role_title,
        suspended_since=case_suspension.suspended_since(services.database(), case.id),
        may_suspend=runtime.hooks.may_suspend(roles),
        reason_max=case_suspension.REASON_MAX_LENGTH,
        incidents=open_incidents_of_case(services.database(), case.id),
        may_handle_incidents=runtime.hooks.may_handle_incidents(roles),
    )


@blueprint.post("/cases/<int:instance_id>/suspend")
@login_required
def suspend(instance_id: int) -> ResponseReturnValue:
    """The coordinator pauses the case: no timer fires and no task is offered until resumed."""
    return _suspension(instance_id, case_suspension.suspend, _("The case is suspended."))


@blueprint.post("/cases/<int:instance_id>/resume")
@login_required
def resume(instance_id: int) -> ResponseReturnValue:
    """Timers that fell due while it was suspended fire on the worker's next pass."""
    return _suspension(instance_id, case_suspension.resume, _("The case is running again."))


def _suspension(
    instance_id: int, command: Callable[..., case_suspension.Suspension], done: str
) -> ResponseReturnValue:
    runtime = services.runtime()
    reason = request.form.get("reason", "")
    try:
        command(runtime, instance_id, reason, current_user.username, runtime.hooks.may_suspend)
    except FormInvalid:
        flash(
            _(
                "Give a reason, of at most %(count)d characters.",
                count=case_suspension.REASON_MAX_LENGTH,
            ),
            "error",
        )
    else:
        flash(done, "success")
    return redirect(url_for("cases.show", instance_id=instance_id), 303)


@blueprint.route("/referrals/new", methods=["GET", "POST"])
@login_required
def start_referral() -> ResponseReturnValue:
    """Only a first responder starts a referral; anyone else gets the 403 page, POST included."""
    if not current_user.may_start_referral:
        abort(403)
    runtime = services.runtime()
    schema = start_form(runtime, CASE_PROCESS) or {"type": "object", "properties": {}}
    if request.method == "GET":
        return _referral_form(schema, {}, {})
    data, errors = parse_submission(schema, request.form)
    if errors:
        return _referral_form(schema, data, errors), 422
    try:
        case = runtime.start(CASE_PROCESS, data, current_user.username)
    except FormInvalid as invalid:
        return _referral_form(schema, data, errors_by_field(invalid.errors)), 422
    flash(_("Referral started: case %(reference)s.", reference=case.business_key), "success")
    return redirect(url_for("cases.show", instance_id=case.id))


def _referral_form(schema: dict[str, Any], values: dict[str, Any], errors: dict[str, str]) -> str:
    return render_template(
        "start_referral.html",
        schema=schema,
        fields=render_fields(schema, values, errors),
        errors=error_summary(schema, errors),
    )


def _task_title(task: str | None, labels: ModelLabels) -> str:
    """A task, timer or message by its name in the diagram, else by its id."""
    if not task:
        return ""
    return labels.element_title(task)
