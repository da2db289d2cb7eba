"""The inbox at national scale: 100,000 open cases and 300,000 open work items.

Builds the database by direct inserts (running that many cases through the
engine would take hours; the inbox reads only ``work_item`` and
``process_instance``). Each item is one of the user tasks of the NRM
diagrams drawn evenly, so each role holds its real share of the work: the
measured role, support provider, has 13 of the 44 (about 30%). Due
dates run from 10 days past to 50 days ahead (some overdue, some undated),
a fifth of the items are claimed and 1% of the cases are suspended.

For that role, signed in, it times the engine query sorted by due date with
and without the overdue filter, and ``GET /inbox`` and ``GET /inbox?overdue=1``
through the Flask test client: p50 and p95 over 50 requests after 5 warm-ups,
on SQLite and on PostgreSQL when NRMFLOW_BENCH_POSTGRES_URL is set (in a
schema of its own, dropped afterwards). The issue's target: p95 under 50 ms.
Run: ``python -m benchmarks.inbox_page``.
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from flask.testing import FlaskClient
from lxml import etree
from sqlalchemy import create_engine, text

from benchmarks.bulk import insert_cases, insert_work_items
from benchmarks.table import Figure, below, percentile, render
from engine.clock import FixedClock
from engine.config import load_settings
from engine.db import Database
from engine.inbox import InboxFilters, InboxPage, inbox_page
from engine.layout_model import q
from engine.users import add_user
from web import create_app
from workflows.roles import role_for_lane

NRM_DIAGRAMS = Path(__file__).resolve().parents[1] / "bpmn" / "nrm"
CASES = 100_000
ITEMS_PER_CASE = 3
CASES_PER_BATCH = 10_000  # 30,000 items per executemany: bounded memory, few round trips
ROLE = "support_provider"
USER = "bench.caseworker"
COLLEAGUES = [f"bench.colleague.{n}" for n in range(30)]
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
WARM_UPS = 5
REQUESTS = 50
TARGET_MS = 50


@dataclass(frozen=True)
class UserTask:
    stage: str
    lane: str
    role: str
    task_name: str
    title: str


def nrm_user_tasks() -> list[UserTask]:
    """Every user task of the NRM diagrams with its lane: read, so the shares follow the model."""
    tasks = []
    for path in sorted(NRM_DIAGRAMS.glob("*.bpmn")):
        root = etree.parse(path).getroot()
        names = {task.get("id"): task.get("name") or "" for task in root.iter(q("userTask"))}
        for lane in root.iter(q("lane")):
            lane_name = lane.get("name") or ""
            role = role_for_lane(lane_name)
            for ref in lane.iter(q("flowNodeRef")):
                task_id = (ref.text or "").strip()
                if role is not None and task_id in names:
                    tasks.append(UserTask(path.stem, lane_name, role, task_id, names[task_id]))
    return tasks


def work_item(
    item_id: int, case_id: int, task: UserTask, offered: bool, chance: random.Random
) -> dict[str, Any]:
    """One open item of ``task``: 15% undated, the rest due from 10 days ago to 50 days ahead."""
    due_in = timedelta(minutes=chance.randint(-10 * 24 * 60, 50 * 24 * 60))
    return {
        "id": item_id,
        "instance_id": case_id,
        "task_id": f"bench-{item_id}",
        "task_name": task.task_name,
        "title": task.title,
        "lane": task.lane,
        "role": task.role,
        "form": None,
        "assignee": assignee(chance),
        "due_at": None if chance.random() < 0.15 else NOW + due_in,
        "created_at": NOW - timedelta(minutes=chance.randint(0, 180 * 24 * 60)),
        "stage": task.stage,
        "offered": offered,
    }


def assignee(chance: random.Random) -> str | None:
    """A fifth of the items are claimed, one in ten of those by the measured user."""
    if chance.random() >= 0.2:
        return None
    return USER if chance.random() < 0.1 else chance.choice(COLLEAGUES)


def work_items(
    cases: range, tasks: list[UserTask], chance: random.Random
) -> Iterator[dict[str, Any]]:
    """Three items per case; 1% of the cases are suspended, so their items are not offered."""
    for case_id in cases:
        offered = chance.random() >= 0.01
        for n in range(ITEMS_PER_CASE):
            item_id = (case_id - 1) * ITEMS_PER_CASE + n + 1
            yield work_item(item_id, case_id, chance.choice(tasks), offered, chance)


def seed(db: Database) -> float:
    """The cases, their items and the measured user; returns the seconds it took."""
    started = time.perf_counter()
    chance = random.Random(7)
    tasks = nrm_user_tasks()
    with db.transaction() as session:
        insert_cases(session, {n: f"2026-{n:07d}" for n in range(1, CASES + 1)}, NOW)
        for first in range(1, CASES + 1, CASES_PER_BATCH):
            cases = range(first, min(first + CASES_PER_BATCH, CASES + 1))
            insert_work_items(session, work_items(cases, tasks, chance))
    add_user(db, USER, [ROLE], "Bench Agency", "bench", FixedClock(NOW))
    if db.is_postgresql:
        vacuum(db)
    return time.perf_counter() - started


def vacuum(db: Database) -> None:
    """What autovacuum does within a minute of a bulk load (inserts trigger it since PG 13).

    Without it the visibility map is empty, the counts cannot be read from the
    index alone and the engine query took about five times as long.
    """
    autocommit = db.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    with autocommit as connection:
        connection.execute(text("VACUUM ANALYZE work_item, process_instance"))


def signed_in_client(url: str) -> FlaskClient:
    app = create_app(load_settings({"NRMFLOW_DATABASE_URL": url}), clock=FixedClock(NOW))
    app.config.update(TESTING=True)
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = USER
        session["_fresh"] = True
        session["last_seen"] = NOW.isoformat()
        session.permanent = True
    return client


def timings(run: Callable[[], object]) -> list[float]:
    """Milliseconds of each of the timed runs, after the warm-ups fill caches."""
    for _ in range(WARM_UPS):
        run()
    times = []
    for _ in range(REQUESTS):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    return times


def engine_query(db: Database, filters: InboxFilters) -> Callable[[], InboxPage]:
    """The measured user's first page sorted by due date, as ``GET /inbox`` asks for it."""
    return lambda: inbox_page(db, {ROLE}, USER, filters, "due", 1, NOW)


