"""Searching the audit log: each filter narrows to exactly the events it names, pages
cover every match once, and every search, export and integrity check is itself audited.

Expected results are worked out here in Python from every stored row, never
with the query under test.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, update

from engine import audit
from engine.audit_search import (
    PAGE_SIZE,
    AuditFilters,
    AuditPage,
    begin_export,
    check_integrity,
    export_rows,
    search_page,
)
from engine.clock import FixedClock, as_utc
from engine.db import Database
from engine.errors import NotAuthorized
from engine.models import AuditEvent, ProcessInstance, User
from tests.workflows import nrm_answers as answers
from tests.workflows.nrm_driver import NrmCase, nrm_runtime

AUDITOR = "demo.auditor"
NOTES = 60  # manual events: more than a page of one action


@dataclass(frozen=True)
class Seeded:
    first: NrmCase
    second: NrmCase
    day_two: datetime


@pytest.fixture
def seeded(db: Database, clock: FixedClock) -> Seeded:
    """Two cases on two days by different agencies, then a page and more of manual events."""
    runtime = nrm_runtime(db, clock)
    first = NrmCase.refer(runtime, db, clock, as_user="demo.labour")
    first.complete("screen_indicators", answers.screening(), "first_responder")
    clock.advance(days=1)
    day_two = clock.now()
    second = NrmCase.refer(runtime, db, clock, as_user="demo.outreach")
    clock.advance(hours=2)
    with db.transaction() as session:
        notes = [
            audit.PendingEvent("demo.coordinator", "note_made", payload={"n": n})
            for n in range(NOTES)
        ]
        audit.append(session, notes, clock.now())
    return Seeded(first, second, day_two)


def _stored(db: Database) -> list[tuple[AuditEvent, str | None, str | None]]:
    with db.reader() as session:
        agencies = {u.username: u.agency for u in session.scalars(select(User))}
        references = {p.id: p.business_key for p in session.scalars(select(ProcessInstance))}
        return [
            (event, agencies.get(event.actor), references.get(event.instance_id or 0))
            for event in session.scalars(select(AuditEvent).order_by(AuditEvent.seq))
        ]


def _expected(db: Database, filters: AuditFilters) -> list[int]:
    """The seqs ``filters`` should match, newest first, by brute force over every row."""
    matching = []
    for event, agency, reference in _stored(db):
        at = as_utc(event.at)
        if (
            (filters.actor is None or event.actor == filters.actor)
            and (filters.agency is None or agency == filters.agency)
            and (filters.action is None or event.action == filters.action)
            and (filters.case_reference is None or reference == filters.case_reference)
            and (filters.since is None or at >= filters.since)
            and (filters.until is None or at < filters.until)
        ):
            matching.append(event.seq)
    return sorted(matching, reverse=True)


def _search(db: Database, clock: FixedClock, filters: AuditFilters, page: int = 1) -> AuditPage:
    return search_page(db, filters, page, AUDITOR, True, clock)


def _every_page(db: Database, clock: FixedClock, filters: AuditFilters) -> list[int]:
    first = _search(db, clock, filters)
    seqs = [row.seq for row in first.rows]
    for number in range(2, first.pages + 1):
        seqs += [row.seq for row in _search(db, clock, filters, number).rows]
    return seqs


def _last_event(db: Database) -> AuditEvent:
    with db.reader() as session:
        return session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).one()


def _filter_cases(seeded: Seeded) -> dict[str, AuditFilters]:
    day_two = seeded.day_two
    return {
        "actor": AuditFilters(actor="demo.labour"),
        "agency": AuditFilters(agency="Harbour Light NGO"),
        "action": AuditFilters(action="task_completed"),
        "case": AuditFilters(case_reference=seeded.second.view.business_key),
        "since": AuditFilters(since=day_two),
        "until": AuditFilters(until=day_two),
        "range": AuditFilters(since=day_two, until=day_two + timedelta(hours=1)),
        "combined": AuditFilters(action="case_started", agency="Labour Inspectorate"),
    }


@pytest.mark.parametrize(
    "name", ["actor", "agency", "action", "case", "since", "until", "range", "combined"]
)
def test_each_filter_narrows_to_exactly_its_events(
    db: Database, clock: FixedClock, seeded: Seeded, name: str
) -> None:
    filters = _filter_cases(seeded)[name]
    everything = _expected(db, AuditFilters())
    expected = _expected(db, filters)
    assert 0 < len(expected) < len(everything)  # the filter narrows, and not to nothing
    page = _search(db, clock, filters)
    assert page.total == len(expected)
    assert [row.seq for row in page.rows] == expected[:PAGE_SIZE]


def test_rows_carry_agency_case_reference_and_stored_fields(
    db: Database, clock: FixedClock, seeded: Seeded
) -> None:
    reference = seeded.first.view.business_key
    page = _search(db, clock, AuditFilters(case_reference=reference, action="task_completed"))
    (row,) = page.rows
    assert (row.actor, row.agency, row.case_reference) == (
        "demo.police",
        "Riverside Police",
        reference,
    )
    with db.reader() as session:
        stored = session.get(AuditEvent, row.seq)
        assert stored is not None
        assert row.hashed_fields() == audit.event_fields(stored)
        assert audit.fields_hash(row.hashed_fields()) == stored.hash == row.hash


def test_pages_hold_fifty_newest_first_and_cover_every_match_once(
    db: Database, clock: FixedClock, seeded: Seeded
) -> None:
    filters = AuditFilters(action="note_made")
    expected = _expected(db, filters)
    first = _search(db, clock, filters)
    assert (len(first.rows), first.total, first.pages) == (PAGE_SIZE, NOTES, 2)
    assert _every_page(db, clock, filters) == expected
    assert _search(db, clock, filters, page=99).page == 2  # clamped to the last page


def test_a_search_is_audited_with_its_filters(
    db: Database, clock: FixedClock, seeded: Seeded
) -> None:
    filters = AuditFilters(actor="demo.labour", since=seeded.day_two - timedelta(days=1))
    page = _search(db, clock, filters)
    event = _last_event(db)
    assert (event.actor, event.action) == (AUDITOR, "audit_searched")
    noted = json.loads(event.payload)
    assert noted["filters"] == {"actor": "demo.labour", "since": "2026-03-02T09:00:00.000000Z"}
    assert noted["total"] == page.total
    assert event.seq not in {row.seq for row in page.rows}  # reports what was there before


def test_someone_who_may_not_read_the_log_gets_nothing_and_leaves_no_search(
    db: Database, clock: FixedClock, seeded: Seeded
) -> None:
    before = _last_event(db).seq
    with pytest.raises(NotAuthorized):
        search_page(db, AuditFilters(), 1, "demo.caseworker", False, clock)
    with pytest.raises(NotAuthorized):
        begin_export(db, AuditFilters(), "demo.caseworker", False, clock, "csv")
    with pytest.raises(NotAuthorized):
        check_integrity(db, "demo.caseworker", False, clock)
    assert _last_event(db).seq == before


def test_a_completed_task_shows_the_names_of_its_fields_never_their_values(
    db: Database, clock: FixedClock, seeded: Seeded
) -> None:
    (row,) = _search(db, clock, AuditFilters(action="task_completed")).rows
    assert "debt_bondage" not in row.payload  # stored as names and keyed hashes ...
    masked = row.masked_payload()
    assert masked["task"] == "screen_indicators"
    assert masked["changes"] == sorted(answers.screening())  # ... shown as field names only


def test_an_export_is_fixed_and_audited_before_it_streams(
    db: Database, clock: FixedClock, seeded: Seeded
) -> None:
    filters = AuditFilters(agency="Harbour Light NGO")
    expected = sorted(_expected(db, filters))
    head = _last_event(db).seq
    plan = begin_export(db, filters, AUDITOR, True, clock, "jsonl")
    assert (plan.through_seq, plan.count) == (head, len(expected))
    exported = _last_event(db)
    assert (exported.action, exported.seq) == ("audit_exported", head + 1)
    assert json.loads(exported.payload) == {
        "filters": {"agency": "Harbour Light NGO"},
        "count": len(expected),
        "through_seq": head,
        "format": "jsonl",
    }
    with db.transaction() as session:  # appended while it streams: not part of this export
        audit.append(session, [audit.PendingEvent("demo.outreach", "late")], clock.now())
    assert [row.seq for row in export_rows(db, plan, batch=3)] == expected


def test_the_integrity_check_names_an_edited_event_and_is_audited(
    db: Database, clock: FixedClock, seeded: Seeded
) -> None:
    clean = check_integrity(db, AUDITOR, True, clock)
    assert clean.verification.intact
    assert clean.head_seq == clean.verification.count == _last_event(db).seq - 1
    checked = _last_event(db)
    assert (checked.actor, checked.action) == (AUDITOR, "integrity_checked")
    assert json.loads(checked.payload) == {"intact": True, "events": clean.head_seq}

    with db.transaction() as session:
        session.execute(update(AuditEvent).where(AuditEvent.seq == 7).values(payload="{}"))
    broken = check_integrity(db, AUDITOR, True, clock)
    assert (broken.verification.intact, broken.verification.first_bad_seq) == (False, 7)
    assert broken.head_seq == 6
    assert json.loads(_last_event(db).payload) == {
        "intact": False,
        "events": 6,
        "first_bad_seq": 7,
        "reason": "content does not match its hash (edited)",
    }
