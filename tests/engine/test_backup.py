"""Backup and restore of the SQLite database: a checked copy, restored whole, chain intact."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select

from cli.main import main
from engine.audit_search import verify_chain
from engine.backup import BackupRefused, backup, check_backup, restore
from engine.clock import FixedClock
from engine.db import Database
from engine.models import ProcessInstance
from tests.engine.helpers import item_named, sample_runtime

Run = Callable[..., Result]


@pytest.fixture
def live(tmp_path: Path) -> Iterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'live.db'}")
    database.upgrade()
    yield database
    database.dispose()


@pytest.fixture
def cli(live: Database) -> Run:
    def run(*args: str, expect: int = 0) -> Result:
        result = CliRunner().invoke(main, list(args), env={"NRMFLOW_DATABASE_URL": live.url})
        assert result.exit_code == expect, (result.output, result.exception)
        return result

    return run


def _cases(db: Database) -> list[tuple[str, int]]:
    with db.reader() as session:
        rows = session.execute(select(ProcessInstance.business_key, ProcessInstance.revision))
        return sorted((key, revision) for key, revision in rows)


def test_a_backup_restores_the_database_as_it_was_with_its_chain_intact(
    live: Database, clock: FixedClock, tmp_path: Path, cli: Run
) -> None:
    runtime = sample_runtime(live, clock)
    case = runtime.start("sample_case", {}, "clara")
    snapshot = _cases(live)
    events_then = verify_chain(live).count

    out = cli("backup", str(tmp_path / "nightly.db"))
    assert "audit chain intact" in out.output and f"({events_then} events" in out.output
    intake = item_named(case, "intake")
    runtime.complete(intake.id, {"applicant_ref": "R", "amount": 5, "urgent": True}, "clara")
    runtime.start("sample_case", {}, "clara")
    assert _cases(live) != snapshot

    cli("restore", str(tmp_path / "nightly.db"), expect=2)  # refused without --yes
    cli("restore", str(tmp_path / "nightly.db"), "--yes")

    assert _cases(live) == snapshot
    after = verify_chain(live)
    assert after.intact and after.count == events_then
    assert live.is_current()


def test_a_backup_never_overwrites_a_file(live: Database, tmp_path: Path) -> None:
    existing = tmp_path / "kept.db"
    existing.write_bytes(b"something precious")
    with pytest.raises(BackupRefused, match="exists"):
        backup(live.url, existing)
    assert existing.read_bytes() == b"something precious"


def test_restore_refuses_a_tampered_backup_and_changes_nothing(
    live: Database, clock: FixedClock, tmp_path: Path
) -> None:
    runtime = sample_runtime(live, clock)
    runtime.start("sample_case", {}, "clara")
    copy = backup(live.url, tmp_path / "copy.db").path
    with closing(sqlite3.connect(copy)) as connection, connection:
        connection.execute("UPDATE audit_event SET actor = 'someone else' WHERE seq = 2")
    runtime.start("sample_case", {}, "clara")
    before = _cases(live)

    with pytest.raises(BackupRefused, match="audit chain is broken at event 2"):
        restore(copy, live.url)
    assert _cases(live) == before


@pytest.mark.parametrize(
    ("content", "why"),
    [(b"not a database at all" * 100, "not an SQLite database"), (None, "no schema revision")],
)
def test_restore_refuses_what_is_not_an_nrmflow_database(
    live: Database, tmp_path: Path, content: bytes | None, why: str
) -> None:
    odd = tmp_path / "odd.db"
    if content is None:
        with closing(sqlite3.connect(odd)) as connection:
            connection.execute("CREATE TABLE t (x)")
    else:
        odd.write_bytes(content)
    with pytest.raises(BackupRefused, match=why):
        check_backup(odd)


def test_a_backup_from_a_newer_release_is_refused(live: Database, tmp_path: Path) -> None:
    newer = backup(live.url, tmp_path / "newer.db").path
    with closing(sqlite3.connect(newer)) as connection, connection:
        connection.execute("UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(BackupRefused, match="newer than this release"):
        check_backup(newer)


def test_postgresql_is_pointed_to_pg_dump() -> None:
    with pytest.raises(BackupRefused, match="pg_dump"):
        backup("postgresql+psycopg://postgres@127.0.0.1/nrmflow", Path("x.db"))
