"""What must hold in a database after a load, even one whose server was killed again and again.

Each check returns what it found wrong, one line per problem (empty: none),
so a failing run names every case and task at once. They read the database
after the processes are gone: the stored rows, the audit chain and, for each
case, its workflow loaded by the engine as a command would load it; and what
the simulated people were told (benchmarks/caseworkers.py).

The audit chain is the record of every save: each command that changes a
case writes its events in one append, in the transaction of the save, and
each save adds one to the case's revision. A save opens with ``case_started``,
``task_completed``, ``message_received`` or the ``timer_fired`` events of the
timers it fired (written together, at the moment of the firing, before the
step's other events), so the case's saves can be counted from its events.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from benchmarks.caseworkers import Completion, Tally
from engine.clock import as_utc
from engine.config import load_settings
from engine.db import Database
from engine.derived import open_user_tasks, pending_timers, waiting_message_catches
from engine.models import AuditEvent, MessageSubscription, ProcessInstance, TimerJob, WorkItem
from engine.runtime import Runtime
from workflows.hooks import build_hooks

OPENS_A_SAVE = {"case_started", "task_completed", "message_received"}


@dataclass(frozen=True)
class Stored:
    """The audit chain in order, the cases and the ids of the open work items."""

    events: list[AuditEvent]
    instances: list[ProcessInstance]
    open_item_ids: set[int]


def read_stored(db: Database) -> Stored:
    with db.reader() as session:
        return Stored(
            list(session.scalars(select(AuditEvent).order_by(AuditEvent.seq))),
            list(session.scalars(select(ProcessInstance))),
            set(session.scalars(select(WorkItem.id))),
        )


def problems_after_load(db: Database, tally: Tally) -> list[str]:
    """Every check at once: nothing acknowledged lost, nothing done twice, every case whole."""
    runtime = Runtime(db, build_hooks(load_settings({"NRMFLOW_DATABASE_URL": db.url})))
    stored = read_stored(db)
    saves = saves_by_case(stored.events)
    return [
        *lost_referrals(tally.cases_started, stored.instances),
        *lost_completions(tally.completions, stored.open_item_ids, saves),
        *duplicated_completions(tally.completions, stored.events),
        *timers_fired_twice(stored.events),
        *revision_mismatches(stored.instances, saves),
        *derived_row_mismatches(runtime),
    ]


def saves_by_case(events: Sequence[AuditEvent]) -> dict[int, list[AuditEvent]]:
    """Each case's saves in order, each as the event that opened it: revision n is save n."""
    saves: dict[int, list[AuditEvent]] = defaultdict(list)
    previous: AuditEvent | None = None
    for event in events:
        if event.instance_id is not None and _opens_a_save(event, previous):
            saves[event.instance_id].append(event)
        previous = event
    return saves


def _opens_a_save(event: AuditEvent, previous: AuditEvent | None) -> bool:
    if event.action in OPENS_A_SAVE:
        return True
    if event.action != "timer_fired":
        return False
    same_firing = (
        previous is not None
        and previous.action == "timer_fired"
        and previous.instance_id == event.instance_id
        and previous.at == event.at
    )
    return not same_firing


def revision_mismatches(
    instances: Iterable[ProcessInstance], saves: dict[int, list[AuditEvent]]
) -> list[str]:
    """A case whose revision is not the number of saves its audit trail records."""
    return [
        f"case {case.id} is at revision {case.revision}, its audit records {len(saves[case.id])} "
        "saves"
        for case in instances
        if case.revision != len(saves[case.id])
    ]


def lost_completions(
    completions: Iterable[Completion],
    open_item_ids: set[int],
    saves: dict[int, list[AuditEvent]],
) -> list[str]:
    """An acknowledged completion whose item is still open, or that its revision does not record.

    The server said "done, the case is now at revision n": save n of that
    case must be this person completing this task, and the item must be gone.
    """
    problems = []
    for done in completions:
        if done.work_item_id in open_item_ids:
            problems.append(f"work item {done.work_item_id} was completed but is open again")
        case_saves = saves.get(done.case_id, [])
        save = case_saves[done.revision - 1] if 0 < done.revision <= len(case_saves) else None
        recorded = (save.action, save.actor, json.loads(save.payload).get("task")) if save else None
        if recorded != ("task_completed", done.username, done.task):
            problems.append(
                f"case {done.case_id} revision {done.revision}: acknowledged completion of "
                f"{done.task} by {done.username} is not what the audit records"
            )
    return problems


def lost_referrals(started: Iterable[int], instances: Iterable[ProcessInstance]) -> list[str]:
    """A case the server said it started that the database does not hold."""
    stored = {case.id for case in instances}
    return [
        f"case {case_id} was started but is not stored"
        for case_id in started
        if case_id not in stored
    ]


def duplicated_completions(
    completions: Iterable[Completion], events: Iterable[AuditEvent]
) -> list[str]:
    """A work item acknowledged twice, or a task the audit records as completed twice."""
    acknowledged = Counter(done.work_item_id for done in completions)
    recorded = Counter(e.task_id for e in events if e.action == "task_completed")
    return [
        f"work item {item} was acknowledged {count} times"
        for item, count in acknowledged.items()
        if count > 1
    ] + [
        f"task {task} was completed {count} times" for task, count in recorded.items() if count > 1
    ]


def timers_fired_twice(events: Iterable[AuditEvent]) -> list[str]:
    """A timer task that fired twice: once in all, or for a cycle once per round (due time)."""
    firings: Counter[tuple[int | None, str | None, str | None]] = Counter()
    for event in events:
        if event.action == "timer_fired":
            fired = json.loads(event.payload)
            round_ = fired.get("due_at") if fired.get("kind") == "cycle" else None
            firings[event.instance_id, event.task_id, round_] += 1
    return [
        f"case {case} timer {task} fired {count} times" + (f" for {round_}" if round_ else "")
        for (case, task, round_), count in firings.items()
        if count > 1
    ]


def derived_row_mismatches(runtime: Runtime) -> list[str]:
    """A case whose work items, timer jobs or subscriptions are not what its workflow has open.

    Each open user task has exactly one work item and no work item outlives
    its task; each waiting timer has its job at its due time; each waiting
    message catch its subscription. A mismatch is an orphan or a lost row.
    """
    problems = []
    with runtime.db.reader() as session:
        for instance in session.scalars(select(ProcessInstance).order_by(ProcessInstance.id)):
            workflow = runtime._load(instance)
            stored = _stored_rows(session, instance.id)
            expected = {
                "work items": sorted(str(task.id) for task in open_user_tasks(workflow)),
                "timer jobs": sorted(
                    f"{timer.task.id}@{timer.due_at.isoformat()}"
                    for timer in pending_timers(workflow)
                ),
                "message subscriptions": sorted(
                    str(task.id) for task in waiting_message_catches(workflow)
                ),
            }
            problems += [
                f"case {instance.id} {kind}: stored {stored[kind]}, workflow has {expected[kind]}"
                for kind in expected
                if stored[kind] != expected[kind]
            ]
    return problems


def _stored_rows(session: Session, instance_id: int) -> dict[str, list[str]]:
    def of(model: type[WorkItem] | type[MessageSubscription]) -> list[str]:
        return sorted(session.scalars(select(model.task_id).filter_by(instance_id=instance_id)))

    jobs = session.execute(
        select(TimerJob.task_id, TimerJob.due_at).filter_by(instance_id=instance_id)
    )
    return {
        "work items": of(WorkItem),
        "timer jobs": sorted(f"{task}@{as_utc(due).isoformat()}" for task, due in jobs),
        "message subscriptions": of(MessageSubscription),
    }
