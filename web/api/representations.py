"""Engine views as the API's JSON (see ``web.api.schemas`` for their schemas)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from engine.case_list import CaseSummary
from engine.views import CaseView, WorkItemView


class _Page(Protocol):
    @property
    def total(self) -> int: ...
    @property
    def page(self) -> int: ...
    @property
    def pages(self) -> int: ...


def page_json(page: _Page, items: list[dict[str, Any]]) -> dict[str, Any]:
    """One page of a list, as ``schemas.page_of`` describes it."""
    return {"items": items, "total": page.total, "page": page.page, "pages": page.pages}


def timestamp(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def work_item_json(item: WorkItemView, now: datetime) -> dict[str, Any]:
    return {
        "id": item.id,
        "case_id": item.instance_id,
        "reference": item.business_key,
        "task": item.task_name,
        "title": item.title,
        "stage": item.stage,
        "lane": item.lane,
        "role": item.role,
        "assignee": item.assignee,
        "due_at": timestamp(item.due_at),
        "created_at": timestamp(item.created_at),
        "overdue": item.due_at is not None and item.due_at < now,
    }


def case_json(case: CaseView, now: datetime) -> dict[str, Any]:
    return {
        "id": case.id,
        "reference": case.business_key,
        "status": case.status,
        "process_key": case.process_key,
        "model_version": case.model_version,
        "revision": case.revision,
        "work_items": [work_item_json(item, now) for item in case.work_items],
    }


def case_summary_json(case: CaseSummary) -> dict[str, Any]:
    return {
        "id": case.id,
        "reference": case.reference,
        "status": case.status,
        "process_key": case.process_key,
        "model_version": case.model_version,
        "started_at": timestamp(case.started_at),
        "updated_at": timestamp(case.updated_at),
    }
