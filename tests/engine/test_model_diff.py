"""The version diff: which elements of a process were removed, changed or added, and how."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from lxml import etree

from engine.model_diff import ElementChange, diff_process
from tests.workflows.nrm_driver import NRM_BUNDLE

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"
NS = {"bpmn": BPMN}
FORM = "formJsonSchemaFilename"
REFERRAL_DECISION = (NRM_BUNDLE / "nrm_referral_decision.bpmn").read_bytes()


def _process(body: str) -> bytes:
    """A file holding process ``p`` with ``body``, written with the bpmn: prefix."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="{BPMN}" xmlns:spiffworkflow="{SPIFF}"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" id="d" targetNamespace="t">
  <bpmn:process id="p" isExecutable="true">{body}</bpmn:process>
</bpmn:definitions>""".encode()


def _edited(content: bytes, edit: Callable[[etree._Element], None]) -> bytes:
    root = etree.fromstring(content)
    edit(root)
    return etree.tostring(root)


def _one(root: etree._Element, element_id: str) -> etree._Element:
    return root.xpath(f"//*[@id='{element_id}']")[0]


def _referral_decision_v2(root: etree._Element) -> None:
    """One timer changed, one task renamed, one added with its flows, one removed."""
    _one(root, "recovery_period_ended").find(
        ".//bpmn:timeDate", NS
    ).text = "business_days_from_now(10)"
    _one(root, "decide_conclusive_grounds").set("name", "Take the conclusive-grounds decision")
    for gone in ("escalate_overdue_decision", "to_escalated"):
        _one(root, gone).getparent().remove(_one(root, gone))
    for ref in root.xpath("//bpmn:flowNodeRef[text()='escalate_overdue_decision']", namespaces=NS):
        ref.getparent().remove(ref)
    _one(root, "to_escalate_overdue_decision").set("targetRef", "escalated")
    process = _one(root, "nrm_referral_decision")
    new_task = {"id": "inform_first_responder", "name": "Inform the first responder"}
    etree.SubElement(process, f"{{{BPMN}}}userTask", new_task)
    new_flow = {"sourceRef": new_task["id"], "targetRef": "decided"}
    etree.SubElement(process, f"{{{BPMN}}}sequenceFlow", new_flow, id="first_responder_informed")
    _one(root, "to_decided").set("targetRef", "inform_first_responder")
    lane = _one(root, "lane_competent_authority")
    etree.SubElement(lane, f"{{{BPMN}}}flowNodeRef").text = "inform_first_responder"


def test_a_new_version_of_the_referral_decision_lists_each_change_in_order() -> None:
    changed = _edited(REFERRAL_DECISION, _referral_decision_v2)

    assert diff_process(REFERRAL_DECISION, changed, "nrm_referral_decision") == [
        ElementChange(
            "escalate_overdue_decision",
            "userTask",
            "Escalate the overdue reasonable-grounds decision",
            "removed",
            (),
        ),
        ElementChange("to_escalated", "sequenceFlow", "", "removed", ()),
        ElementChange(
            "decide_conclusive_grounds",
            "userTask",
            "Take the conclusive-grounds decision",
            "changed",
            ("name",),
        ),
        ElementChange(
            "recovery_period_ended",
            "intermediateCatchEvent",
            "Recovery period ended",
            "changed",
            ("timer",),
        ),
        ElementChange("to_decided", "sequenceFlow", "", "changed", ("target",)),
        ElementChange("to_escalate_overdue_decision", "sequenceFlow", "", "changed", ("target",)),
        ElementChange("first_responder_informed", "sequenceFlow", "", "added", ()),
        ElementChange(
            "inform_first_responder", "userTask", "Inform the first responder", "added", ()
        ),
    ]


def test_the_same_process_saved_by_another_modeler_has_no_changes() -> None:
    old = _process("""
    <bpmn:startEvent id="start"/>
    <bpmn:sequenceFlow id="go" sourceRef="start" targetRef="gate"/>
    <bpmn:exclusiveGateway id="gate" default="no"/>
    <bpmn:sequenceFlow id="yes" sourceRef="gate" targetRef="done">
      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">ok</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="no" sourceRef="gate" targetRef="done"/>
    <bpmn:endEvent id="done"/>""")
    # BPMN as the default namespace, other prefixes, DI, derived incoming/outgoing, new indentation
    new = f"""<definitions xmlns="{BPMN}" xmlns:s="http://www.w3.org/2001/XMLSchema-instance"
      xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI"
      xmlns:dc="http://www.omg.org/spec/DD/20100524/DC" id="d" targetNamespace="t">
    <process id="p" isExecutable="true">
            <startEvent id="start"><outgoing>go</outgoing></startEvent>
            <sequenceFlow id="go" sourceRef="start" targetRef="gate" />
            <exclusiveGateway id="gate" default="no">
              <incoming>go</incoming><outgoing>yes</outgoing><outgoing>no</outgoing>
            </exclusiveGateway>
            <sequenceFlow id="yes" sourceRef="gate" targetRef="done">
              <conditionExpression s:type="tFormalExpression">
                ok
              </conditionExpression>
            </sequenceFlow>
            <sequenceFlow id="no" sourceRef="gate" targetRef="done" />
            <endEvent id="done"><incoming>yes</incoming><incoming>no</incoming></endEvent>
    </process>
    <bpmndi:BPMNDiagram id="diagram"><bpmndi:BPMNPlane id="plane" bpmnElement="p">
      <bpmndi:BPMNShape id="start_di" bpmnElement="start">
        <dc:Bounds x="10" y="10" width="36" height="36"/>
      </bpmndi:BPMNShape>
    </bpmndi:BPMNPlane></bpmndi:BPMNDiagram>
    </definitions>""".encode()

    assert diff_process(old, new, "p") == []


def test_a_node_moved_to_another_lane_is_a_lane_change_of_the_node_only() -> None:
    def lanes(clerk: str, supervisor: str) -> bytes:
        return _process(f"""
        <bpmn:laneSet id="lanes">
          <bpmn:lane id="clerks" name="Clerk">{clerk}</bpmn:lane>
          <bpmn:lane id="supervisors" name="Supervisor">{supervisor}</bpmn:lane>
        </bpmn:laneSet>
        <bpmn:startEvent id="start"/><bpmn:userTask id="check" name="Check"/>""")

    both = "<bpmn:flowNodeRef>start</bpmn:flowNodeRef><bpmn:flowNodeRef>check</bpmn:flowNodeRef>"
    moved = lanes(
        "<bpmn:flowNodeRef>start</bpmn:flowNodeRef>", "<bpmn:flowNodeRef>check</bpmn:flowNodeRef>"
    )

    assert diff_process(lanes(both, ""), moved, "p") == [
        ElementChange("check", "userTask", "Check", "changed", ("lane",))
    ]


def test_lanes_are_elements_of_their_own() -> None:
    def lane(name: str) -> bytes:
        return _process(f'<bpmn:laneSet id="s"><bpmn:lane id="l" name="{name}"/></bpmn:laneSet>')

    assert diff_process(lane("Clerk"), lane("Officer"), "p") == [
        ElementChange("l", "lane", "Officer", "changed", ("name",))
    ]


def test_elements_inside_a_sub_process_are_compared_one_by_one() -> None:
    def sub_process(task_name: str) -> bytes:
        return _process(f"""
        <bpmn:subProcess id="sub" name="Checks">
          <bpmn:startEvent id="inner_start"/>
          <bpmn:task id="inner" name="{task_name}"/>
          <bpmn:sequenceFlow id="inner_flow" sourceRef="inner_start" targetRef="inner"/>
        </bpmn:subProcess>""")

    assert diff_process(sub_process("Look"), sub_process("Look twice"), "p") == [
        ElementChange("inner", "task", "Look twice", "changed", ("name",))
    ]


def _property(name: str, value: str) -> str:
    return (
        "<bpmn:extensionElements><spiffworkflow:properties>"
        f'<spiffworkflow:property name="{name}" value="{value}"/>'
        "</spiffworkflow:properties></bpmn:extensionElements>"
    )


@pytest.mark.parametrize(
    ("old", "new", "details"),
    [
        (
            f'<bpmn:userTask id="x">{_property(FORM, "a.json")}</bpmn:userTask>',
            f'<bpmn:userTask id="x">{_property(FORM, "b.json")}</bpmn:userTask>',
            ("form",),
        ),
        (
            f'<bpmn:userTask id="x">{_property("instructions", "a")}</bpmn:userTask>',
            f'<bpmn:userTask id="x">{_property("instructions", "b")}</bpmn:userTask>',
            ("extensions",),
        ),
        (
            '<bpmn:businessRuleTask id="x"><bpmn:extensionElements><spiffworkflow:calledDecisionId>'
            "risk</spiffworkflow:calledDecisionId></bpmn:extensionElements></bpmn:businessRuleTask>",
            '<bpmn:businessRuleTask id="x"><bpmn:extensionElements><spiffworkflow:calledDecisionId>'
            "risk_v2</spiffworkflow:calledDecisionId></bpmn:extensionElements></bpmn:businessRuleTask>",
            ("decision",),
        ),
        (
            '<bpmn:scriptTask id="x"><bpmn:script>a = 1</bpmn:script></bpmn:scriptTask>',
            '<bpmn:scriptTask id="x"><bpmn:script>a = 2</bpmn:script></bpmn:scriptTask>',
            ("script",),
        ),
        (
            '<bpmn:callActivity id="x" calledElement="one"/>',
            '<bpmn:callActivity id="x" calledElement="two"/>',
            ("called process",),
        ),
        (
            '<bpmn:task id="x"><bpmn:documentation>Do it.</bpmn:documentation></bpmn:task>',
            '<bpmn:task id="x"><bpmn:documentation>Do it now.</bpmn:documentation></bpmn:task>',
            ("documentation",),
        ),
        (
            '<bpmn:sequenceFlow id="x" sourceRef="a" targetRef="b">'
            "<bpmn:conditionExpression>ok</bpmn:conditionExpression></bpmn:sequenceFlow>",
            '<bpmn:sequenceFlow id="x" sourceRef="c" targetRef="b">'
            "<bpmn:conditionExpression>not ok</bpmn:conditionExpression></bpmn:sequenceFlow>",
            ("condition", "source"),
        ),
        (
            '<bpmn:boundaryEvent id="x" attachedToRef="a">'
            '<bpmn:messageEventDefinition messageRef="m1"/></bpmn:boundaryEvent>',
            '<bpmn:boundaryEvent id="x" attachedToRef="b" cancelActivity="false">'
            '<bpmn:messageEventDefinition messageRef="m2"/></bpmn:boundaryEvent>',
            ("attached to", "attributes", "event"),
        ),
        ('<bpmn:task id="x"/>', '<bpmn:userTask id="x"/>', ("type",)),
    ],
)
def test_a_changed_element_names_what_changed(old: str, new: str, details: tuple[str]) -> None:
    (change,) = diff_process(_process(old), _process(new), "p")
    assert (change.element_id, change.change, change.details) == ("x", "changed", details)


def test_the_ids_of_an_elements_parts_are_not_changes() -> None:
    def timer(definition_id: str) -> bytes:
        return _process(
            '<bpmn:intermediateCatchEvent id="wait">'
            f'<bpmn:timerEventDefinition id="{definition_id}">'
            '<bpmn:timeDuration>"P1D"</bpmn:timeDuration></bpmn:timerEventDefinition>'
            "</bpmn:intermediateCatchEvent>"
        )

    assert diff_process(timer("Timer_1"), timer("Timer_2"), "p") == []


def test_a_process_only_one_version_has_is_all_added_or_all_removed() -> None:
    nothing = _process("").replace(b'id="p"', b'id="other"')
    one_task = _process('<bpmn:task id="t" name="T"/>')

    assert diff_process(nothing, one_task, "p") == [ElementChange("t", "task", "T", "added", ())]
    assert diff_process(one_task, nothing, "p") == [ElementChange("t", "task", "T", "removed", ())]
