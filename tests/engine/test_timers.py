"""Timer jobs are derived after every step: duration, date and cycle; boundary and intermediate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from engine.clock import FixedClock
from engine.db import Database
from engine.models import TimerJob
from tests.engine.helpers import item_named, sample_runtime


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
    assert follow_up.due_at == jobs["reminder"][1]

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
