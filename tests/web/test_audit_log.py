"""The audit log pages: search, exports and the integrity check, for the auditor and the
coordinator only; every use is itself audited, and one tampered event is named."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select, update

from engine import audit
from engine.audit_export import verify_export
from engine.clock import FixedClock
from engine.db import Database
from engine.models import AuditEvent
from tests.web.conftest import SignIn
from tests.workflows import nrm_answers as answers
from tests.workflows.nrm_driver import NrmCase

SECRET_NAME = "Quillfeather"  # an invented family name that must never reach the page


@pytest.fixture
def case(app: Flask, db: Database, clock: FixedClock) -> NrmCase:
    """A case referred, screened and consented to, then a page and more of manual notes."""
    runtime = app.extensions["nrmflow.runtime"]
    case = NrmCase.refer(runtime, db, clock, as_user="demo.labour")
    case.complete("screen_indicators", answers.screening(), "first_responder")
    case.complete(
        "obtain_consent", answers.consent_given(family_name=SECRET_NAME), "first_responder"
    )
    clock.advance(days=1)
    with db.transaction() as session:
        notes = [
            audit.PendingEvent("demo.coordinator", "note_made", payload={"n": n}) for n in range(55)
        ]
        audit.append(session, notes, clock.now())
    return case


@pytest.fixture
def auditor(client: FlaskClient, sign_in: SignIn, case: NrmCase) -> FlaskClient:
    """Signed in once the case is seeded: seeding moves the clock a day on."""
    return sign_in(client, "demo.auditor")


def _shown(response_text: str) -> list[int]:
    return [int(seq) for seq in re.findall(r'<tr id="event-(\d+)">', response_text)]


def _events(db: Database, **where: str) -> list[AuditEvent]:
    with db.reader() as session:
        query = select(AuditEvent).filter_by(**where).order_by(AuditEvent.seq.desc())
        return list(session.scalars(query))


def _last(db: Database) -> AuditEvent:
    return _events(db)[0]


@pytest.mark.parametrize("user", ["demo.auditor", "demo.coordinator"])
def test_the_auditor_and_the_coordinator_search_the_log(
    client: FlaskClient, sign_in: SignIn, case: NrmCase, db: Database, user: str
) -> None:
    response = sign_in(client, user).get("/audit")
    assert response.status_code == 200
    text = response.get_data(as_text=True)
    assert "Audit log" in text and "Download as CSV" in text
    assert len(_shown(text)) == 50


@pytest.mark.parametrize(
    "path", ["/audit", "/audit/export.csv", "/audit/export.jsonl", "/audit/integrity"]
)
def test_any_other_role_gets_the_403_page_and_leaves_no_trace(
    client: FlaskClient, sign_in: SignIn, case: NrmCase, db: Database, path: str
) -> None:
    before = _last(db).seq
    response = sign_in(client, "demo.caseworker").get(path)
    assert response.status_code == 403
    assert "not allowed" in response.get_data(as_text=True)
    assert _last(db).seq == before


def test_filters_narrow_the_results_and_the_search_is_audited(
    auditor: FlaskClient, case: NrmCase, db: Database
) -> None:
    reference = case.view.business_key
    expected = [e.seq for e in _events(db, instance_id=case.view.id, action="task_completed")]
    response = auditor.get(f"/audit?case={reference}&action=task_completed&agency=Riverside+Police")
    text = response.get_data(as_text=True)
    assert _shown(text) == expected and len(expected) == 2
    assert "2 matching events" in text
    searched = _last(db)
    assert (searched.actor, searched.action) == ("demo.auditor", "audit_searched")
    assert json.loads(searched.payload)["filters"] == {
        "action": "task_completed",
        "agency": "Riverside Police",
        "case_reference": reference,
    }

    by_actor = _shown(auditor.get("/audit?actor=demo.labour").get_data(as_text=True))
    assert by_actor == [e.seq for e in _events(db, actor="demo.labour")]
    assert _shown(auditor.get("/audit?to=2026-03-02&action=note_made").get_data(as_text=True)) == []
    day_two = _shown(
        auditor.get("/audit?from=2026-03-03&to=2026-03-03&actor=demo.coordinator").get_data(
            as_text=True
        )
    )
    assert day_two == [e.seq for e in _events(db, action="note_made")][:50]


def test_a_completed_task_shows_field_names_never_values(
    auditor: FlaskClient, case: NrmCase, db: Database
) -> None:
    assert SECRET_NAME not in _events(db, action="task_completed")[0].payload  # keyed hashes
    text = auditor.get("/audit?action=task_completed").get_data(as_text=True)
    assert "family_name" in text and "obtain_consent" in text
    assert SECRET_NAME not in text


def test_page_links_keep_the_filters(auditor: FlaskClient, case: NrmCase, db: Database) -> None:
    text = auditor.get("/audit?action=note_made&from=2026-03-03").get_data(as_text=True)
    assert "55 matching events" in text and "Page 1 of 2" in text
    link = re.search(r'<a href="([^"]+)" rel="next">', text)
    assert link is not None
    params = parse_qs(urlsplit(link.group(1).replace("&amp;", "&")).query)
    assert params == {"action": ["note_made"], "from": ["2026-03-03"], "page": ["2"]}
    second = auditor.get(link.group(1).replace("&amp;", "&")).get_data(as_text=True)
    notes = [e.seq for e in _events(db, action="note_made")]
    assert _shown(second) == notes[50:]
    assert "Page 2 of 2" in second and 'rel="prev"' in second


def test_a_bad_date_is_left_out_and_said(auditor: FlaskClient, case: NrmCase) -> None:
    text = auditor.get("/audit?from=last-tuesday&action=note_made").get_data(as_text=True)
    assert "Enter dates as YYYY-MM-DD" in text and "55 matching events" in text


@pytest.mark.parametrize("export_format", ["csv", "jsonl"])
def test_exports_stream_every_matching_event_verifiably_and_are_audited(
    auditor: FlaskClient, case: NrmCase, db: Database, export_format: str
) -> None:
    expected = [e.seq for e in _events(db, instance_id=case.view.id)][::-1]
    reference = case.view.business_key
    response = auditor.get(f"/audit/export.{export_format}?case={reference}")
    assert response.status_code == 200 and response.is_streamed
    assert response.headers["Content-Disposition"] == (
        f"attachment; filename=nrmflow-audit-2026-03-03.{export_format}"
    )
    assert response.headers["Cache-Control"] == "no-store"
    lines = response.get_data(as_text=True).splitlines(keepends=True)
    result = verify_export(lines)
    assert result.intact and result.count == len(expected)
    assert (result.first_seq, result.last_seq) == (expected[0], expected[-1])
    exported = _last(db)
    assert (exported.actor, exported.action) == ("demo.auditor", "audit_exported")
    noted = json.loads(exported.payload)
    assert noted["filters"] == {"case_reference": reference} and noted["count"] == len(expected)


def test_an_export_of_a_tampered_row_names_it(
    auditor: FlaskClient, case: NrmCase, db: Database
) -> None:
    with db.transaction() as session:
        session.execute(update(AuditEvent).where(AuditEvent.seq == 9).values(payload="{}"))
    lines = auditor.get("/audit/export.jsonl").get_data(as_text=True).splitlines()
    result = verify_export(lines)
    assert (result.intact, result.first_bad_seq) == (False, 9)


def test_integrity_shows_an_intact_chain_with_its_head_and_how_to_anchor_it(
    auditor: FlaskClient, case: NrmCase, db: Database
) -> None:
    head = _last(db)
    text = auditor.get("/audit/integrity").get_data(as_text=True)
    assert 'data-integrity="intact"' in text
    assert f"{head.seq} events checked" in text
    assert head.hash in text
    assert "nrmflow audit export --since" in text
    assert "2026-03-03 09:00:00" in text  # when it was checked
    checked = _last(db)
    assert (checked.actor, checked.action) == ("demo.auditor", "integrity_checked")
    assert json.loads(checked.payload) == {"intact": True, "events": head.seq}


def test_integrity_names_the_tampered_event_and_why(
    client: FlaskClient, sign_in: SignIn, case: NrmCase, db: Database
) -> None:
    tampered = _events(db, action="task_completed")[-1].seq
    with db.transaction() as session:
        session.execute(update(AuditEvent).where(AuditEvent.seq == tampered).values(payload="{}"))
    text = sign_in(client, "demo.coordinator").get("/audit/integrity").get_data(as_text=True)
    assert 'data-integrity="broken"' in text
    assert f'data-first-bad-seq="{tampered}"' in text
    assert f"The chain breaks at event {tampered}" in text
    assert "its content does not match its hash (edited)" in text
    assert _events(db, seq=tampered - 1)[0].hash in text  # the last good hash
    checked = json.loads(_last(db).payload)
    assert (checked["intact"], checked["first_bad_seq"]) == (False, tampered)
