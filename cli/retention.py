"""``nrmflow retention``: erase the personal data of closed cases, on schedule or on request.

``run`` is meant for a daily cron job or systemd timer: it erases every
closed case whose retention date has passed, each in its own transaction, so
one refusal never holds back the rest. ``erase`` carries out a verified
erasure request now, whatever the retention date; the request's reference
and who verified the requester go into the audit trail, never who asked.
Both are irreversible, so ``erase`` asks for ``--yes`` and ``run`` has
``--dry-run``.
"""

from __future__ import annotations

import click

from cli.main import CLI_ACTOR, Context, json_option, main
from engine.case_suspension import case_id_for
from engine.retention import (
    ERASURE_REQUEST,
    RETENTION_ENDED,
    Erasure,
    ErasureRefused,
    due_for_erasure,
    erase_case,
)


@main.group()
def retention() -> None:
    """Erase the personal data of closed cases (retention ended, or a verified request)."""


@retention.command("run")
@click.option("--dry-run", is_flag=True, help="List the cases that are due; erase nothing.")
@json_option
def retention_run(ctx: Context, dry_run: bool) -> None:
    """Erase every closed case whose retention date has passed."""
    runtime = ctx.runtime
    due = due_for_erasure(ctx.db, runtime.clock.now(), ctx.settings.retention_days)
    if dry_run:
        references = [reference for _id, reference in due]
        lines = [*references, f"{len(due)} closed case(s) due for erasure; nothing erased"]
        ctx.emit({"due": references, "erased": []}, "\n".join(lines))
        return
    erased: list[Erasure] = []
    skipped: list[str] = []
    for instance_id, reference in due:
        try:
            erased.append(_erase(ctx, instance_id, {"reason": RETENTION_ENDED}, CLI_ACTOR))
        except ErasureRefused as refused:  # reopened or erased since the list was read
            skipped.append(f"{reference}: skipped, {refused}")
    lines = [*(_line(e) for e in erased), *skipped, f"{len(erased)} closed case(s) erased"]
    ctx.emit({"erased": [e.to_json() for e in erased], "skipped": len(skipped)}, "\n".join(lines))


@retention.command("erase")
@click.argument("reference")
@click.option("--request", "request", required=True, help="The erasure request's reference.")
@click.option("--verified-by", required=True, help="Who verified the requester's identity.")
@click.option("--yes", is_flag=True, help="Confirm: erasure cannot be undone.")
@json_option
def retention_erase(
    ctx: Context, reference: str, request: str, verified_by: str, yes: bool
) -> None:
    """Erase closed case REFERENCE now, on a verified erasure request."""
    if not yes:
        raise click.UsageError("erasure cannot be undone: add --yes to go ahead")
    grounds = {"reason": ERASURE_REQUEST, "request": request, "verified_by": verified_by}
    erasure = _erase(ctx, case_id_for(ctx.db, reference), grounds, CLI_ACTOR)
    ctx.emit(erasure.to_json(), _line(erasure))


def _erase(ctx: Context, instance_id: int, grounds: dict[str, str], actor: str) -> Erasure:
    runtime = ctx.runtime
    kept = runtime.hooks.kept_after_erasure
    return erase_case(ctx.db, runtime.clock, instance_id, kept, actor, grounds)


def _line(erasure: Erasure) -> str:
    return (
        f"{erasure.reference}: {erasure.values_erased} recorded value(s) erased, "
        f"statistical fields kept ({len(erasure.fields_kept)})"
    )
