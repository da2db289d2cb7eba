"""Elements the engine would not run are named with their id and line, and nothing else is."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from SpiffWorkflow.bpmn import BpmnWorkflow
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.event_definitions.simple import NoneEventDefinition
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from engine.errors import Problem
from engine.safexml import parse_xml
from engine.unsupported_elements import HANDLED_DEFINITIONS, unsupported_elements

FOREIGN = Path(__file__).parents[1] / "fixtures" / "foreign_bpmn"
BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"


def _problems_in(body: str, executable: str = "true") -> list[Problem]:
    xml = f"""<bpmn:definitions xmlns:bpmn="{BPMN}" id="d" targetNamespace="t">
  <bpmn:process id="p" isExecutable="{executable}">{body}</bpmn:process>
</bpmn:definitions>"""
    return unsupported_elements("test.bpmn", parse_xml(xml.encode()))


def _line_of(path: Path, element_id: str) -> int:
    lines = path.read_text().splitlines()
    return next(n for n, line in enumerate(lines, 1) if f'id="{element_id}"' in line)


def test_each_element_the_engine_would_not_run_is_named_with_its_line() -> None:
    path = FOREIGN / "unsupported_elements.bpmn"
    problems = unsupported_elements(path.name, parse_xml(path.read_bytes()))

    expected = [
        (
            "Activity_optional_checks",
            "adHocSubProcess 'Optional checks' is not supported by the engine",
        ),
        ("Gateway_pick_route", "complexGateway 'Pick route' is not supported by the engine"),
        (
            "Event_slot_to_release",
            "compensateEventDefinition on boundaryEvent 'Slot to release' is not supported "
            "by the engine",
        ),
        (
            "Activity_release_slot",
            "userTask 'Release the slot' is a compensation handler: "
            "the engine never runs compensation",
        ),
        (
            "Event_dispatch_announced",
            "signalEventDefinition on endEvent 'Dispatch announced' is not supported by the engine",
        ),
        (
            "Event_to_counter",
            "linkEventDefinition on intermediateThrowEvent 'To the counter' is not supported "
            "by the engine",
        ),
        (
            "Event_from_dispatch_desk",
            "linkEventDefinition on intermediateCatchEvent 'From the dispatch desk' is not "
            "supported by the engine",
        ),
        (
            "Event_courier_failed",
            "errorEventDefinition on startEvent 'Courier failed' is not supported by the engine",
        ),
    ]
    # the transaction, its cancel end event and cancel boundary event run: none is named
    assert problems == [
        Problem(path.name, _line_of(path, element_id), element_id, message)
        for element_id, message in expected
    ]


@pytest.mark.parametrize("name", ["camunda_modeler.bpmn", "signavio.bpmn", "bizagi.bpmn"])
def test_what_other_modelers_export_for_documentation_is_not_a_problem(name: str) -> None:
    """Annotations, groups, data objects and stores, other tools' extensions: drawn, not run."""
    path = FOREIGN / name
    assert unsupported_elements(name, parse_xml(path.read_bytes())) == []


def test_a_process_that_is_not_executable_is_not_checked() -> None:
    body = '<bpmn:complexGateway id="g"/>'
    assert _problems_in(body, executable="false") == []
    assert [p.element_id for p in _problems_in(body, executable="true")] == ["g"]


def test_an_element_without_a_name_is_named_by_its_kind() -> None:
    assert [p.message for p in _problems_in('<bpmn:complexGateway id="g"/>')] == [
        "complexGateway is not supported by the engine"
    ]


