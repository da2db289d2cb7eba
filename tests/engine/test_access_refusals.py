"""A person who tries a case or work item that is not theirs is refused, and the try is audited."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
from sqlalchemy import select

from engine.audit import verify
from engine.clock import FixedClock
from engine.db import Database
from engine.errors import NotAuthorized
from engine.models import AuditEvent, ProcessInstance, WorkItem
from tests.engine.helpers import item_named, sample_runtime


def _refusals(db: Database) -> list[AuditEvent]:
    with db.reader() as session:
        return list(session.scalars(select(AuditEvent).filter_by(action="access_refused")))


def test_every_refused_touch_of_a_work_item_is_audited_and_changes_nothing(
    db: Database, clock: FixedClock
) -> None:
    runtime = sample_runtime(db, clock)
    case = runtime.start("sample_case", {}, "clara")
    intake = item_named(case, "intake")
    attempts = [
        lambda: runtime.claim(intake.id, "olga"),
        lambda: runtime.save_draft(intake.id, {"amount": 1}, "olga"),
        lambda: runtime.complete(intake.id, {"applicant_ref": "X", "amount": 1}, "olga"),
        lambda: runtime.task_form(intake.id, "olga"),
    ]
    with db.reader() as session:
        revision = session.get(ProcessInstance, case.id).revision
    for attempt in attempts:
        with pytest.raises(NotAuthorized):
            attempt()

    refusals = _refusals(db)
    assert len(refusals) == len(attempts)
    with db.reader() as session:
        task_id = session.get(WorkItem, intake.id).task_id
    for event in refusals:
        assert (event.actor, event.instance_id, event.task_id) == ("olga", case.id, task_id)
        assert json.loads(event.payload) == {"attempt": "work_item"}
    with db.reader() as session:
        assert session.get(ProcessInstance, case.id).revision == revision
        assert verify(session).intact
    assert runtime.case(case.id).work_items[0].assignee is None


def test_a_refused_case_view_is_audited(db: Database, clock: FixedClock) -> None:
    runtime = sample_runtime(db, clock)
    runtime.hooks = replace(runtime.hooks, may_view_case=lambda roles, items: bool(roles & items))
    case = runtime.start("sample_case", {}, "clara")
    with pytest.raises(NotAuthorized):
        runtime.case_record(case.id, "olga")
    (refusal,) = _refusals(db)
    assert (refusal.actor, refusal.instance_id) == ("olga", case.id)
    assert json.loads(refusal.payload) == {"attempt": "case"}


def test_an_allowed_read_writes_no_refusal(db: Database, clock: FixedClock) -> None:
    runtime = sample_runtime(db, clock)
    case = runtime.start("sample_case", {}, "clara")
    runtime.task_form(item_named(case, "intake").id, "clara")
    runtime.case_record(case.id, "clara")
    assert _refusals(db) == []
