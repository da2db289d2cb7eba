"""A case's history read back from the trail and the workflow: the exact events, in order,
and where the case stands on each diagram it ran through."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from engine.case_history import HistoryEvent, case_diagram, case_history
from engine.clock import FixedClock
from engine.db import Database
from engine.errors import NotAuthorized
from engine.models import AuditEvent
from engine.runtime import Runtime
from tests.workflows import nrm_answers as answers
from tests.workflows.nrm_driver import NrmCase, nrm_runtime
from tests.workflows.nrm_steps import identify_adult

AUDITOR = "demo.auditor"
AFTER_RG = ("record_rg_decision", "reasonable_grounds_gateway", "open_recovery_period")


def hide_all(_roles: set[str], _forms: object) -> Any:
    return lambda _field, _stage: "hidden"


@pytest.fixture
def runtime(db: Database, clock: FixedClock) -> Runtime:
    return nrm_runtime(db, clock)


@pytest.fixture
def decided(runtime: Runtime, db: Database, clock: FixedClock) -> NrmCase:
    """Identification with consent, then positive reasonable grounds on day 3."""
    case = NrmCase.refer(runtime, db, clock)
    identify_adult(case)
    case.advance(days=3)
    case.complete("decide_reasonable_grounds", answers.rg("positive"), "competent_authority")
    return case


def _named(event: HistoryEvent) -> tuple[str, Any]:
    """An event as (action, what it concerns): a task, a timer, or an engine step's tasks."""
    details = event.details
    if event.action == "engine_steps":
        return event.action, tuple(step["task"] for step in details["steps"])
    return event.action, details.get("task") or details.get("timer")


def test_a_scenario_yields_the_exact_event_sequence(
    runtime: Runtime, decided: NrmCase, db: Database
) -> None:
    runtime.claim(decided.item("assess_needs").id, "demo.caseworker")
    runtime.case_record(decided.view.id, "demo.caseworker")
    due = decided.waiting_timers()["recovery_period_ended"]
    assert decided.advance_to(due + timedelta(minutes=1)) == ["recovery_period_ended"]

    history = case_history(runtime, decided.view.id, AUDITOR, hide_all)

    assert [_named(event) for event in history.events] == [
        ("case_started", None),
        ("engine_steps", ("referral_received", "open_case_record", "identification_started")),
        ("task_completed", "screen_indicators"),
        ("engine_steps", ("presume_minority", "presumed_child_gateway", "merge_adult_path")),
        ("task_completed", "obtain_consent"),
        (
            "engine_steps",
            (
                "consent_given_gateway",
                "route_adult",
                "referred_with_consent",
                "identification",
                "route_gateway",
                "protection_started",
                "split_from_referral",
                "referral_received",
                "assistance_needed",
                "set_initial_risk_context",
                "child_gateway",
                "risk_assessment_needed",
                "merge_child_branch",
            ),
        ),
        ("task_completed", "decide_reasonable_grounds"),
        ("engine_steps", AFTER_RG),
        ("work_item_claimed", "assess_needs"),
        ("case_viewed", None),
        ("timer_fired", "recovery_period_ended"),
        ("engine_steps", ("recovery_period_ended",)),
    ]
    actors = [event.actor for event in history.events]
    assert actors[:2] == ["demo.labour"] * 2
    assert actors[-4:] == ["demo.caseworker", "demo.caseworker", "system:timer", "system:timer"]
    assert {event.agency for event in history.events if event.actor == "demo.police"} == {
        "Riverside Police"
    }
    completed = [e for e in history.events if e.action == "task_completed"]
    assert {(e.model_key, e.model_version) for e in completed} == {("nrm_case", 1)}
    seqs = [event.seq for event in history.events]
    assert seqs == sorted(seqs)


def test_values_leave_the_engine_only_where_the_policy_shows_them(
    runtime: Runtime, decided: NrmCase, db: Database
) -> None:
    asked: list[tuple[str, str | None]] = []

    def only_the_decision(_roles: set[str], _forms: object) -> Any:
        def masked_as(field: str, stage: str | None) -> str | None:
            asked.append((field, stage))
            return None if field == "rg_decision" else "need_to_know"

        return masked_as

    history = case_history(runtime, decided.view.id, AUDITOR, only_the_decision)

    rg = "decide_reasonable_grounds"
    (decision,) = [e for e in history.events if e.details.get("task") == rg]
    by_field = {change.field: change for change in decision.changes}
    assert (by_field["rg_decision"].before, by_field["rg_decision"].after) == (None, "positive")
    assert by_field["rg_reasons"].hidden == "need_to_know"
    assert (by_field["rg_reasons"].before, by_field["rg_reasons"].after) == (None, None)
    # the stage a change was made in is the process of its task
    assert ("rg_reasons", "nrm_referral_decision") in asked
    assert ("given_name", "nrm_identification") in asked
    assert "Alex" not in repr(history)

    with db.reader() as session:
        viewed = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "case_history_viewed")
        ).one()
    assert viewed.actor == AUDITOR
    assert json.loads(viewed.payload) == {"events": len(history.events), "fields": ["rg_decision"]}


def test_only_history_readers_read_it(runtime: Runtime, decided: NrmCase) -> None:
    with pytest.raises(NotAuthorized):
        case_history(runtime, decided.view.id, "demo.caseworker", hide_all)
    with pytest.raises(NotAuthorized):
        case_diagram(runtime, decided.view.id, "demo.caseworker")


def test_the_diagram_state_of_the_top_process_and_a_call_activity(
    runtime: Runtime, decided: NrmCase
) -> None:
    top = case_diagram(runtime, decided.view.id, AUDITOR)
    assert top.process == "nrm_case"
    assert top.marks.completed == {
        "referral_received",
        "open_case_record",
        "identification",
        "route_gateway",
    }
    assert top.marks.active == {"protect_with_consent"}  # its process is running
    assert top.marks.waiting_timers == set()
    assert top.marks.taken_flows == {
        "flow_to_open_case_record",
        "flow_to_identification",
        "flow_to_route_gateway",
        "flow_route_adult",
    }
    assert top.call_activities["protect_with_consent"] == "nrm_protection"
    assert 'id="nrm_case"' in top.xml

    decision = case_diagram(runtime, decided.view.id, AUDITOR, "nrm_referral_decision")
    assert decision.marks.completed == {
        "referral_received",
        "decide_reasonable_grounds",
        "record_rg_decision",
        "reasonable_grounds_gateway",
        "open_recovery_period",
    }
    assert decision.marks.active == set()
    assert decision.marks.waiting_timers == {"recovery_period_ended"}
    assert decision.marks.taken_flows == {
        "to_decide_reasonable_grounds",
        "rg_decided",
        "to_reasonable_grounds_gateway",
        "rg_positive",
        "to_recovery_period_ended",
    }
    assert len(decision.events_by_element["decide_reasonable_grounds"]) == 1

    assistance = case_diagram(runtime, decided.view.id, AUDITOR, "nrm_assistance")
    assert assistance.marks.active == {"assess_needs"}
    assert assistance.marks.completed == {"assistance_needed"}
