"""Read-only views of cases and work items: indexed SQL, never a workflow load."""

from __future__ import annotations

from sqlalchemy import select

from engine.db import Database
from engine.errors import CaseNotFound
from engine.models import ProcessInstance, WorkItem
from engine.users import find_user
from engine.views import CaseView, WorkItemView


def open_work_items(
    db: Database, role: str | None = None, actor: str | None = None
) -> list[WorkItemView]:
    """Open items of cases not suspended, optionally of a role and/or that an actor may work on."""
    with db.reader() as session:
        query = (
            select(WorkItem, ProcessInstance.business_key)
            .join(ProcessInstance)
            .where(ProcessInstance.suspended_at.is_(None))  # a suspended case offers nothing
        )
        if role is not None:
            query = query.where(WorkItem.role == role)
        if actor is not None:
            roles = find_user(session, actor).role_names
            query = query.where(WorkItem.role.in_(roles))
        query = query.order_by(WorkItem.due_at.is_(None), WorkItem.due_at, WorkItem.id)
        return [WorkItemView.of(item, key) for item, key in session.execute(query)]


def case_view(db: Database, instance_id: int) -> CaseView:
    with db.reader() as session:
        instance = session.get(ProcessInstance, instance_id)
        if instance is None:
            raise CaseNotFound(f"no case {instance_id}")
        items = list(session.scalars(select(WorkItem).filter_by(instance_id=instance_id)))
        return CaseView.of(instance, items)
