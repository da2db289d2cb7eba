"""Plain read models handed out of the engine, detached from the session."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from engine.clock import as_utc
from engine.models import ProcessInstance, WorkItem


@dataclass(frozen=True)
class WorkItemView:
    id: int
    instance_id: int
    business_key: str
    task_name: str
    title: str
    lane: str | None
    role: str | None
    form: str | None
    assignee: str | None
    due_at: datetime | None
    created_at: datetime
    stage: str | None = None

    @classmethod
    def of(cls, item: WorkItem, business_key: str) -> WorkItemView:
        return cls(
            id=item.id,
            instance_id=item.instance_id,
            business_key=business_key,
            task_name=item.task_name,
            title=item.title,
            lane=item.lane,
            role=item.role,
            form=item.form,
            assignee=item.assignee,
            due_at=as_utc(item.due_at) if item.due_at else None,
            created_at=as_utc(item.created_at),
            stage=item.stage,
        )

    def to_json(self) -> dict[str, Any]:
        return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in asdict(self).items()}


@dataclass(frozen=True)
class CaseView:
    id: int
    business_key: str
    process_key: str
    model_version: int
    status: str
    revision: int
    work_items: list[WorkItemView]

    @classmethod
    def of(cls, instance: ProcessInstance, items: list[WorkItem]) -> CaseView:
        return cls(
            id=instance.id,
            business_key=instance.business_key,
            process_key=instance.model_version.key,
            model_version=instance.model_version.version,
            status=instance.status,
            revision=instance.revision,
            work_items=[WorkItemView.of(i, instance.business_key) for i in items],
        )

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["work_items"] = [w.to_json() for w in self.work_items]
        return data
