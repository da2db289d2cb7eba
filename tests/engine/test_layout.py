"""Diagram layout: every element drawn once, nothing overlapping, the semantics untouched."""

from __future__ import annotations

import random
from collections import Counter
from itertools import pairwise
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree

from cli.main import main
from engine.bundle import Bundle
from engine.layout import LayoutError, layout_bpmn, layout_is_current
from engine.safexml import parse_xml
from engine.validation import validate_bundle

BUNDLES = Path(__file__).parent.parent / "fixtures" / "bundles"
BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
DC = "http://www.omg.org/spec/DD/20100524/DC"
DI = "http://www.omg.org/spec/DD/20100524/DI"
NODE_TAGS = {
    "startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent",
    "userTask", "scriptTask", "businessRuleTask", "sendTask", "receiveTask", "manualTask",
    "serviceTask", "task", "callActivity", "subProcess", "exclusiveGateway", "parallelGateway",
    "inclusiveGateway", "eventBasedGateway",
}  # fmt: skip
Rect = tuple[int, int, int, int]
Point = tuple[int, int]

# A black-box pool each way, a review loop back to an earlier lane, and a boundary timer
# whose path comes back into its host.
REFERRAL = b"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="referral_defs"
    targetNamespace="http://nrmflow.example/tests">
  <bpmn:collaboration id="referral_collaboration">
    <bpmn:participant id="referral_participant" name="Referral" processRef="referral" />
    <bpmn:participant id="consulate" name="Consulate" />
    <bpmn:participant id="contact_point" name="Origin-country contact point" />
    <bpmn:messageFlow id="ask_consulate" sourceRef="request_papers" targetRef="consulate" />
    <bpmn:messageFlow id="papers_back" sourceRef="consulate" targetRef="papers_received" />
    <bpmn:messageFlow id="tell_contact" sourceRef="notify" targetRef="contact_point" />
  </bpmn:collaboration>
  <bpmn:process id="referral" isExecutable="true">
    <bpmn:laneSet id="referral_lanes">
      <bpmn:lane id="lane_responder" name="First responder">
        <bpmn:flowNodeRef>referred</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>draft</bpmn:flowNodeRef>
      </bpmn:lane>
      <bpmn:lane id="lane_authority" name="Competent authority">
        <bpmn:flowNodeRef>review</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>review_overdue</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>chase</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>complete</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>request_papers</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>papers_received</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>notify</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>decided</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="referred" name="Referral received" />
    <bpmn:userTask id="draft" name="Draft referral" />
    <bpmn:userTask id="review" name="Review referral" />
    <bpmn:boundaryEvent id="review_overdue" name="5 working days" cancelActivity="false"
        attachedToRef="review">
      <bpmn:timerEventDefinition id="overdue_timer"><bpmn:timeDuration>"P5D"</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:manualTask id="chase" name="Chase reviewer" />
    <bpmn:exclusiveGateway id="complete" name="Complete?" />
    <bpmn:sendTask id="request_papers" name="Request identity papers" />
    <bpmn:intermediateCatchEvent id="papers_received" name="Papers received">
      <bpmn:messageEventDefinition id="papers_message" />
    </bpmn:intermediateCatchEvent>
    <bpmn:sendTask id="notify" name="Notify contact point" />
    <bpmn:endEvent id="decided" name="Decided" />
    <bpmn:textAnnotation id="review_note">
      <bpmn:text>Four-eyes review</bpmn:text>
    </bpmn:textAnnotation>
    <bpmn:association id="review_note_link" sourceRef="review_note" targetRef="review" />
    <bpmn:sequenceFlow id="to_draft" sourceRef="referred" targetRef="draft" />
    <bpmn:sequenceFlow id="to_review" sourceRef="draft" targetRef="review" />
    <bpmn:sequenceFlow id="to_complete" sourceRef="review" targetRef="complete" />
    <bpmn:sequenceFlow id="incomplete" name="no" sourceRef="complete" targetRef="draft" />
    <bpmn:sequenceFlow id="is_complete" name="yes" sourceRef="complete"
        targetRef="request_papers" />
    <bpmn:sequenceFlow id="to_wait" sourceRef="request_papers" targetRef="papers_received" />
    <bpmn:sequenceFlow id="to_notify" sourceRef="papers_received" targetRef="notify" />
    <bpmn:sequenceFlow id="to_decided" sourceRef="notify" targetRef="decided" />
    <bpmn:sequenceFlow id="to_chase" sourceRef="review_overdue" targetRef="chase" />
    <bpmn:sequenceFlow id="chased" sourceRef="chase" targetRef="review" />
  </bpmn:process>
