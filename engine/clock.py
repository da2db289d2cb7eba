"""The one source of time for the engine, injectable per call.

SpiffWorkflow's timer definitions call ``datetime.now(timezone.utc)`` on their
module's own ``datetime`` name. Replacing that name with a subclass whose
``now`` reads a context variable lets a test, a training deployment or a
worker firing "what was due at T" decide what now is, per thread and without
sleeping.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Protocol

from SpiffWorkflow.bpmn.specs.event_definitions import timer as spiff_timer


class Clock(Protocol):
    def now(self) -> datetime:
        """An aware datetime in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that stands still until moved: tests and training mode."""

    def __init__(self, at: datetime):
        self._at = as_utc(at)

    def now(self) -> datetime:
        return self._at

    def set(self, at: datetime) -> None:
        self._at = as_utc(at)

    def advance(self, **delta: float) -> None:
        self._at += timedelta(**delta)


def as_utc(moment: datetime) -> datetime:
    """Databases hand back naive datetimes (SQLite); everything here is UTC."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def iso_duration(delta: timedelta) -> str:
    """``P60D``, ``PT36H``, ``PT1H30M``: ISO 8601 in days, hours, minutes and seconds."""
    seconds = delta.total_seconds()
    days, seconds = divmod(seconds, 86_400)
    hours, seconds = divmod(seconds, 3_600)
    minutes, seconds = divmod(seconds, 60)
    time = "".join(
        f"{_number(value)}{unit}"
        for value, unit in ((hours, "H"), (minutes, "M"), (round(seconds, 6), "S"))
        if value
    )
    if not days and not time:
        return "PT0S"
    return "P" + (f"{_number(days)}D" if days else "") + (f"T{time}" if time else "")


def _number(value: float) -> str:
    return f"{value:f}".rstrip("0").rstrip(".")


_SYSTEM_CLOCK = SystemClock()
_current: ContextVar[Clock | None] = ContextVar("nrmflow_clock", default=None)


def current() -> Clock:
    return _current.get() or _SYSTEM_CLOCK


def now() -> datetime:
    return current().now()


@contextmanager
def using(clock: Clock) -> Iterator[None]:
    token = _current.set(clock)
    try:
        yield
    finally:
        _current.reset(token)


class _ClockedDatetime(datetime):
    @classmethod
    def now(cls, tz: tzinfo | None = None) -> datetime:  # type: ignore[override]
        moment = current().now()
        return moment.astimezone(tz) if tz else moment.astimezone().replace(tzinfo=None)


spiff_timer.datetime = _ClockedDatetime  # type: ignore[misc]
