"""Diagrams exported by other modelers validate, or are refused with named problems, never crash.

tests/fixtures/foreign_bpmn/README.md says what each file holds.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.bundle import Bundle
from engine.errors import ModelInvalid, Problem
from engine.validation import validate_bundle

FOREIGN = Path(__file__).parents[1] / "fixtures" / "foreign_bpmn"


def _bundle(name: str) -> Bundle:
    return Bundle({name: (FOREIGN / name).read_bytes()})


def _refusal(name: str) -> list[Problem]:
    with pytest.raises(ModelInvalid) as raised:
        validate_bundle(_bundle(name), {})
    return raised.value.problems


@pytest.mark.parametrize("name", sorted(p.name for p in FOREIGN.glob("*.bpmn")))
def test_a_foreign_diagram_validates_or_is_refused_with_named_problems(name: str) -> None:
    try:
        validate_bundle(_bundle(name), {})
    except ModelInvalid as refused:
        assert refused.problems
        for problem in refused.problems:
            assert problem.file == name
            assert "Error(" not in problem.message  # no exception's repr passed off as a reason


def test_a_signavio_diagram_validates() -> None:
    validated = validate_bundle(_bundle("signavio.bpmn"), {})
    assert list(validated.specs) == ["sid-2A9C4E6B-1D3F-4A5B-8C7D-0E2F4A6B8C91"]


def test_a_camunda_diagram_is_refused_for_its_java_expressions_and_its_worker_task() -> None:
    assert {(p.element_id, p.message.split(":")[0]) for p in _refusal("camunda_modeler.bpmn")} == {
        ("TimerEventDefinition_0w5a3hz", "timeDuration"),
        ("Flow_1yes9q2", "conditionExpression"),
        ("Flow_0no4t7h", "conditionExpression"),
        ("Activity_0c9v1nh", "A Service Task must have an operator"),
    }


def test_a_bizagi_diagram_is_refused_for_its_data_store_alone() -> None:
    assert [p.message for p in _refusal("bizagi.bpmn")] == [
        "Data Store with name Member register has no implementation"
    ]


def test_a_diagram_with_elements_the_engine_does_not_run_is_refused_naming_each() -> None:
    problems = _refusal("unsupported_elements.bpmn")

    assert {p.element_id for p in problems} == {
        "Activity_optional_checks",
        "Gateway_pick_route",
        "Event_slot_to_release",
        "Activity_release_slot",
        "Event_dispatch_announced",
        "Event_to_counter",
        "Event_from_dispatch_desk",
        "Event_courier_failed",
    }
    assert all(p.line for p in problems)
