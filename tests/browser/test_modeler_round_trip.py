"""A diagram opened in the browser modeler and saved unchanged comes back whole.

A coordinator who opens a diagram, moves nothing and saves must not lose a
thing: not an extension element of SpiffWorkflow or of the tool the file came
from, not an attribute, not a word of documentation. Each file of the NRM
library and of ``tests/fixtures/foreign_bpmn`` (exports of other modelers) is
imported into the vendored bpmn-js modeler with the page's own spiffworkflow
descriptor, exported with ``saveXML({format: true})`` as the page does, and
both documents are compared element by element (``xml_compare``: prefixes,
attribute order and whitespace-only text ignored, and what bpmn-js rewrites
on purpose allowed one rule at a time, each with its reason). Everything else
must match exactly; the last tests show the comparison can fail.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from engine.safexml import parse_xml
from tests.browser.viewer import EMPTY_PAGE, VENDOR
from tests.browser.xml_compare import BPMN, BPMNDI, DC, difference

REPO = Path(__file__).resolve().parents[2]
MODELER_SCRIPT = VENDOR / "bpmn-modeler.production.min.js"
SPIFF_MODDLE = REPO / "web" / "static" / "js" / "spiffworkflow_moddle.js"
DIAGRAMS = sorted((REPO / "bpmn" / "nrm").glob("*.bpmn")) + sorted(
    (REPO / "tests" / "fixtures" / "foreign_bpmn").glob("*.bpmn")
)

# Runs in the page: one modeler per file, as the modeler page makes it.
ROUND_TRIP = """
async (xml) => {
  const container = document.getElementById('canvas');
  const modeler = new BpmnJS({
    container, moddleExtensions: {spiffworkflow: window.NRMFLOW_SPIFF_MODDLE},
  });
  try {
    const imported = await modeler.importXML(xml);
    const saved = await modeler.saveXML({format: true});
    return {error: null, warnings: imported.warnings.map(w => w.message), xml: saved.xml};
  } catch (error) {
    return {error: String(error), warnings: (error.warnings || []).map(w => w.message), xml: ''};
  } finally {
    modeler.destroy();
  }
}
"""

# Runs in the page: change spiffworkflow extensions through bpmn-js's own services
# (what the side panel does), then export.
EDIT_SPIFF_EXTENSIONS = """
async ({xml, taskId, formName, instructions}) => {
  const modeler = new BpmnJS({
    container: '#canvas', moddleExtensions: {spiffworkflow: window.NRMFLOW_SPIFF_MODDLE},
  });
  await modeler.importXML(xml);
  const task = modeler.get('elementRegistry').get(taskId);
  const moddle = modeler.get('moddle');
  const modeling = modeler.get('modeling');
  const extensions = task.businessObject.extensionElements;
  const properties = extensions.values.find(v => v.$type === 'spiffworkflow:Properties');
  const form = properties.properties.find(p => p.name === 'formJsonSchemaFilename');
  modeling.updateModdleProperties(task, form, {value: formName});
  const added = moddle.create('spiffworkflow:InstructionsForEndUser', {value: instructions});
  modeling.updateModdleProperties(task, extensions, {values: [...extensions.values, added]});
  const saved = await modeler.saveXML({format: true});
  modeler.destroy();
  return saved.xml;
}
"""

# Every element the descriptor names, in the places SpiffWorkflow 3.2 reads them.
SPIFF_EXTENSIONS_SAMPLE = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI"
    xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
    xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
    id="sample_definitions" targetNamespace="https://nrmflow.example/test">
  <bpmn:message id="message_news" name="news"/>
  <bpmn:process id="sample" isExecutable="true">
    <bpmn:startEvent id="start">
      <bpmn:extensionElements>
        <spiffworkflow:properties>
          <spiffworkflow:property name="formJsonSchemaFilename" value="start.json"/>
        </spiffworkflow:properties>
      </bpmn:extensionElements>
    </bpmn:startEvent>
    <bpmn:userTask id="ask" name="Ask">
      <bpmn:extensionElements>
        <spiffworkflow:instructionsForEndUser>Read **this**.</spiffworkflow:instructionsForEndUser>
        <spiffworkflow:preScript>asked = True</spiffworkflow:preScript>
        <spiffworkflow:postScript>answered = True</spiffworkflow:postScript>
        <spiffworkflow:variableName>answer</spiffworkflow:variableName>
        <spiffworkflow:allowGuest>true</spiffworkflow:allowGuest>
        <spiffworkflow:guestConfirmation>Thank you.</spiffworkflow:guestConfirmation>
        <spiffworkflow:category>intake</spiffworkflow:category>
        <spiffworkflow:signalButtonLabel>Stop</spiffworkflow:signalButtonLabel>
        <spiffworkflow:taskMetadataValues>
          <spiffworkflow:taskMetadataValue name="stage" value="&quot;intake&quot;"/>
        </spiffworkflow:taskMetadataValues>
      </bpmn:extensionElements>
      <bpmn:multiInstanceLoopCharacteristics spiffworkflow:scriptsOnInstances="true"/>
    </bpmn:userTask>
    <bpmn:businessRuleTask id="rate">
      <bpmn:extensionElements>
        <spiffworkflow:calledDecisionId>risk_level_decision</spiffworkflow:calledDecisionId>
      </bpmn:extensionElements>
    </bpmn:businessRuleTask>
    <bpmn:scriptTask id="compute">
      <bpmn:extensionElements>
        <spiffworkflow:unitTests>
          <spiffworkflow:unitTest id="doubles">
            <spiffworkflow:inputJson>{"a": 1}</spiffworkflow:inputJson>
            <spiffworkflow:expectedOutputJson>{"a": 2}</spiffworkflow:expectedOutputJson>
          </spiffworkflow:unitTest>
        </spiffworkflow:unitTests>
      </bpmn:extensionElements>
      <bpmn:script>a = a * 2</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:serviceTask id="call_partner">
      <bpmn:extensionElements>
        <spiffworkflow:serviceTaskOperator id="http/GetRequest" resultVariable="reply">
          <spiffworkflow:parameters>
            <spiffworkflow:parameter id="url" type="str" value="&quot;https://partner.example&quot;"/>
          </spiffworkflow:parameters>
          <spiffworkflow:retry retries="3" backoff_base="2"/>
        </spiffworkflow:serviceTaskOperator>
      </bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:intermediateThrowEvent id="tell">
      <bpmn:messageEventDefinition messageRef="message_news">
        <bpmn:extensionElements>
          <spiffworkflow:messagePayload>{"level": level}</spiffworkflow:messagePayload>
          <spiffworkflow:processVariableCorrelation>
            <spiffworkflow:propertyId>case_ref</spiffworkflow:propertyId>
            <spiffworkflow:expression>case_ref</spiffworkflow:expression>
          </spiffworkflow:processVariableCorrelation>
        </bpmn:extensionElements>
      </bpmn:messageEventDefinition>
    </bpmn:intermediateThrowEvent>
    <bpmn:intermediateCatchEvent id="hear">
      <bpmn:messageEventDefinition messageRef="message_news">
        <bpmn:extensionElements>
          <spiffworkflow:messageVariable>news</spiffworkflow:messageVariable>
        </bpmn:extensionElements>
      </bpmn:messageEventDefinition>
    </bpmn:intermediateCatchEvent>
  </bpmn:process>
  <bpmndi:BPMNDiagram id="sample_diagram">
    <bpmndi:BPMNPlane id="sample_plane" bpmnElement="sample">
      <bpmndi:BPMNShape id="ask_di" bpmnElement="ask">
        <dc:Bounds x="200" y="100" width="100" height="80"/>
      </bpmndi:BPMNShape>
    </bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram>
</bpmn:definitions>
"""