def page_request(client: FlaskClient, path: str) -> Callable[[], object]:
    def request() -> object:
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        return response

    return request


def role_share(db: Database, label: str) -> list[Figure]:
    """How many items the measured role's inbox holds, and how many of them are overdue."""
    every = engine_query(db, InboxFilters())().total
    overdue = engine_query(db, InboxFilters(overdue=True))().total
    return [
        Figure("inbox", f"{label}: items offered to {ROLE}", every, "items"),
        Figure("inbox", f"{label}: of them overdue", overdue, "items"),
    ]


def measure(label: str, url: str) -> list[Figure]:
    db = Database(url)
    try:
        db.upgrade()
        seconds = seed(db)
        print(f"{label}: {CASES:,} cases seeded in {seconds:.1f} s", file=sys.stderr)
        client = signed_in_client(url)
        runs = {
            "engine query, by due date": engine_query(db, InboxFilters()),
            "engine query, overdue": engine_query(db, InboxFilters(overdue=True)),
            "GET /inbox": page_request(client, "/inbox"),
            "GET /inbox?overdue=1": page_request(client, "/inbox?overdue=1"),
        }
        items = CASES * ITEMS_PER_CASE
        figures = [
            Figure("inbox", f"{label}: seed {CASES:,} cases, {items:,} items", seconds, "s"),
            *role_share(db, label),
        ]
        for what, run in runs.items():
            times = timings(run)
            figures.append(Figure("inbox", f"{label}: {what}, p50", percentile(times, 0.5), "ms"))
            p95 = percentile(times, 0.95)
            figures.append(below("inbox", f"{label}: {what}, p95", p95, "ms", TARGET_MS))
        return figures
    finally:
        db.dispose()


@contextmanager
def postgres_schema(url: str) -> Iterator[str]:
    """A schema of its own, so the run neither meets nor leaves rows in that database."""
    schema = f"bench_inbox_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in url else "?"
    try:
        yield f"{url}{separator}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def figures() -> list[Figure]:
    with tempfile.TemporaryDirectory() as directory:
        rows = measure("SQLite", f"sqlite:///{directory}/bench.db")
    postgres_url = os.environ.get("NRMFLOW_BENCH_POSTGRES_URL")
    if postgres_url:
        with postgres_schema(postgres_url) as url:
            rows += measure("PostgreSQL", url)
    return rows


def main() -> None:
    print(render(figures()))


if __name__ == "__main__":
    sys.exit(main())