def _event_process(kind: str, definition: str) -> str:
    """A process with one ``kind`` event holding one ``definition``, as small as parses."""
    content = {
        "timerEventDefinition": '<bpmn:timeDuration>"PT1H"</bpmn:timeDuration>',
        "conditionalEventDefinition": "<bpmn:condition>True</bpmn:condition>",
    }.get(definition, "")
    event = f'<bpmn:{definition} id="def">{content}</bpmn:{definition}>'
    if kind == "boundaryEvent":  # on a transaction, where even a cancel event may sit
        return f"""
        <bpmn:startEvent id="start"/>
        <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="host"/>
        <bpmn:transaction id="host">
          <bpmn:startEvent id="inner_start"/>
          <bpmn:sequenceFlow id="f2" sourceRef="inner_start" targetRef="inner_end"/>
          <bpmn:endEvent id="inner_end"/>
        </bpmn:transaction>
        <bpmn:sequenceFlow id="f3" sourceRef="host" targetRef="end"/>
        <bpmn:boundaryEvent id="event" attachedToRef="host">{event}</bpmn:boundaryEvent>
        <bpmn:sequenceFlow id="f4" sourceRef="event" targetRef="end"/>
        <bpmn:endEvent id="end"/>"""
    chain = [
        ("event" if kind == "startEvent" else "start", "startEvent"),
        *([("event", kind)] if kind.startswith("intermediate") else []),
        ("event" if kind == "endEvent" else "end", "endEvent"),
    ]
    nodes = "".join(
        f'<bpmn:{tag} id="{node}">{event if node == "event" else ""}</bpmn:{tag}>'
        for node, tag in chain
    )
    flows = "".join(
        f'<bpmn:sequenceFlow id="f{n}" sourceRef="{source}" targetRef="{target}"/>'
        for n, ((source, _), (target, _)) in enumerate(itertools.pairwise(chain))
    )
    return nodes + flows


def _parser_builds(kind: str, definition: str) -> bool:
    """Whether SpiffWorkflow turns ``definition`` on a ``kind`` event into that event."""
    xml = f"""<bpmn:definitions xmlns:bpmn="{BPMN}" id="d" targetNamespace="t">
      <bpmn:process id="p" isExecutable="true">{_event_process(kind, definition)}</bpmn:process>
    </bpmn:definitions>"""
    parser = SpiffBpmnParser()
    parser.add_bpmn_str(xml.encode())
    try:
        spec = parser.get_spec("p")
    except ValidationException:  # a boundary event it does not know is refused, not ignored
        return False
    return not isinstance(spec.task_specs["event"].event_definition, NoneEventDefinition)


EVENTS = ["startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent"]
KINDS_OF_DEFINITION = ["cancel", "compensate", "conditional", "error", "escalation", "link"]
KINDS_OF_DEFINITION += ["message", "signal", "terminate", "timer"]
DEFINITIONS = [f"{kind}EventDefinition" for kind in KINDS_OF_DEFINITION]


@pytest.mark.parametrize(
    ("kind", "definition"), list(itertools.product([*EVENTS, "boundaryEvent"], DEFINITIONS))
)
def test_the_event_definitions_read_from_the_parser_are_the_ones_it_builds(
    kind: str, definition: str
) -> None:
    assert (definition in HANDLED_DEFINITIONS[kind]) == _parser_builds(kind, definition)


def test_the_engine_cannot_run_an_ad_hoc_sub_process_that_its_parser_accepts() -> None:
    """Why adHocSubProcess is refused although SpiffWorkflow's parser has a class for it."""
    xml = f"""<bpmn:definitions xmlns:bpmn="{BPMN}" id="d" targetNamespace="t">
      <bpmn:process id="p" isExecutable="true">
        <bpmn:startEvent id="start"/>
        <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="checks"/>
        <bpmn:adHocSubProcess id="checks"><bpmn:manualTask id="weigh"/></bpmn:adHocSubProcess>
        <bpmn:sequenceFlow id="f2" sourceRef="checks" targetRef="end"/>
        <bpmn:endEvent id="end"/>
      </bpmn:process>
    </bpmn:definitions>"""
    parser = SpiffBpmnParser()
    parser.add_bpmn_str(xml.encode())
    workflow = BpmnWorkflow(parser.get_spec("p"), parser.get_subprocess_specs("p"))
    with pytest.raises(TypeError):
        workflow.do_engine_steps()
