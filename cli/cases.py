"""``nrmflow suspend`` / ``nrmflow resume``: pause a case, with a reason, and let it go on.

With ``--as`` the command acts for that person and only the NRM coordinator
may; without it the operator acts and the audit names ``cli``, as for the
other operator commands.
"""

from __future__ import annotations

import click

from cli.main import CLI_ACTOR, Context, json_option, main
from engine.case_suspension import MaySuspend, Suspension, case_id_for, resume, suspend

AS_HELP = "The coordinator acting (else the audit names the operator, 'cli')."


@main.command("suspend")
@click.argument("reference")
@click.option("--reason", required=True, help="Why the case waits; kept in the audit trail.")
@click.option("--as", "actor", default=None, help=AS_HELP)
@json_option
def suspend_case(ctx: Context, reference: str, reason: str, actor: str | None) -> None:
    """Suspend case REFERENCE: no timer fires and no task is offered until it is resumed."""
    case_id = case_id_for(ctx.db, reference)
    done = suspend(ctx.runtime, case_id, reason, actor or CLI_ACTOR, _authority(ctx, actor))
    _emit(ctx, done, f"case {done.reference} is suspended")


@main.command("resume")
@click.argument("reference")
@click.option("--reason", default=None, help="Why it goes on (optional); kept in the audit trail.")
@click.option("--as", "actor", default=None, help=AS_HELP)
@json_option
def resume_case(ctx: Context, reference: str, reason: str | None, actor: str | None) -> None:
    """Resume case REFERENCE; timers that fell due meanwhile fire on the worker's next pass."""
    case_id = case_id_for(ctx.db, reference)
    done = resume(ctx.runtime, case_id, reason, actor or CLI_ACTOR, _authority(ctx, actor))
    _emit(ctx, done, f"case {done.reference} is running again after {done.suspended_for}")


def _authority(ctx: Context, actor: str | None) -> MaySuspend | None:
    """The coordinator's rule when someone is named; the operator acts on their own authority."""
    return ctx.runtime.hooks.may_suspend if actor else None


def _emit(ctx: Context, done: Suspension, text: str) -> None:
    ctx.emit(
        {
            "case_id": done.case_id,
            "reference": done.reference,
            "suspended": done.suspended_at is not None,
            "suspended_at": done.suspended_at.isoformat() if done.suspended_at else None,
            "suspended_for_seconds": (
                done.suspended_for.total_seconds() if done.suspended_for is not None else None
            ),
        },
        text,
    )
