"""Erasure of closed NRM cases: personal data goes, statistics and the audit chain stay whole."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select, update

from cli.main import main
from engine import case_values
from engine.audit import verify
from engine.case_history import case_history
from engine.clock import FixedClock, as_utc
from engine.db import Database
from engine.doctor import Thresholds, diagnose
from engine.models import AuditEvent, CaseValue, ProcessInstance
from engine.retention import (
    ERASURE_REQUEST,
    RETENTION_ENDED,
    ErasureRefused,
    due_for_erasure,
    erase_case,
)
from engine.runtime import Runtime
from tests.workflows import nrm_answers as answers
from tests.workflows.nrm_driver import NrmCase, nrm_runtime, stored_text_of
from tests.workflows.nrm_steps import identify_adult
from workflows.history_policy import value_policy
from workflows.retention import KEPT_AFTER_ERASURE
from workflows.small_cells import SMALLEST_SHOWN
from workflows.statistics import dashboard

# the invented identity the consent form records (tests/workflows/nrm_answers.py)
IDENTITY = ("Alex", "Example", "1990-01-01", "Romanian")
DEFAULT_DAYS = 2192


@pytest.fixture
def runtime(db: Database, clock: FixedClock) -> Runtime:
    """The NRM, except that closing on withdrawn consent keeps the data until its date.

    That closing is the shortest way to a closed case holding an identity (the
    ordinary one takes dozens of steps); the NRM's own rule erases it at once,
    see test_withdrawn_consent_erases_the_person_as_the_case_closes.
    """
    nrm = nrm_runtime(db, clock)
    nrm.hooks = replace(nrm.hooks, erase_at_close=lambda _data: None)
    return nrm


def _closed_case(runtime: Runtime, db: Database, clock: FixedClock) -> NrmCase:
    """An adult's case closed by withdrawn consent: closure sets a one-year retention date."""
    case = NrmCase.refer(runtime, db, clock)
    identify_adult(case)
    case.complete("decide_reasonable_grounds", answers.rg("positive"), "competent_authority")
    case.deliver("consent_withdrawn", {"withdrawn_on": "2026-03-10"}, "demo.caseworker")
    assert case.status == "completed"
    return case


def _audit(db: Database) -> list[tuple[int, str, str]]:
    with db.reader() as session:
        events = session.scalars(select(AuditEvent).order_by(AuditEvent.seq))
        return [(e.seq, e.payload, e.hash) for e in events]


def _erase(db: Database, clock: FixedClock, case: NrmCase, **grounds: str) -> None:
    grounds = grounds or {"reason": RETENTION_ENDED}
    erase_case(db, clock, case.view.id, KEPT_AFTER_ERASURE, "cli", grounds)


def test_the_audit_holds_field_names_and_keyed_hashes_never_the_answers(
    runtime: Runtime, db: Database, clock: FixedClock
) -> None:
    case = NrmCase.refer(runtime, db, clock)
    identify_adult(case)
    payloads = "\n".join(payload for _seq, payload, _hash in _audit(db))
    assert "given_name" in payloads  # who recorded which field stays in the trail
    assert not [value for value in IDENTITY if value in payloads]
    with db.reader() as session:
        instance = session.get(ProcessInstance, case.view.id)
        assert case_values.mismatches(session, instance) == []
        name = session.scalars(select(CaseValue).filter_by(field="given_name")).one()
        assert json.loads(name.after) == "Alex"


def test_a_kept_value_altered_behind_the_audit_is_caught(
    runtime: Runtime, db: Database, clock: FixedClock
) -> None:
    case = NrmCase.refer(runtime, db, clock)
    identify_adult(case)
    with db.transaction() as session:
        session.execute(
            update(CaseValue).where(CaseValue.field == "family_name").values(after='"Other"')
        )
    with db.reader() as session:
        wrong = case_values.mismatches(session, session.get(ProcessInstance, case.view.id))
    assert [name for _seq, name in wrong] == ["family_name"]


