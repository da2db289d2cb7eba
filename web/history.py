"""A case's history for auditors and the coordinator: every audit event, and its diagram.

The engine reads the trail and masks every value the viewer may not see
(``engine.case_history`` with ``workflows.history_policy``); this module only
words it. A masked value is never sent to the browser: the page shows "•••"
or "(withheld)" in its place.

The narrative (free-text notes and reasons) is shown only after the viewer
has documented why they need it: the reason is audited, and for
``GRANT_MINUTES`` afterwards this session sees this case's narrative, each
view audited again with the reason it was shown under.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import (
    Blueprint,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_login import current_user, login_required

from engine import case_values
from engine.case_history import CaseHistory, FieldChange, HistoryEvent, case_diagram, case_history
from engine.case_history import record_reason as record_reason_event
from engine.clock import as_utc
from engine.errors import ModelNotFound
from engine.model_labels import ModelLabels, model_labels, readable
from engine.training_clock import wall_clock
from web import services
from web.case_data import DERIVED_LABELS, format_value
from web.cases import ACTIONS as CASE_ACTIONS
from web.cases import STATUSES
from workflows import history_policy

blueprint = Blueprint("history", __name__)

_GRANTS = "history_narrative_grants"  # session key: case id → {until, seq}
MASKED = "•••"
_HIDDEN_AS = {
    history_policy.NARRATIVE: lazy_gettext("(withheld)"),
    case_values.ERASED: lazy_gettext("(erased)"),
}
ACTIONS = {
    **CASE_ACTIONS,
    "engine_steps": lazy_gettext("Automatic steps"),
    "work_item_opened": lazy_gettext("Task opened"),
    "work_item_unclaimed": lazy_gettext("Task given back"),
    "draft_saved": lazy_gettext("Draft saved"),
    "case_viewed": lazy_gettext("Case viewed"),
    "case_history_viewed": lazy_gettext("History viewed"),
    "narrative_revealed": lazy_gettext("Narrative shown, with a reason"),
    "access_refused": lazy_gettext("Access refused"),
    "personal_data_erased": lazy_gettext("Personal data erased"),
}


@dataclass(frozen=True)
class Change:
    label: str
    before: str
    after: str
    hidden: bool


@dataclass(frozen=True)
class Row:
    """One audit event as the timeline shows it; every value in it may be shown."""

    event: HistoryEvent
    actor: str
    action: str
    tasks: list[str]
    changes: list[Change]
    fields_named: list[str]  # labels of the fields an event names (a view, a start)
    elements: str  # the diagram elements it concerns, for the diagram's links


@blueprint.get("/cases/<int:instance_id>/history")
@login_required
def show(instance_id: int) -> str:
    return _page(instance_id, reason="", problem=None)


@blueprint.post("/cases/<int:instance_id>/history/reason")
@login_required
def give_reason(instance_id: int) -> ResponseReturnValue:
    """A documented reason unlocks the narrative for this session and case, for a while."""
    reason = request.form.get("reason", "").strip()
    problem = history_policy.reason_problem(reason)
    if problem is not None:
        return _page(instance_id, reason[: history_policy.REASON_MAX_LENGTH], problem), 422
    seq = record_reason_event(
        services.runtime(),
        instance_id,
        current_user.username,
        history_policy.NARRATIVE_REVEALED,
        reason,
    )
    now = _now()
    grants = {case: grant for case, grant in _grants().items() if _lasting(grant, now)}
    until = now + timedelta(minutes=history_policy.GRANT_MINUTES)
    grants[str(instance_id)] = {"until": until.isoformat(), "seq": seq}
    session[_GRANTS] = grants  # expired grants of other cases are dropped here
    flash(
        _(
            "Your reason is recorded: the narrative is shown for %(minutes)d minutes.",
            minutes=history_policy.GRANT_MINUTES,
        ),
        "success",
    )
    return redirect(url_for("history.show", instance_id=instance_id))


@blueprint.get("/cases/<int:instance_id>/history/diagram.json")
@login_required
def diagram(instance_id: int) -> ResponseReturnValue:
    """A process of the case with its marks: element ids only, no case data."""
    process = request.args.get("process") or None
    try:
        found = case_diagram(services.runtime(), instance_id, current_user.username, process)
    except ModelNotFound:
        abort(404)
    return jsonify(
        process=found.process,
        xml=found.xml,
        completed=sorted(found.marks.completed),
        active=sorted(found.marks.active),
        waiting_timers=sorted(found.marks.waiting_timers),
        taken_flows=sorted(found.marks.taken_flows),
        call_activities=found.call_activities,
        events_by_element=found.events_by_element,
    )


# ----------------------------------------------------------------- the page


def _page(instance_id: int, reason: str, problem: str | None) -> str:
    grant = _grant(instance_id)
    noted = {"under_reason": grant} if grant is not None else None
    history = case_history(
        services.runtime(),
        instance_id,
        current_user.username,
        history_policy.value_policy(narrative_granted=grant is not None),
        noted,
    )
    case = history.case
    labels = model_labels(services.database(), case.process_key, case.model_version)
    rows = [_row(event, _labels_for(event, labels)) for event in history.events]
    return render_template(
        "history.html",
        case=case,
        status=STATUSES.get(case.status, case.status),
        process_title=labels.elements.get(history.top_process, history.top_process),
        history=history,
        rows=rows,
        granted=grant is not None,
        narrative_hidden=_narrative_hidden(history),
        reason=reason,
        problem=_problem_text(problem),
        reason_min=history_policy.REASON_MIN_LENGTH,
        reason_max=history_policy.REASON_MAX_LENGTH,
    )


def _labels_for(event: HistoryEvent, case_labels: ModelLabels) -> ModelLabels:
    """An event in the words of the model version it happened on."""
    if event.model_key is None or event.model_version is None:
        return case_labels
    return model_labels(services.database(), event.model_key, event.model_version)


def _row(event: HistoryEvent, labels: ModelLabels) -> Row:
    named = event.details.get("fields")
    return Row(
        event=event,
        actor=_("The system") if event.actor.startswith("system:") else event.actor,
        action=str(ACTIONS.get(event.action, readable(event.action))),
        tasks=_unique(labels.element_title(p.element) for p in event.places)
        or _fallback_task(event.details, labels),
        changes=[_change(change, labels) for change in event.changes],
        fields_named=[_field_label(n, labels) for n in named] if isinstance(named, list) else [],
        elements=" ".join(_unique(p.element for p in event.places)),
    )


def _change(change: FieldChange, labels: ModelLabels) -> Change:
    label = _field_label(change.field, labels)
    if not change.shown:
        shown_as = _HIDDEN_AS.get(change.hidden or "", MASKED)
        return Change(label, shown_as, shown_as, hidden=True)
    found = labels.fields.get(change.field)
    choices = found.choices if found else {}
    before = format_value(change.before, choices, humanize=found is None)
    after = format_value(change.after, choices, humanize=found is None)
    return Change(label, before, after, hidden=False)


def _field_label(name: str, labels: ModelLabels) -> str:
    found = labels.fields.get(str(name))
    if found is not None:
        return found.title
    return str(DERIVED_LABELS.get(str(name)) or readable(str(name)))


def _fallback_task(details: dict[str, Any], labels: ModelLabels) -> list[str]:
    """A timer, task or message an event names but the case's workflow no longer holds."""
    named = details.get("task") or details.get("timer") or details.get("message")
    return [labels.element_title(str(named))] if named else []


