"""The inbox page at 10,000 open work items, in one run.

Builds a database with 10,000 open items by direct inserts, every one of
them in the role of the signed-in user (the worst case for one role: every
item matches the default view and is counted), then times the engine query
alone and the whole page through the Flask test client, signed in: the
default view, the overdue filter and a deep page sorted by case reference.
p50 and p95 over 50 requests after 5 warm-ups, on SQLite and on PostgreSQL
when NRMFLOW_BENCH_POSTGRES_URL is set (in a schema of its own, dropped
afterwards). The issue's target is a page under 300 ms.
Run: ``make bench`` or ``python -m benchmarks.inbox_page``.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from flask.testing import FlaskClient
from sqlalchemy import create_engine, text

from benchmarks.bulk import insert_cases, insert_work_items
from engine.clock import FixedClock
from engine.config import load_settings
from engine.db import Database
from engine.inbox import InboxFilters, inbox_page
from engine.users import add_user
from web import create_app

ITEMS = 10_000
ITEMS_PER_CASE = 4
STAGES = [f"stage_{n}" for n in range(5)]
ROLE = "support_provider"
USER = "bench.caseworker"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
WARM_UPS = 5
REQUESTS = 50


def seed(db: Database) -> None:
    """One model version, 2,500 cases, 10,000 items: 30% undated, 20% claimed."""
    chance = random.Random(7)
    cases = ITEMS // ITEMS_PER_CASE
    with db.transaction() as session:
        references = {n: f"2026-{chance.randrange(16**8):08X}-{n:05d}" for n in range(1, cases + 1)}
        insert_cases(session, references, NOW)
        insert_work_items(
            session,
            [
                {
                    "id": n,
                    "instance_id": (n - 1) // ITEMS_PER_CASE + 1,
                    "task_id": f"bench-{n}",
                    "task_name": f"task_{n % 40}",
                    "title": f"Task number {n % 40}",
                    "lane": "Support Provider",
                    "role": ROLE,
                    "form": None,
                    "assignee": USER if chance.random() < 0.2 else None,
                    "due_at": (
                        None
                        if chance.random() < 0.3
                        else NOW + timedelta(hours=chance.randint(-20 * 24, 40 * 24))
                    ),
                    "created_at": NOW - timedelta(minutes=chance.randint(0, 60 * 24 * 90)),
                    "stage": chance.choice(STAGES),
                }
                for n in range(1, ITEMS + 1)
            ],
        )
    add_user(db, USER, [ROLE], "Bench Agency", "bench", FixedClock(NOW))
    if db.is_postgresql:
        with db.engine.begin() as connection:
            connection.execute(text("ANALYZE"))  # as autovacuum soon would after a bulk load


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


def percentiles(run: Callable[[], object]) -> tuple[float, float]:
    """p50 and p95 in milliseconds."""
    for _ in range(WARM_UPS):
        run()
    times = []
    for _ in range(REQUESTS):
        started = time.perf_counter()
        run()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), statistics.quantiles(times, n=20)[18]


def page_request(client: FlaskClient, path: str) -> Callable[[], object]:
    def request() -> object:
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        return response

    return request


def measure(label: str, url: str) -> list[tuple[str, str, float, float]]:
    db = Database(url)
    try:
        db.upgrade()
        seed(db)
        client = signed_in_client(url)
        rows = [
            (
                label,
                "engine query (default view)",
                *percentiles(lambda: inbox_page(db, {ROLE}, USER, InboxFilters(), "due", 1, NOW)),
            )
        ]
        for what, path in (
            ("GET /inbox (default sort)", "/inbox"),
            ("GET /inbox?overdue=1", "/inbox?overdue=1"),
            ("GET /inbox?sort=reference&page=150", "/inbox?sort=reference&page=150"),
        ):
            rows.append((label, what, *percentiles(page_request(client, path))))
        return rows
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


def main() -> None:
    with tempfile.TemporaryDirectory() as directory:
        rows = measure("SQLite", f"sqlite:///{directory}/bench.db")
    postgres_url = os.environ.get("NRMFLOW_BENCH_POSTGRES_URL")
    if postgres_url:
        with postgres_schema(postgres_url) as url:
            rows += measure("PostgreSQL", url)

    print(f"inbox at {ITEMS:,} open items, all in the signed-in user's one role")
    print(f"{'database':<12}{'measured':<38}{'p50 ms':>9}{'p95 ms':>9}")
    for database, what, p50, p95 in rows:
        print(f"{database:<12}{what:<38}{p50:>9.1f}{p95:>9.1f}")


if __name__ == "__main__":
    sys.exit(main())
