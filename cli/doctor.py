"""``nrmflow doctor``: the health checks of :mod:`engine.doctor`, one line per finding.

Exit 0 when nothing needs attention and 1 otherwise, so a deployment script
or a monitoring probe can run it after every upgrade.
"""

from __future__ import annotations

import sys

from sqlalchemy.exc import ArgumentError

from cli.main import Context, json_option, main
from engine.db import Database
from engine.doctor import Finding, Thresholds, diagnose
from engine.training_clock import deployment_clock

LABELS = {"error": "ERROR", "warning": "WARN", "ok": "OK"}


@main.command()
@json_option
def doctor(ctx: Context) -> None:
    """Check schema, stuck cases, open incidents, overdue timers, the outbox and the audit chain.

    It changes nothing.
    """
    findings = _findings(ctx)
    ctx.emit([f.to_json() for f in findings], "\n".join(_line(f) for f in findings))
    if any(f.needs_attention for f in findings):
        sys.exit(1)


def _findings(ctx: Context) -> list[Finding]:
    try:
        db: Database = ctx.db
    except (ArgumentError, ImportError) as error:  # a malformed URL or an absent driver
        return [
            Finding(
                "database_url_invalid",
                "error",
                f"NRMFLOW_DATABASE_URL cannot be used: {type(error).__name__}",
                "set NRMFLOW_DATABASE_URL to a sqlite:/// or postgresql+psycopg:// URL",
            )
        ]
    clock = deployment_clock(ctx.settings, db)
    settings = ctx.settings
    thresholds = Thresholds.for_worker(settings.worker_poll_seconds, settings.retention_days)
    return diagnose(db, clock, thresholds)


def _line(finding: Finding) -> str:
    line = f"{LABELS[finding.severity]} {finding.message}"
    return f"{line} → fix: {finding.fix}" if finding.fix else line
