"""Pages of the cases a person may see, straight from indexed columns (no workflow loads).

What "may see" means is the domain's rule (``Hooks.may_view_case``): it is
asked whether the viewer sees a case with no open work at all (an overseer,
who sees every case); everyone else sees the cases with open work for one of
their roles, which is exactly what that rule grants them.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import exists, func, select

from engine.clock import as_utc
from engine.db import Database
from engine.models import ProcessInstance, ProcessModelVersion, WorkItem

CASES_PER_PAGE = 50


@dataclass(frozen=True)
class CaseSummary:
    id: int
    reference: str
    status: str
    process_key: str
    model_version: int
    started_at: datetime
    updated_at: datetime


@dataclass(frozen=True)
class CasePage:
    items: list[CaseSummary]
    total: int
    page: int
    pages: int


def case_page(db: Database, roles: Collection[str], sees_every_case: bool, page: int) -> CasePage:
    """The ``page``-th page (from 1, clamped) of visible cases, newest first."""
    conditions = []
    if not sees_every_case:
        conditions.append(
            exists().where(WorkItem.instance_id == ProcessInstance.id, WorkItem.role.in_(roles))
        )
    with db.reader() as session:
        total = session.scalar(select(func.count(ProcessInstance.id)).where(*conditions)) or 0
        pages = max(1, -(-total // CASES_PER_PAGE))
        page = min(max(1, page), pages)
        rows = session.execute(
            select(ProcessInstance, ProcessModelVersion.key, ProcessModelVersion.version)
            .join(ProcessModelVersion, ProcessInstance.model_version_id == ProcessModelVersion.id)
            .where(*conditions)
            .order_by(ProcessInstance.started_at.desc(), ProcessInstance.id.desc())
            .limit(CASES_PER_PAGE)
            .offset((page - 1) * CASES_PER_PAGE)
        )
        items = [
            CaseSummary(
                instance.id,
                instance.business_key,
                instance.status,
                key,
                version,
                as_utc(instance.started_at),
                as_utc(instance.updated_at),
            )
            for instance, key, version in rows
        ]
    return CasePage(items, total, page, pages)
