"""A script that reaches the runtime unvalidated still cannot escape the sandbox."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.clock import FixedClock
from engine.db import Database
from engine.errors import WorkflowFailed
from engine.models import ProcessModelVersion
from engine.runtime import Runtime
from tests.engine.helpers import item_named, sample_runtime


def test_unsafe_script_injected_into_a_stored_spec_fails_without_side_effects(
    db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    runtime = sample_runtime(db, clock)
    target = tmp_path / "pwned"
    with db.transaction() as session:
        version = session.scalars(select(ProcessModelVersion).filter_by(key="sample_case")).one()
        spec_text = gzip.decompress(version.spec).decode()
        assert "score = amount * 2" in spec_text
        evil = f"__import__('os').system('touch {target}')"
        version.spec = gzip.compress(spec_text.replace("score = amount * 2", evil).encode())
    runtime = Runtime(db, runtime.hooks, clock)  # a fresh process reads the tampered spec

    case = runtime.start("sample_case", {}, "clara")
    intake = item_named(case, "intake")
    with pytest.raises(WorkflowFailed):
        runtime.complete(intake.id, {"applicant_ref": "R", "amount": 1, "urgent": True}, "clara")

    assert not target.exists()
    after = runtime.case(case.id)
    assert after.revision == case.revision
    assert [w.id for w in after.work_items] == [intake.id]
