"""Working days for deadlines such as "reasonable grounds within 5 working days".

Holidays come from the ``holidays`` package for the configured country, so a
deployment's deadlines skip its own public holidays.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import cached_property

import holidays


class BusinessCalendar:
    def __init__(self, country: str):
        self.country = country

    @cached_property
    def _holidays(self) -> holidays.HolidayBase:
        return holidays.country_holidays(self.country)

    def is_business_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self._holidays

    def add_business_days(self, start: datetime, days: int) -> datetime:
        """Same time of day, ``days`` working days on (weekends and holidays skipped)."""
        moment, remaining = start, days
        while remaining > 0:
            moment += timedelta(days=1)
            if self.is_business_day(moment.date()):
                remaining -= 1
        return moment