def test_the_history_shows_the_answers_from_beside_the_chain(
    runtime: Runtime, db: Database, clock: FixedClock
) -> None:
    case = NrmCase.refer(runtime, db, clock)
    identify_adult(case)
    history = case_history(runtime, case.view.id, "demo.coordinator", value_policy(True))
    changes = {c.field: c for e in history.events for c in e.changes}
    assert changes["preferred_language"].after == "Romanian"


def test_a_closed_case_records_its_retention_date_and_is_due_only_after_it(
    runtime: Runtime, db: Database, clock: FixedClock
) -> None:
    case = _closed_case(runtime, db, clock)
    retention = datetime.fromisoformat(case.data()["retention_until"])
    with db.reader() as session:
        assert as_utc(session.get(ProcessInstance, case.view.id).retain_until) == retention
    assert due_for_erasure(db, retention - timedelta(seconds=1), DEFAULT_DAYS) == []
    assert due_for_erasure(db, retention, DEFAULT_DAYS) == [(case.view.id, case.view.business_key)]


def test_erasure_removes_the_person_and_keeps_statistics_and_the_chain(
    runtime: Runtime, db: Database, clock: FixedClock
) -> None:
    cases = [_closed_case(runtime, db, clock) for _ in range(SMALLEST_SHOWN)]
    case = cases[0]
    before_audit = _audit(db)
    before_figures = dashboard(db, clock, "demo.coordinator").figures
    by_sex = next(f for f in before_figures if f.key == "referrals_by_sex")
    assert {label: value.number for label, value in by_sex.chart}["Male"] == SMALLEST_SHOWN
    assert [value for value in IDENTITY if value in stored_text_of(db, case.view.id)]

    for erased in cases:
        _erase(db, clock, erased)

    stored = stored_text_of(db, case.view.id)
    assert not [value for value in IDENTITY if value in stored]
    after_audit = _audit(db)
    assert after_audit[: len(before_audit)] == before_audit  # no event rewritten
    with db.reader() as session:
        assert verify(session).intact
        instance = session.get(ProcessInstance, case.view.id)
        assert instance.value_key is None and as_utc(instance.erased_at) == clock.now()
        kept = {
            row.field
            for row in session.scalars(select(CaseValue).filter_by(instance_id=case.view.id))
            if row.erased_at is None
        }
        erasure = session.scalars(
            select(AuditEvent).filter_by(action="personal_data_erased", instance_id=case.view.id)
        ).one()
    assert kept and kept <= KEPT_AFTER_ERASURE and "sex" in kept
    assert json.loads(erasure.payload)["reason"] == RETENTION_ENDED
    after_figures = dashboard(db, clock, "demo.coordinator").figures
    assert after_figures == before_figures


def test_after_erasure_the_history_still_reads_and_says_erased(
    runtime: Runtime, db: Database, clock: FixedClock
) -> None:
    case = _closed_case(runtime, db, clock)
    _erase(db, clock, case)
    history = case_history(runtime, case.view.id, "demo.coordinator", value_policy(True))
    changes = {c.field: c for e in history.events for c in e.changes}
    assert changes["given_name"].hidden == case_values.ERASED
    assert changes["given_name"].after is None
    assert changes["sex"].shown  # a statistical category outlives the person's identity


def test_an_open_case_is_never_erased_and_an_erased_one_not_twice(
    runtime: Runtime, db: Database, clock: FixedClock
) -> None:
    open_case = NrmCase.refer(runtime, db, clock)
    identify_adult(open_case)
    before = stored_text_of(db, open_case.view.id)
    with pytest.raises(ErasureRefused, match="still open"):
        _erase(db, clock, open_case, reason=ERASURE_REQUEST, request="R-1", verified_by="dpo")
    assert stored_text_of(db, open_case.view.id) == before

    closed = _closed_case(runtime, db, clock)
    _erase(db, clock, closed)
    with pytest.raises(ErasureRefused, match="already erased"):
        _erase(db, clock, closed)


