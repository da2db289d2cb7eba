"""Audit exports as CSV or JSON Lines, and their offline verification.

An export carries every hashed field exactly as stored (the payload as its
stored JSON text), plus the event's hash, so anyone holding the file can
recompute each hash with ``engine.audit`` and follow the ``prev_hash`` links
without access to the database. Both writers are generators: an export of
any size streams in constant memory.

A filtered export skips events; where it does, the link between the two
neighbours cannot be checked offline, only each event's own hash. An
export of every event from seq 1, or reaching an anchor (the last event of
an earlier export, whose hash went into a signed report), can be checked
link by link.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import chain
from typing import Any

from engine import audit
from engine.audit_search import AuditRow

COLUMNS = (
    "seq",
    "at",
    "actor",
    "action",
    "instance_id",
    "case_reference",
    "task_id",
    "model_version_id",
    "payload",
    "prev_hash",
    "hash",
)
FORMATS = ("jsonl", "csv")
_INTEGER_COLUMNS = ("seq", "instance_id", "model_version_id")
_OPTIONAL_COLUMNS = ("instance_id", "case_reference", "task_id", "model_version_id")


@dataclass
class ExportTally:
    """What an export wrote, filled in as it streams: the last event is the anchor."""

    count: int = 0
    last: AuditRow | None = None


@dataclass(frozen=True)
class Anchor:
    """The last event of an earlier export, as ``nrmflow audit export`` prints it."""

    seq: int
    sha256: str


@dataclass(frozen=True)
class ExportVerification:
    intact: bool
    count: int
    first_seq: int | None = None
    last_seq: int | None = None
    last_hash: str | None = None
    # the previous hash of the first event: the anchor this export continues from
    starts_after: str | None = None
    # whether the export was tied to the chain's start or to a given anchor
    anchored: bool = False
    # places where the export skips events (a filtered export): links there are unchecked
    gaps: int = 0
    first_gap_after: int | None = None
    first_bad_seq: int | None = None
    reason: str = ""

    @property
    def complete(self) -> bool:
        """Every link checked, from the chain's start or a known anchor to the last event."""
        return self.intact and self.anchored and self.gaps == 0


class _Unreadable(Exception):
    def __init__(self, line: int, message: str, seq: int | None = None):
        self.seq = seq
        super().__init__(f"line {line}: {message}")


def export_record(row: AuditRow) -> dict[str, Any]:
    """One event as an export writes it, in ``COLUMNS`` order."""
    record = row.hashed_fields() | {"case_reference": row.case_reference, "hash": row.hash}
    return {name: record[name] for name in COLUMNS}


def tallied(rows: Iterable[AuditRow], tally: ExportTally) -> Iterator[AuditRow]:
    for row in rows:
        tally.count += 1
        tally.last = row
        yield row


def export_lines(rows: Iterable[AuditRow], export_format: str) -> Iterator[str]:
    if export_format == "jsonl":
        return jsonl_lines(rows)
    if export_format == "csv":
        return csv_lines(rows)
    raise ValueError(f"unknown export format '{export_format}'")


def jsonl_lines(rows: Iterable[AuditRow]) -> Iterator[str]:
    for row in rows:
        yield json.dumps(export_record(row), ensure_ascii=False) + "\n"


