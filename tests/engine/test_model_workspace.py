"""What a coordinator edits in the modeler, and what saving, discarding and deploying it does.

The reference library calls the referral decision from the protection stage,
which the case process calls: a change to the decision must reach both
callers, or cases would never run it.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from engine.bundle import Bundle, unpack_files
from engine.bundle_processes import defining_file
from engine.clock import FixedClock
from engine.db import Database
from engine.deploy import deploy_bundle
from engine.errors import ModelInvalid, ModelNotFound, NotAuthorized, StaleRevision
from engine.model_drafts import Editor, deploy_edit, discard_draft, import_diagram, save_draft
from engine.model_workspace import EditBase, Workspace, list_drafts, open_workspace
from engine.models import AuditEvent, ProcessModelVersion
from engine.runtime import Runtime
from tests.workflows.nrm_driver import NRM_BUNDLE, nrm_runtime

KEY = "nrm_referral_decision"
PATH = "nrm_referral_decision.bpmn"
COORDINATOR, RESPONDER = "demo.coordinator", "demo.outreach"
OLD_TIMER = 'business_days_from_now(time_limit("rg_target_working_days"))'
NEW_TIMER = "business_days_from_now(10)"
LIMIT = 5_000_000


@pytest.fixture
def runtime(db: Database, clock: FixedClock) -> Runtime:
    return nrm_runtime(db, clock)


def opened(workspace: Workspace) -> EditBase:
    """What a page that opened ``workspace`` sends back with a save or deploy."""
    return EditBase(workspace.version, workspace.draft.saved_at if workspace.draft else None)


def editor(runtime: Runtime, actor: str) -> Editor:
    return Editor(runtime.db, actor, runtime.hooks, runtime.clock, LIMIT)


def _edited(timer: str = NEW_TIMER) -> dict[str, bytes]:
    original = (NRM_BUNDLE / PATH).read_text("utf-8")
    assert OLD_TIMER in original
    return {PATH: original.replace(OLD_TIMER, timer).encode("utf-8")}


def _newest(db: Database) -> dict[str, int]:
    query = select(ProcessModelVersion.key, func.max(ProcessModelVersion.version))
    with db.reader() as session:
        return dict(session.execute(query.group_by(ProcessModelVersion.key)).all())  # type: ignore[arg-type]


def _actions(db: Database) -> list[str]:
    with db.reader() as session:
        return list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)))


def test_the_workspace_holds_the_process_file_and_every_caller(runtime: Runtime) -> None:
    workspace = open_workspace(runtime.db, KEY)
    assert workspace.path == PATH
    assert workspace.version == 1
    assert {KEY, "nrm_protection", "nrm_case"} <= set(workspace.keys)
    assert "nrm_risk_assessment" not in workspace.keys  # it holds no copy of the decision
    assert workspace.deployed[PATH] == (NRM_BUNDLE / PATH).read_bytes()
    assert "nrm_case.bpmn" in workspace.deployed  # so deploying it gives the case a version
    assert workspace.draft is None


def test_an_unknown_process_has_no_workspace(runtime: Runtime) -> None:
    with pytest.raises(ModelNotFound, match="no process 'nrm_nowhere'"):
        open_workspace(runtime.db, "nrm_nowhere")


def test_defining_file_finds_the_process_not_a_caller() -> None:
    files = {p.name: p.read_bytes() for p in NRM_BUNDLE.glob("*.bpmn")}
    assert defining_file(files, KEY) == PATH
    assert defining_file(files, "nowhere") is None


def test_deploying_an_edit_versions_the_process_and_its_callers_only(
    runtime: Runtime, clock: FixedClock
) -> None:
    before = _newest(runtime.db)
    workspace = open_workspace(runtime.db, KEY)
    deployed = deploy_edit(
        editor(runtime, COORDINATOR), workspace.key, _edited(), opened(workspace)
    )
    created = {d.key: d.version for d in deployed if d.created}
    assert created == {KEY: 2, "nrm_protection": 2, "nrm_case": 2}
    after = _newest(runtime.db)
    assert after == {**before, **created}
    with runtime.db.reader() as session:
        stored = session.scalar(
            select(ProcessModelVersion.source_files).filter_by(key=KEY, version=2)
        )
    assert unpack_files(stored or b"")[PATH] == _edited()[PATH]  # byte for byte
    assert _actions(runtime.db).count("model_deployed") == len(before) + 3


def test_a_draft_is_kept_shown_on_reopening_and_audited_without_its_content(
    runtime: Runtime, clock: FixedClock
) -> None:
    workspace = open_workspace(runtime.db, KEY)
    save_draft(editor(runtime, COORDINATOR), workspace.key, _edited(), opened(workspace))
    reopened = open_workspace(runtime.db, KEY)
    assert reopened.draft is not None
    assert reopened.draft.saved_by == COORDINATOR
    assert reopened.files[PATH] == _edited()[PATH]
    assert reopened.deployed[PATH] == workspace.deployed[PATH]
    assert list_drafts(runtime.db) == {KEY: (COORDINATOR, clock.now())}
    with runtime.db.reader() as session:
        event = session.scalars(select(AuditEvent).filter_by(action="model_draft_saved")).one()
    assert json.loads(event.payload) == {"key": KEY, "files": [PATH]}
    assert _newest(runtime.db)[KEY] == 1  # nothing runs on a draft


def test_saving_again_replaces_the_draft_and_discarding_removes_it(
    runtime: Runtime, clock: FixedClock
) -> None:
    workspace = open_workspace(runtime.db, KEY)
    save_draft(editor(runtime, COORDINATOR), workspace.key, _edited(), opened(workspace))
    again = open_workspace(runtime.db, KEY)
    save_draft(editor(runtime, COORDINATOR), again.key, _edited('"P3D"'), opened(again))
    draft = open_workspace(runtime.db, KEY).draft
    assert draft is not None and b'"P3D"' in draft.files[PATH]
    assert discard_draft(editor(runtime, COORDINATOR), KEY)
    assert open_workspace(runtime.db, KEY).draft is None
    assert not discard_draft(editor(runtime, COORDINATOR), KEY)
    assert _actions(runtime.db).count("model_draft_discarded") == 1


def test_deploying_removes_the_draft_but_a_refused_deploy_keeps_it(
    runtime: Runtime, clock: FixedClock
) -> None:
    workspace = open_workspace(runtime.db, KEY)
    broken = _edited("P30D")  # unquoted: a Python name, refused at deploy
    save_draft(editor(runtime, COORDINATOR), workspace.key, broken, opened(workspace))
    saved = open_workspace(runtime.db, KEY)
    with pytest.raises(ModelInvalid) as refused:
        deploy_edit(editor(runtime, COORDINATOR), saved.key, broken, opened(saved))
    assert any(p.element_id.startswith("rg_target_missed") for p in refused.value.problems)
    assert open_workspace(runtime.db, KEY).draft is not None
    assert _newest(runtime.db)[KEY] == 1
    deploy_edit(editor(runtime, COORDINATOR), saved.key, _edited(), opened(saved))
    assert open_workspace(runtime.db, KEY).draft is None


def test_a_form_saved_in_a_draft_stays_through_later_saves_and_is_deployed(
    runtime: Runtime, clock: FixedClock
) -> None:
    form = b'{"type": "object", "title": "Second look", "properties": {}}'
    uses_it = _edited()[PATH].replace(
        b'value="decide_reasonable_grounds.json"', b'value="second_look.json"', 1
    )
    first_sitting = open_workspace(runtime.db, KEY)
    first_changes = {PATH: uses_it, "forms/second_look.json": form}
    save_draft(
        editor(runtime, COORDINATOR), first_sitting.key, first_changes, opened(first_sitting)
    )
    second_sitting = open_workspace(runtime.db, KEY)  # the page sends only what it changed
    save_draft(
        editor(runtime, COORDINATOR), second_sitting.key, {PATH: uses_it}, opened(second_sitting)
    )
    third_sitting = open_workspace(runtime.db, KEY)
    assert third_sitting.files["forms/second_look.json"] == form
    deploy_edit(
        editor(runtime, COORDINATOR), third_sitting.key, {PATH: uses_it}, opened(third_sitting)
    )
    with runtime.db.reader() as session:
        stored = session.scalar(
            select(ProcessModelVersion.source_files).filter_by(key=KEY, version=2)
        )
    assert unpack_files(stored or b"")["forms/second_look.json"] == form


def test_only_a_coordinator_saves_or_deploys(runtime: Runtime, clock: FixedClock) -> None:
    workspace = open_workspace(runtime.db, KEY)
    with pytest.raises(NotAuthorized):
        save_draft(editor(runtime, RESPONDER), workspace.key, _edited(), opened(workspace))
    with pytest.raises(NotAuthorized):
        deploy_edit(editor(runtime, RESPONDER), workspace.key, _edited(), opened(workspace))
    with pytest.raises(NotAuthorized):
        discard_draft(editor(runtime, RESPONDER), KEY)
    assert _newest(runtime.db)[KEY] == 1
    assert "model_draft_saved" not in _actions(runtime.db)


@pytest.mark.parametrize("path", ["../escape.json", "/etc/form.json", "forms/run.py"])
def test_an_edit_cannot_reach_outside_the_bundle(
    runtime: Runtime, clock: FixedClock, path: str
) -> None:
    changes = {**_edited(), path: b"{}"}
    with pytest.raises(ModelInvalid):
        workspace = open_workspace(runtime.db, KEY)
        save_draft(editor(runtime, COORDINATOR), workspace.key, changes, opened(workspace))
    assert open_workspace(runtime.db, KEY).draft is None


FOREIGN = NRM_BUNDLE.parents[1] / "tests" / "fixtures" / "foreign_bpmn"


def test_a_file_of_a_new_process_is_imported_as_its_draft_and_deploys_as_version_1(
    runtime: Runtime,
) -> None:
    # the risk assessment saved as a new process, as a coordinator's own tool would
    original = (NRM_BUNDLE / "nrm_risk_assessment.bpmn").read_bytes()
    content = original.replace(b"nrm_risk_assessment", b"nrm_safety_review")
    key = import_diagram(editor(runtime, COORDINATOR), content)
    assert key == "nrm_safety_review"
    workspace = open_workspace(runtime.db, key)
    assert (workspace.version, workspace.version_id, workspace.path) == (0, None, f"{key}.bpmn")
    assert workspace.files[workspace.path] == content  # byte for byte, as the tool wrote it
    assert "nrm_case.bpmn" in workspace.deployed  # so it may call any deployed process
    before = _newest(runtime.db)
    deployed = deploy_edit(
        editor(runtime, COORDINATOR), workspace.key, {workspace.path: content}, opened(workspace)
    )
    assert [(d.key, d.version) for d in deployed if d.created] == [(key, 1)]
    assert _newest(runtime.db) == {**before, key: 1}
    assert open_workspace(runtime.db, key).draft is None


def test_a_file_of_a_deployed_process_becomes_that_processs_draft(runtime: Runtime) -> None:
    key = import_diagram(editor(runtime, COORDINATOR), _edited()[PATH])
    assert key == KEY
    workspace = open_workspace(runtime.db, KEY)
    assert workspace.version == 1
    assert workspace.draft is not None and workspace.files[PATH] == _edited()[PATH]


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"<x/>", "the file holds no BPMN process"),
        (b"not xml at all", "not well-formed"),
        (b'<!DOCTYPE x [<!ENTITY e "e">]><x/>', "DOCTYPE"),
    ],
)
def test_a_file_that_is_no_process_is_refused_and_nothing_is_kept(
    runtime: Runtime, content: bytes, reason: str
) -> None:
    with pytest.raises(ModelInvalid) as refused:
        import_diagram(editor(runtime, COORDINATOR), content)
    assert reason in refused.value.problems[0].message
    assert list_drafts(runtime.db) == {}


def test_a_process_not_deployed_and_not_drafted_has_no_workspace(runtime: Runtime) -> None:
    key = import_diagram(editor(runtime, COORDINATOR), (FOREIGN / "bizagi.bpmn").read_bytes())
    assert discard_draft(editor(runtime, COORDINATOR), key)
    with pytest.raises(ModelNotFound):
        open_workspace(runtime.db, key)


def test_a_deploy_from_a_page_older_than_the_newest_version_is_refused(
    runtime: Runtime,
) -> None:
    page_a = open_workspace(runtime.db, KEY)
    page_b = open_workspace(runtime.db, KEY)
    deploy_edit(editor(runtime, COORDINATOR), page_b.key, _edited(), opened(page_b))
    with pytest.raises(StaleRevision, match="version 2 of 'nrm_referral_decision' was deployed"):
        deploy_edit(editor(runtime, COORDINATOR), page_a.key, _edited('"P3D"'), opened(page_a))
    with pytest.raises(StaleRevision):
        save_draft(editor(runtime, COORDINATOR), page_a.key, _edited('"P3D"'), opened(page_a))
    assert _newest(runtime.db)[KEY] == 2  # page B's change stands
    assert open_workspace(runtime.db, KEY).draft is None


def test_a_save_over_a_draft_saved_since_the_page_opened_is_refused(
    runtime: Runtime, clock: FixedClock
) -> None:
    page_a = open_workspace(runtime.db, KEY)
    page_b = open_workspace(runtime.db, KEY)
    clock.advance(minutes=5)
    save_draft(editor(runtime, COORDINATOR), page_b.key, _edited(), opened(page_b))
    with pytest.raises(StaleRevision, match=r"demo.coordinator saved a draft"):
        save_draft(editor(runtime, COORDINATOR), page_a.key, _edited('"P3D"'), opened(page_a))
    with pytest.raises(StaleRevision):  # nor does a deploy from page A drop B's draft
        deploy_edit(editor(runtime, COORDINATOR), page_a.key, _edited('"P3D"'), opened(page_a))
    draft = open_workspace(runtime.db, KEY).draft
    assert draft is not None and draft.files[PATH] == _edited()[PATH]


def test_an_edit_never_rolls_back_a_process_deployed_on_its_own(
    runtime: Runtime, clock: FixedClock
) -> None:
    """The risk assessment gets version 2 alone (its callers keep an older copy of its file);
    editing the referral decision must neither version it again nor bring the old copy back."""
    path = "nrm_risk_assessment.bpmn"
    newer = (
        (NRM_BUNDLE / path)
        .read_bytes()
        .replace(b'name="Risk assessment and safety plan"', b'name="Risk and safety assessment"', 1)
    )
    assert newer != (NRM_BUNDLE / path).read_bytes()
    alone = Bundle(
        {path: newer, "risk_level.dmn": (NRM_BUNDLE / "risk_level.dmn").read_bytes(), **_forms()}
    )
    deploy_bundle(runtime.db, alone, "tester", runtime.hooks, clock)
    assert _newest(runtime.db)["nrm_risk_assessment"] == 2
    workspace = open_workspace(runtime.db, KEY)
    assert workspace.deployed[path] == newer
    deployed = deploy_edit(
        editor(runtime, COORDINATOR), workspace.key, _edited(), opened(workspace)
    )
    assert {d.key for d in deployed if d.created} == {KEY, "nrm_protection", "nrm_case"}
    assert "nrm_risk_assessment" not in {d.key for d in deployed}
    assert _newest(runtime.db)["nrm_risk_assessment"] == 2


def _forms() -> dict[str, bytes]:
    return {f"forms/{p.name}": p.read_bytes() for p in (NRM_BUNDLE / "forms").glob("*.json")}


def test_a_process_marked_not_executable_is_a_problem_not_a_silent_nothing(
    runtime: Runtime,
) -> None:
    original = (NRM_BUNDLE / "nrm_risk_assessment.bpmn").read_bytes()
    content = original.replace(b"nrm_risk_assessment", b"nrm_safety_review").replace(
        b'isExecutable="true"', b'isExecutable="false"', 1
    )
    key = import_diagram(editor(runtime, COORDINATOR), content)
    workspace = open_workspace(runtime.db, key)
    [problem] = workspace.own_problems({workspace.path: content})
    assert "marked not executable" in problem.message and problem.line
    with pytest.raises(ModelInvalid):
        deploy_edit(
            editor(runtime, COORDINATOR),
            workspace.key,
            {workspace.path: content},
            opened(workspace),
        )
    assert open_workspace(runtime.db, key).draft is not None  # kept, to be fixed


def test_an_edit_must_keep_the_process_id(runtime: Runtime) -> None:
    workspace = open_workspace(runtime.db, KEY)
    renamed = _edited()[PATH].replace(b'id="nrm_referral_decision"', b'id="other_decision"')
    [problem] = workspace.own_problems({PATH: renamed})
    assert "must still define the process 'nrm_referral_decision'" in problem.message


def test_an_imported_process_id_must_be_a_plain_name(runtime: Runtime) -> None:
    content = b'<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL">'
    content += b'<bpmn:process id="a/b" isExecutable="true"/></bpmn:definitions>'
    with pytest.raises(ModelInvalid, match="a process id must start with a letter"):
        import_diagram(editor(runtime, COORDINATOR), content)
    assert list_drafts(runtime.db) == {}
