"""The issue's "done when": a broken script in a deployed diagram becomes an incident, and
deploying the fix, moving the case to it and retrying moves the case on, all in the audit log."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select

from engine.bundle import read_bundle
from engine.case_migration import migrate
from engine.clock import FixedClock
from engine.db import Database
from engine.deploy import deploy_bundle
from engine.hooks import Hooks
from engine.incident_commands import retry
from engine.incidents import IncidentRaised, open_incidents_of_case
from engine.models import AuditEvent, ProcessModelVersion
from engine.runtime import Runtime
from engine.users import add_user
from tests.engine.helpers import BUNDLES, USERS, item_named

INTAKE = {"applicant_ref": "R-1", "amount": 5000, "urgent": False}
# fails only at run time: the deploy validator cannot know ``zero`` is 0
BROKEN = "zero = 0\nscore = amount / zero"


def _deploy(db: Database, clock: FixedClock, bundle: Path, script: str) -> int:
    """Deploy the sample bundle with its scoring script replaced; the new version's id."""
    shutil.copytree(BUNDLES / "sample", bundle)
    diagram = bundle / "sample_case.bpmn"
    diagram.write_text(diagram.read_text().replace("score = amount * 2", script))
    deployed = deploy_bundle(db, read_bundle(bundle, 5_000_000), "coordinator", Hooks(), clock)
    version = next(d.version for d in deployed if d.key == "sample_case")
    with db.reader() as session:
        return session.scalars(
            select(ProcessModelVersion.id).filter_by(key="sample_case", version=version)
        ).one()


def test_a_broken_script_becomes_an_incident_and_the_fix_moves_the_case_on(
    db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    _deploy(db, clock, tmp_path / "v1", BROKEN)
    for name, roles in USERS.items():
        add_user(db, name, roles, None, "tester", clock)
    runtime = Runtime(db, Hooks(), clock, script_time_limit=1.0)
    case = runtime.start("sample_case", {}, "clara")

    with pytest.raises(IncidentRaised) as raised:
        runtime.complete(item_named(case, "intake").id, INTAKE, "clara")
    (incident,) = open_incidents_of_case(db, case.id)
    assert (incident.error_type, incident.element_id) == ("script_error", "score")
    assert "ZeroDivisionError" in incident.detail

    fixed_version = _deploy(db, clock, tmp_path / "v2", "score = amount * 2")
    (moved,) = migrate(runtime, [case.id], fixed_version, "cli", None)
    assert moved.migrated, moved.reason
    outcome = retry(runtime, raised.value.incident_id, "cli", None)

    assert outcome.resolved
    after = runtime.case(case.id)
    assert "intake" not in [w.task_name for w in after.work_items] and after.work_items
    assert open_incidents_of_case(db, case.id) == []
    with db.reader() as session:
        trail = [
            (e.action, e.model_version_id, json.loads(e.payload))
            for e in session.scalars(
                select(AuditEvent).where(AuditEvent.instance_id == case.id).order_by(AuditEvent.seq)
            )
        ]
    actions = [a for a, _, _ in trail]
    assert actions.index("incident_raised") < actions.index("case_migrated")
    assert actions.index("case_migrated") < actions.index("incident_retried")
    (completed,) = [(v, p) for a, v, p in trail if a == "task_completed"]
    assert completed[0] == fixed_version and completed[1]["retried_by"] == "cli"
