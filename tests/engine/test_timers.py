"""Timer jobs are derived after every step: duration, date and cycle; boundary and intermediate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from engine.clock import FixedClock
from engine.db import Database
from engine.models import TimerJob
from engine.runtime import Runtime
from tests.engine.helpers import item_named, sample_runtime, tamper_spec


def _jobs(db: Database) -> dict[str, tuple[str, datetime]]:
    with db.reader() as session:
        return {
            j.task_name: (
                j.kind,
                j.due_at.replace(tzinfo=UTC) if j.due_at.tzinfo is None else j.due_at,
            )
            for j in session.scalars(select(TimerJob))
        }


def test_timer_jobs_follow_the_case(db: Database, clock: FixedClock) -> None:
    runtime = sample_runtime(db, clock, bundle="timers")
    start = clock.now()
    case = runtime.start("timer_case", {}, "clara")
    assert case.status == "waiting" and case.work_items == []
    assert _jobs(db) == {"wait_hour": ("duration", start + timedelta(hours=1))}

    clock.advance(minutes=59)
    assert runtime.fire_due_timers() == 0
    clock.advance(minutes=2)
    assert runtime.fire_due_timers() == 1
    case = runtime.case(case.id)
    follow_up = item_named(case, "follow_up")
    jobs = _jobs(db)
    assert set(jobs) == {"reminder"} and jobs["reminder"][0] == "cycle"
    assert follow_up.due_at is None  # a cycle is a reminder, not the task's deadline

    clock.advance(minutes=11)
    assert runtime.fire_due_timers() == 1  # first reminder; the cycle goes on
    assert _jobs(db)["reminder"][0] == "cycle"
    assert item_named(runtime.case(case.id), "follow_up").id == follow_up.id  # non-interrupting

    case = runtime.complete(follow_up.id, {}, "clara")
    assert _jobs(db) == {
        "wait_until": ("date", datetime(2030, 1, 1, 9, 0, tzinfo=UTC)),
    }
    clock.set(datetime(2030, 1, 1, 9, 0, 1, tzinfo=UTC))
    assert runtime.fire_due_timers() == 1
    assert runtime.case(case.id).status == "completed"
    assert _jobs(db) == {}


def test_a_failing_timer_step_rolls_back_and_the_worker_goes_on(
    db: Database, clock: FixedClock
) -> None:
    runtime = sample_runtime(db, clock, bundle="timers")
    tamper_spec(db, "timer_case", "reminders = reminders + 1", "reminders = undefined_name + 1")
    runtime = Runtime(db, runtime.hooks, clock)
    case = runtime.start("timer_case", {}, "clara")
    clock.advance(hours=1, minutes=1)
    assert runtime.fire_due_timers() == 1
    before = runtime.case(case.id)

    clock.advance(minutes=11)
    assert runtime.fire_due_timers() == 0  # the reminder's script fails: nothing is kept

    after = runtime.case(case.id)
    assert after.revision == before.revision
    assert "reminder" in _jobs(db)
