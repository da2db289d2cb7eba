"""Audit exports carry every hashed field as stored and verify offline; one edited,
removed or reordered event is caught and named, in the file or in the database.
The ``nrmflow audit export`` and ``verify-export`` commands end to end."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import Result
from sqlalchemy import select, update

from engine import audit
from engine.audit_export import Anchor, ExportTally, export_lines, tallied, verify_export
from engine.audit_search import AuditFilters, begin_export, export_rows
from engine.clock import FixedClock
from engine.db import Database
from engine.models import AuditEvent, ProcessInstance
from tests.workflows import nrm_answers as answers
from tests.workflows.nrm_driver import NrmCase, nrm_runtime

FORMATS = ["jsonl", "csv"]
Exporter = Callable[..., list[str]]


@pytest.fixture
def case(db: Database, clock: FixedClock) -> NrmCase:
    """A referred and screened case, with a message-free manual event in between."""
    runtime = nrm_runtime(db, clock)
    case = NrmCase.refer(runtime, db, clock)
    clock.advance(hours=1)
    case.complete("screen_indicators", answers.screening(), "first_responder")
    with db.transaction() as session:
        note = audit.PendingEvent("demo.auditor", "note_made", payload={"text": 'ünïcode, "q"'})
        audit.append(session, [note], clock.now())
    return case


@pytest.fixture
def export(db: Database, clock: FixedClock) -> Exporter:
    def exported(export_format: str, filters: AuditFilters | None = None) -> list[str]:
        plan = begin_export(db, filters or AuditFilters(), "tester", True, clock, export_format)
        text = "".join(export_lines(export_rows(db, plan), export_format))
        return io.StringIO(text, newline="").readlines()

    return exported


def _stored(db: Database) -> list[AuditEvent]:
    with db.reader() as session:
        return list(session.scalars(select(AuditEvent).order_by(AuditEvent.seq)))


def _records(lines: list[str], export_format: str) -> list[dict[str, str]]:
    if export_format == "jsonl":
        return [json.loads(line) for line in lines]
    return list(csv.DictReader(lines))


def _rewrite(lines: list[str], export_format: str, seq: int, **changes: str) -> list[str]:
    """The export with one event's fields changed, as someone editing the file would."""
    if export_format == "jsonl":
        out = []
        for line in lines:
            record = json.loads(line)
            out.append(json.dumps(record | changes) + "\n" if record["seq"] == seq else line)
        return out
    rows = list(csv.reader(lines))
    header = rows[0]
    for row in rows[1:]:
        if row[0] == str(seq):
            for name, value in changes.items():
                row[header.index(name)] = value
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return io.StringIO(buffer.getvalue(), newline="").readlines()


def _drop(lines: list[str], seq: int) -> list[str]:
    return [line for line in lines if json.loads(line)["seq"] != seq]


@pytest.mark.parametrize("export_format", FORMATS)
def test_an_export_holds_every_event_as_stored_and_verifies_offline(
    db: Database, case: NrmCase, export: Exporter, export_format: str
) -> None:
    lines = export(export_format)
    stored = _stored(db)[:-1]  # the export's own audit event comes after it
    records = _records(lines, export_format)
    assert [int(r["seq"]) for r in records] == [e.seq for e in stored]
    for record, event in zip(records, stored, strict=True):
        fields = audit.event_fields(event)
        assert record["payload"] == event.payload  # the stored JSON text, byte for byte
        assert (record["at"], record["hash"]) == (fields["at"], event.hash)
    reference = case.view.business_key
    assert {r["case_reference"] for r in records if r["instance_id"] not in (None, "")} == {
        reference
    }
    result = verify_export(lines)
    assert result.intact and result.complete, result
    assert (result.count, result.first_seq, result.last_seq) == (len(stored), 1, stored[-1].seq)
    assert result.last_hash == stored[-1].hash


