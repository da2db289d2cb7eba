"""Crash consistency: the processes killed 100 times at random while 20 caseworkers work.

A real deployment (gunicorn with one preloaded threaded worker, so the
master forks a replacement in milliseconds, and ``nrmflow worker`` firing
timers) serves 20 simulated caseworkers completing NRM tasks, a first
responder referring new people and a coordinator moving the training clock
on so timers fall due (benchmarks/caseworkers.py). Meanwhile the web worker
serving the requests, or the timer worker, is SIGKILLed 100 times, each
after a random number of answered requests and a random delay drawn from a
seeded RNG (the seed is printed; ``NRMFLOW_CRASH_SEED`` replays the draws,
though not the exact instants the kills land at). A kill leaves no chance to
clean up: a transaction in flight is cut off wherever it was.

Afterwards every completion the server acknowledged is stored at the
revision it reported, nothing happened twice, every case's work items,
timer jobs and subscriptions are exactly what its workflow has open, the
revisions match the saves the audit records (benchmarks/consistency.py) and
``nrmflow audit verify`` passes.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import random
import signal
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import delete, update

from benchmarks.caseworkers import (
    NO_ANSWER,
    Completion,
    LoadPlan,
    Tally,
    plan_accounts,
    running_load,
)
from benchmarks.consistency import (
    derived_row_mismatches,
    duplicated_completions,
    lost_completions,
    problems_after_load,
    read_stored,
    revision_mismatches,
    saves_by_case,
    timers_fired_twice,
)
from benchmarks.served import Served
from engine.clock import FixedClock, SystemClock
from engine.db import Database
from engine.models import AuditEvent, ProcessInstance, WorkItem
from tests.workflows import nrm_answers as answers
from tests.workflows.nrm_driver import NrmCase, nrm_runtime
from workflows.demo import demo_user_for

KILLS = 100
CASEWORKERS = 20
TIMER_WORKER_SHARE = 0.2  # of the kills; the others hit the web worker serving the requests
# between two kills the server answers this many requests and acknowledges this many
# completions (each drawn uniformly), so the run makes progress even on a busy machine
ANSWERS_BETWEEN_KILLS = (2, 20)
COMPLETIONS_BETWEEN_KILLS = (0, 2)
JITTER_SECONDS = 0.2  # and then up to this long before the kill
TIMER_WORKER_LIFE_SECONDS = (1.0, 3.0)  # past its start-up (about a second), into its passes
STALL_SECONDS = 60  # no answer for this long fails the test rather than hanging it
MIN_COMPLETIONS = 50  # fewer and the run proved little


def test_a_hundred_kills_lose_nothing_acknowledged_and_repeat_nothing(
    database_url: str, tmp_path: Path
) -> None:
    seed = int(os.environ.get("NRMFLOW_CRASH_SEED") or random.SystemRandom().randrange(2**32))
    print(f"\ncrash seed {seed} (NRMFLOW_CRASH_SEED={seed} replays the kill schedule)")
    served = Served(database_url, tmp_path, threads=24, preload=True, worker_poll_seconds=0.2)
    served.prepare()
    db = Database(database_url)
    try:
        plan = dataclasses.replace(
            plan_accounts(db, SystemClock(), CASEWORKERS, "crash"),
            clock_hours=72,  # the recovery period's 30 days pass in seconds, though
            clock_every_seconds=0.4,  # many an advance is cut off by a kill
            timeout_seconds=10,
            seed=seed,
        )
        started = time.monotonic()
        served.start()
        try:
            tally, kills = _work_through_kills(served, plan, random.Random(seed))
        finally:
            served.stop()
        print(f"{time.monotonic() - started:.1f} s of load: {_summary(tally, kills)}")
        _assert_consistent(db, served, tally, f"seed {seed}")
        assert sum(kills.values()) == KILLS
        assert tally.failures == []
        assert tally.by_status()[NO_ANSWER] > 0, "no kill cut a request off"
        assert len(tally.completions) >= MIN_COMPLETIONS, _summary(tally, kills)
        assert tally.server_errors() == 0, tally.by_status()
    finally:
        db.dispose()


def _work_through_kills(
    served: Served, plan: LoadPlan, chance: random.Random
) -> tuple[Tally, Counter[str]]:
    """Kill a process KILLS times, each after the server answered a few more requests.

    Counting answers rather than seconds keeps the run making progress on a
    slow or busy machine, where a completion may take longer than a second;
    the jitter after them puts each kill anywhere in the requests in flight.
    """
    kills: Counter[str] = Counter()
    with running_load(served.url, plan) as tally:
        for _ in range(KILLS):
            _wait_for_answers(
                tally,
                chance.randint(*ANSWERS_BETWEEN_KILLS),
                chance.randint(*COMPLETIONS_BETWEEN_KILLS),
            )
            time.sleep(chance.uniform(0, JITTER_SECONDS))
            if chance.random() < TIMER_WORKER_SHARE:
                lived = time.monotonic() - served.timer_worker_started_at
                time.sleep(max(0.0, chance.uniform(*TIMER_WORKER_LIFE_SECONDS) - lived))
                served.kill_timer_worker()
                served.start_timer_worker()
                kills["timer worker"] += 1
            else:
                with contextlib.suppress(ProcessLookupError):  # it was reaped just now
                    os.kill(chance.choice(served.web_worker_pids()), signal.SIGKILL)
                kills["web worker"] += 1
        _wait_for_answers(tally, 1, 0)  # the last one is back, so the load ends on answers
    return tally, kills


def _wait_for_answers(tally: Tally, answers: int, completions: int) -> None:
    answered, completed = tally.answered + answers, len(tally.completions) + completions
    deadline = time.monotonic() + STALL_SECONDS
    while tally.answered < answered or len(tally.completions) < completed:
        assert time.monotonic() < deadline, f"no progress for {STALL_SECONDS} s"
        time.sleep(0.01)


def test_the_checks_see_a_lost_completion_a_repeat_a_skipped_save_and_an_orphan(
    db: Database, clock: FixedClock
) -> None:
    """Each check, on a case worked in-process, finds nothing until its flaw is put in."""
    runtime = nrm_runtime(db, clock)
    case = NrmCase.refer(runtime, db, clock)
    case.complete("screen_indicators", answers.screening(), "first_responder")  # revision 2
    consent = case.item("obtain_consent").id
    case.complete("obtain_consent", answers.consent_given(), "first_responder")  # revision 3
    assert case.advance(days=8) == ["rg_target_missed"]  # revision 4
    done = Completion(consent, case.view.id, "obtain_consent", demo_user_for("first_responder"), 3)
    stored = read_stored(db)
    events, open_items, saves = stored.events, stored.open_item_ids, saves_by_case(stored.events)
    assert lost_completions([done], open_items, saves) == []
    assert duplicated_completions([done], events) == []
    assert timers_fired_twice(events) == []
    assert revision_mismatches(stored.instances, saves) == []
    assert derived_row_mismatches(runtime) == []

    assert lost_completions([dataclasses.replace(done, revision=2)], open_items, saves)
    decision = dataclasses.replace(done, work_item_id=case.item("decide_reasonable_grounds").id)
    assert lost_completions([decision], open_items, saves)  # still open
    assert duplicated_completions([done, done], events)
    assert duplicated_completions([], [*events, _task_completed(events)])
    assert timers_fired_twice([*events, next(e for e in events if e.action == "timer_fired")])
    with db.transaction() as session:
        session.execute(update(ProcessInstance).values(revision=ProcessInstance.revision + 1))
        session.execute(delete(WorkItem).where(WorkItem.task_name == "escalate_overdue_decision"))
    assert revision_mismatches(read_stored(db).instances, saves)
    assert derived_row_mismatches(runtime)


def _task_completed(events: list[AuditEvent]) -> AuditEvent:
    return next(event for event in events if event.action == "task_completed")


def _assert_consistent(db: Database, served: Served, tally: Tally, run: str) -> None:
    problems = problems_after_load(db, tally)
    assert problems == [], f"{run}:\n" + "\n".join(problems)
    stored = read_stored(db)
    timers = [event for event in stored.events if event.action == "timer_fired"]
    assert timers, f"{run}: no timer fired"
    print(f"{len(timers)} timers fired; {len(stored.instances)} cases checked")
    verified = served.nrmflow("audit", "verify", check=False)
    assert verified.returncode == 0, f"{run}: {verified.stdout}{verified.stderr}"


def _summary(tally: Tally, kills: Counter[str]) -> str:
    return (
        f"{dict(kills)} kills, {tally.requests} requests, {len(tally.completions)} completions "
        f"acknowledged, {len(tally.unanswered_completions)} unanswered, "
        f"{len(tally.cases_started)} referrals, statuses {dict(tally.by_status())}"
    )
