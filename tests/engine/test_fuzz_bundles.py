"""Fuzzing deploy (hypothesis): a mutated bundle is deployed or refused with a
:class:`ModelInvalid` that names the problems, never a crash; a refused bundle
stores nothing; a deployed one runs a case, or fails a step cleanly.

See tests/engine/fuzz_settings.py for how long this runs and how to hunt for longer.
"""

from __future__ import annotations

import pytest
from hypothesis import event, given
from sqlalchemy import func, select

from engine.audit import verify
from engine.bundle import Bundle, read_bundle
from engine.clock import FixedClock
from engine.db import Database
from engine.deploy import deploy_bundle
from engine.errors import EngineError, ModelInvalid
from engine.hooks import Hooks
from engine.models import ProcessModelVersion
from engine.runtime import Runtime
from tests.engine.fuzz_bundle_mutations import mutated_bundles
from tests.engine.fuzz_settings import fuzz_settings
from tests.engine.helpers import BUNDLES, sample_runtime

SAMPLE = read_bundle(BUNDLES / "sample", 5_000_000)
INTAKE = {"applicant_ref": "REF-F", "amount": 200, "urgent": False}


@pytest.fixture
def runtime(db: Database, clock: FixedClock) -> Runtime:
    return sample_runtime(db, clock)


def _versions(db: Database) -> int:
    with db.reader() as session:
        return session.scalar(select(func.count()).select_from(ProcessModelVersion)) or 0


def _run_a_case(runtime: Runtime) -> None:
    """Start a case and complete its first task: each step moves on or fails cleanly."""
    try:
        case = runtime.start("sample_case", {}, "clara")
        event(f"started, {len(case.work_items)} open")
        for item in case.work_items[:1]:
            actor = "clara" if item.role == "clerk" else "sam"
            runtime.complete(item.id, INTAKE, actor)
            event("first task completed")
    except EngineError as failed:
        event(f"case step refused: {type(failed).__name__}")


@fuzz_settings(100)
@given(bundle=mutated_bundles(SAMPLE))
def test_a_mutated_bundle_is_deployed_and_runs_or_is_refused_with_reasons(
    runtime: Runtime, db: Database, clock: FixedClock, bundle: Bundle
) -> None:
    before = _versions(db)
    try:
        deploy_bundle(db, bundle, "tester", Hooks(), clock)
    except ModelInvalid as refused:
        event("refused")
        assert refused.problems
        assert all(str(problem).strip() for problem in refused.problems)
        assert _versions(db) == before
        return
    event("deployed")
    _run_a_case(runtime)
    with db.reader() as session:
        assert verify(session).intact


def _nested_schema(depth: int) -> bytes:
    text = "{}"
    for _ in range(depth):
        text = '{"not": ' + text + "}"
    return text.encode()


EMPTY_DMN = (
    b'<?xml version="1.0" encoding="UTF-8"?><definitions'
    b' xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="d" name="d" namespace="x"/>'
)


@pytest.mark.parametrize(
    ("path", "content", "problem"),
    [
        ("intake.json", b"[" * 5000 + b"]" * 5000, "intake.json:0:-: not JSON"),
        ("intake.json", _nested_schema(300), "intake.json:0:-: the schema is nested too deeply"),
        ("intake.json", b"42", "intake.json:0:-: a form schema must be a JSON object"),
        ("intake.json", b"null", "intake.json:0:-: a form schema must be a JSON object"),
        ("intake.json", b'{"$schema": ["x"]}', "intake.json:0:-: $schema must name"),
        ("intake.json", b'{"$schema": "https://example.org/mine"}', "intake.json:0:-: $schema"),
        ("intake.json", '{"title": "café"}'.encode("latin-1"), "intake.json:0:-: not UTF-8"),
        ("intake.json", b'{"title": "\xed\xa0\x80"}', "intake.json:0:-: not UTF-8 text"),
        ("route.dmn", EMPTY_DMN, "route.dmn:0:-: a DMN file must hold a decision"),
    ],
)
def test_what_the_fuzzing_found_is_refused_with_a_reason(
    db: Database, clock: FixedClock, path: str, content: bytes, problem: str
) -> None:
    """Each of these crashed deploy with an unhandled exception before."""
    with pytest.raises(ModelInvalid) as refused:
        deploy_bundle(db, Bundle({**SAMPLE.files, path: content}), "tester", Hooks(), clock)
    assert [p for p in map(str, refused.value.problems) if p.startswith(problem)]
    assert _versions(db) == 0
