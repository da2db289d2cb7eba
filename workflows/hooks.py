"""The domain's hooks into the engine: lane → role and the helpers scripts may call."""

from __future__ import annotations

from engine import clock
from engine.calendar import BusinessCalendar
from engine.config import Settings
from engine.hooks import Hooks, role_from_lane


def build_hooks(settings: Settings) -> Hooks:
    calendar = BusinessCalendar(settings.holiday_country)

    def business_days_from_now(days: int) -> str:
        """For timeDate timers: ``business_days_from_now(5)`` is due in 5 working days."""
        return calendar.add_business_days(clock.now(), int(days)).isoformat()

    return Hooks(
        role_for_lane=role_from_lane,
        script_helpers={"business_days_from_now": business_days_from_now},
    )
