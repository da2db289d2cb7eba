"""The domain's demo seed is idempotent; working-day deadlines skip weekends and holidays."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from engine import clock as engine_clock
from engine.calendar import BusinessCalendar
from engine.clock import FixedClock
from engine.config import load_settings
from engine.db import Database
from engine.models import AuditEvent, User
from workflows.demo import DEMO_USERS, seed_demo_users
from workflows.hooks import build_hooks


def _counts(db: Database) -> tuple[int, int]:
    with db.reader() as session:
        users = session.scalar(select(func.count()).select_from(User)) or 0
        events = session.scalar(select(func.count()).select_from(AuditEvent)) or 0
    return users, events


def test_seeding_twice_adds_nothing_the_second_time(db: Database, clock: FixedClock) -> None:
    seed_demo_users(db, clock)
    first = _counts(db)
    views = seed_demo_users(db, clock)
    # one "user_added" and one "password_set" event per demo user, the first time only
    assert _counts(db) == first == (len(DEMO_USERS), 2 * len(DEMO_USERS))
    assert not any(v.created for v in views)


def test_working_days_skip_weekends_and_public_holidays() -> None:
    calendar = BusinessCalendar("GB")
    friday = datetime(2026, 12, 18, 10, 0, tzinfo=UTC)
    # Mon 21, Tue 22, Wed 23, Thu 24, (Fri 25 and Mon 28 are holidays) Tue 29
    assert calendar.add_business_days(friday, 5) == datetime(2026, 12, 29, 10, 0, tzinfo=UTC)


def test_scripts_get_a_working_day_deadline_from_the_engine_clock() -> None:
    helper = build_hooks(load_settings({}))
    business_days_from_now = helper.script_helpers["business_days_from_now"]
    with engine_clock.using(FixedClock(datetime(2026, 3, 6, 9, 0, tzinfo=UTC))):  # a Friday
        assert business_days_from_now(1) == "2026-03-09T09:00:00+00:00"
