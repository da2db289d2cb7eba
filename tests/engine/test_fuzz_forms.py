"""Fuzzing form data (hypothesis): every submission is accepted and stored, or refused
with a :class:`FormInvalid` that names the fields, and a refusal changes nothing.

Accepted data must be storable as it is everywhere it goes (workflow state, audit,
case values, PostgreSQL's JSON): strict JSON (RFC 7493, I-JSON) in UTF-8. See
tests/engine/fuzz_settings.py for how long this runs and how to hunt for longer.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import event, given
from hypothesis import strategies as st

from engine.audit import verify
from engine.clock import FixedClock
from engine.db import Database
from engine.errors import EngineError, FormInvalid
from engine.forms import validate_form_data
from engine.runtime import Runtime
from tests.engine.fuzz_form_data import form_data, typed
from tests.engine.fuzz_settings import fuzz_settings
from tests.engine.helpers import BUNDLES, item_named, sample_runtime

VALID = {
    "intake.json": {"applicant_ref": "REF-F", "amount": 200, "urgent": False},
    "approve.json": {"approved": True, "note": "checked"},
    "check_documents.json": {"documents_complete": True, "remarks": "all there"},
    "check_result.json": {"clear": True},
    "escalate.json": {"action_taken": "reminded"},
    "(no schema)": {"payload": "x"},
}
SCHEMAS: dict[str, dict[str, Any] | None] = {
    name: json.loads((BUNDLES / "sample" / name).read_text()) for name in VALID if "." in name
}
SCHEMAS["(no schema)"] = None  # a message payload: any object


@st.composite
def form_and_data(draw: st.DrawFn) -> tuple[str, Any]:
    name = draw(st.sampled_from(sorted(VALID)))
    return name, draw(form_data(VALID[name], SCHEMAS[name]))


def _is_strict_json(data: Any) -> bool:
    text = json.dumps(data, allow_nan=False, ensure_ascii=False)
    text.encode("utf-8")  # raises on a lone surrogate
    return json.loads(text) == data


@fuzz_settings(400)
@given(form_and_data())
def test_validation_accepts_only_storable_data_and_names_each_problem(
    case: tuple[str, Any],
) -> None:
    name, data = case
    try:
        validate_form_data(SCHEMAS[name], data)
    except FormInvalid as refused:
        assert refused.errors
        assert all(error.message and isinstance(error.path, str) for error in refused.errors)
        return
    assert _is_strict_json(data)


@pytest.fixture
def runtime(db: Database, clock: FixedClock) -> Runtime:
    return sample_runtime(db, clock)


def _complete(runtime: Runtime, case_id: int, task: str, data: Any, actor: str) -> bool:
    """Complete ``task``; on refusal, check the case is exactly as it was."""
    before = runtime.case(case_id)
    try:
        runtime.complete(item_named(before, task).id, data, actor)
    except EngineError as refused:
        event(f"{task} refused: {type(refused).__name__}")
        assert runtime.case(case_id) == before
        return False
    event(f"{task} accepted")
    return True


def _mostly_typed(name: str) -> st.SearchStrategy[Any]:
    """Data that reaches the workflow (its script, decision and storage) more often than not."""
    schema = SCHEMAS[name]
    assert schema is not None
    return st.one_of(typed(schema), typed(schema), form_data(VALID[name], schema))


@fuzz_settings(60)
@given(
    intake=_mostly_typed("intake.json"),
    approval=_mostly_typed("approve.json"),
)
def test_a_case_completed_with_fuzzed_data_moves_on_or_stays_as_it_was(
    runtime: Runtime, db: Database, intake: Any, approval: Any
) -> None:
    case = runtime.start("sample_case", {}, "clara")
    if _complete(runtime, case.id, "intake", intake, "clara"):
        moved = runtime.case(case.id)
        if "approve" in {w.task_name for w in moved.work_items}:
            _complete(runtime, case.id, "approve", approval, "sam")
    with db.reader() as session:
        assert verify(session).intact


def test_the_suite_fuzzes_with_a_fixed_seed_unless_asked_to_hunt() -> None:
    assert (fuzz_settings(10, 1).max_examples, fuzz_settings(10, 1).derandomize) == (10, True)
    assert (fuzz_settings(10, 20).max_examples, fuzz_settings(10, 20).derandomize) == (200, False)


def _nested(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize(
    ("value", "field", "problem"),
    [
        (2**53, "note", "is a number too large to store exactly"),
        (-(2**64), "note", "is a number too large to store exactly"),
        (float("nan"), "note", "is not a finite number"),
        (float("-inf"), "note", "is not a finite number"),
        ("a\ud800", "note", "contains characters that are not valid Unicode text"),
        ({"ok": {"\udfff": 1}}, "note/ok", "has a field name that is not valid text"),
        ({1: "x"}, "note", "has a field name that is not valid text"),
        (_nested(5000), "note/" + "/".join(["0"] * 64), "is nested too deeply"),
        (object(), "note", "is not a JSON value"),
    ],
)
def test_what_storage_cannot_keep_exactly_is_refused_by_field(
    value: Any, field: str, problem: str
) -> None:
    """Each of these passed the schema (or crashed it) and then failed to store, before."""
    with pytest.raises(FormInvalid) as refused:
        validate_form_data(None, {"note": value})
    assert [(e.path, e.message) for e in refused.value.errors] == [(field, problem)]


def test_the_largest_exact_numbers_are_kept() -> None:
    validate_form_data(None, {"high": 2**53 - 1, "low": -(2**53 - 1), "float": 1e308})
