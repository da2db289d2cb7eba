"""The time helpers diagrams call: engine clock, calendar months, deployment limits."""

from __future__ import annotations

from datetime import UTC, datetime

from engine import clock as engine_clock
from engine.calendar import BusinessCalendar
from engine.clock import FixedClock
from workflows.script_helpers import add_months, script_helpers
from workflows.time_limits import TimeLimits

JAN_31 = datetime(2027, 1, 31, 9, 0, tzinfo=UTC)


def test_calendar_months_clamp_to_the_end_of_a_shorter_month() -> None:
    assert add_months(JAN_31, 1) == datetime(2027, 2, 28, 9, 0, tzinfo=UTC)
    assert add_months(JAN_31, 13) == datetime(2028, 2, 29, 9, 0, tzinfo=UTC)
    assert add_months(datetime(2026, 11, 30, tzinfo=UTC), 3) == datetime(2027, 2, 28, tzinfo=UTC)


def test_helpers_read_the_engine_clock_and_the_deployment_limits() -> None:
    helpers = script_helpers(TimeLimits(residence_permit_months=12), BusinessCalendar("GB"))
    with engine_clock.using(FixedClock(JAN_31)):
        assert helpers["now_iso"]() == "2027-01-31T09:00:00+00:00"
        assert helpers["days_from_now"](30) == "2027-03-02T09:00:00+00:00"
        assert helpers["months_from_now"](1) == "2027-02-28T09:00:00+00:00"
        assert helpers["years_from_now"](6) == "2033-01-31T09:00:00+00:00"
        assert helpers["business_days_from_now"](1) == "2027-02-01T09:00:00+00:00"
    assert helpers["time_limit"]("residence_permit_months") == 12
    assert helpers["time_limit"]("return_follow_up_months") == [3, 6, 12]
    assert helpers["days_before"]("2027-03-02T09:00:00+00:00", 30) == "2027-01-31T09:00:00+00:00"
    assert helpers["every_months_from"]("2027-03-02T09:00:00+00:00", 6) == (
        "R/2027-03-02T09:00:00+00:00/P6M"
    )
