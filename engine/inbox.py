"""The inbox: one page of the open work items of a person's roles, and its counts.

It reads only ``work_item`` (joined to ``process_instance`` for the case
reference) with filters the indexes serve, and never loads a workflow; a
suspended case's items carry ``offered = false`` and are left out. The
counts are GROUP BY queries over the same filter as the page, so they hold
for every matching item however many pages there are, and per role and per
stage they add up to the total.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, TypeVar

from sqlalchemy import ColumnElement, CompoundSelect, exists, func, null, select, union_all
from sqlalchemy.orm import Session

from engine.clock import as_utc
from engine.db import Database
from engine.models import ProcessInstance, User, UserRole, WorkItem
from engine.views import WorkItemView

PAGE_SIZE = 50
Sort = Literal["due", "created", "reference", "task"]
SORTS: tuple[Sort, ...] = ("due", "created", "reference", "task")
DueState = Literal["overdue", "due_today"]
_Row = TypeVar("_Row", bound=tuple[Any, ...])


@dataclass(frozen=True)
class InboxFilters:
    """What a person narrows the inbox to; ``None`` / ``False`` means no narrowing."""

    role: str | None = None
    stage: str | None = None
    overdue: bool = False
    assigned_to_me: bool = False


@dataclass(frozen=True)
class InboxEntry:
    item: WorkItemView
    due: DueState | None

    @property
    def overdue(self) -> bool:
        return self.due == "overdue"

    @property
    def due_today(self) -> bool:
        return self.due == "due_today"


@dataclass(frozen=True)
class InboxPage:
    items: list[InboxEntry]
    total: int
    by_role: dict[str, int]
    by_stage: dict[str | None, int]
    page: int
    pages: int
    # every stage the person's roles have open items in: the stage filter's choices,
    # which must not shrink to the chosen one as the counts do
    stages: list[str | None]


def due_state(due_at: datetime | None, now: datetime) -> DueState | None:
    """Overdue once the due time has passed; due today until midnight UTC after ``now``."""
    if due_at is None:
        return None
    due_at, now = as_utc(due_at), as_utc(now)
    if due_at < now:
        return "overdue"
    end_of_today = now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    return "due_today" if due_at < end_of_today else None


def inbox_page(
    db: Database,
    roles: Collection[str],
    username: str,
    filters: InboxFilters,
    sort: Sort,
    page: int,
    now: datetime,
) -> InboxPage:
    """The ``page``-th page (from 1, clamped to the pages there are) of the items ``roles`` work.

    A role filter outside ``roles`` matches nothing: the inbox never shows
    another role's items, whatever the request says.
    """
    if sort not in SORTS:
        raise ValueError(f"unknown inbox sort '{sort}'")
    now = as_utc(now)
    held = sorted(set(roles))
    wanted = [filters.role] if filters.role is not None else held
    wanted = [role for role in wanted if role in held]
    if not wanted:
        return InboxPage([], 0, dict.fromkeys(held, 0), {}, 1, 1, [])
    with db.reader() as session:
        matching = _conditions(wanted, username, filters, now)
        by_role: Counter[str] = Counter()
        by_stage: Counter[str | None] = Counter()
        counted = select(WorkItem.role, WorkItem.stage, func.count()).where(*matching)
        for role, stage, count in session.execute(counted.group_by(WorkItem.role, WorkItem.stage)):
            by_role[role] += count
            by_stage[stage] += count
        total = sum(by_role.values())
        pages = max(1, -(-total // PAGE_SIZE))
        page = min(max(1, page), pages)
        entries = [
            InboxEntry(view, due_state(view.due_at, now))
            for view in _page_items(session, matching, sort, page)
        ]
        stages = {stage for role in held for stage in session.scalars(_stages_of(role))}
        return InboxPage(
            items=entries,
            total=total,
            by_role={role: by_role[role] for role in held},
            by_stage=dict(sorted(by_stage.items(), key=lambda kv: kv[0] or "")),
            page=page,
            pages=pages,
            stages=sorted(stages, key=lambda stage: stage or ""),
        )


def colleagues_for(db: Database, agency: str | None, role: str) -> list[str]:
    """Who a supervisor of ``agency`` may hand an item of ``role`` to.

    Someone without an agency has no colleagues: reassigning stays within an
    agency that is named.
    """
    if agency is None:
        return []
    with db.reader() as session:
        return list(
            session.scalars(
                select(User.username)
                .join(UserRole, UserRole.user_id == User.id)
                .where(User.agency == agency, UserRole.role == role)
                .order_by(User.username)
            )
        )


def _conditions(
    roles: list[str], username: str, filters: InboxFilters, now: datetime
) -> list[ColumnElement[bool]]:
    conditions = [WorkItem.role.in_(roles), WorkItem.offered.is_(True)]
    if filters.stage is not None:
        conditions.append(WorkItem.stage == filters.stage)
    if filters.overdue:
        conditions.append(WorkItem.due_at < now)
    if filters.assigned_to_me:
        conditions.append(WorkItem.assignee == username)
    return conditions


def _stages_of(role: str) -> CompoundSelect:
    """The stages ``role`` has open items in, found by jumping from each to the next in
    ix_work_item_role_stage_due: a probe per stage instead of reading every item of the role.
    """
    offered = (WorkItem.role == role, WorkItem.offered.is_(True))
    found = select(func.min(WorkItem.stage).label("stage")).where(*offered).cte(recursive=True)
    following = select(func.min(WorkItem.stage)).where(*offered, WorkItem.stage > found.c.stage)
    found = found.union_all(select(following.scalar_subquery()).where(found.c.stage.is_not(None)))
    unstaged = select(null()).where(exists().where(*offered, WorkItem.stage.is_(None)))
    return union_all(select(found.c.stage).where(found.c.stage.is_not(None)), unstaged)


def _page_items(
    session: Session, matching: list[ColumnElement[bool]], sort: Sort, page: int
) -> list[WorkItemView]:
    """Sort and skip on narrow rows (the sort key and the id), then load the page's 50.

    Sorting whole rows made a deep page several times slower on SQLite.
    """
    ids = select(WorkItem.id).where(*matching)
    if sort == "reference":
        ids = ids.join(ProcessInstance, WorkItem.instance_id == ProcessInstance.id)
    page_ids = list(
        session.scalars(ids.order_by(*_order(sort)).limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE))
    )
    if not page_ids:
        return []
    rows = session.execute(
        select(WorkItem, ProcessInstance.business_key)
        .join(ProcessInstance, WorkItem.instance_id == ProcessInstance.id)
        .where(WorkItem.id.in_(page_ids))
    )
    views = {item.id: WorkItemView.of(item, key) for item, key in rows}
    return [views[item_id] for item_id in page_ids if item_id in views]


def _order(sort: Sort) -> tuple[Any, ...]:
    """Each sort ends on the id, so pages never overlap or skip an item."""
    if sort == "due":
        return (WorkItem.due_at.asc().nulls_last(), WorkItem.id)
    if sort == "created":
        return (WorkItem.created_at, WorkItem.id)
    if sort == "reference":
        return (ProcessInstance.business_key, WorkItem.id)
    return (WorkItem.title, WorkItem.id)
