"""Backups of the embedded SQLite database, checked before they are trusted.

``backup`` copies the live database with SQLite's online backup API: a
consistent snapshot even while the server and the worker write, page by
page, without stopping them. The copy is then checked as a restore would
check it. ``restore`` refuses a file that is not a sound nrmflow database
(SQLite's integrity check, a schema revision this release knows, an intact
audit chain) before it overwrites anything, and writes it into the target
with the same API, so a reader never sees half a database.

PostgreSQL deployments use ``pg_dump`` / ``pg_restore`` (README
"Backup and restore"): the database server owns consistency there, and a
Python copy of it would be slower and worse.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from engine.audit_search import verify_chain
from engine.db import Database, alembic_config
from engine.errors import EngineError


class BackupRefused(EngineError):
    """The backup or restore cannot be done as asked; nothing was changed."""


@dataclass(frozen=True)
class BackupCheck:
    """What a backup file holds, as checked: its schema revision and its audit chain."""

    path: Path
    revision: str
    audit_events: int
    audit_head: str

    def to_json(self) -> dict[str, object]:
        return {**vars(self), "path": str(self.path)}


def backup(database_url: str, target: Path) -> BackupCheck:
    """Copy the live SQLite database to ``target`` (which must not exist) and check the copy."""
    source = _sqlite_path(database_url)
    if target.exists():
        raise BackupRefused(f"{target} exists; choose a new file (a backup never overwrites one)")
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    _copy(source, partial)
    try:
        check = check_backup(partial)
    except BackupRefused:
        partial.unlink(missing_ok=True)
        raise
    partial.rename(target)
    return BackupCheck(target, check.revision, check.audit_events, check.audit_head)


def restore(backup_file: Path, database_url: str) -> BackupCheck:
    """Replace the SQLite database at ``database_url`` with ``backup_file``, once it is checked.

    Stop the server and the worker first: they would keep writing to the
    database they had open, on top of the restored one.
    """
    target = _sqlite_path(database_url)
    check = check_backup(backup_file)
    _copy(backup_file, target)
    return check


def check_backup(path: Path) -> BackupCheck:
    """Refuse anything but a sound nrmflow database this release can run."""
    if not path.is_file():
        raise BackupRefused(f"{path} is not a file")
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as connection:
            (verdict,) = connection.execute("PRAGMA integrity_check").fetchone()
    except sqlite3.DatabaseError:
        raise BackupRefused(f"{path} is not an SQLite database") from None
    if verdict != "ok":
        raise BackupRefused(f"{path} is damaged (SQLite integrity check failed)")
    database = Database(f"sqlite:///{path}")
    try:
        revision = _revision(database)
        chain = verify_chain(database)
    finally:
        database.dispose()
    if not chain.intact:
        raise BackupRefused(
            f"{path}: the audit chain is broken at event {chain.first_bad_seq} ({chain.reason})"
        )
    return BackupCheck(path, revision, chain.count, chain.last_hash)


def _revision(database: Database) -> str:
    known = {s.revision for s in ScriptDirectory.from_config(alembic_config()).walk_revisions()}
    with database.engine.connect() as connection:
        revision = MigrationContext.configure(connection).get_current_revision()
    if revision is None:
        raise BackupRefused("the file holds no nrmflow database (no schema revision)")
    if revision not in known:
        raise BackupRefused(
            f"the backup's schema revision {revision} is newer than this release knows; "
            "restore it with the release that made it"
        )
    return revision


def _copy(source: Path, target: Path) -> None:
    """SQLite's online backup: a consistent snapshot of ``source`` written into ``target``."""
    with (
        closing(sqlite3.connect(f"file:{source}?mode=ro", uri=True)) as reader,
        closing(sqlite3.connect(target)) as writer,
    ):
        reader.backup(writer)


def _sqlite_path(database_url: str) -> Path:
    if not database_url.startswith("sqlite:///") or database_url.endswith(":memory:"):
        raise BackupRefused(
            "nrmflow backup and restore work on the embedded SQLite database; on PostgreSQL "
            "use pg_dump and pg_restore (README: Backup and restore)"
        )
    return Path(database_url.removeprefix("sqlite:///"))
