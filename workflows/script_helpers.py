"""The functions BPMN scripts, conditions and timer expressions may call.

Everything a diagram needs about time goes through here, so it reads the
engine's clock (a test or a training deployment can move it) and the
deployment's time limits. Each helper returns plain JSON values (ISO 8601
text), because task data is stored as JSON.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from engine import clock
from engine.calendar import BusinessCalendar
from workflows.time_limits import TimeLimits


def add_months(moment: datetime, months: int) -> datetime:
    """Calendar months, clamped to the month's last day (31 Jan + 1 month = 28/29 Feb)."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def script_helpers(
    limits: TimeLimits, business_calendar: BusinessCalendar
) -> dict[str, Callable[..., Any]]:
    def now_iso() -> str:
        """The current time, for recording when a decision was taken."""
        return clock.now().isoformat()

    def business_days_from_now(days: int) -> str:
        """For timeDate timers: ``business_days_from_now(5)`` is due in 5 working days."""
        return business_calendar.add_business_days(clock.now(), int(days)).isoformat()

    def days_from_now(days: int) -> str:
        return (clock.now() + timedelta(days=int(days))).isoformat()

    def months_from_now(months: int) -> str:
        return add_months(clock.now(), int(months)).isoformat()

    def years_from_now(years: int) -> str:
        return add_months(clock.now(), 12 * int(years)).isoformat()

    def days_before(moment: str, days: int) -> str:
        """``days_before(permit_valid_until, 30)``: when a renewal falls due."""
        return (datetime.fromisoformat(moment) - timedelta(days=int(days))).isoformat()

    def every_months_from(first_due: str, months: int) -> str:
        """A timeCycle that fires at ``first_due`` and then every ``months`` months, unbounded."""
        return f"R/{datetime.fromisoformat(first_due).isoformat()}/P{int(months)}M"

    def time_limit(name: str) -> Any:
        """A deployment's time limit by name (see workflows/time_limits.py)."""
        value = getattr(limits, name)
        return list(value) if isinstance(value, tuple) else value

    return {
        "now_iso": now_iso,
        "business_days_from_now": business_days_from_now,
        "days_from_now": days_from_now,
        "months_from_now": months_from_now,
        "years_from_now": years_from_now,
        "days_before": days_before,
        "every_months_from": every_months_from,
        "time_limit": time_limit,
    }
