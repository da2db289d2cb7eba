"""Need-to-know rules: every case field is catalogued, and each role sees only its share."""

from __future__ import annotations

import ast
import json

import pytest
from lxml import etree

from tests.workflows.nrm_driver import NRM_BUNDLE
from workflows.roles import ROLES_BY_KEY, role_for_lane
from workflows.stages import STAGE_TITLES
from workflows.visibility import (
    CATEGORIES,
    CATEGORY_OF,
    COMPLETED,
    GRANTS,
    may_view_case,
    visible_data,
)

BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
SPIFF = "{http://spiffworkflow.org/bpmn/schema/1.0/core}"
FORMS = sorted((NRM_BUNDLE / "forms").glob("*.json"))
DIAGRAMS = sorted(NRM_BUNDLE.glob("*.bpmn"))


def _form_properties() -> set[tuple[str, str]]:
    return {
        (form.name, name)
        for form in FORMS
        for name in json.loads(form.read_text(encoding="utf-8")).get("properties", {})
    }


def _assigned_names(script: str) -> set[str]:
    """Names a script leaves in the task data (not a comprehension's own variable)."""
    targets: list[ast.expr] = []
    for node in ast.walk(ast.parse(script)):
        if isinstance(node, ast.Assign):
            targets += node.targets
        elif isinstance(node, ast.AugAssign | ast.AnnAssign | ast.For):
            targets.append(node.target)
    return {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}


def _variables_set_by_diagrams() -> set[str]:
    """Every name a script assigns, a message lands in or a decision table outputs."""
    names: set[str] = set()
    for diagram in DIAGRAMS:
        tree = etree.parse(str(diagram))
        for script in tree.iter(f"{BPMN}script"):
            names |= _assigned_names(script.text or "")
        names |= {v.text or "" for v in tree.iter(f"{SPIFF}messageVariable")}
    for table in NRM_BUNDLE.glob("*.dmn"):
        names |= {o.get("name") or "" for o in etree.parse(str(table)).iter("{*}output")}
    return names


def _user_tasks() -> list[tuple[str, str, str | None]]:
    """(stage, task, role) for every user task of the library."""
    found = []
    for diagram in DIAGRAMS:
        for process in etree.parse(str(diagram)).iter(f"{BPMN}process"):
            lane_of = {
                ref.text: lane.get("name")
                for lane in process.iter(f"{BPMN}lane")
                for ref in lane.iter(f"{BPMN}flowNodeRef")
            }
            for task in process.iter(f"{BPMN}userTask"):
                role = role_for_lane(lane_of.get(task.get("id")))
                found.append((process.get("id") or "", task.get("id") or "", role))
    return found


# ----------------------------------------------------------------- the catalogue


def test_every_property_of_every_form_is_in_a_category() -> None:
    assert len(FORMS) > 40  # the library's forms were found
    forgotten = sorted(
        f"{form}:{name}" for form, name in _form_properties() if name not in CATEGORY_OF
    )
    assert forgotten == [], "add these fields to a category in workflows/visibility.py"


def test_every_variable_a_diagram_sets_is_in_a_category() -> None:
    assert {"risk_level", "rg_decided_at", "travel_documents"} <= _variables_set_by_diagrams()
    forgotten = sorted(_variables_set_by_diagrams() - set(CATEGORY_OF))
    assert forgotten == [], "add these variables to a category in workflows/visibility.py"


def test_the_catalogue_names_no_field_twice() -> None:
    listed = [name for names in CATEGORIES.values() for name in names]
    assert len(listed) == len(set(listed))


def test_grants_name_known_roles_stages_and_categories() -> None:
    for role, stages in GRANTS.items():
        assert role in ROLES_BY_KEY, role
        for stage, categories in stages.items():
            assert stage in STAGE_TITLES, stage
            assert set(categories) <= set(CATEGORIES), (role, stage)


def test_whoever_works_a_task_sees_some_data_at_its_stage() -> None:
    for stage, task, role in _user_tasks():
        assert role is not None, task
        if role == "nrm_coordinator":
            continue
        assert GRANTS.get(role, {}).get(stage), f"{role} works {task} in {stage} but sees nothing"


