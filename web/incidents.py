"""The coordinator's incidents: failed steps to retry once fixed, or whose branch to cancel.

Who may see and act on incidents is the domain's rule
(``Hooks.may_handle_incidents``, the NRM coordinator): everyone else gets the
403 page here, and the engine checks again on every retry and cancel. The
messages and details shown are the engine's, written never to carry case
data (engine/step_failures.py), so the pages only arrange them. Retry and
cancel are POST forms that redirect back to the incident with a flash
message, so a reload never repeats them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from flask_login import current_user, login_required
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response

from engine import incident_commands
from engine.case_suspension import REASON_MAX_LENGTH
from engine.errors import FormInvalid
from engine.incidents import (
    IncidentClosed,
    IncidentView,
    get_incident,
    list_incidents,
    open_incident_count,
)
from engine.model_labels import ModelLabels, model_labels
from web import services
from web.errors import error_page

blueprint = Blueprint("incidents", __name__)
log = logging.getLogger(__name__)

PER_PAGE = 50
MAX_PAGE = 100_000  # as the API's; a larger page number overflows the database's OFFSET
FILTERS = ("open", "resolved", "cancelled", "all")
KINDS = {
    "script_error": lazy_gettext("script error"),
    "no_matching_rule": lazy_gettext("no matching rule"),
    "delivery_failed": lazy_gettext("delivery failed"),
    "step_failed": lazy_gettext("step failed"),
}
STATUSES = {
    "open": lazy_gettext("Open"),
    "resolved": lazy_gettext("Resolved"),
    "cancelled": lazy_gettext("Cancelled"),
}
FILTER_TITLES = {**STATUSES, "all": lazy_gettext("All")}


# ----------------------------------------------------------------- who


def may_handle_incidents() -> bool:
    """The signed-in person may see incidents and retry or cancel them."""
    if not current_user.is_authenticated:
        return False
    return services.runtime().hooks.may_handle_incidents(set(current_user.roles))


@blueprint.before_request
def coordinator_only() -> None:
    if not may_handle_incidents():
        abort(403)


@blueprint.app_context_processor
def incident_link() -> dict[str, Callable[[], int | None]]:
    """base.html's nav: the open count, called only where the nav is drawn."""
    return {"incident_link_count": incident_link_count}


def incident_link_count() -> int | None:
    """How many incidents are open, for whoever may handle them; None hides the link.

    One indexed count per page. An error page drawn while the database is
    down shows the nav without the link rather than failing a second time.
    """
    if not may_handle_incidents():
        return None
    try:
        return open_incident_count(services.database())
    except SQLAlchemyError:
        log.warning("open incident count unavailable", exc_info=True)
        return None


# ----------------------------------------------------------------- the list


@dataclass(frozen=True)
class IncidentListPage:
    """One page of incidents, numbered as the ``_pagination.html`` macro and the API show it."""

    incidents: list[IncidentView]
    total: int
    page: int
    pages: int