</bpmn:definitions>
"""


def generated_process(seed: int) -> bytes:
    """A tangle of lanes, branches, loops and boundary paths no one would draw by hand."""
    rng = random.Random(seed)
    kinds = ["userTask", "scriptTask", "exclusiveGateway", "parallelGateway", "callActivity"]
    nodes = [("n0", "startEvent")] + [(f"n{i}", rng.choice(kinds)) for i in range(1, 18)]
    nodes.append(("n18", "endEvent"))
    flows = [(f"n{i}", f"n{i + 1}") for i in range(18)]
    pairs = [sorted(rng.sample(range(1, 18), 2)) for _ in range(11)]
    flows += [(f"n{a}", f"n{b}") for a, b in pairs[:8]] + [(f"n{b}", f"n{a}") for a, b in pairs[8:]]
    tasks = [n for n, kind in nodes if kind in ("userTask", "scriptTask", "callActivity")]
    for index, host in enumerate(rng.sample(tasks, min(3, len(tasks)))):
        nodes.append((f"b{index}", f'boundaryEvent attachedToRef="{host}"'))
        flows.append((f"b{index}", rng.choice([n for n, _ in nodes[1:19]])))
    lanes = {n: rng.randrange(3) for n, _ in nodes}
    lanes.update({n: lanes[k.split('"')[1]] for n, k in nodes if k.startswith("boundary")})
    lane_xml = "".join(
        f'<bpmn:lane id="lane{lane}">'
        + "".join(f"<bpmn:flowNodeRef>{n}</bpmn:flowNodeRef>" for n in lanes if lanes[n] == lane)
        + "</bpmn:lane>"
        for lane in range(3)
    )
    node_xml = "".join(f'<bpmn:{k} id="{n}" name="Node {n}" />' for n, k in nodes)
    flow_xml = "".join(
        f'<bpmn:sequenceFlow id="f{i}" sourceRef="{s}" targetRef="{t}" />'
        for i, (s, t) in enumerate(flows)
    )
    return (
        f'<bpmn:definitions xmlns:bpmn="{BPMN}" id="d" targetNamespace="urn:t">'
        '<bpmn:collaboration id="c"><bpmn:participant id="p" processRef="g" />'
        '<bpmn:participant id="outside" />'
        '<bpmn:messageFlow id="m0" sourceRef="n3" targetRef="outside" />'
        '<bpmn:messageFlow id="m1" sourceRef="outside" targetRef="n9" /></bpmn:collaboration>'
        f'<bpmn:process id="g"><bpmn:laneSet id="ls">{lane_xml}</bpmn:laneSet>'
        f"{node_xml}{flow_xml}</bpmn:process></bpmn:definitions>"
    ).encode()


def fixture(name: str) -> bytes:
    if name == "referral":
        return REFERRAL
    if name.startswith("generated"):
        return generated_process(int(name.removeprefix("generated")))
    return (BUNDLES / name).read_bytes()


SAMPLES = ["sample/sample_case.bpmn", "sample/sample_check.bpmn", "timers/timers.bpmn"]
CASES = [*SAMPLES, "referral", "generated1", "generated2", "generated3"]


class Drawing:
    """A laid-out file read back: semantic elements by id, DI shapes and edges by element."""

    def __init__(self, content: bytes):
        self.root = parse_xml(content).getroot()
        self.elements = {e.get("id"): e for e in self.root.iter() if isinstance(e.tag, str)}
        self.di = [e for e in self.root.iter(f"{{{BPMNDI}}}BPMNShape", f"{{{BPMNDI}}}BPMNEdge")]
        self.shapes = {e.get("bpmnElement"): _rect(e) for e in self.di if e.tag.endswith("Shape")}
        self.edges = {
            e.get("bpmnElement"): [
                (int(p.get("x")), int(p.get("y"))) for p in e.iter(f"{{{DI}}}waypoint")
            ]
            for e in self.di
            if e.tag.endswith("Edge")
        }

    def ids(self, *tags: str) -> list[str]:
        return [e.get("id") for tag in tags for e in self.root.iter(f"{{{BPMN}}}{tag}")]

    @property
    def nodes(self) -> list[str]:
        return self.ids(*NODE_TAGS)

    def tag(self, element_id: str) -> str:
        return etree.QName(self.elements[element_id]).localname


def _rect(shape: etree._Element) -> Rect:
    bounds = shape.find(f"{{{DC}}}Bounds")
    return tuple(int(bounds.get(k)) for k in ("x", "y", "width", "height"))  # type: ignore[return-value]


def _inside(inner: Rect, outer: Rect) -> bool:
    return (
        outer[0] <= inner[0]
        and outer[1] <= inner[1]
        and inner[0] + inner[2] <= outer[0] + outer[2]
        and inner[1] + inner[3] <= outer[1] + outer[3]
    )


def _overlap(a: Rect, b: Rect) -> bool:
    return a[0] < b[0] + b[2] and b[0] < a[0] + a[2] and a[1] < b[1] + b[3] and b[1] < a[1] + a[3]


def _on_border(point: Point, rect: Rect) -> bool:
    x, y = point
    left, top, right, bottom = rect[0], rect[1], rect[0] + rect[2], rect[1] + rect[3]
    on_side = x in (left, right) and top <= y <= bottom
    return on_side or (y in (top, bottom) and left <= x <= right)


def _crosses(a: Point, b: Point, rect: Rect) -> bool:
    """A segment passing through the inside of ``rect`` (touching its border is fine)."""
    left, top = min(a[0], b[0]), min(a[1], b[1])
    return _overlap((left, top, max(a[0], b[0]) - left, max(a[1], b[1]) - top), rect)


@pytest.fixture(params=CASES)
def source(request: pytest.FixtureRequest) -> bytes:
    return fixture(request.param)


@pytest.fixture
def drawing(source: bytes) -> Drawing:
    return Drawing(layout_bpmn(source))


def test_every_element_is_drawn_exactly_once(drawing: Drawing) -> None:
    expected = drawing.nodes + drawing.ids(
        "lane", "participant", "sequenceFlow", "messageFlow", "textAnnotation", "association"
    )
    drawn = Counter(e.get("bpmnElement") for e in drawing.di)
    assert drawn == Counter(expected)
    assert all(e.get("id") == f"{e.get('bpmnElement')}_di" for e in drawing.di)
    plane = drawing.root.find(f".//{{{BPMNDI}}}BPMNPlane")
    owner = (drawing.ids("collaboration") or drawing.ids("process"))[0]
    assert plane.get("bpmnElement") == owner and plane.get("id") == f"{owner}_plane"
    assert plane.getparent().get("id") == f"{owner}_diagram"


def test_no_two_flow_nodes_overlap_except_a_boundary_event_on_its_host(drawing: Drawing) -> None:
    nodes = drawing.nodes
    for index, node in enumerate(nodes):
        for other in nodes[index + 1 :]:
            attached = {drawing.elements[n].get("attachedToRef") for n in (node, other)}
            if node not in attached and other not in attached:
                assert not _overlap(drawing.shapes[node], drawing.shapes[other]), (node, other)


def test_nodes_lie_in_their_lanes_and_lanes_fill_the_pool(drawing: Drawing) -> None:
    lanes = drawing.ids("lane")
    for lane in lanes:
        for ref in drawing.elements[lane].iter(f"{{{BPMN}}}flowNodeRef"):
            assert _inside(drawing.shapes[ref.text], drawing.shapes[lane]), ref.text
    pool = drawing.shapes[drawing.ids("participant")[0]]
    rects = [drawing.shapes[lane] for lane in lanes]
    assert all(_inside(r, pool) and r[0] == pool[0] + 30 and r[2] == pool[2] - 30 for r in rects)
    assert [r[1] for r in rects] == [pool[1]] + [r[1] + r[3] for r in rects[:-1]]
    assert rects[-1][1] + rects[-1][3] == pool[1] + pool[3]


def test_flows_are_orthogonal_end_on_their_shapes_and_cross_no_node(drawing: Drawing) -> None:
    for flow in drawing.ids("sequenceFlow", "messageFlow"):
        points, element = drawing.edges[flow], drawing.elements[flow]
        assert len(points) >= 2
        assert all(a[0] == b[0] or a[1] == b[1] for a, b in pairwise(points)), flow
        assert _on_border(points[0], drawing.shapes[element.get("sourceRef")]), flow
        assert _on_border(points[-1], drawing.shapes[element.get("targetRef")]), flow
        ends = {element.get("sourceRef"), element.get("targetRef")}
        others = [drawing.shapes[n] for n in drawing.nodes if n not in ends]
        assert not any(_crosses(a, b, r) for a, b in pairwise(points) for r in others), flow


def test_boundary_events_sit_on_their_host_bottom_edge(drawing: Drawing) -> None:
    for event in drawing.ids("boundaryEvent"):
        x, y, width, height = drawing.shapes[event]
        host = drawing.shapes[drawing.elements[event].get("attachedToRef")]
        assert y + height // 2 == host[1] + host[3]
        assert host[0] <= x and x + width <= host[0] + host[2]
        for flow in drawing.ids("sequenceFlow"):
            if drawing.elements[flow].get("sourceRef") == event:
                assert drawing.edges[flow][0] == (x + width // 2, y + height)


def test_shapes_have_bpmn_js_sizes_and_flags(drawing: Drawing) -> None:
    for node in drawing.nodes:
        tag, (_, _, width, height) = drawing.tag(node), drawing.shapes[node]
        if tag.endswith("Gateway"):
            assert (width, height) == (50, 50)
        elif tag.endswith("Event"):
            assert (width, height) == (36, 36)
        else:
            assert width >= 100 and height == 80
    for shape in drawing.di:
        element = shape.get("bpmnElement")
        if drawing.tag(element) == "exclusiveGateway":
            assert shape.get("isMarkerVisible") == "true"
        if drawing.tag(element) in ("participant", "lane"):
            assert shape.get("isHorizontal") == "true"


def _semantic(content: bytes) -> bytes:
    root = parse_xml(content).getroot()
    for diagram in root.findall(f"{{{BPMNDI}}}BPMNDiagram"):
        root.remove(diagram)
    for element in root.iter():
        element.tail = element.tail if element.tail and element.tail.strip() else None
        element.text = element.text if element.text and element.text.strip() else None
    return etree.tostring(root, method="c14n")


def test_semantic_part_is_unchanged(source: bytes) -> None:
    assert _semantic(layout_bpmn(source)) == _semantic(source)


def test_layout_is_idempotent_and_then_current(source: bytes) -> None:
    laid_out = layout_bpmn(source)
    assert not layout_is_current(source)
    assert layout_bpmn(laid_out) == laid_out
    assert layout_is_current(laid_out)


def test_stale_layout_is_replaced() -> None:
    laid_out = layout_bpmn(REFERRAL)
    moved = laid_out.replace(b'<dc:Bounds x="', b'<dc:Bounds x="1', 1)
    assert not layout_is_current(moved)
    assert layout_bpmn(moved) == laid_out


def test_referral_routes_loops_and_messages_as_a_reader_expects() -> None:
    drawing = Drawing(layout_bpmn(REFERRAL))
    draft, complete = drawing.shapes["draft"], drawing.shapes["complete"]
    back = drawing.edges["incomplete"]
    assert back[-1][1] == draft[1] + draft[3] and back[0][1] == complete[1] + complete[3]
    assert max(y for _, y in back) > complete[1] + complete[3]
    review, chase = drawing.shapes["review"], drawing.shapes["chase"]
    assert drawing.edges["chased"][-1][1] == review[1] + review[3]
    assert chase[1] > review[1]
    pool = drawing.shapes["referral_participant"]
    consulate, contact = drawing.shapes["consulate"], drawing.shapes["contact_point"]
    assert consulate[1] == pool[1] + pool[3] + 40 and consulate[3] == 60
    assert contact[1] == consulate[1] + 60 + 40 and consulate[0] == pool[0]
    assert drawing.edges["ask_consulate"][-1][1] == consulate[1]
    assert drawing.edges["papers_back"][0][1] == consulate[1]
    note, task = drawing.shapes["review_note"], drawing.shapes["review"]
    assert note[1] + note[3] <= task[1]


def test_laid_out_sample_bundle_still_validates() -> None:
    files = {
        p.name: layout_bpmn(p.read_bytes()) if p.suffix == ".bpmn" else p.read_bytes()
        for p in sorted((BUNDLES / "sample").iterdir())
    }
    validate_bundle(Bundle(files), {})


def test_a_process_without_collaboration_is_drawn_on_its_own_plane() -> None:
    bare = (BUNDLES / "timers" / "timers.bpmn").read_bytes()
    start, end = bare.index(b"<bpmn:collaboration"), bare.index(b"</bpmn:collaboration>")
    drawing = Drawing(layout_bpmn(bare[:start] + bare[end + len("</bpmn:collaboration>") :]))
    assert drawing.root.find(f".//{{{BPMNDI}}}BPMNPlane").get("bpmnElement") == "timer_case"
    assert "timer_participant" not in drawing.shapes
    assert all(node in drawing.shapes for node in drawing.nodes)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ((b'processRef="referral"', b'processRef="elsewhere"'), "references missing process"),
        ((b'attachedToRef="review"', b'attachedToRef="nowhere"'), "unknown activity 'nowhere'"),
        ((b'targetRef="chase"', b'targetRef="ghost"'), "references missing node 'ghost'"),
        ((b"<bpmn:flowNodeRef>chase</bpmn:flowNodeRef>", b""), "chase is in no lane"),
        ((b">draft<", b">draft</bpmn:flowNodeRef><bpmn:flowNodeRef>review_overdue<"), "not in the"),
        ((b'id="referral_defs"', b'id="draft_di"'), "reserved for diagram layout"),
        ((b"<bpmn:definitions", b"<!DOCTYPE x><bpmn:definitions"), "DOCTYPE"),
    ],
)
def test_files_that_cannot_be_laid_out_say_why(change: tuple[bytes, bytes], message: str) -> None:
    broken = REFERRAL.replace(*change, 1)
    assert broken != REFERRAL
    with pytest.raises(LayoutError, match=message):
        layout_bpmn(broken)


def test_a_boundary_event_left_out_of_the_lanes_goes_with_its_host() -> None:
    unlisted = REFERRAL.replace(b"<bpmn:flowNodeRef>review_overdue</bpmn:flowNodeRef>", b"")
    assert (
        Drawing(layout_bpmn(unlisted)).shapes["review_overdue"]
        == Drawing(layout_bpmn(REFERRAL)).shapes["review_overdue"]
    )


def test_cli_checks_then_writes_layout(tmp_path: Path) -> None:
    path = tmp_path / "referral.bpmn"
    path.write_bytes(REFERRAL)
    runner = CliRunner()
    stale = runner.invoke(main, ["layout", "--check", str(path)])
    assert stale.exit_code == 1 and path.read_bytes() == REFERRAL
    written = runner.invoke(main, ["layout", str(path), "--json"])
    assert written.exit_code == 0, written.output
    assert path.read_bytes() == layout_bpmn(REFERRAL)
    current = runner.invoke(main, ["layout", "--check", str(path)])
    assert current.exit_code == 0 and "unchanged" in current.stdout


def test_cli_reports_a_file_it_cannot_lay_out(tmp_path: Path) -> None:
    path = tmp_path / "broken.bpmn"
    path.write_bytes(REFERRAL.replace(b'targetRef="chase"', b'targetRef="ghost"'))
    result = CliRunner().invoke(main, ["layout", str(path)])
    assert result.exit_code == 1
    assert "broken.bpmn" in result.stderr and "ghost" in result.stderr