@dataclass(frozen=True)
class RoundTrip:
    """What the modeler made of one document: its export, and what it said on import."""

    error: str | None
    warnings: list[str]
    xml: str


@pytest.fixture(scope="module")
def modeler_page(browser: Browser) -> Iterator[Page]:
    """A blank page with the modeler and the descriptor the modeler page loads."""
    page = browser.new_page()
    page.set_content(EMPTY_PAGE)
    page.add_script_tag(path=MODELER_SCRIPT)
    page.add_script_tag(path=SPIFF_MODDLE)
    yield page
    page.close()


def round_trip(page: Page, xml: str) -> RoundTrip:
    raw: dict[str, Any] = page.evaluate(ROUND_TRIP, xml)
    return RoundTrip(raw["error"], raw["warnings"], raw["xml"])


# ------------------------------------------------------------------------- tests


@pytest.mark.parametrize("diagram", DIAGRAMS, ids=lambda path: f"{path.parent.name}/{path.stem}")
def test_an_unchanged_diagram_comes_back_whole(diagram: Path, modeler_page: Page) -> None:
    original = diagram.read_text("utf-8")
    result = round_trip(modeler_page, original)
    assert result.error is None, result.error
    assert result.warnings == [], result.warnings  # moddle drops what it warns about
    assert difference(original, result.xml) is None, difference(original, result.xml)


def test_the_foreign_exports_are_there_to_compare() -> None:
    """An empty fixture folder would make the comparison above prove nothing about them."""
    foreign = {path.stem for path in DIAGRAMS if path.parent.name == "foreign_bpmn"}
    assert {"camunda_modeler", "signavio", "bizagi", "unsupported_elements"} <= foreign, foreign


def test_every_spiffworkflow_extension_comes_back_as_spiff_reads_it(modeler_page: Page) -> None:
    result = round_trip(modeler_page, SPIFF_EXTENSIONS_SAMPLE)
    assert result.error is None, result.error
    assert result.warnings == [], result.warnings
    assert difference(SPIFF_EXTENSIONS_SAMPLE, result.xml) is None
    assert spiff_extensions(result.xml) == spiff_extensions(SPIFF_EXTENSIONS_SAMPLE)