def csv_lines(rows: Iterable[AuditRow]) -> Iterator[str]:
    """A header, then one row per event; an absent value is an empty cell."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(values: Iterable[Any]) -> str:
        writer.writerow(["" if value is None else value for value in values])
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    yield line(COLUMNS)
    for row in rows:
        yield line(export_record(row).values())


def verify_export(lines: Iterable[str], anchor: Anchor | None = None) -> ExportVerification:
    """Recompute every event's hash and check every link an export lets one check.

    An export that starts at seq 1 must start from the chain's beginning.
    With an ``anchor`` (an earlier export's last event, from a signed report)
    the export must reach it: hold that event with that hash, or start right
    after it from that hash. Without one, the first event's previous hash is
    reported as ``starts_after`` for the reader to compare with their record.
    """
    walk = _Walk(anchor)
    try:
        for record in _records(lines):
            problem = walk.step(record)
            if problem:
                return walk.result(record["seq"], problem)
    except _Unreadable as unreadable:
        return walk.result(unreadable.seq, str(unreadable))
    if anchor is not None and not walk.met_anchor:
        return walk.result(None, f"the export does not reach the anchor's event {anchor.seq}")
    return walk.result()


@dataclass
class _Walk:
    """Verification state, one record at a time: constant memory for any export."""

    anchor: Anchor | None
    count: int = 0
    gaps: int = 0
    gap_after: int | None = None
    first: dict[str, Any] | None = None
    previous: dict[str, Any] | None = None
    met_anchor: bool = False

    def step(self, record: dict[str, Any]) -> str:
        seq, previous, anchor = record["seq"], self.previous, self.anchor
        if previous is None:
            self.first = record
            if seq == 1 and record["prev_hash"] != audit.GENESIS_HASH:
                return "the first event does not start the chain"
            if anchor is not None and seq == anchor.seq + 1:
                if record["prev_hash"] != anchor.sha256:
                    return "does not continue from the anchor"
                self.met_anchor = True
        elif seq <= previous["seq"]:
            return f"comes after event {previous['seq']} (repeated or reordered)"
        elif seq == previous["seq"] + 1:
            if record["prev_hash"] != previous["hash"]:
                return "previous-hash link broken (deleted or reordered)"
        else:
            self.gaps += 1
            self.gap_after = self.gap_after or previous["seq"]
        if audit.fields_hash(record) != record["hash"]:
            return "content does not match its hash (edited)"
        if anchor is not None and seq == anchor.seq:
            if record["hash"] != anchor.sha256:
                return "differs from the anchor (rewritten since the anchor was taken)"
            self.met_anchor = True
        self.count, self.previous = self.count + 1, record
        return ""

    def result(self, bad_seq: int | None = None, reason: str = "") -> ExportVerification:
        first, last = self.first, self.previous
        return ExportVerification(
            intact=not reason,
            count=self.count,
            first_seq=first["seq"] if first else None,
            last_seq=last["seq"] if last else None,
            last_hash=last["hash"] if last else None,
            starts_after=first["prev_hash"] if first else None,
            anchored=bool(first) and (first["seq"] == 1 or self.met_anchor),
            gaps=self.gaps,
            first_gap_after=self.gap_after,
            first_bad_seq=bad_seq,
            reason=reason,
        )


def _records(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    """Each exported event as typed values, whichever format the lines are in."""
    remaining = iter(lines)
    for opening in remaining:
        if opening.strip():
            break
    else:
        return
    rest = chain([opening], remaining)
    if opening.lstrip().startswith("{"):
        yield from _jsonl_records(rest)
    else:
        yield from _csv_records(rest)


def _jsonl_records(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError:
            raise _Unreadable(number, "not valid JSON") from None
        if not isinstance(value, dict):
            raise _Unreadable(number, "not a JSON object")
        yield _typed(number, value)


def _csv_records(lines: Iterable[str]) -> Iterator[dict[str, Any]]:
    reader = csv.reader(lines)
    header = next(reader, None)
    if header is None or tuple(header) != COLUMNS:
        raise _Unreadable(1, f"the header must be {','.join(COLUMNS)}")
    for cells in reader:
        if not cells:
            continue
        if len(cells) != len(COLUMNS):
            raise _Unreadable(reader.line_num, f"expected {len(COLUMNS)} columns")
        values: dict[str, Any] = dict(zip(COLUMNS, cells, strict=True))
        for name in _OPTIONAL_COLUMNS:
            values[name] = values[name] or None
        for name in _INTEGER_COLUMNS:
            if values[name] is not None:
                values[name] = _integer(reader.line_num, name, values[name])
        yield _typed(reader.line_num, values)


def _integer(line: int, name: str, text: str) -> int:
    if not text.isascii() or not text.isdigit():
        raise _Unreadable(line, f"{name} is not a whole number")
    return int(text)


def _typed(line: int, values: dict[str, Any]) -> dict[str, Any]:
    """Check every column is present with the type the hash was computed over."""
    missing = [name for name in COLUMNS if name not in values]
    if missing:
        raise _Unreadable(line, f"missing {', '.join(missing)}")
    seq = values["seq"]
    if not isinstance(seq, int) or isinstance(seq, bool):
        raise _Unreadable(line, "seq is not a whole number")
    for name in ("at", "actor", "action", "payload", "prev_hash", "hash"):
        if not isinstance(values[name], str):
            raise _Unreadable(line, f"{name} is not text", seq)
    return values
