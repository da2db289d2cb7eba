"""A script that reaches the runtime unvalidated still cannot escape the sandbox."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.clock import FixedClock
from engine.db import Database
from engine.errors import WorkflowFailed
from engine.runtime import Runtime
from tests.engine.helpers import item_named, sample_runtime, tamper_spec


def test_unsafe_script_injected_into_a_stored_spec_fails_without_side_effects(
    db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    runtime = sample_runtime(db, clock)
    target = tmp_path / "pwned"
    evil = f"__import__('os').system('touch {target}')"
    tamper_spec(db, "sample_case", "score = amount * 2", evil)
    runtime = Runtime(db, runtime.hooks, clock)  # a fresh process reads the tampered spec

    case = runtime.start("sample_case", {}, "clara")
    intake = item_named(case, "intake")
    with pytest.raises(WorkflowFailed):
        runtime.complete(intake.id, {"applicant_ref": "R", "amount": 1, "urgent": True}, "clara")

    assert not target.exists()
    after = runtime.case(case.id)
    assert after.revision == case.revision
    assert [w.id for w in after.work_items] == [intake.id]