def _cli(db: Database, *args: str, expect: int = 0) -> Result:
    result = CliRunner().invoke(main, list(args), env={"NRMFLOW_DATABASE_URL": db.url})
    assert result.exit_code == expect, (result.output, result.exception)
    return result


def test_retention_run_erases_what_is_due_and_dry_run_nothing(
    runtime: Runtime, db: Database, clock: FixedClock
) -> None:
    due = _closed_case(runtime, db, clock)
    kept = _closed_case(runtime, db, clock)
    with db.transaction() as session:  # the first one's date has passed, the other's has not
        session.execute(
            update(ProcessInstance)
            .where(ProcessInstance.id == due.view.id)
            .values(retain_until=datetime(2000, 1, 1, tzinfo=UTC))
        )

    listed = _cli(db, "retention", "run", "--dry-run", "--json")
    assert json.loads(listed.output) == {"due": [due.view.business_key], "erased": []}
    assert "Alex" in stored_text_of(db, due.view.id)

    done = json.loads(_cli(db, "retention", "run", "--json").output)
    assert [e["reference"] for e in done["erased"]] == [due.view.business_key]
    assert "Alex" not in stored_text_of(db, due.view.id)
    assert "Alex" in stored_text_of(db, kept.view.id)


def test_an_erasure_request_is_carried_out_at_once_and_its_grounds_audited(
    runtime: Runtime, db: Database, clock: FixedClock
) -> None:
    case = _closed_case(runtime, db, clock)
    reference = case.view.business_key
    request = ("--request", "ER-7", "--verified-by", "dpo")
    unconfirmed = _cli(db, "retention", "erase", reference, *request, expect=2)
    assert "--yes" in unconfirmed.output and "Alex" in stored_text_of(db, case.view.id)
    _cli(db, "retention", "erase", reference, *request, "--yes")
    assert "Alex" not in stored_text_of(db, case.view.id)
    with db.reader() as session:
        event = session.scalars(select(AuditEvent).filter_by(action="personal_data_erased")).one()
    grounds = json.loads(event.payload)
    assert (grounds["reason"], grounds["request"], grounds["verified_by"]) == (
        ERASURE_REQUEST,
        "ER-7",
        "dpo",
    )
    unknown = _cli(db, "retention", "erase", "NRM-NOPE", *request, "--yes", expect=1)
    assert "no case NRM-NOPE" in unknown.output


def test_doctor_warns_of_cases_kept_past_their_retention_date(
    runtime: Runtime, db: Database, clock: FixedClock
) -> None:
    case = _closed_case(runtime, db, clock)
    thresholds = Thresholds.for_worker(5, DEFAULT_DAYS)
    assert _erasure_finding(db, clock, thresholds) == "erasure"
    clock.advance(days=366)
    assert _erasure_finding(db, clock, thresholds) == "erasure_due"
    _erase(db, clock, case)
    assert _erasure_finding(db, clock, thresholds) == "erasure"


def _erasure_finding(db: Database, clock: FixedClock, thresholds: Thresholds) -> str:
    (finding,) = [f for f in diagnose(db, clock, thresholds) if f.code.startswith("erasure")]
    return finding.code


def test_withdrawn_consent_erases_the_person_as_the_case_closes(
    db: Database, clock: FixedClock
) -> None:
    case = _closed_case(nrm_runtime(db, clock), db, clock)
    assert not [value for value in IDENTITY if value in stored_text_of(db, case.view.id)]
    with db.reader() as session:
        assert verify(session).intact
        event = session.scalars(select(AuditEvent).filter_by(action="personal_data_erased")).one()
        kept = session.scalars(
            select(CaseValue.field).filter_by(instance_id=case.view.id, erased_at=None)
        ).all()
    assert json.loads(event.payload)["reason"] == "consent_withdrawn"
    assert "sex" in kept and "given_name" not in kept
    assert due_for_erasure(db, clock.now() + timedelta(days=4000), DEFAULT_DAYS) == []
