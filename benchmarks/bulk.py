"""Direct inserts of placeholder cases and work items, for benchmarks and large tests.

Tens of thousands of inbox rows are needed to measure the inbox; running
that many real cases through the engine would take minutes, and the inbox
reads only these two tables.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from engine.models import ProcessInstance, ProcessModelVersion, WorkItem


def insert_cases(session: Session, references: dict[int, str], now: datetime) -> None:
    """One placeholder model version and a waiting case per (id, reference)."""
    session.add(
        ProcessModelVersion(
            id=1,
            key="placeholder",
            version=1,
            name="Placeholder",
            content_hash="0" * 64,
            source_files=b"",
            spec=b"",
            deployed_by="bulk",
            deployed_at=now,
            validation_report="",
        )
    )
    session.flush()
    session.execute(
        insert(ProcessInstance),
        [
            {
                "id": case_id,
                "model_version_id": 1,
                "business_key": reference,
                "status": "waiting",
                "state": b"",
                "revision": 1,
                "started_by": "bulk",
                "started_at": now,
                "updated_at": now,
            }
            for case_id, reference in references.items()
        ],
    )


def insert_work_items(session: Session, rows: Iterable[dict[str, Any]]) -> None:
    # render_nulls keeps every row's keys alike, so it stays one executemany
    session.execute(insert(WorkItem).execution_options(render_nulls=True), list(rows))
