"""Real databases for every test: a SQLite file each, and a PostgreSQL schema each
when ``NRMFLOW_TEST_DATABASE_URL`` is set (CI sets it). Never a mocked database."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import pytest
from argon2 import PasswordHasher
from sqlalchemy import create_engine, text

from engine import accounts
from engine.clock import FixedClock
from engine.db import Database

POSTGRES_URL = os.environ.get("NRMFLOW_TEST_DATABASE_URL")
BACKENDS = ["sqlite", "postgresql"] if POSTGRES_URL else ["sqlite"]


@contextmanager
def fresh_database_url(backend: str, sqlite_file: Path) -> Iterator[str]:
    """An empty database: ``sqlite_file``, or a PostgreSQL schema dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{sqlite_file}"
        return
    assert POSTGRES_URL is not None
    schema = f"test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in POSTGRES_URL else "?"
    yield f"{POSTGRES_URL}{separator}options={quote(f'-csearch_path={schema}')}"
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    with fresh_database_url(request.param, tmp_path / "nrmflow.db") as url:
        yield url


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database(database_url)
    database.upgrade()
    yield database
    database.dispose()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))


# argon2id as cheap as it goes: the same algorithm and checks, without production's cost
TEST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@pytest.fixture(autouse=True, scope="session")
def cheap_password_hashing() -> Iterator[None]:
    """At production cost (64 MiB, 3 passes) one hash takes 0.12 s, and seeding the demo
    users hashes once per test: minutes of the suite. The cost itself is tested with
    ``production_password_hashing``."""
    production = accounts._hasher
    accounts._hasher = TEST_HASHER
    yield
    accounts._hasher = production


@pytest.fixture
def production_password_hashing() -> Iterator[None]:
    accounts._hasher = PasswordHasher()
    yield
    accounts._hasher = TEST_HASHER
