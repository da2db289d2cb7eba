"""``nrmflow incidents``: failed steps waiting for a coordinator, listed, shown, retried, cancelled.

An operator who fixed the cause (deployed a corrected diagram and moved the
case to it, brought a partner back) retries from here without the web. With
``--as`` the command acts for that person and only the NRM coordinator may;
without it the operator acts and the audit names ``cli``, as for the other
operator commands. ``retry`` exits 1 when the step failed again, so a script
can tell a fix that worked from one that did not.
"""

from __future__ import annotations

import sys

import click

from cli.main import CLI_ACTOR, Context, json_option, main
from engine.incident_commands import MayHandle, cancel, retry
from engine.incidents import STATUSES, IncidentPage, IncidentView, get_incident, list_incidents

AS_HELP = "The coordinator acting (else the audit names the operator, 'cli')."
PER_PAGE = 50


@main.group()
def incidents() -> None:
    """Failed steps kept for a coordinator to retry or cancel."""


@incidents.command("list")
@click.option(
    "--status",
    type=click.Choice([*STATUSES, "all"]),
    default="open",
    show_default=True,
    help="Which incidents; 'all' lists every one.",
)
@click.option("--page", default=1, type=click.IntRange(min=1), show_default=True)
@json_option
def incidents_list(ctx: Context, status: str, page: int) -> None:
    """Incidents, the most recent failure first, 50 to a page."""
    found = list_incidents(ctx.db, None if status == "all" else status, page, PER_PAGE)
    ctx.emit(
        {
            "incidents": [i.to_json() for i in found.incidents],
            "total": found.total,
            "page": page,
            "per_page": PER_PAGE,
        },
        "\n".join([*(_row(i) for i in found.incidents), _count_line(found, status, page)]),
    )


@incidents.command("show")
@click.argument("incident_id", type=int)
@json_option
def incidents_show(ctx: Context, incident_id: int) -> None:
    """Everything about incident INCIDENT_ID, the administrator's detail included."""
    incident = get_incident(ctx.db, incident_id)
    ctx.emit(incident.to_json(), _details(incident))


@incidents.command("retry")
@click.argument("incident_id", type=int)
@click.option("--as", "actor", default=None, help=AS_HELP)
@json_option
def incidents_retry(ctx: Context, incident_id: int, actor: str | None) -> None:
    """Run the failed step of INCIDENT_ID again; exit 1 when it fails again."""
    outcome = retry(ctx.runtime, incident_id, actor or CLI_ACTOR, _authority(ctx, actor))
    incident = outcome.incident
    if outcome.resolved:
        text = (
            f"incident {incident.id} resolved: the step of case {incident.reference} went through"
        )
    else:
        text = (
            f"incident {incident.id} failed again ({incident.occurrences} occurrence(s)) "
            f"and stays open: {incident.message}"
        )
    ctx.emit({"resolved": outcome.resolved, "incident": incident.to_json()}, text)
    if not outcome.resolved:
        sys.exit(1)


@incidents.command("cancel")
@click.argument("incident_id", type=int)
@click.option("--reason", required=True, help="Why the branch is dropped; kept in the audit trail.")
@click.option("--as", "actor", default=None, help=AS_HELP)
@json_option
def incidents_cancel(ctx: Context, incident_id: int, reason: str, actor: str | None) -> None:
    """Cancel the failed branch of INCIDENT_ID (or give up its held message) and close it."""
    incident = cancel(ctx.runtime, incident_id, reason, actor or CLI_ACTOR, _authority(ctx, actor))
    case_ended = ctx.runtime.case(incident.case_id).status == "completed"
    ctx.emit(
        {**incident.to_json(), "case_ended": case_ended},
        f"incident {incident.id} cancelled: {_what_cancel_did(incident, case_ended)}",
    )


def _authority(ctx: Context, actor: str | None) -> MayHandle | None:
    """The coordinator's rule when someone is named; the operator acts on their own authority."""
    return ctx.runtime.hooks.may_handle_incidents if actor else None


def _where(incident: IncidentView) -> str:
    """The task and the element that raised, or the partner a message did not reach."""
    if incident.source == "delivery":
        return f"message to {incident.partner or '(by hand)'}"
    title, element = incident.task_title, incident.element_id
    if title and element:
        return f"{title} ({element})"
    return title or element or "-"


def _row(incident: IncidentView) -> str:
    return "\t".join(
        [
            str(incident.id),
            incident.reference,
            incident.source,
            _where(incident),
            incident.error_type,
            f"{incident.occurrences}x",
            incident.last_at.isoformat(),
            incident.status,
        ]
    )


def _count_line(found: IncidentPage, status: str, page: int) -> str:
    which = "" if status == "all" else f"{status} "
    if not found.incidents:
        beyond = f" on page {page}" if found.total else ""
        return f"no {which}incidents{beyond} ({found.total} in all)"
    first = (page - 1) * PER_PAGE + 1
    last = first + len(found.incidents) - 1
    return f"{first}-{last} of {found.total} {which}incident(s)"


def _details(incident: IncidentView) -> str:
    closed = (
        f" ({incident.closed_by} at {incident.closed_at.isoformat()})" if incident.closed_at else ""
    )
    lines = [
        f"incident {incident.id}: {incident.status}{closed}",
        f"case: {incident.reference} (id {incident.case_id})",
        f"process: {incident.process} v{incident.version}",
        f"source: {incident.source}",
        f"where: {_where(incident)}",
        f"submitted by: {incident.submitted_by or '-'}",
        f"error type: {incident.error_type}",
        f"occurrences: {incident.occurrences} "
        f"(first {incident.first_at.isoformat()}, last {incident.last_at.isoformat()})",
        f"message: {incident.message}",
        "detail:",
        *(f"  {line}" for line in incident.detail.splitlines()),
    ]
    return "\n".join(lines)


def _what_cancel_did(incident: IncidentView, case_ended: bool) -> str:
    if incident.source == "delivery":
        return f"the message stays held, undelivered (case {incident.reference})"
    if case_ended:
        return f"the failed branch was all case {incident.reference} had left: the case ended"
    return f"the failed branch of case {incident.reference} was dropped; the case goes on"