def test_an_unknown_spiffworkflow_element_is_reported_not_silently_kept(
    modeler_page: Page,
) -> None:
    """The limit of a descriptor: moddle drops what it does not know, and says so.

    This is why the comparison above can fail, and why the modeler page
    shows import warnings to the coordinator.
    """
    unknown = SPIFF_EXTENSIONS_SAMPLE.replace(
        "<spiffworkflow:category>intake</spiffworkflow:category>",
        "<spiffworkflow:notYetInvented>x</spiffworkflow:notYetInvented>",
    )
    result = round_trip(modeler_page, unknown)
    assert any("notYetInvented" in warning for warning in result.warnings), result.warnings
    assert "notYetInvented" in (difference(unknown, result.xml) or "")


def test_a_property_edited_through_moddle_is_what_spiff_reads(modeler_page: Page) -> None:
    diagram = REPO / "bpmn" / "nrm" / "nrm_referral_decision.bpmn"
    edited = modeler_page.evaluate(
        EDIT_SPIFF_EXTENSIONS,
        {
            "xml": diagram.read_text("utf-8"),
            "taskId": "decide_reasonable_grounds",
            "formName": "decide_reasonable_grounds_v2.json",
            "instructions": "Decide <now> & say why.",
        },
    )
    extensions = spiff_extensions(edited)["decide_reasonable_grounds"]
    assert extensions == {
        "properties": {"formJsonSchemaFilename": "decide_reasonable_grounds_v2.json"},
        "instructionsForEndUser": "Decide <now> & say why.",
    }


def spiff_extensions(xml: str) -> dict[str, dict[str, Any]]:
    """Each task's extensions as SpiffWorkflow 3.2 parses them from ``xml``."""
    parser = SpiffBpmnParser()
    parser.add_bpmn_xml(parse_xml(xml.encode("utf-8")).getroot(), "diagram.bpmn")
    found: dict[str, dict[str, Any]] = {}
    for process_id in parser.get_process_ids():
        for name, spec in parser.get_spec(process_id).task_specs.items():
            if getattr(spec, "extensions", None):
                found[name] = spec.extensions
    return found


# ------------------------------------------------- the comparison itself can fail


SMALL = """<{p}:definitions xmlns:{p}="{bpmn}" xmlns:bpmndi="{bpmndi}" xmlns:dc="{dc}"
  xmlns:x="urn:other" id="d"><{p}:process id="p">
  <{p}:boundaryEvent id="b" {cancel}><{p}:documentation>{text}</{p}:documentation>
  </{p}:boundaryEvent>{extra}</{p}:process>
  <bpmndi:BPMNDiagram id="g"><bpmndi:BPMNPlane id="pl" bpmnElement="p">{shapes}</bpmndi:BPMNPlane>
  </bpmndi:BPMNDiagram></{p}:definitions>"""
EVENT_SHAPE = '<bpmndi:BPMNShape id="s1" bpmnElement="b"><dc:Bounds {bounds}/></bpmndi:BPMNShape>'
PROCESS_SHAPE = '<bpmndi:BPMNShape id="s2" bpmnElement="p"/>'


def small(**changes: str) -> str:
    """A tiny diagram; each keyword replaces one part of it."""
    values = {
        "p": "bpmn",
        "cancel": 'cancelActivity="true"',
        "text": "Say why.",
        "extra": "",
        "bounds": 'x="10" y="0" width="36" height="36"',
        "shapes": "{event}{process}",
    } | changes
    values["shapes"] = values["shapes"].format(
        event=EVENT_SHAPE.format(bounds=values.pop("bounds")), process=PROCESS_SHAPE
    )
    return SMALL.format(bpmn=BPMN, bpmndi=BPMNDI, dc=DC, **values)


def test_the_comparison_ignores_prefixes_order_whitespace_and_listed_allowances() -> None:
    rewritten = small(
        p="semantic",
        cancel="",
        text="Say why.",
        bounds='height="36"  width="36" x="10.0"',
        shapes="{process}\n   {event}",
    )
    assert difference(small(), rewritten) is None


@pytest.mark.parametrize(
    ("changed", "where"),
    [
        ({"cancel": 'cancelActivity="false"'}, "cancelActivity"),
        ({"text": "Say why!"}, "Say why!"),
        ({"bounds": 'x="10.5" y="0" width="36" height="36"'}, "10.5"),
        ({"extra": "<x:note>kept?</x:note>"}, "urn:other"),
    ],
    ids=["attribute", "text", "coordinate", "foreign-element"],
)
def test_the_comparison_sees_what_was_lost_or_changed(changed: dict[str, str], where: str) -> None:
    found = difference(small(**changed), small())
    assert found is not None and where in found, found
