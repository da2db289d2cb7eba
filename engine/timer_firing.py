"""The worker's side of the runtime: fire due timers, retry failing ones, then hold them.

A timer whose step fails is rolled back like any step; its jobs count the
attempt and wait ``RetryPolicy.delay`` before the next one. Once the
automatic retries are spent the jobs are held and an incident is raised:
the worker never loops hot on a failing case, and a person decides.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime

from SpiffWorkflow.bpmn import BpmnWorkflow
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import audit, case_suspension, clock, incidents
from engine.clock import Clock, FixedClock, as_utc
from engine.db import Database
from engine.derived import pending_timers
from engine.errors import CaseNotFound, StaleRevision, WorkflowFailed
from engine.models import ProcessInstance, TimerJob
from engine.retries import RetryPolicy, timer_firing_due
from engine.step import Step
from engine.step_failures import StepFailed, StepFailure, describe
from engine.views import CaseView

log = logging.getLogger(__name__)
TIMER_ACTOR = "system:timer"


class TimerFiring:
    db: Database
    clock: Clock
    timer_retry: RetryPolicy

    def fire_due_timers(self, now: datetime | None = None, limit: int = 100) -> int:
        """Advance every case with a timer due before ``now``; return how many timers fired."""
        now = now or self.clock.now()
        with self.db.reader() as session:
            due = case_suspension.cases_with_timers_due(now, limit)
            instance_ids = list(session.scalars(due))
        fired = 0
        for instance_id in instance_ids:
            try:
                fired += self._fire_instance(instance_id, now)
            except WorkflowFailed as error:
                self._timer_failed(instance_id, now, error)
            except StaleRevision:
                log.info(
                    "case %s changed while its timer fired; retried on the next pass", instance_id
                )
        return fired

    def _fire_instance(
        self,
        instance_id: int,
        now: datetime,
        held: bool = False,
        on_fired: Callable[[Session], object] | None = None,
    ) -> int:
        """Fire the case's due timers in one transaction; return how many fired.

        ``held`` fires the held jobs instead (an incident's retry), and
        ``on_fired`` runs in the same transaction once they fired (it closes
        the incident), so the two are committed together or not at all.
        """
        with self.db.transaction() as session, clock.using(FixedClock(now)):
            # The case first, then its jobs: the order every step locks them in. Jobs first
            # deadlocked on PostgreSQL against a completion holding the case and
            # rewriting the jobs.
            try:
                instance = case_suspension.running_case_for_timers(session, instance_id, self.db)
            except CaseNotFound:
                return 0  # erased since its due timers were read
            if instance is None:
                return 0  # suspended since its due timers were read: they wait for the resume
            ready = TimerJob.on_hold.is_(True) if held else timer_firing_due(now)
            query = select(TimerJob).where(TimerJob.instance_id == instance_id, ready)
            if self.db.is_postgresql:
                query = query.with_for_update(skip_locked=True)
            jobs = list(session.scalars(query))
            if not jobs:
                return 0  # another worker took them, or they are gone
            workflow = self._load(instance)
            step = Step()
            self._run(workflow, step, "timer", workflow.refresh_timers)
            still_waiting = {str(t.task.id): t.due_at for t in pending_timers(workflow)}
            fired = [j for j in jobs if still_waiting.get(j.task_id) != as_utc(j.due_at)]
            if not fired:
                return 0
            for job in fired:
                step.events.insert(0, _timer_fired(instance, job))
            self._save(session, instance, workflow, step, TIMER_ACTOR)
            if on_fired is not None:
                on_fired(session)
            return len(fired)

    def _timer_failed(self, instance_id: int, now: datetime, error: WorkflowFailed) -> None:
        """Count the failed attempt on the case's due jobs; hold them once retries are spent."""
        failure = error.failure if isinstance(error, StepFailed) else describe(error)
        with self.db.transaction() as session:
            jobs = list(
                session.scalars(
                    select(TimerJob).where(
                        TimerJob.instance_id == instance_id, timer_firing_due(now)
                    )
                )
            )
            if not jobs:
                return
            attempts = max(job.attempts for job in jobs) + 1
            exhausted = self.timer_retry.exhausted(attempts)
            for job in jobs:
                job.attempts = attempts
                job.on_hold = exhausted
                job.retry_at = None if exhausted else now + self.timer_retry.delay(attempts)
            log.warning(
                "timer of case %s failed (%s), attempt %d%s",
                instance_id,
                failure.error_type,
                attempts,
                ": held, incident raised" if exhausted else "",
            )
            if exhausted:
                self._timer_incident(session, instance_id, jobs, failure, now)

    def _timer_incident(
        self,
        session: Session,
        instance_id: int,
        jobs: list[TimerJob],
        failure: StepFailure,
        now: datetime,
    ) -> None:
        instance = session.get(ProcessInstance, instance_id)
        assert instance is not None  # its jobs were just read in this transaction
        first = min(jobs, key=lambda job: job.due_at)
        incidents.record(
            session,
            instance,
            "timer",
            failure,
            now,
            task_id=first.task_id,
            task_title=first.task_name,
        )

    # stubs of the Runtime internals this mixin uses
    def _load(self, instance: ProcessInstance) -> BpmnWorkflow:
        raise NotImplementedError

    def _run(
        self,
        workflow: BpmnWorkflow,
        step: Step,
        where: str,
        action: Callable[[], object] | None = None,
    ) -> None:
        raise NotImplementedError

    def _save(
        self,
        session: Session,
        instance: ProcessInstance,
        workflow: BpmnWorkflow,
        step: Step,
        actor: str,
    ) -> CaseView:
        raise NotImplementedError

    def _transaction(self) -> AbstractContextManager[Session]:
        raise NotImplementedError


def _timer_fired(instance: ProcessInstance, job: TimerJob) -> audit.PendingEvent:
    return audit.PendingEvent(
        TIMER_ACTOR,
        "timer_fired",
        instance.id,
        job.task_id,
        instance.model_version_id,
        {"timer": job.task_name, "kind": job.kind, "due_at": as_utc(job.due_at).isoformat()},
    )
