"""A training deployment's clock, which a coordinator may move forward to rehearse cases.

The offset lives in one database row so every server process and worker agree
on what time it is. ``now()`` never reads the database: on SQLite a read
opened while the same thread holds a ``BEGIN IMMEDIATE`` transaction would
wait for its own lock. The offset is cached and re-read with ``refresh()`` at
safe points instead (each web request, each worker pass, each CLI command).

Moving the clock fires what fell due in the skipped time in order of due time,
each at its own moment, so a timer set by an earlier one (a cycle, a chain)
is due when it would have been had the time really passed.
"""

from __future__ import annotations

import copy
import logging
import math
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from engine import audit
from engine.clock import Clock, FixedClock, SystemClock, as_utc, iso_duration
from engine.config import Settings
from engine.db import Database
from engine.errors import EngineError, NotAuthorized
from engine.models import DeploymentClock, TimerJob
from engine.retries import timer_fires_at, timer_firing_due
from engine.runtime import Runtime
from engine.users import find_user

log = logging.getLogger(__name__)

MAX_STEP = timedelta(days=366)
# passes of the timer worker one advance may run; a cycle every minute over a
# year would otherwise hold a request for hours (the worker carries on after)
MAX_FIRING_PASSES = 1000
_ROW_ID = 1
# a timer fires at the first moment after its due time, as a running worker would see it
_JUST_AFTER = timedelta(microseconds=1)


class ClockRefused(EngineError):
    """The clock cannot be moved that way, or this deployment's clock cannot be moved."""


class TrainingClock:
    """The base clock (the system's) plus the deployment's stored offset, cached."""

    def __init__(self, db: Database, base: Clock | None = None):
        self.db = db
        self.base = base or SystemClock()
        self._offset = timedelta(0)

    @property
    def offset(self) -> timedelta:
        return self._offset

    def now(self) -> datetime:
        return self.base.now() + self._offset

    def refresh(self) -> None:
        """Re-read the stored offset; call outside any transaction (see the module's note)."""
        with self.db.reader() as session:
            stored = session.scalar(
                select(DeploymentClock.offset_seconds).where(DeploymentClock.id == _ROW_ID)
            )
        self._offset = timedelta(seconds=stored or 0)

    def advance(
        self,
        delta: timedelta,
        actor: str,
        authorize: Callable[[set[str]], bool] | None = None,
    ) -> datetime:
        """Move the deployment's clock on by ``delta`` (audited); return the new now.

        ``authorize`` decides from the actor's roles whether they may; without
        it the actor is an operator at the server (the CLI without ``--as``).
        """
        check_step(delta)
        with self.db.transaction() as session:
            if authorize is not None and not authorize(find_user(session, actor).role_names):
                raise NotAuthorized(f"'{actor}' may not move the training clock")
            row = self._locked_row(session)
            base_now = self.base.now()
            before = base_now + timedelta(seconds=row.offset_seconds)
            row.offset_seconds += delta.total_seconds()
            stored = timedelta(seconds=row.offset_seconds)
            after = base_now + stored
            event = audit.PendingEvent(
                actor,
                "clock_advanced",
                payload={
                    "from": before.isoformat(),
                    "to": after.isoformat(),
                    "by": iso_duration(delta),
                },
            )
            audit.append(session, [event], before)
        self._offset = stored
        return after

    def _locked_row(self, session: Session) -> DeploymentClock:
        """The one offset row, created at zero the first time, locked until commit."""
        insert = (postgresql if self.db.is_postgresql else sqlite).insert
        session.execute(
            insert(DeploymentClock)
            .values(id=_ROW_ID, offset_seconds=0.0)
            .on_conflict_do_nothing(index_elements=["id"])
        )
        query = select(DeploymentClock).where(DeploymentClock.id == _ROW_ID)
        if self.db.is_postgresql:
            query = query.with_for_update()
        return session.scalars(query).one()


def clock_step(days: float | None = None, hours: float | None = None) -> timedelta:
    """The step a person asked for, in days or in hours (exactly one), checked."""
    if (days is None) == (hours is None):
        raise ClockRefused("give either a number of days or a number of hours")
    amount, unit = (days, "days") if days is not None else (hours, "hours")
    assert amount is not None
    if not math.isfinite(amount) or amount > MAX_STEP / timedelta(**{unit: 1}):
        raise ClockRefused(f"the clock moves at most {MAX_STEP.days} days at once")
    delta = timedelta(**{unit: amount})
    check_step(delta)
    return delta