@pytest.mark.parametrize("export_format", FORMATS)
def test_an_edited_line_is_named(
    db: Database, case: NrmCase, export: Exporter, export_format: str
) -> None:
    lines = export(export_format)
    completed = next(e for e in _stored(db) if e.action == "task_completed")
    edited = _rewrite(
        lines,
        export_format,
        completed.seq,
        payload=completed.payload.replace('"task": "', '"task": "forged_', 1),
    )
    result = verify_export(edited)
    assert not result.intact
    assert (result.first_bad_seq, result.reason) == (
        completed.seq,
        "content does not match its hash (edited)",
    )
    assert result.count == completed.seq - 1


@pytest.mark.parametrize("export_format", FORMATS)
def test_an_edited_line_with_a_recomputed_hash_breaks_the_next_link(
    case: NrmCase, export: Exporter, export_format: str
) -> None:
    lines = export(export_format)
    record = _records(lines, export_format)[3]
    seq = int(record["seq"])
    forged = {**record, "actor": "someone else", "seq": seq}
    for name in ("instance_id", "model_version_id"):
        forged[name] = int(forged[name]) if forged[name] not in (None, "") else None
    forged["task_id"] = forged["task_id"] or None
    rehashed = audit.fields_hash(forged)
    edited = _rewrite(lines, export_format, seq, actor="someone else", hash=rehashed)
    result = verify_export(edited)
    assert (result.first_bad_seq, result.reason) == (
        seq + 1,
        "previous-hash link broken (deleted or reordered)",
    )


def test_a_row_edited_in_the_database_before_export_is_named(
    db: Database, case: NrmCase, export: Exporter
) -> None:
    with db.transaction() as session:
        session.execute(update(AuditEvent).where(AuditEvent.seq == 5).values(actor="intruder"))
    result = verify_export(export("jsonl"))
    assert (result.intact, result.first_bad_seq) == (False, 5)


def test_removed_and_reordered_lines_are_caught(case: NrmCase, export: Exporter) -> None:
    lines = export("jsonl")
    removed = verify_export(_drop(lines, 4))
    assert removed.intact and not removed.complete  # each hash still holds ...
    assert (removed.gaps, removed.first_gap_after) == (1, 3)  # ... but event 4 is missing
    swapped = [*lines[:3], lines[4], lines[3], *lines[5:]]
    reordered = verify_export(swapped)
    assert (reordered.intact, reordered.first_bad_seq) == (False, 4)
    assert reordered.reason == "comes after event 5 (repeated or reordered)"


def test_a_later_export_is_tied_to_an_earlier_anchor(case: NrmCase, export: Exporter) -> None:
    lines = export("jsonl")
    fifth = json.loads(lines[4])
    anchor = Anchor(5, fifth["hash"])
    tail, overlapping = lines[5:], lines[2:]
    unanchored = verify_export(tail)
    assert unanchored.intact and not unanchored.anchored
    assert unanchored.starts_after == anchor.sha256
    assert verify_export(tail, anchor).complete  # starts right after the anchor
    assert verify_export(overlapping, anchor).complete  # holds the anchored event

    forged = Anchor(5, "f" * 64)
    assert (
        verify_export(tail, forged).first_bad_seq,
        verify_export(overlapping, forged).first_bad_seq,
    ) == (6, 5)
    assert verify_export(overlapping, forged).reason == (
        "differs from the anchor (rewritten since the anchor was taken)"
    )
    beyond = verify_export(lines[:4], anchor)
    assert not beyond.intact and beyond.reason == "the export does not reach the anchor's event 5"
    assert not verify_export(lines[7:], anchor).intact  # starts too late to link to it


def test_a_filtered_export_checks_each_hash_and_reports_its_gaps(
    case: NrmCase, export: Exporter
) -> None:
    lines = export("csv", AuditFilters(action="engine_steps"))
    records = _records(lines, "csv")
    assert len(records) == 2 and {r["action"] for r in records} == {"engine_steps"}
    result = verify_export(lines)
    assert result.intact and result.gaps > 0 and not result.complete


def test_an_unreadable_line_is_named_by_its_line_number(case: NrmCase, export: Exporter) -> None:
    lines = export("jsonl")
    result = verify_export([*lines[:2], "{not json\n", *lines[2:]])
    assert not result.intact and result.reason == "line 3: not valid JSON"