# ----------------------------------------------------------------- examples

CASE = {
    "first_responder_type": "police",
    "given_name": "Alex",
    "family_name": "Example",
    "indicators": ["debt_bondage"],
    "compelled_offences": False,
    "accommodation": "specialised_shelter",
    "assistance_needs": ["accommodation"],
    "medical_care": "general_check",
    "rg_decision": "positive",
    "rg_reasons": "Consistent account.",
    "risk_level": "high",
    "threat_level": "direct",
    "protection_measures": ["police_protection"],
    "measures_note": "Agreed with the station.",
    "non_punishment_decision": "no_prosecution",
    "cooperate_with_prosecution": True,
    "proceedings_outcome": "conviction",
    "an_unknown_field": "x",
}
ASSISTANCE_AND_RISK = ["nrm_assistance", "nrm_risk_assessment", "nrm_referral_decision"]


def test_the_support_provider_does_not_see_protection_measures() -> None:
    seen = visible_data({"support_provider"}, ASSISTANCE_AND_RISK, CASE)
    assert "protection_measures" not in seen and "measures_note" not in seen
    assert {"given_name", "risk_level", "accommodation", "rg_reasons"} <= set(seen)


def test_the_police_see_protection_measures_when_assessing_risk() -> None:
    seen = visible_data({"police"}, ["nrm_risk_assessment"], CASE)
    assert {"protection_measures", "measures_note", "risk_level", "given_name"} <= set(seen)
    assert "medical_care" not in seen and "accommodation" not in seen


def test_social_services_see_identity_and_accommodation_needs_only() -> None:
    seen = visible_data({"social_services"}, ASSISTANCE_AND_RISK, CASE)
    assert set(seen) == {"given_name", "family_name", "accommodation", "assistance_needs"}
    assert "rg_reasons" not in seen and "indicators" not in seen


def test_the_prosecutor_sees_proceedings_and_non_punishment_but_not_health() -> None:
    seen = visible_data({"prosecutor"}, ["nrm_proceedings"], CASE)
    assert {"proceedings_outcome", "non_punishment_decision", "compelled_offences"} <= set(seen)
    assert {"cooperate_with_prosecution", "indicators"} <= set(seen)
    assert "medical_care" not in seen and "protection_measures" not in seen


def test_a_role_sees_nothing_at_a_stage_where_it_has_no_work() -> None:
    assert visible_data({"social_services"}, ["nrm_referral_decision"], CASE) == {}


def test_roles_and_stages_add_up() -> None:
    both = visible_data({"social_services", "health_services"}, ["nrm_assistance"], CASE)
    assert {"accommodation", "medical_care"} <= set(both)


def test_the_auditor_sees_no_case_data() -> None:
    every_stage = [*STAGE_TITLES, COMPLETED]
    assert visible_data({"auditor"}, every_stage, CASE) == {}


def test_an_unknown_field_is_hidden_from_all_but_the_coordinator() -> None:
    every_stage = list(STAGE_TITLES)
    for role in ROLES_BY_KEY:
        if role != "nrm_coordinator":
            assert "an_unknown_field" not in visible_data({role}, every_stage, CASE), role
    assert visible_data({"nrm_coordinator"}, ["nrm_assistance"], CASE) == CASE


def test_a_closed_case_shows_its_data_only_to_the_coordinator() -> None:
    for role in ROLES_BY_KEY:
        if role != "nrm_coordinator":
            assert visible_data({role}, [COMPLETED], CASE) == {}, role


@pytest.mark.parametrize(
    ("viewer", "open_items", "allowed"),
    [
        ({"support_provider"}, {"support_provider", "police"}, True),
        ({"first_responder", "police"}, {"police"}, True),
        ({"immigration"}, {"support_provider", "police"}, False),
        ({"nrm_coordinator"}, set(), True),
        ({"auditor"}, {"support_provider"}, False),
        ({"support_provider"}, {None}, False),
        (set(), {"support_provider"}, False),
    ],
)
def test_who_may_open_a_case(viewer: set[str], open_items: set[str | None], allowed: bool) -> None:
    assert may_view_case(viewer, open_items) is allowed
