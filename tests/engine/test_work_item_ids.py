"""A work item's id is never given to another task, even after every item is gone."""

from __future__ import annotations

from sqlalchemy import delete, func, select

from engine.clock import FixedClock
from engine.db import Database
from engine.models import WorkItem
from tests.workflows.nrm_driver import NrmCase, nrm_runtime


def _new_item(db: Database, instance_id: int, task_id: str, clock: FixedClock) -> int:
    with db.transaction() as session:
        item = WorkItem(
            instance_id=instance_id,
            task_id=task_id,
            task_name="t",
            title="t",
            created_at=clock.now(),
        )
        session.add(item)
        session.flush()
        return item.id


def test_an_id_is_not_reused_after_the_table_empties(db: Database, clock: FixedClock) -> None:
    """Items are deleted when done; SQLite without AUTOINCREMENT hands out max id + 1 again,
    so a late "claim item 7" from a stale screen would take another person's task."""
    case = NrmCase.refer(nrm_runtime(db, clock), db, clock)
    highest = case.item("screen_indicators").id
    with db.transaction() as session:
        session.execute(delete(WorkItem))
        assert session.scalar(select(func.count(WorkItem.id))) == 0
    assert _new_item(db, case.view.id, "a-later-task", clock) > highest
