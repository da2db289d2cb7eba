"""``nrmflow migrate``: move running cases to a newer version of their process model.

``--dry-run`` says for each case whether it can move and, if not, why; it
changes nothing. Without it each case moves in its own transaction, so one
that cannot move never holds the others back. The exit code is 1 when any
selected case could not move. With ``--as`` the command acts for that person
and only the NRM coordinator may; without it the operator acts and the audit
names ``cli``.
"""

from __future__ import annotations

import sys
from dataclasses import asdict

import click

from cli.main import CLI_ACTOR, Context, json_option, main
from engine.case_migration import (
    MigrationCheck,
    MigrationResult,
    cases_behind,
    migrate,
    preview,
    target_version_id,
)
from engine.case_suspension import case_id_for

AS_HELP = "The coordinator acting (else the audit names the operator, 'cli')."


@main.command("migrate")
@click.argument("references", nargs=-1)
@click.option("--to-version", "number", type=int, required=True, help="The version to move to.")
@click.option("--key", default=None, help="The process (else the one the named cases run).")
@click.option("--all", "every", is_flag=True, help="Every running case of --key on an older one.")
@click.option("--dry-run", is_flag=True, help="Only say which cases can move, or why not.")
@click.option("--as", "actor", default=None, help=AS_HELP)
@json_option
def migrate_cases(
    ctx: Context,
    references: tuple[str, ...],
    number: int,
    key: str | None,
    every: bool,
    dry_run: bool,
    actor: str | None,
) -> None:
    """Move cases REFERENCE... (or --all of --key) to version N of their process model."""
    case_ids = _selected_cases(ctx, references, key, every, number)
    if not case_ids:
        ctx.emit([], "no case to move")
        return
    version_id = target_version_id(ctx.db, number, key, case_ids[0])
    if dry_run:
        checks = preview(ctx.runtime, case_ids, version_id)
        ctx.emit([asdict(c) for c in checks], "\n".join(_check_line(c) for c in checks))
        moved = all(c.can_move for c in checks)
    else:
        authority = ctx.runtime.hooks.may_migrate if actor else None
        results = migrate(ctx.runtime, case_ids, version_id, actor or CLI_ACTOR, authority)
        ctx.emit([asdict(r) for r in results], "\n".join(_result_line(r, number) for r in results))
        moved = all(r.migrated for r in results)
    if not moved:
        sys.exit(1)


def _selected_cases(
    ctx: Context, references: tuple[str, ...], key: str | None, every: bool, number: int
) -> list[int]:
    if every == bool(references):
        raise click.UsageError("name the cases to move, or give --all (with --key), not both")
    if not every:
        return [case_id_for(ctx.db, reference) for reference in references]
    if key is None:
        raise click.UsageError("--all moves the cases of one process: name it with --key")
    return cases_behind(ctx.db, key, number)


def _check_line(check: MigrationCheck) -> str:
    versions = f"v{check.from_version} to v{check.to_version}"
    if not check.can_move:
        return f"{check.reference}: cannot move {versions}: {'; '.join(check.reasons)}"
    changed = f" (changed: {', '.join(check.changed)})" if check.changed else ""
    return f"{check.reference}: can move {versions}{changed}"


def _result_line(result: MigrationResult, number: int) -> str:
    if result.migrated:
        return f"{result.reference}: moved to v{number}"
    return f"{result.reference or result.case_id}: not moved: {result.reason}"
