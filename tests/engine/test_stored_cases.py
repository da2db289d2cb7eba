"""Cases saved by an earlier nrmflow keep running after an upgrade (README "Upgrading").

Every case under ``tests/fixtures/stored_cases`` is put into a fresh
database on the model version it was saved with, beside the current
``bpmn/nrm``, loaded with the current code and walked to its end with the
steps recorded when it was saved. A change to the stored format, the
serializer, the derived rows or the engine's behaviour that would break a
real stored case fails here.
"""

from __future__ import annotations

import gzip
import json
from datetime import datetime, timedelta
from typing import Any

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.serializer.workflow import VERSION as SERIALIZER_VERSION
from sqlalchemy import delete, select

from engine.bundle import Bundle
from engine.clock import FixedClock
from engine.config import load_settings
from engine.db import Database
from engine.deploy import deploy_bundle
from engine.derived import open_user_tasks
from engine.models import ProcessInstance, TimerJob
from engine.runtime import Runtime
from engine.scripting import restricted_script_engine
from engine.specs import compress, restore_spec
from engine.state import (
    STATE_VERSION,
    STATE_VERSION_KEY,
    StateFormatUnsupported,
    dump_state,
    load_state,
    migrate_document,
)
from tests.fixtures.stored_cases.stored import (
    REGENERATE,
    StoredCase,
    StoredModel,
    restore_case,
    restore_model,
    stored_cases,
)
from tests.workflows.nrm_driver import NrmCase, nrm_runtime
from workflows.hooks import build_hooks
from workflows.time_limits import TimeLimits

CASES = stored_cases()


def _runtime(db: Database, cases: list[StoredCase]) -> Runtime:
    """The stored cases' model versions, then the current library deployed over them."""
    for case in cases:
        restore_model(db, StoredModel.read(case.model_hash), case.moment)
    return nrm_runtime(db, FixedClock(cases[0].moment))


def _open(runtime: Runtime, case: StoredCase) -> NrmCase:
    """``case`` restored on its own model version, the runtime's clock at its saving time."""
    clock = FixedClock(case.moment)
    runtime.clock = clock
    instance_id = restore_case(runtime.db, runtime, case)
    return NrmCase(runtime, runtime.db, clock, runtime.case(instance_id))


def _model_hash(nrm: NrmCase) -> str:
    with nrm.db.reader() as session:
        instance = session.get(ProcessInstance, nrm.view.id)
        assert instance is not None
        return instance.model_version.content_hash


def _walk_to_the_end(nrm: NrmCase, case: StoredCase) -> None:
    shown = sorted([item.task_name, item.role] for item in nrm.open_tasks().values())
    assert shown == case.work_items, "work items"
    assert {n: due.isoformat() for n, due in nrm.waiting_timers().items()} == case.timers, "timers"
    assert sorted(nrm.waiting_messages()) == case.messages, "message waits"
    for index, step in enumerate(case.walk):
        label = step.get("complete") or step.get("deliver") or f"clock to {step['advance_to']}"
        try:
            if "complete" in step:
                nrm.complete(step["complete"], step["data"], step["role"])
            elif "deliver" in step:
                nrm.deliver(step["deliver"], step["payload"], step["as"])
            else:
                fired = nrm.advance_to(datetime.fromisoformat(step["advance_to"]))
                assert fired == step["fired"], f"timers fired: {fired}, expected {step['fired']}"
        except Exception as error:
            raise AssertionError(f"step {index} ({label}): {error}") from error
    assert nrm.status == "completed", "not completed after its last step"
    assert _model_hash(nrm) == case.model_hash, "the case left the model version it started on"


def test_the_fixture_covers_the_process_from_referral_to_closure() -> None:
    assert len(CASES) >= 6, f"stored cases missing: run {REGENERATE}"
    assert all(case.walk for case in CASES)


def test_every_stored_case_loads_and_walks_to_its_end(db: Database) -> None:
    """One database for all cases (each deleted once walked): deploying is the slow part."""
    runtime = _runtime(db, CASES)
    broken: list[str] = []
    for case in CASES:
        try:
            _walk_to_the_end(_open(runtime, case), case)
        except Exception as error:
            broken.append(f"{case.name}: {error}")
        finally:  # the cases are one case at different points: they share a reference
            with db.transaction() as session:
                gone = delete(ProcessInstance).filter_by(business_key=case.business_key)
                session.execute(gone)
    assert not broken, (
        "stored cases no longer run:\n  "
        + "\n  ".join(broken)
        + f"\nA case saved by an earlier release must keep running: add a migration in "
        f"engine/state.py. Regenerate the fixtures with {REGENERATE} only if the change is "
        "deliberate and no stored case can be affected"
    )


