"""``nrmflow clock``: a training deployment's clock (``NRMFLOW_MODE=training``).

Only a training deployment's clock moves; in production the commands refuse,
so a live mechanism never runs on a moved clock.
"""

from __future__ import annotations

import json
import sys

import click

from cli.main import CLI_ACTOR, Context, json_option, main
from engine.training_clock import TrainingClock, advance_and_fire, clock_step


@main.group()
def clock() -> None:
    """The deployment's clock; a training deployment's can be moved forward."""


@clock.command("show")
@json_option
def clock_show(ctx: Context) -> None:
    """Print the deployment's time, how far it was moved and the mode."""
    deployment = ctx.runtime.clock
    offset = deployment.offset if isinstance(deployment, TrainingClock) else None
    now = deployment.now()
    mode = "training" if ctx.settings.training else "production"
    moved = f", {offset} ahead of the system clock" if offset else ""
    ctx.emit(
        {
            "now": now.isoformat(),
            "offset_seconds": offset.total_seconds() if offset is not None else 0.0,
            "mode": mode,
        },
        f"{now:%Y-%m-%d %H:%M:%S} UTC ({mode} mode{moved})",
    )


@clock.command("advance")
@click.option("--days", type=float, default=None, help="Move the clock on this many days.")
@click.option("--hours", type=float, default=None, help="Move the clock on this many hours.")
@click.option(
    "--as",
    "actor",
    default=None,
    help="The coordinator moving it (else the audit names the operator, 'cli').",
)
@json_option
def clock_advance(ctx: Context, days: float | None, hours: float | None, actor: str | None) -> None:
    """Move a training deployment's clock forward and fire the timers that fall due."""
    if not ctx.settings.training:
        _refuse(ctx, "the clock moves only in a training deployment (NRMFLOW_MODE=training)")
    step = clock_step(days=days, hours=hours)
    result = advance_and_fire(
        ctx.runtime, step, actor or CLI_ACTOR, ctx.runtime.hooks.may_move_clock if actor else None
    )
    still = f"; {result.timers_due} still due" if result.timers_due else ""
    ctx.emit(
        {
            "now": result.now.isoformat(),
            "timers_fired": result.timers_fired,
            "timers_due": result.timers_due,
        },
        f"the clock stands at {result.now:%Y-%m-%d %H:%M:%S} UTC; "
        f"{result.timers_fired} timer(s) fired{still}",
    )


def _refuse(ctx: Context, message: str) -> None:
    if ctx.as_json:
        click.echo(json.dumps({"error": "Refused", "message": message}))
    click.echo(f"error: {message}", err=True)
    sys.exit(1)
