"""Hostile bundles: file names, links, entity tricks and code that try to leave the bundle.

A bundle comes from a directory (``nrmflow deploy``) or an upload (the API); there is
no zip format. Each attack must end in a clean :class:`ModelInvalid` (or, for code
slipped past validation, a failed step) that stores nothing and reads or writes
nothing outside the bundle. tests/engine/test_deploy.py covers the BPMN entity bombs,
tests/engine/test_sandbox.py the interpreter itself.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from engine.bundle import Bundle, bundle_from_uploads, read_bundle
from engine.clock import FixedClock
from engine.db import Database
from engine.deploy import deploy_bundle
from engine.errors import ModelInvalid, WorkflowFailed
from engine.hooks import Hooks
from engine.models import ProcessModelVersion
from engine.runtime import Runtime
from tests.engine.helpers import BUNDLES, item_named, sample_runtime, tamper_spec

HOSTILE_DMN = Path(__file__).parents[1] / "fixtures" / "hostile_dmn"
MAX_BYTES = 5_000_000
SECRET = "outside-the-bundle"
INTAKE = {"applicant_ref": "R", "amount": 1, "urgent": False}  # small, so "< 1000" is tried


def _versions(db: Database) -> int:
    with db.reader() as session:
        return session.scalar(select(func.count()).select_from(ProcessModelVersion)) or 0


def _sample_copy(tmp_path: Path) -> Path:
    bundle = tmp_path / "bundle"
    shutil.copytree(BUNDLES / "sample", bundle)
    return bundle


def _refused(db: Database, clock: FixedClock, bundle: Bundle) -> list[str]:
    """Deploy ``bundle``; it must be refused, store nothing, and never show a secret."""
    with pytest.raises(ModelInvalid) as raised:
        deploy_bundle(db, bundle, "tester", Hooks(), clock)
    assert _versions(db) == 0
    problems = [str(p) for p in raised.value.problems]
    assert not [p for p in problems if SECRET in p or "root:" in p]
    return problems


# ------------------------------------------------------------------ file names and links


@pytest.mark.parametrize(
    "name",
    [
        "../escape.bpmn",
        "forms/../../escape.json",
        "/etc/passwd.bpmn",
        "C:\\nrm\\case.bpmn",
        "case\x00.bpmn",
        "case.bpmn\x00.txt",
        "\x1b[2Jcase.bpmn",
        "x" * 301 + ".bpmn",
        "./case.bpmn",
        "forms//case.json",
        "",
    ],
)
def test_an_upload_name_that_is_not_a_plain_relative_path_is_refused(name: str) -> None:
    sample = read_bundle(BUNDLES / "sample", MAX_BYTES).files
    with pytest.raises(ModelInvalid) as raised:
        bundle_from_uploads([*sample.items(), (name, b"<definitions/>")], MAX_BYTES)
    assert [p.file for p in raised.value.problems] == ["(upload)"]


def test_a_link_to_a_file_outside_the_bundle_directory_is_refused(
    db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    outside = tmp_path / "outside.json"
    outside.write_text(f'{{"title": "{SECRET}"}}')
    bundle = _sample_copy(tmp_path)
    (bundle / "leak.json").symlink_to(outside)

    with pytest.raises(ModelInvalid) as raised:
        read_bundle(bundle, MAX_BYTES)
    assert any(p.file == "leak.json" for p in raised.value.problems)


def test_a_linked_directory_is_not_followed_out_of_the_bundle(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "secret.json").write_text(f'{{"title": "{SECRET}"}}')
    bundle = _sample_copy(tmp_path)
    (bundle / "forms").symlink_to(elsewhere, target_is_directory=True)

    try:
        files = read_bundle(bundle, MAX_BYTES).files
    except ModelInvalid:
        return  # refusing the link outright is as good
    assert not [path for path, content in files.items() if SECRET.encode() in content]


def test_nothing_outside_a_refused_bundle_changes(
    db: Database, clock: FixedClock, tmp_path: Path
) -> None:
    """Deploy reads the bundle and writes only the database, even for a refused bundle."""
    bundle_dir = _sample_copy(tmp_path)
    shutil.copy(HOSTILE_DMN / "xxe.dmn", bundle_dir / "route.dmn")
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")}
    _refused(db, clock, read_bundle(bundle_dir, MAX_BYTES))
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")} == before


# ------------------------------------------------------------------ entities in DMN, any encoding


@pytest.mark.parametrize("attack", ["xxe.dmn", "billion_laughs.dmn"])
def test_entity_tricks_in_a_decision_table_are_refused(
    db: Database, clock: FixedClock, tmp_path: Path, attack: str
) -> None:
    bundle_dir = _sample_copy(tmp_path)
    shutil.copy(HOSTILE_DMN / attack, bundle_dir / "route.dmn")
    started = time.monotonic()
    problems = _refused(db, clock, read_bundle(bundle_dir, MAX_BYTES))
    assert time.monotonic() - started < 5
    assert [p for p in problems if p.startswith("route.dmn") and "DOCTYPE" in p], problems


XXE_IN_TEXT = (
    '<bpmn:userTask id="fill" name="Fill in"><bpmn:documentation>&xxe;</bpmn:documentation>'
)


def _reencoded(text: str, encoding: str) -> bytes:
    return text.replace('encoding="UTF-8"', f'encoding="{encoding.upper()}"').encode(encoding)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32"])
@pytest.mark.parametrize(
    ("path", "attack"),
    [
        ("route.dmn", HOSTILE_DMN / "xxe.dmn"),
        ("route.dmn", HOSTILE_DMN / "billion_laughs.dmn"),
        ("xxe.bpmn", BUNDLES / "invalid" / "xxe" / "xxe.bpmn"),
        ("sample_case.bpmn", BUNDLES / "sample" / "sample_case.bpmn"),  # gets an external DTD
    ],
)
def test_entity_tricks_in_another_encoding_are_refused_not_a_crash(
    db: Database, clock: FixedClock, path: str, attack: Path, encoding: str
) -> None:
    """A byte search for ``<!DOCTYPE`` misses UTF-16 and UTF-32; the refusal must not."""
    files = dict(read_bundle(BUNDLES / "sample", MAX_BYTES).files)
    text = attack.read_text().replace('name="&xxe;"', 'name="x"')  # the entity in text only
    text = text.replace('<bpmn:userTask id="fill" name="Fill in">', XXE_IN_TEXT)
    if "<!DOCTYPE" not in text:
        declaration, rest = text.split("\n", 1)
        text = f'{declaration}\n<!DOCTYPE definitions SYSTEM "file:///etc/passwd">\n{rest}'
    files[path] = _reencoded(text, encoding)
    problems = _refused(db, clock, Bundle(files))
    assert [p for p in problems if p.startswith(path)], problems


# ------------------------------------------------------------ code in conditions, cells, timers

ESCAPE = "().__class__.__mro__[1].__subclasses__()"


@pytest.mark.parametrize(
    ("file", "old", "new", "element_id"),
    [
        ("sample_case.bpmn", 'route == "fast"', f"route == {ESCAPE}", "fast"),
        ("sample_case.bpmn", 'route == "fast"', "__import__('os').getcwd()", "fast"),
        ("route.dmn", "&lt; 1000", "&lt; __import__('os').getpid()", "rule_small_amount"),
        ("route.dmn", '"full"', '"full".__class__', "rule_large_route"),
        ("route.dmn", "<text>amount</text>", f"<text>{ESCAPE}</text>", "input_amount"),
        ("sample_case.bpmn", '"P3D"', "__import__('os').getenv('HOME')", "approve_deadline_timer"),
        ("sample_case.bpmn", '"P3D"', "(lambda: 1).__globals__", "approve_deadline_timer"),
    ],
)
def test_unsafe_code_in_a_condition_decision_cell_or_timer_is_refused_at_deploy(
    db: Database, clock: FixedClock, tmp_path: Path, file: str, old: str, new: str, element_id: str
) -> None:
    bundle_dir = _sample_copy(tmp_path)
    source = bundle_dir / file
    assert old in source.read_text()
    source.write_text(source.read_text().replace(old, new, 1))
    with pytest.raises(ModelInvalid) as raised:
        deploy_bundle(db, read_bundle(bundle_dir, MAX_BYTES), "tester", Hooks(), clock)
    matching = [p for p in raised.value.problems if p.file == file]
    assert matching, [str(p) for p in raised.value.problems]
    assert element_id in {p.element_id for p in matching} or any(
        element_id in p.element_id for p in matching
    ), [str(p) for p in matching]
    assert _versions(db) == 0


@pytest.mark.parametrize(
    ("old", "new"),
    [
        # a sequence flow's condition that never ends: the time limit stops it
        ('route == \\"fast\\"', "any(False for a in range(10**6) for b in range(10**6))"),
        # a decision cell that reaches for the operating system
        ("< 1000", "< __import__('os').system('touch {target}')"),
        # a decision cell that walks the class tree
        ("< 1000", f"< len({ESCAPE})"),
    ],
)
def test_unsafe_code_slipped_into_a_stored_spec_fails_the_step_and_nothing_else(
    db: Database, clock: FixedClock, tmp_path: Path, old: str, new: str
) -> None:
    """An intruder who rewrites a stored spec gets a failed step, never code on the server."""
    runtime = sample_runtime(db, clock)
    target = tmp_path / "pwned"
    tamper_spec(db, "sample_case", old, new.format(target=target))
    runtime = Runtime(db, runtime.hooks, clock, script_time_limit=1.0)

    case = runtime.start("sample_case", {}, "clara")
    intake = item_named(case, "intake")
    started = time.monotonic()
    with pytest.raises(WorkflowFailed):
        runtime.complete(intake.id, INTAKE, "clara")
    assert time.monotonic() - started < 10
    assert not target.exists()
    after = runtime.case(case.id)
    assert after.revision == case.revision
    assert [w.id for w in after.work_items] == [intake.id]