def incident_list_page(status: str, page: int) -> IncidentListPage:
    """Incidents with ``status`` ("all": every one), the page kept within the pages there are."""
    db = services.database()
    wanted = None if status == "all" else status
    found = list_incidents(db, wanted, max(page, 1), PER_PAGE)
    pages = max(1, -(-found.total // PER_PAGE))
    if page > pages:  # past the end (the list shrank meanwhile): its last page instead
        page, found = pages, list_incidents(db, wanted, pages, PER_PAGE)
    return IncidentListPage(found.incidents, found.total, max(page, 1), pages)


@dataclass(frozen=True)
class IncidentQuery:
    """The list's GET parameters; unknown values fall back to the open incidents' first page."""

    status: str = "open"
    page: int = 1

    @classmethod
    def parse(cls, args: Mapping[str, str]) -> IncidentQuery:
        status = args.get("status", "open")
        page = args.get("page", "1")
        return cls(
            status if status in FILTERS else "open",
            min(int(page), MAX_PAGE) if page.isascii() and page.isdigit() else 1,
        )

    def url(self, **changes: object) -> str:
        params: dict[str, object] = {"status": self.status, "page": self.page, **changes}
        defaults = {"status": "open", "page": "1"}
        return url_for(
            "incidents.index",
            **{k: str(v) for k, v in params.items() if v is not None and str(v) != defaults[k]},
        )


@dataclass(frozen=True)
class IncidentRow:
    """An incident with what the page says about it in words."""

    incident: IncidentView
    where: str
    kind: str
    status: str


@blueprint.get("/incidents")
@login_required
def index() -> str:
    query = IncidentQuery.parse(request.args)
    page = incident_list_page(query.status, query.page)
    where = _where_in_words()
    return render_template(
        "incidents.html",
        query=IncidentQuery(query.status, page.page),
        page=page,
        rows=[_row(incident, where) for incident in page.incidents],
        filters=FILTER_TITLES,
    )


# ----------------------------------------------------------------- one incident


@blueprint.get("/incidents/<int:incident_id>")
@login_required
def show(incident_id: int) -> str:
    return _incident_page(get_incident(services.database(), incident_id), "", None)


@blueprint.post("/incidents/<int:incident_id>/retry")
@login_required
def retry(incident_id: int) -> ResponseReturnValue:
    """Run the failed step again; the flash says whether it went through this time."""
    runtime = services.runtime()
    try:
        outcome = incident_commands.retry(
            runtime, incident_id, current_user.username, runtime.hooks.may_handle_incidents
        )
    except IncidentClosed:
        return _closed(incident_id)
    if outcome.resolved:
        flash(_("Retried: the step went through."), "success")
    else:
        count = outcome.incident.occurrences
        flash(_("Retried: it failed again (%(count)d times).", count=count), "error")
    return _back_to(incident_id)


@blueprint.post("/incidents/<int:incident_id>/cancel")
@login_required
def cancel(incident_id: int) -> ResponseReturnValue:
    """Cancel the failed branch (or give up the held message), with a reason for the audit."""
    runtime = services.runtime()
    reason = request.form.get("reason", "")
    try:
        closed = incident_commands.cancel(
            runtime, incident_id, reason, current_user.username, runtime.hooks.may_handle_incidents
        )
    except IncidentClosed:
        return _closed(incident_id)
    except FormInvalid:
        error = _("Give a reason, of at most %(count)d characters.", count=REASON_MAX_LENGTH)
        incident = get_incident(services.database(), incident_id)
        return _incident_page(incident, reason, error), 422
    flash(_cancelled_text(closed), "success")
    return _back_to(incident_id)


def _incident_page(incident: IncidentView, reason: str, reason_error: str | None) -> str:
    return render_template(
        "incident.html",
        incident=incident,
        row=_row(incident, _where_in_words()),
        reason=reason,
        reason_error=reason_error,
        reason_max=REASON_MAX_LENGTH,
    )


def _cancelled_text(incident: IncidentView) -> str:
    if incident.source == "delivery":
        return _("The message was given up: it stays undelivered.")
    if services.runtime().case(incident.case_id).status == "completed":
        return _("The failed branch was cancelled. Nothing else was left, so the case ended.")
    return _("The failed branch was cancelled; the case goes on without it.")


def _closed(incident_id: int) -> tuple[str, int]:
    """Someone retried or cancelled it first: say so, and that nothing was done."""
    incident = get_incident(services.database(), incident_id)
    return error_page(
        409,
        _(
            "Incident %(id)d is already closed (%(status)s): someone retried or cancelled it "
            "meanwhile. Nothing was done.",
            id=incident.id,
            status=STATUSES.get(incident.status, incident.status),
        ),
    )


def _back_to(incident_id: int) -> Response:
    return redirect(url_for("incidents.show", incident_id=incident_id), 303)


# ----------------------------------------------------------------- in words


def _row(incident: IncidentView, where: Callable[[IncidentView], str]) -> IncidentRow:
    return IncidentRow(
        incident,
        where(incident),
        str(KINDS.get(incident.error_type, incident.error_type)),
        str(STATUSES.get(incident.status, incident.status)),
    )


def _where_in_words() -> Callable[[IncidentView], str]:
    """Where each incident happened: the task's title, the timer's name, or the message's partner.

    A timer is stored by its id in the diagram; its name comes from the
    version's labels, read once per version for the page.
    """
    db = services.database()

    @cache
    def labels(process: str, version: int) -> ModelLabels:
        return model_labels(db, process, version)

    def where(incident: IncidentView) -> str:
        if incident.source == "delivery":
            if incident.partner:
                return _("message to %(partner)s", partner=incident.partner)
            return _("message to a partner")
        subject = incident.task_title or incident.element_id
        if subject is None:
            return ""
        if incident.source == "timer":
            return labels(incident.process, incident.version).element_title(subject)
        return subject

    return where
