"""``nrmflow incidents``: list, show, retry and cancel a real incident from the command line.

The incidents are made as a deployment makes them: a tampered script fails a
person's completion, a partner refuses a message. Refusals (a closed
incident, a non-coordinator named with ``--as``) exit 1 with the engine's
message, as every other command's domain errors do.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from click.testing import Result
from sqlalchemy import select

from engine.clock import FixedClock
from engine.db import Database
from engine.hooks import Hooks
from engine.incidents import IncidentRaised, get_incident
from engine.models import AuditEvent
from engine.outbox import deliver_due
from engine.retries import RetryPolicy
from engine.runtime import Runtime
from engine.users import add_user
from engine.views import CaseView
from tests.engine.helpers import item_named, sample_runtime, tamper_spec
from tests.engine.partner_fakes import DIRECTORY, WALL_TIME, FakePartner
from workflows.visibility import COORDINATOR

INTAKE = {"applicant_ref": "R-1", "amount": 5000, "urgent": False}
GOOD_SCRIPT, BAD_SCRIPT = "score = amount * 2", "score = undefined_name * 2"
REASON = "referral withdrawn by the person"

Nrmflow = Callable[..., Result]


def _failed_intake(db: Database, clock: FixedClock) -> tuple[CaseView, int]:
    """A sample case whose intake completion failed on a broken script: the case and incident."""
    runtime = sample_runtime(db, clock)
    add_user(db, "cora", [COORDINATOR], None, "tester", clock)
    tamper_spec(db, "sample_case", GOOD_SCRIPT, BAD_SCRIPT)
    runtime = Runtime(db, Hooks(), clock, script_time_limit=1.0)  # reads the broken spec
    case = runtime.start("sample_case", {}, "clara")
    with pytest.raises(IncidentRaised) as raised:
        runtime.complete(item_named(case, "intake").id, INTAKE, "clara")
    return case, raised.value.incident_id


def _incident_actors(db: Database, action: str) -> list[str]:
    with db.reader() as session:
        query = select(AuditEvent.actor).where(AuditEvent.action == action)
        return list(session.scalars(query.order_by(AuditEvent.seq)))


def test_list_shows_each_open_incident_and_the_count(
    db: Database, clock: FixedClock, nrmflow: Nrmflow
) -> None:
    case, incident_id = _failed_intake(db, clock)

    row, count = nrmflow("incidents", "list").output.splitlines()

    assert row.split("\t") == [
        str(incident_id),
        case.business_key,
        "task",
        "Record intake (score)",
        "script_error",
        "1x",
        "2026-03-02T09:00:00+00:00",
        "open",
    ]
    assert count == "1-1 of 1 open incident(s)"
    listed = json.loads(nrmflow("incidents", "list", "--json").output)
    assert (listed["total"], listed["page"], listed["per_page"]) == (1, 1, 50)
    (incident,) = listed["incidents"]
    assert (incident["id"], incident["reference"], incident["status"]) == (
        incident_id,
        case.business_key,
        "open",
    )
    assert nrmflow("incidents", "list", "--status", "resolved").output.strip() == (
        "no resolved incidents (0 in all)"
    )
    assert nrmflow("incidents", "list", "--page", "2").output.strip() == (
        "no open incidents on page 2 (1 in all)"
    )
    assert "1-1 of 1 incident(s)" in nrmflow("incidents", "list", "--status", "all").output
    nrmflow("incidents", "list", "--status", "closed", expect=2)  # not a status: usage error


def test_show_gives_everything_including_the_administrators_detail(
    db: Database, clock: FixedClock, nrmflow: Nrmflow
) -> None:
    case, incident_id = _failed_intake(db, clock)

    text = nrmflow("incidents", "show", str(incident_id)).output

    assert text.startswith(f"incident {incident_id}: open\n")
    assert f"case: {case.business_key} (id {case.id})" in text
    assert "process: sample_case v1" in text and "submitted by: clara" in text
    assert "error type: script_error" in text and "occurrences: 1 (first " in text
    assert "detail:\n  " in text and "NameError" in text and "undefined_name" in text
    shown = json.loads(nrmflow("--json", "incidents", "show", str(incident_id)).output)
    assert shown == json.loads(json.dumps(get_incident(db, incident_id).to_json()))
    assert "NameError" in shown["detail"]
    missing = nrmflow("incidents", "show", "999", expect=1)
    assert "error: no incident 999" in missing.output


def test_retry_exits_one_when_the_step_fails_again_and_zero_once_it_is_fixed(
    db: Database, clock: FixedClock, nrmflow: Nrmflow
) -> None:
    _case, incident_id = _failed_intake(db, clock)

    again = nrmflow("incidents", "retry", str(incident_id), expect=1)
    assert again.output.startswith(
        f"incident {incident_id} failed again (2 occurrence(s)) and stays open: "
    )
    assert len(again.output.splitlines()) == 1
    tamper_spec(db, "sample_case", BAD_SCRIPT, GOOD_SCRIPT)  # the fix: each command reads it anew

    fixed = json.loads(nrmflow("incidents", "retry", str(incident_id), "--json").output)

    assert fixed["resolved"] is True
    assert (fixed["incident"]["status"], fixed["incident"]["closed_by"]) == ("resolved", "cli")
    assert _incident_actors(db, "incident_retried") == ["cli", "cli"]
    assert _incident_actors(db, "task_completed") == ["clara"]  # her kept answers, as hers
    assert nrmflow("incidents", "list").output.strip() == "no open incidents (0 in all)"
    resolved = nrmflow("incidents", "list", "--status", "resolved").output
    assert resolved.splitlines()[0].endswith("\tresolved")


def test_a_resolved_incident_says_so_in_one_line(
    db: Database, clock: FixedClock, nrmflow: Nrmflow
) -> None:
    case, incident_id = _failed_intake(db, clock)
    tamper_spec(db, "sample_case", BAD_SCRIPT, GOOD_SCRIPT)

    done = nrmflow("incidents", "retry", str(incident_id)).output

    assert done == (
        f"incident {incident_id} resolved: the step of case {case.business_key} went through\n"
    )


def test_a_closed_incident_is_refused(db: Database, clock: FixedClock, nrmflow: Nrmflow) -> None:
    _case, incident_id = _failed_intake(db, clock)
    nrmflow("incidents", "cancel", str(incident_id), "--reason", REASON)

    refused = nrmflow("incidents", "retry", str(incident_id), expect=1)
    assert f"error: incident {incident_id} is already cancelled" in refused.output
    as_json = nrmflow("--json", "incidents", "cancel", str(incident_id), "--reason", "x", expect=1)
    assert json.loads(as_json.stdout) == {
        "error": "IncidentClosed",
        "message": f"incident {incident_id} is already cancelled",
    }
    assert _incident_actors(db, "incident_cancelled") == ["cli"]  # only the first cancel


def test_only_the_coordinator_named_with_as_retries_or_cancels(
    db: Database, clock: FixedClock, nrmflow: Nrmflow
) -> None:
    case, incident_id = _failed_intake(db, clock)

    for command in (["retry"], ["cancel", "--reason", REASON]):
        refused = nrmflow("incidents", *command, str(incident_id), "--as", "clara", expect=1)
        assert "error: 'clara' may not retry or cancel incidents" in refused.output
    assert get_incident(db, incident_id).occurrences == 1  # the refused retry did not run

    cancelled = nrmflow("incidents", "cancel", str(incident_id), "--reason", REASON, "--as", "cora")

    assert cancelled.output == (
        f"incident {incident_id} cancelled: the failed branch was all case "
        f"{case.business_key} had left: the case ended\n"
    )
    incident = get_incident(db, incident_id)
    assert (incident.status, incident.closed_by) == ("cancelled", "cora")
    assert _incident_actors(db, "incident_cancelled") == ["cora"]


def test_cancel_needs_a_reason(db: Database, clock: FixedClock, nrmflow: Nrmflow) -> None:
    _case, incident_id = _failed_intake(db, clock)

    nrmflow("incidents", "cancel", str(incident_id), expect=2)  # --reason is required
    blank = nrmflow("incidents", "cancel", str(incident_id), "--reason", "   ", expect=1)
    assert "reason" in blank.output
    assert get_incident(db, incident_id).status == "open"


def test_a_message_the_partner_refused_is_listed_by_partner_and_given_up(
    db: Database, clock: FixedClock, nrmflow: Nrmflow
) -> None:
    sample_runtime(db, clock, bundle="messages")
    runtime = Runtime(db, Hooks(), clock, script_time_limit=1.0, partners=DIRECTORY)
    case = runtime.start("message_case", {"topic": "documents"}, "clara")
    refusing = FakePartner("connection refused")
    no_retries = RetryPolicy(retries=0)  # held, with an incident, after the first failure
    deliver_due(db, DIRECTORY, clock.now(), refusing, no_retries, wall_clock=lambda: WALL_TIME)

    (row,) = nrmflow("incidents", "list").output.splitlines()[:-1]
    incident_id, reference, source, where, error_type = row.split("\t")[:5]
    assert (reference, source, where, error_type) == (
        case.business_key,
        "delivery",
        "message to origin",
        "delivery_failed",
    )

    cancelled = json.loads(
        nrmflow("incidents", "cancel", incident_id, "--reason", "sent by post", "--json").output
    )

    assert (cancelled["status"], cancelled["partner"]) == ("cancelled", "origin")
    text = nrmflow("incidents", "show", incident_id).output
    assert "where: message to origin" in text and "connection refused" in text