def test_the_tally_names_the_last_exported_event(
    db: Database, case: NrmCase, clock: FixedClock
) -> None:
    plan = begin_export(db, AuditFilters(), "tester", True, clock, "csv")
    tally = ExportTally()
    lines = list(export_lines(tallied(export_rows(db, plan), tally), "csv"))
    assert tally.count == len(lines) - 1 == plan.count
    assert tally.last is not None and tally.last.seq == plan.through_seq


# ---------------------------------------------------------------- the commands


@pytest.mark.parametrize("export_format", FORMATS)
def test_the_export_command_writes_the_file_and_prints_the_anchor(
    db: Database, case: NrmCase, nrmflow: Callable[..., Result], tmp_path: Path, export_format: str
) -> None:
    out = tmp_path / f"audit.{export_format}"
    result = nrmflow(
        "audit", "export", "--since", "2026-03-02", "--format", export_format, "--output", str(out)
    )
    last = _stored(db)[-2]  # before the export's own event
    assert f"anchor: seq {last.seq} sha256 {last.hash}" in result.stderr
    assert f"exported {last.seq} event(s)" in result.stdout
    exported = _stored(db)[-1]
    assert (exported.actor, exported.action) == ("cli", "audit_exported")

    verified = nrmflow("audit", "verify-export", str(out))
    assert f"export intact: {last.seq} events, seq 1 to {last.seq}" in verified.stdout
    anchor = result.stderr.strip().splitlines()[-1]
    tied = nrmflow("audit", "verify-export", str(out), "--anchor", anchor, "--json")
    assert json.loads(tied.stdout)["complete"]
    nrmflow(
        "audit",
        "verify-export",
        str(out),
        "--anchor",
        f"seq {last.seq} sha256 {'0' * 64}",
        expect=1,
    )

    text = out.read_text(encoding="utf-8")
    out.write_text(text.replace("demo.labour", "demo.labouR", 1), encoding="utf-8")
    broken = nrmflow("audit", "verify-export", str(out), expect=1)
    edited = next(e.seq for e in _stored(db) if "demo.labour" in (e.actor + e.payload))
    assert (
        f"export BROKEN at event {edited}: content does not match its hash (edited)"
        in broken.stdout
    )


def test_the_export_command_narrows_by_time_and_streams_to_stdout(
    db: Database, case: NrmCase, nrmflow: Callable[..., Result], clock: FixedClock
) -> None:
    since = clock.now().isoformat()  # the screening and the note, an hour after the referral
    result = nrmflow("audit", "export", "--since", since)
    seqs = [json.loads(line)["seq"] for line in result.stdout.splitlines()]
    with db.reader() as session:
        expected = session.scalars(
            select(AuditEvent.seq).where(
                AuditEvent.at >= clock.now(), AuditEvent.action != "audit_exported"
            )
        )
        assert seqs == sorted(expected)
    assert seqs[0] > 1
    assert f"anchor: seq {seqs[-1]} sha256" in result.stderr
    nrmflow("audit", "export", "--since", "yesterday", expect=2)


def test_verify_export_refuses_a_removed_line_unless_gaps_are_expected(
    case: NrmCase, nrmflow: Callable[..., Result], tmp_path: Path
) -> None:
    out = tmp_path / "audit.jsonl"
    nrmflow("audit", "export", "--output", str(out))
    lines = out.read_text(encoding="utf-8").splitlines(keepends=True)
    out.write_text("".join(lines[:3] + lines[4:]), encoding="utf-8")
    refused = nrmflow("audit", "verify-export", str(out), expect=1)
    assert "export BROKEN after event 3" in refused.stdout
    allowed = nrmflow("audit", "verify-export", str(out), "--allow-gaps", "--json")
    assert json.loads(allowed.stdout)["gaps"] == 1


def test_a_case_reference_is_exported_but_not_hashed(
    db: Database, case: NrmCase, export: Exporter
) -> None:
    """The reference is context for the reader; changing it cannot break a hash, by design."""
    with db.transaction() as session:
        session.execute(update(ProcessInstance).values(business_key="2026-XXXX-XXXX"))
    assert verify_export(export("jsonl")).complete
