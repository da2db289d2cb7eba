"""``nrmflow audit``: verify the hash chain, and export it to anchor it outside the system.

An export is the operator's way to anchor the chain somewhere nobody with
database access can reach: the last exported event's hash, printed as
``anchor: seq N sha256 H``, goes into a signed report. Whoever later holds
an export can check it against that anchor with ``verify-export``, offline.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import TextIO

import click

from cli.main import CLI_ACTOR, Context, json_option, main
from engine.audit_export import (
    FORMATS,
    Anchor,
    ExportTally,
    export_lines,
    tallied,
    verify_export,
)
from engine.audit_search import AuditFilters, begin_export, export_rows, verify_chain
from engine.clock import as_utc

ANCHOR = re.compile(r"(?:anchor:\s*)?seq\s+(?P<seq>\d+)\s+sha256\s+(?P<sha256>[0-9a-f]{64})")


@main.group()
def audit() -> None:
    """The audit chain."""


@audit.command("verify")
@json_option
def audit_verify(ctx: Context) -> None:
    """Check the whole hash chain; exit 1 naming the first bad event."""
    result = verify_chain(ctx.db)
    if result.intact:
        ctx.emit(
            {"intact": True, "events": result.count, "last_hash": result.last_hash},
            f"audit chain intact: {result.count} events, last hash {result.last_hash}",
        )
        return
    ctx.emit(
        {"intact": False, "first_bad_seq": result.first_bad_seq, "reason": result.reason},
        f"audit chain BROKEN at event {result.first_bad_seq}: {result.reason}",
    )
    sys.exit(1)


def _moment(_ctx: click.Context, _param: click.Parameter, text: str | None) -> datetime | None:
    """An ISO 8601 date or time; without an offset it is UTC, as every time in the log."""
    if text is None:
        return None
    try:
        return as_utc(datetime.fromisoformat(text))
    except ValueError:
        raise click.BadParameter(f"not an ISO 8601 date or time: {text}") from None


@audit.command("export")
@click.option("--since", callback=_moment, help="From this date or time (ISO 8601, UTC).")
@click.option("--until", callback=_moment, help="Up to, not including, this date or time.")
@click.option("--format", "export_format", type=click.Choice(FORMATS), default="jsonl")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Write here instead of to standard output.",
)
@json_option
def audit_export_command(
    ctx: Context,
    since: datetime | None,
    until: datetime | None,
    export_format: str,
    output: Path | None,
) -> None:
    """Export every event in [--since, --until) with its hash, and print the anchor on stderr.

    Exports carry payloads exactly as stored, submitted form values
    included: keep the file as carefully as the database.
    """
    filters = AuditFilters(since=since, until=until)
    plan = begin_export(ctx.db, filters, CLI_ACTOR, True, ctx.runtime.clock, export_format)
    tally = ExportTally()
    lines = export_lines(tallied(export_rows(ctx.db, plan), tally), export_format)
    if output is None:
        _write(lines, sys.stdout)
    else:
        with output.open("w", encoding="utf-8", newline="") as file:
            _write(lines, file)
    last = tally.last
    if last is None:
        click.echo("no events matched; nothing to anchor", err=True)
    else:
        click.echo(f"anchor: seq {last.seq} sha256 {last.hash}", err=True)
    if output is not None:
        anchor = {"seq": last.seq, "sha256": last.hash} if last else None
        ctx.emit(
            {"events": tally.count, "output": str(output), "anchor": anchor},
            f"exported {tally.count} event(s) to {output}",
        )


def _write(lines: Iterable[str], stream: TextIO) -> None:
    for line in lines:
        stream.write(line)


def _anchor(_ctx: click.Context, _param: click.Parameter, text: str | None) -> Anchor | None:
    if text is None:
        return None
    found = ANCHOR.fullmatch(text.strip())
    if found is None:
        raise click.BadParameter('write it as printed: "seq N sha256 HASH"')
    return Anchor(int(found["seq"]), found["sha256"])


@audit.command("verify-export")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--anchor",
    callback=_anchor,
    help='An earlier export\'s anchor as printed, e.g. "seq 1234 sha256 9f2c...".',
)
@click.option(
    "--allow-gaps",
    is_flag=True,
    help="Accept missing sequence numbers: an export filtered by actor, agency, action or case.",
)
@json_option
def audit_verify_export(ctx: Context, file: Path, anchor: Anchor | None, allow_gaps: bool) -> None:
    """Recompute every hash of an export offline; exit 1 naming the first bad event.

    An export of the whole log (``nrmflow audit export``) has no gaps: a
    missing number means a removed line, and fails unless --allow-gaps.
    """
    with file.open(encoding="utf-8", newline="") as lines:
        result = verify_export(lines, anchor)
    data = {
        "intact": result.intact,
        "events": result.count,
        "first_seq": result.first_seq,
        "last_seq": result.last_seq,
        "last_hash": result.last_hash,
        "starts_after": result.starts_after,
        "anchored": result.anchored,
        "gaps": result.gaps,
        "first_gap_after": result.first_gap_after,
        "complete": result.complete,
    }
    if not result.intact:
        where = f" at event {result.first_bad_seq}" if result.first_bad_seq else ""
        ctx.emit(
            data | {"first_bad_seq": result.first_bad_seq, "reason": result.reason},
            f"export BROKEN{where}: {result.reason}",
        )
        sys.exit(1)
    if result.gaps and not allow_gaps:
        ctx.emit(
            data | {"intact": False, "reason": "events missing"},
            f"export BROKEN after event {result.first_gap_after}: {result.gaps} gap(s) in the "
            "sequence (lines removed, or a filtered export: then pass --allow-gaps)",
        )
        sys.exit(1)
    text = f"export intact: {result.count} events"
    if result.count:
        text += f", seq {result.first_seq} to {result.last_seq}, last hash {result.last_hash}"
    if result.gaps:
        text += (
            f"\nfiltered: {result.gaps} gap(s) in the sequence; "
            "each event's hash was checked, the links across the gaps cannot be"
        )
    if result.count and not result.anchored:
        text += (
            f"\nnot anchored: it starts after hash {result.starts_after}; pass the anchor "
            "of an earlier export (--anchor) to tie it to the signed record"
        )
    ctx.emit(data, text)
