"""Deploy validates a bundle and versions each process by content hash."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.bundle import read_bundle
from engine.clock import FixedClock
from engine.db import Database
from engine.deploy import deploy_bundle
from engine.errors import ModelInvalid
from engine.hooks import Hooks
from engine.models import AuditEvent, ProcessModelVersion
from tests.engine.helpers import BUNDLES, deploy

INVALID = BUNDLES / "invalid"


def _version_count(db: Database) -> int:
    with db.reader() as session:
        return session.scalar(select(func.count()).select_from(ProcessModelVersion)) or 0


def test_sample_bundle_deploys_each_process_once(db: Database, clock: FixedClock) -> None:
    first = deploy(db, "sample", clock)
    assert {(d.key, d.version, d.created) for d in first} == {
        ("sample_case", 1, True),
        ("sample_check", 1, True),
    }
    again = deploy(db, "sample", clock)
    assert all(not d.created for d in again)
    assert [d.content_hash for d in again] == [d.content_hash for d in first]
    assert _version_count(db) == 2


def test_changing_one_process_versions_only_what_depends_on_it(
    db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    deploy(db, "sample", clock)
    bundle_dir = tmp_path / "sample"
    shutil.copytree(BUNDLES / "sample", bundle_dir)
    caller = bundle_dir / "sample_case.bpmn"
    caller.write_text(caller.read_text().replace("Record intake", "Record the intake"))
    deployed = deploy_bundle(db, read_bundle(bundle_dir, 5_000_000), "tester", Hooks(), clock)
    assert {d.key: (d.version, d.created) for d in deployed} == {
        "sample_case": (2, True),
        "sample_check": (1, False),
    }

    called = bundle_dir / "sample_check.bpmn"
    called.write_text(called.read_text().replace("Run background check", "Run the check"))
    deployed = deploy_bundle(db, read_bundle(bundle_dir, 5_000_000), "tester", Hooks(), clock)
    assert {d.key: (d.version, d.created) for d in deployed} == {
        "sample_case": (3, True),  # it calls sample_check
        "sample_check": (2, True),
    }


REJECTIONS = {
    "bad_xml": ("broken.bpmn", "", "not well-formed XML"),
    "xxe": ("xxe.bpmn", "", "DOCTYPE declarations are not allowed"),
    "billion_laughs": ("lol.bpmn", "", "DOCTYPE declarations are not allowed"),
    "unsafe_script": ("unsafe.bpmn", "evil", "__import__"),
    "missing_form": ("missing.bpmn", "fill", "'nowhere.json' is not in the bundle"),
    "outside_lane": ("nolane.bpmn", "orphan", "not inside a lane"),
    "bad_schema": ("bad.json", "", "not a valid JSON Schema"),
    "unquoted_timer": ("timer.bpmn", "", "quote the ISO 8601 value"),
}


@pytest.mark.parametrize("name", sorted(REJECTIONS))
def test_invalid_bundles_store_nothing_and_name_the_problem(
    db: Database, clock: FixedClock, name: str
) -> None:
    file, element_id, message = REJECTIONS[name]
    with pytest.raises(ModelInvalid) as raised:
        deploy(db, f"invalid/{name}", clock)
    problems = raised.value.problems
    matching = [p for p in problems if p.file == file and message in p.message]
    assert matching, [str(p) for p in problems]
    if element_id:
        assert matching[0].element_id == element_id
    if file.endswith(".bpmn"):
        assert matching[0].line, "every diagram problem names a line"
    assert _version_count(db) == 0


def test_each_new_version_is_audited_with_who_deployed_it_and_its_hash(
    db: Database, clock: FixedClock
) -> None:
    deploy(db, "sample", clock)
    deploy(db, "sample", clock)  # unchanged: no new version, nothing to audit
    with db.reader() as session:
        events = session.scalars(select(AuditEvent).filter_by(action="model_deployed")).all()
        versions = {v.id: v for v in session.scalars(select(ProcessModelVersion))}
    assert len(events) == len(versions) == 2
    for event in events:
        version = versions[event.model_version_id]
        assert event.actor == "tester"
        assert json.loads(event.payload) == {
            "key": version.key,
            "version": version.version,
            "hash": version.content_hash,
        }