def test_the_stored_model_hashes_as_when_it_was_made(db: Database, clock: FixedClock) -> None:
    """Deploying an unchanged library must not make a new version of every process."""
    for content_hash in sorted({case.model_hash for case in CASES}):
        model = StoredModel.read(content_hash)
        files = {path: text.encode("utf-8") for path, text in model.source_files.items()}
        hooks = build_hooks(load_settings({}), TimeLimits())
        deployed = deploy_bundle(db, Bundle(files), "tester", hooks, clock)
        now = {d.key: d.content_hash for d in deployed}[model.key]
        assert now == content_hash, (
            f"the content hash of the unchanged '{model.key}' bundle changed "
            f"({content_hash[:12]} -> {now[:12]}): every deployment would get a new version "
            f"on its next deploy. Regenerate the fixtures with {REGENERATE} if the change is "
            "deliberate"
        )


# ------------------------------------------------------------------ format versions


def _stored_workflow(state: dict[str, Any]) -> BpmnWorkflow:
    """``state`` loaded with the current code on the first stored case's model, no database."""
    model = StoredModel.read(CASES[0].model_hash)
    spec, subprocess_specs = restore_spec(compress(model.spec))
    packed = gzip.compress(json.dumps(state).encode("utf-8"))
    return load_state(packed, spec, subprocess_specs, restricted_script_engine({}, 2.0))


def _document(**versions: object) -> dict[str, Any]:
    return {**json.loads(json.dumps(CASES[0].state)), **versions}


def test_a_saved_state_carries_both_format_versions() -> None:
    document = json.loads(gzip.decompress(dump_state(_stored_workflow(_document()))))
    assert document[STATE_VERSION_KEY] == STATE_VERSION
    assert document["serializer_version"] == SERIALIZER_VERSION


def test_nrmflow_migrations_run_in_order_from_the_stored_version() -> None:
    ran: list[str] = []

    def to_2(document: dict[str, Any]) -> None:
        ran.append("to_2")
        document["note"] = ["v2"]

    def to_3(document: dict[str, Any]) -> None:
        ran.append("to_3")
        document["note"].append("v3")

    unversioned = _document()
    del unversioned[STATE_VERSION_KEY]
    migrated = migrate_document(unversioned, (to_2, to_3))
    assert ran == ["to_2", "to_3"] and migrated["note"] == ["v2", "v3"]
    assert STATE_VERSION_KEY not in migrated and "serializer_version" not in migrated

    ran.clear()
    migrate_document(_document(**{STATE_VERSION_KEY: 2, "note": ["v2"]}), (to_2, to_3))
    assert ran == ["to_3"]


@pytest.mark.parametrize("version", [STATE_VERSION + 1, 0, "1"])
def test_a_state_from_a_newer_or_unknown_format_is_refused(version: object) -> None:
    with pytest.raises(StateFormatUnsupported, match="format"):
        _stored_workflow(_document(**{STATE_VERSION_KEY: version}))


def test_a_state_without_nrmflow_version_loads_as_version_1() -> None:
    unversioned = _document()
    del unversioned[STATE_VERSION_KEY]
    workflow = _stored_workflow(unversioned)
    assert sorted(t.task_spec.bpmn_id for t in open_user_tasks(workflow)) == sorted(
        name for name, _role in CASES[0].work_items
    )


def test_a_newer_case_is_refused_by_the_runtime_and_its_timer_stays_due(db: Database) -> None:
    """After a rollback, a case saved by the newer release is left alone, not half-run."""
    case = next(c for c in CASES if c.timers)
    restore_model(db, StoredModel.read(case.model_hash), case.moment)
    runtime = Runtime(db, clock_=FixedClock(case.moment))
    instance_id = restore_case(db, runtime, case)
    newer = _document(**{STATE_VERSION_KEY: STATE_VERSION + 1})
    with db.transaction() as session:
        instance = session.get(ProcessInstance, instance_id)
        assert instance is not None
        instance.state = gzip.compress(json.dumps(newer).encode("utf-8"))

    late = max(datetime.fromisoformat(due) for due in case.timers.values()) + timedelta(days=1)
    assert runtime.fire_due_timers(late) == 0
    with db.reader() as session:
        instance = session.get(ProcessInstance, instance_id)
        assert instance is not None and instance.revision == 1
        with pytest.raises(StateFormatUnsupported, match="upgrade nrmflow"):
            runtime._load(instance)
        due = session.scalars(select(TimerJob.task_name).filter_by(instance_id=instance_id))
        assert sorted(due) == sorted(case.timers)
