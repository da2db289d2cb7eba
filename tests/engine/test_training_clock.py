"""A training deployment's clock: shared through the database, audited, and firing what fell due
in the skipped time as if that time had really passed."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from cli.main import Context, main
from engine.audit import verify
from engine.clock import FixedClock, SystemClock, as_utc, iso_duration
from engine.config import load_settings
from engine.db import Database
from engine.errors import NotAuthorized, UserNotFound
from engine.incidents import list_incidents
from engine.models import AuditEvent, DeploymentClock
from engine.runtime import Runtime
from engine.training_clock import (
    ClockRefused,
    TrainingClock,
    advance_and_fire,
    clock_step,
    deployment_clock,
    fire_in_order,
    wall_clock,
)
from tests.engine.helpers import sample_runtime, tamper_spec
from tests.workflows import nrm_answers as answers
from tests.workflows.nrm_driver import NrmCase, nrm_runtime
from tests.workflows.nrm_steps import (
    identify_adult,
    referral_to_recognition,
    settle_by_integration,
)
from workflows.visibility import COORDINATOR


def _events(db: Database, action: str) -> list[AuditEvent]:
    with db.reader() as session:
        query = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.seq)
        return list(session.scalars(query))


def _timers_fired(db: Database) -> list[tuple[str, str]]:
    """(timer, time it fired at) for every timer_fired event, in order."""
    return [
        (json.loads(e.payload)["timer"], e.at.strftime("%H:%M")) for e in _events(db, "timer_fired")
    ]


def _training_runtime(runtime: Runtime, clock: FixedClock) -> Runtime:
    return Runtime(runtime.db, runtime.hooks, TrainingClock(runtime.db, clock))


def test_every_process_sees_the_clock_one_of_them_moved(db: Database, clock: FixedClock) -> None:
    web, worker = TrainingClock(db, clock), TrainingClock(db, clock)
    worker.refresh()  # no row yet: not moved
    assert web.now() == worker.now() == clock.now()

    moved_to = web.advance(timedelta(days=2), "cli")

    assert moved_to == web.now() == clock.now() + timedelta(days=2)
    assert worker.now() == clock.now()  # cached until it refreshes, never a read inside now()
    worker.refresh()
    assert worker.now() == moved_to and worker.offset == timedelta(days=2)
    worker.advance(timedelta(hours=3), "cli")
    web.refresh()
    assert web.now() == clock.now() + timedelta(days=2, hours=3)
    clock.advance(minutes=5)  # the base clock keeps running underneath
    assert web.now() == clock.now() + timedelta(days=2, hours=3)
    with db.reader() as session:
        assert session.scalars(select(DeploymentClock)).one().offset_seconds == 51 * 3600


def test_an_advance_is_audited_and_the_chain_holds(db: Database, clock: FixedClock) -> None:
    training = TrainingClock(db, clock)
    training.advance(timedelta(days=60), "demo.coordinator")
    training.advance(timedelta(hours=36), "cli")

    first, second = _events(db, "clock_advanced")
    assert (first.actor, first.instance_id) == ("demo.coordinator", None)
    assert json.loads(first.payload) == {
        "from": clock.now().isoformat(),
        "to": (clock.now() + timedelta(days=60)).isoformat(),
        "by": "P60D",
    }
    assert json.loads(second.payload)["by"] == "P1DT12H"
    assert json.loads(second.payload)["from"] == json.loads(first.payload)["to"]
    with db.reader() as session:
        result = verify(session)
    assert result.intact and result.count == 2


@pytest.mark.parametrize(
    "step",
    [timedelta(0), timedelta(hours=-1), timedelta(days=366, seconds=1), timedelta(days=5000)],
)
def test_the_clock_only_moves_forward_by_a_sensible_step(
    db: Database, clock: FixedClock, step: timedelta
) -> None:
    training = TrainingClock(db, clock)
    with pytest.raises(ClockRefused):
        training.advance(step, "cli")
    training.refresh()
    assert training.now() == clock.now()
    assert _events(db, "clock_advanced") == []


@pytest.mark.parametrize(
    ("days", "hours"),
    [
        (None, None),
        (1, 1),
        (0, None),
        (None, -2),
        (float("nan"), None),
        (None, float("inf")),
        (367, None),
        (1e300, None),
        (None, 366 * 24 + 1),
    ],
)
def test_a_step_is_days_or_hours_positive_and_bounded(
    days: float | None, hours: float | None
) -> None:
    with pytest.raises(ClockRefused):
        clock_step(days=days, hours=hours)


def test_steps_and_their_iso_names() -> None:
    assert clock_step(days=1.5) == timedelta(hours=36)
    assert clock_step(hours=366 * 24) == timedelta(days=366)
    assert [iso_duration(clock_step(hours=h)) for h in (0.5, 25, 1.25)] == [
        "PT30M",
        "P1DT1H",
        "PT1H15M",
    ]


def test_only_an_authorised_person_moves_it(db: Database, clock: FixedClock) -> None:
    runtime = _training_runtime(nrm_runtime(db, clock), clock)

    def coordinator_only(roles: set[str]) -> bool:
        return COORDINATOR in roles

    with pytest.raises(NotAuthorized):
        advance_and_fire(runtime, timedelta(days=1), "demo.caseworker", coordinator_only)
    with pytest.raises(UserNotFound):
        advance_and_fire(runtime, timedelta(days=1), "nobody", coordinator_only)
    assert _events(db, "clock_advanced") == []
    result = advance_and_fire(runtime, timedelta(days=1), "demo.coordinator", coordinator_only)
    assert result.now == clock.now() + timedelta(days=1)


def test_the_wall_clock_under_a_training_clock_is_not_moved(
    db: Database, clock: FixedClock
) -> None:
    training = TrainingClock(db, clock)
    training.advance(timedelta(days=9), "cli")
    assert wall_clock(training).now() == clock.now()
    assert wall_clock(clock) is clock


def test_a_production_clock_cannot_be_moved(db: Database, clock: FixedClock) -> None:
    production = load_settings({"NRMFLOW_DATABASE_URL": db.url})
    training = load_settings({"NRMFLOW_DATABASE_URL": db.url, "NRMFLOW_MODE": "training"})
    assert isinstance(deployment_clock(production, db), SystemClock)
    assert isinstance(deployment_clock(training, db), TrainingClock)
    with pytest.raises(ClockRefused):
        advance_and_fire(sample_runtime(db, clock), timedelta(days=1), "cli")


def test_a_missed_reasonable_grounds_target_escalates_after_an_advance(
    db: Database, clock: FixedClock
) -> None:
    """Referred Monday 2 March 2026 09:00: the 5-working-day target is Monday 9 March 09:00."""
    runtime = _training_runtime(nrm_runtime(db, clock), clock)
    case = NrmCase.refer(runtime, db, clock)
    identify_adult(case)
    due = case.waiting_timers()["rg_target_missed"]
    assert "escalate_overdue_decision" not in case.open_tasks()

    result = advance_and_fire(runtime, timedelta(days=10), "demo.coordinator")

    assert (result.timers_fired, result.timers_due) == (1, 0)
    assert case.item("escalate_overdue_decision").role == "nrm_coordinator"
    assert case.item("decide_reasonable_grounds").due_at == due  # still open, now overdue
    fired = _events(db, "timer_fired")
    assert [json.loads(e.payload)["timer"] for e in fired] == ["rg_target_missed"]
    assert as_utc(fired[0].at) == due + timedelta(microseconds=1)  # when it fell due, not day 10
    with db.reader() as session:
        assert verify(session).intact


def test_a_year_of_a_cooperating_survivors_case_in_one_advance(
    db: Database, clock: FixedClock
) -> None:
    """Permit renewals and integration reviews (cycles) fire on the days a daily worker would."""
    runtime = _training_runtime(nrm_runtime(db, clock), clock)
    case = NrmCase.refer(runtime, db, clock)
    referral_to_recognition(case, willing_to_cooperate="yes")
    case.complete("record_informed_choice", answers.proceedings_choice(cooperate=True), "legal_aid")
    case.complete(
        "decide_cooperation",
        {"cooperation_accepted": True, "witness_protection_needed": False},
        "prosecutor",
    )
    case.complete("decide_cooperation_permit", answers.PERMIT_GRANTED, "immigration")
    settle_by_integration(case)
    waiting = case.waiting_timers()
    before = len(case.timers_fired())

    result = advance_and_fire(runtime, timedelta(days=366), "demo.coordinator")

    fired = case.timers_fired()[before:]
    assert result.timers_fired == len(fired) == 4
    assert [name for name, _ in fired] == ["permit_renewal_due", "periodic_review_due"] * 2
    assert fired[0][1] == waiting["permit_renewal_due"] + timedelta(microseconds=1)
    assert fired[1][1] == waiting["periodic_review_due"] + timedelta(microseconds=1)
    assert [at.date().isoformat() for _, at in fired[2:]] == ["2027-03-04", "2027-04-04"]
    assert case.item("renew_residence_permit").role == "immigration"


def test_timers_set_by_timers_fire_when_they_would_have(db: Database, clock: FixedClock) -> None:
    """The timers bundle waits an hour, then reminds twice at 10-minute intervals (R2/PT10M).

    A worker running through those two hours fires all three; so does one advance of two
    hours. Firing everything at the end instead would start the reminders at 11:00 and fire
    none of them.
    """
    runtime = _training_runtime(sample_runtime(db, clock, bundle="timers"), clock)
    runtime.start("timer_case", {}, "clara")  # 09:00

    result = advance_and_fire(runtime, timedelta(hours=2), "cli")

    assert (result.timers_fired, result.timers_due) == (3, 0)
    assert _timers_fired(db) == [
        ("wait_hour", "10:00"),
        ("reminder", "10:10"),
        ("reminder", "10:20"),
    ]


def test_firing_all_at_the_new_time_instead_would_lose_the_chain(
    db: Database, clock: FixedClock
) -> None:
    """What ``fire_due_timers`` alone does at the new time: the reminders start from there."""
    runtime = sample_runtime(db, clock, bundle="timers")
    runtime.start("timer_case", {}, "clara")
    clock.advance(hours=2)
    assert runtime.fire_due_timers() == 1
    assert runtime.fire_due_timers() == 0
    assert _timers_fired(db) == [("wait_hour", "11:00")]


def test_a_failing_timer_does_not_stop_the_advance(db: Database, clock: FixedClock) -> None:
    runtime = sample_runtime(db, clock, bundle="timers")
    tamper_spec(db, "timer_case", "reminders = reminders + 1", "reminders = undefined_name + 1")
    runtime = _training_runtime(Runtime(db, runtime.hooks, clock), clock)
    runtime.start("timer_case", {}, "clara")

    result = advance_and_fire(runtime, timedelta(hours=2), "cli")

    # the reminder's script fails, is retried 3 times within the advance, then held
    assert (result.timers_fired, result.timers_due) == (1, 0)
    assert _timers_fired(db) == [("wait_hour", "10:00")]
    (incident,) = list_incidents(db).incidents
    assert (incident.source, incident.error_type, incident.occurrences) == (
        "timer",
        "script_error",
        1,
    )


def test_firing_is_bounded(db: Database, clock: FixedClock) -> None:
    runtime = sample_runtime(db, clock, bundle="timers")
    runtime.start("timer_case", {}, "clara")
    start = clock.now()
    assert fire_in_order(runtime, start, start + timedelta(hours=2), max_passes=1) == 1
    assert _timers_fired(db) == [("wait_hour", "10:00")]


def test_a_timer_overdue_before_the_advance_fires_at_its_start(
    db: Database, clock: FixedClock
) -> None:
    """Nobody ran the worker: the overdue timer fires when the clock moves, as a worker started
    then would fire it, and the reminders it starts count from there."""
    runtime = _training_runtime(sample_runtime(db, clock, bundle="timers"), clock)
    runtime.start("timer_case", {}, "clara")
    clock.advance(hours=3)  # 12:00, the hour's timer is two hours overdue

    result = advance_and_fire(runtime, timedelta(minutes=15), "cli")

    assert result.timers_fired == 2
    assert _timers_fired(db) == [("wait_hour", "12:00"), ("reminder", "12:10")]


# --- the command line -----------------------------------------------------------


def _nrmflow(db: Database, *args: str, mode: str | None, expect: int = 0) -> Result:
    env = {"NRMFLOW_DATABASE_URL": db.url, "NRMFLOW_MODE": mode}  # None: unset, production
    result = CliRunner().invoke(main, list(args), env=env)
    assert result.exit_code == expect, (result.output, result.exception)
    return result


def test_the_cli_refuses_to_move_a_production_clock(db: Database) -> None:
    refused = _nrmflow(db, "clock", "advance", "--days", "1", mode=None, expect=1)
    assert "only in a training deployment" in refused.stderr
    as_json = _nrmflow(db, "clock", "advance", "--days", "1", "--json", mode=None, expect=1)
    assert json.loads(as_json.stdout)["error"] == "Refused"
    shown = json.loads(_nrmflow(db, "clock", "show", "--json", mode="production").stdout)
    assert (shown["mode"], shown["offset_seconds"]) == ("production", 0.0)
    assert _events(db, "clock_advanced") == []


def test_the_cli_moves_a_training_clock(db: Database) -> None:
    _nrmflow(db, "seed-demo", mode="training")
    before = json.loads(_nrmflow(db, "clock", "show", "--json", mode="training").stdout)
    assert (before["mode"], before["offset_seconds"]) == ("training", 0.0)

    moved = json.loads(
        _nrmflow(db, "clock", "advance", "--days", "2", "--json", mode="training").stdout
    )
    assert (moved["timers_fired"], moved["timers_due"]) == (0, 0)
    text = _nrmflow(
        db, "clock", "advance", "--hours", "6", "--as", "demo.coordinator", mode="training"
    )
    assert "timer(s) fired" in text.stdout
    shown = json.loads(_nrmflow(db, "clock", "show", "--json", mode="training").stdout)
    assert shown["offset_seconds"] == 54 * 3600
    assert shown["now"] > moved["now"]

    refused = _nrmflow(
        db, "clock", "advance", "--days", "1", "--as", "demo.caseworker", mode="training", expect=1
    )
    assert "may not move the training clock" in refused.stderr
    for bad in (["--days", "1", "--hours", "1"], ["--days", "0"], ["--days", "400"], []):
        _nrmflow(db, "clock", "advance", *bad, mode="training", expect=1)
    assert [e.actor for e in _events(db, "clock_advanced")] == ["cli", "demo.coordinator"]


def test_a_long_running_command_picks_up_an_advance(db: Database) -> None:
    settings = load_settings({"NRMFLOW_DATABASE_URL": db.url, "NRMFLOW_MODE": "training"})
    worker = Context(settings, as_json=False)
    assert isinstance(worker.runtime.clock, TrainingClock)
    TrainingClock(db).advance(timedelta(days=3), "cli")
    assert worker.runtime.clock.offset == timedelta(0)
    worker.refresh_clock()
    assert worker.runtime.clock.offset == timedelta(days=3)
    worker.close()
