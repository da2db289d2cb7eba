"""Edited copies of the reference library's referral decision, as a coordinator would make them.

The issue's story: the reasonable-grounds deadline becomes 10 working days
and a task is added before the decision (drawn, so a diagram shows it). The
other edit renames the decision's id, so a case waiting at it cannot move.
"""

from __future__ import annotations

import re

from tests.workflows.nrm_driver import NRM_BUNDLE

KEY = "nrm_referral_decision"
PATH = "nrm_referral_decision.bpmn"
OLD_TIMER = 'business_days_from_now(time_limit("rg_target_working_days"))'
NEW_TIMER = "business_days_from_now(10)"
ADDED_TASK = """<bpmn:userTask id="check_interpretation" name="Check interpretation needs">
      <bpmn:documentation>Make sure the person can follow the decision.</bpmn:documentation>
    </bpmn:userTask>
    <bpmn:sequenceFlow id="to_check_interpretation" sourceRef="check_interpretation"
      targetRef="decide_reasonable_grounds"/>
    """
ADDED_DRAWING = """<bpmndi:BPMNShape id="check_interpretation_di"
        bpmnElement="check_interpretation">
        <dc:Bounds x="400" y="260" width="100" height="80"/>
      </bpmndi:BPMNShape>
      <bpmndi:BPMNEdge id="to_check_interpretation_di" bpmnElement="to_check_interpretation">
        <di:waypoint x="450" y="260"/>
        <di:waypoint x="450" y="210"/>
      </bpmndi:BPMNEdge>
      """


def original() -> str:
    return (NRM_BUNDLE / PATH).read_text("utf-8")


def edited(rename_decision: bool = False) -> str:
    """The file with the new deadline and a task added; or with the decision's id renamed."""
    text = original().replace(OLD_TIMER, NEW_TIMER)
    if rename_decision:
        return re.sub(r'(["> ])decide_reasonable_grounds(["<_])', r"\1decide_rg\2", text)
    text = text.replace(
        'sourceRef="referral_received" targetRef="decide_reasonable_grounds"',
        'sourceRef="referral_received" targetRef="check_interpretation"',
    )
    text = text.replace(
        "<bpmn:flowNodeRef>decide_reasonable_grounds</bpmn:flowNodeRef>",
        "<bpmn:flowNodeRef>decide_reasonable_grounds</bpmn:flowNodeRef>\n"
        "        <bpmn:flowNodeRef>check_interpretation</bpmn:flowNodeRef>",
    )
    decision = '<bpmn:userTask id="decide_reasonable_grounds"'
    text = text.replace(decision, ADDED_TASK + decision)
    shape = '<bpmndi:BPMNShape id="decide_reasonable_grounds_di"'
    return text.replace(shape, ADDED_DRAWING + shape)