def _unique(items: Any) -> list[str]:
    return list(dict.fromkeys(items))


def _narrative_hidden(history: CaseHistory) -> bool:
    return any(
        change.hidden == history_policy.NARRATIVE
        for event in history.events
        for change in event.changes
    )


def _problem_text(problem: str | None) -> str | None:
    if problem == "too_short":
        return _(
            "Give a reason of at least %(count)d characters.",
            count=history_policy.REASON_MIN_LENGTH,
        )
    if problem == "too_long":
        return _(
            "A reason has at most %(count)d characters.", count=history_policy.REASON_MAX_LENGTH
        )
    return None


# ----------------------------------------------------------------- the reason's grant


def _now() -> datetime:
    return wall_clock(services.runtime().clock).now()


def _grants() -> dict[str, Any]:
    grants = session.get(_GRANTS)
    return dict(grants) if isinstance(grants, dict) else {}


def _grant(instance_id: int) -> int | None:
    """The sequence number of the reason this session gave for this case, while it lasts."""
    return _lasting(_grants().get(str(instance_id)), _now())


def _lasting(grant: object, now: datetime) -> int | None:
    """A grant's reason (its event's sequence number) if the grant has not expired."""
    if not isinstance(grant, dict):
        return None
    try:
        until = as_utc(datetime.fromisoformat(str(grant.get("until"))))
        seq = int(grant["seq"])
    except (KeyError, TypeError, ValueError):
        return None
    return seq if now < until else None
