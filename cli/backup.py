"""``nrmflow backup FILE`` / ``nrmflow restore FILE``: a checked copy of the SQLite database."""

from __future__ import annotations

from pathlib import Path

import click

from cli.main import Context, json_option, main
from engine.backup import BackupCheck, backup, restore


@main.command("backup")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@json_option
def backup_database(ctx: Context, file: Path) -> None:
    """Copy the live database to FILE (a new file), then check the copy's audit chain."""
    _emit(ctx, backup(ctx.settings.database_url, file), "backed up")


@main.command("restore")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--yes", is_flag=True, help="Confirm: the current database is replaced by FILE.")
@json_option
def restore_database(ctx: Context, file: Path, yes: bool) -> None:
    """Replace the database with FILE once it is checked; stop the server and worker first."""
    if not yes:
        raise click.UsageError("restoring replaces every case in the database: add --yes")
    _emit(ctx, restore(file, ctx.settings.database_url), "restored")


def _emit(ctx: Context, check: BackupCheck, done: str) -> None:
    ctx.emit(
        check.to_json(),
        f"{done} {check.path}: schema {check.revision}, audit chain intact "
        f"({check.audit_events} events, head {check.audit_head[:16]})",
    )
