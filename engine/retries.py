"""Automatic retries with exponential back-off, then a person: for timers and outgoing messages.

A timer whose step fails, or a message a partner does not take, is tried
again ``retries`` times, ``base * 2^(n-1)`` seconds apart (never more than
``max`` apart), and then held: an incident tells a coordinator, and nothing
is tried again until they retry it. The worker never loops hot on a failing
case, and a failure that will not go away by waiting reaches a person.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, func

from engine.models import TimerJob


@dataclass(frozen=True)
class RetryPolicy:
    base_seconds: float = 60
    max_seconds: float = 3600
    retries: int = 3

    def delay(self, attempts: int) -> timedelta:
        """The wait after the ``attempts``-th failed attempt (1, 2, ...)."""
        return timedelta(seconds=min(self.base_seconds * 2 ** (attempts - 1), self.max_seconds))

    def exhausted(self, attempts: int) -> bool:
        """True once ``attempts`` failures used the first try and every automatic retry."""
        return attempts > self.retries


def timer_fires_at() -> ColumnElement[datetime]:
    """When the worker next fires a timer job: its due time, or its retry after a failure."""
    return func.coalesce(TimerJob.retry_at, TimerJob.due_at)


def timer_firing_due(now: datetime) -> ColumnElement[bool]:
    """Timer jobs the worker should fire at ``now``: due (or due for a retry), not held."""
    return and_(TimerJob.on_hold.is_(False), timer_fires_at() < now)