def check_step(delta: timedelta) -> None:
    if delta <= timedelta(0):
        raise ClockRefused("the clock only moves forward: give a positive number of days or hours")
    if delta > MAX_STEP:
        raise ClockRefused(f"the clock moves at most {MAX_STEP.days} days at once")


def deployment_clock(settings: Settings, db: Database) -> Clock:
    """The clock a deployment runs on: movable in training, the system's otherwise.

    Not refreshed here, so building an app never touches the database.
    """
    return TrainingClock(db) if settings.training else SystemClock()


def wall_clock(clock: Clock) -> Clock:
    """Real elapsed time, for rules about people rather than cases (a session's inactivity):
    moving a training clock on must not sign everyone out."""
    return clock.base if isinstance(clock, TrainingClock) else clock


def refresh_if_training(clock: Clock) -> None:
    """Pick up an advance made by another process; nothing to do for any other clock."""
    if isinstance(clock, TrainingClock):
        clock.refresh()


class ClockAdvanced(NamedTuple):
    now: datetime
    timers_fired: int
    # timers still due after the advance: ones whose step fails, or left over
    # when MAX_FIRING_PASSES ran out (the worker goes on with them)
    timers_due: int


def advance_and_fire(
    runtime: Runtime,
    delta: timedelta,
    actor: str,
    authorize: Callable[[set[str]], bool] | None = None,
) -> ClockAdvanced:
    """Move the runtime's training clock on and fire what fell due meanwhile, as if it had passed.

    The clock moves first, in its own audited transaction, so every other
    process sees the new time at once; each case's timers then fire in their
    own transactions, as the worker's do.
    """
    clock = runtime.clock
    if not isinstance(clock, TrainingClock):
        raise ClockRefused("this deployment's clock cannot be moved: it is not in training mode")
    now = clock.advance(delta, actor, authorize)
    fired = fire_in_order(runtime, now - delta, now)
    return ClockAdvanced(now, fired, _count_due(runtime.db, now))


def fire_in_order(
    runtime: Runtime, start: datetime, until: datetime, max_passes: int = MAX_FIRING_PASSES
) -> int:
    """Fire every timer due before ``until``, earliest first, each just after its due time.

    ``Runtime.fire_due_timers(now)`` fires a case's timers with the clock at
    ``now``, and a timer set while firing counts from there. Firing all at
    ``until`` would start a follow-up (a cycle's next reminder, a timer after
    a timer) at ``until`` instead of when the first one fell due; stepping
    from due time to due time keeps the chain's timing, and each step is
    recorded (audit, work items) at its own moment. A timer already overdue
    at ``start`` fires at ``start``, as a worker started then would fire it.
    A timer whose step fails is retried with back-off like the worker's, then
    held as an incident.
    """
    moment_clock = FixedClock(start)
    stepper = copy.copy(runtime)  # same database, hooks and caches; its own clock
    stepper.clock = moment_clock
    fired, passes, after = 0, 0, None
    while passes < max_passes:
        due = _next_due(runtime.db, after, until)
        moment_clock.set(min(max(due + _JUST_AFTER, start), until) if due is not None else until)
        while passes < max_passes:  # again at the same moment while firing sets more due timers
            count = stepper.fire_due_timers()
            fired, passes = fired + count, passes + 1
            if count == 0:
                break
        if due is None:
            return fired
        after = moment_clock.now()
    log.warning("clock advance stopped firing timers after %d passes", max_passes)
    return fired


def _next_due(db: Database, after: datetime | None, until: datetime) -> datetime | None:
    fires_at = timer_fires_at()
    query = select(func.min(fires_at)).where(TimerJob.on_hold.is_(False), fires_at < until)
    if after is not None:
        query = query.where(fires_at >= after)
    with db.reader() as session:
        due = session.scalar(query)
    return as_utc(due) if due is not None else None


def _count_due(db: Database, until: datetime) -> int:
    with db.reader() as session:
        return session.scalar(select(func.count(TimerJob.id)).where(timer_firing_due(until))) or 0
