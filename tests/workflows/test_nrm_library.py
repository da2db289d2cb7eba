"""The NRM library as data: it deploys cleanly, is laid out, documented and staffed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from engine.bundle import read_bundle
from engine.config import load_settings
from engine.layout import layout_is_current
from engine.validation import validate_bundle
from tests.workflows.nrm_driver import NRM_BUNDLE
from workflows.demo import DEMO_USERS
from workflows.hooks import build_hooks, may_start
from workflows.roles import ROLES, role_for_lane
from workflows.time_limits import InvalidTimeLimit, load_time_limits

BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
DIAGRAMS = sorted(NRM_BUNDLE.glob("*.bpmn"))
FORMS = sorted((NRM_BUNDLE / "forms").glob("*.json"))
STAGES = {
    "nrm_case",
    "nrm_identification",
    "nrm_protection",
    "nrm_referral_decision",
    "nrm_assistance",
    "nrm_risk_assessment",
    "nrm_child_path",
    "nrm_proceedings",
    "nrm_return",
    "nrm_integration",
    "nrm_closure",
    "nrm_return_reception",
}


def _tree(path: Path) -> etree._ElementTree:
    return etree.parse(str(path))


def test_the_library_deploys_without_problems_or_warnings() -> None:
    hooks = build_hooks(load_settings({}))
    validated = validate_bundle(
        read_bundle(NRM_BUNDLE, 5_000_000), hooks.script_helpers, hooks.role_for_lane
    )
    assert set(validated.specs) == STAGES
    assert validated.warnings == []


@pytest.mark.parametrize("diagram", DIAGRAMS, ids=lambda p: p.stem)
def test_each_diagram_is_laid_out_and_cites_its_source(diagram: Path) -> None:
    assert layout_is_current(diagram.read_bytes()), f"run: nrmflow layout {diagram}"
    process = _tree(diagram).find(f"{BPMN}process")
    assert process is not None
    documentation = process.findtext(f"{BPMN}documentation") or ""
    assert any(source in documentation for source in ("art.", "Handbook", "Guiding Principles"))
    for task in process.iter(f"{BPMN}userTask"):
        assert (task.findtext(f"{BPMN}documentation") or "").strip(), task.get("id")
        assert task.get("name"), task.get("id")


def _properties(schema: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return list(schema.get("properties", {}).items())


@pytest.mark.parametrize("form", FORMS, ids=lambda p: p.stem)
def test_each_form_speaks_to_a_caseworker(form: Path) -> None:
    schema = json.loads(form.read_text())
    assert schema.get("title") and schema.get("additionalProperties") is False
    for name, field in _properties(schema):
        assert field.get("title"), f"{form.name}: {name} has no title"
        if "enum" in field:
            assert len(field.get("x-enumTitles", [])) == len(field["enum"]), name
        if field.get("type") == "string" and "enum" not in field and "format" not in field:
            assert "maxLength" in field or "pattern" in field, f"{form.name}: {name} is unbounded"


def test_every_lane_is_a_catalogued_role_and_every_role_has_a_demo_user() -> None:
    lanes = {
        lane.get("name") for diagram in DIAGRAMS for lane in _tree(diagram).iter(f"{BPMN}lane")
    }
    assert lanes and all(role_for_lane(lane) for lane in lanes)
    held = {role for _name, _agency, roles in DEMO_USERS for role in roles}
    assert {role.key for role in ROLES} <= held


def test_assistance_is_never_conditional() -> None:
    """Art. 12(6): no gateway condition in the assistance stage, whatever the person decides."""
    conditions = list(_tree(NRM_BUNDLE / "nrm_assistance.bpmn").iter(f"{BPMN}conditionExpression"))
    assert conditions == []


def test_only_a_first_responder_starts_a_case_and_only_the_case() -> None:
    assert may_start("nrm_case", {"first_responder"})
    assert not may_start("nrm_case", {"support_provider", "auditor"})
    assert not may_start("nrm_identification", {"first_responder"})


def test_time_limits_come_from_the_environment_and_respect_legal_minimums() -> None:
    limits = load_time_limits(
        {"NRMFLOW_RG_TARGET_WORKING_DAYS": "3", "NRMFLOW_RETURN_FOLLOW_UP_MONTHS": "1,2"}
    )
    assert (limits.rg_target_working_days, limits.return_follow_up_months) == (3, (1, 2))
    assert load_time_limits({}).recovery_period_days == 30
    with pytest.raises(InvalidTimeLimit, match="at least 30"):
        load_time_limits({"NRMFLOW_RECOVERY_PERIOD_DAYS": "20"})
    with pytest.raises(InvalidTimeLimit, match="whole number"):
        load_time_limits({"NRMFLOW_RG_TARGET_WORKING_DAYS": "five"})
