"""Every diagram of the NRM library renders cleanly in the bpmn.io viewer the app ships.

Each test checks one property of every ``bpmn/nrm/*.bpmn`` (found when tests are
collected, so a new file is covered at once); the file is rendered once in
headless Chromium and a picture of it is kept in pytest's temporary directory
(``diagram-screenshots*``). The unlaid sample proves the rendering can fail.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.drawing_checks import (
    flows_not_drawn,
    import_problems,
    nodes_outside_their_lane,
    nodes_without_shape,
    overlapping_labels,
    overlapping_nodes,
    text_outside_its_node,
)
from tests.browser.semantics import read_model
from tests.browser.viewer import RenderDiagram

REPO = Path(__file__).resolve().parents[2]
NRM_DIAGRAMS = sorted((REPO / "bpmn" / "nrm").glob("*.bpmn"))
SAMPLE_WITHOUT_LAYOUT = REPO / "tests" / "fixtures" / "bundles" / "sample" / "sample_case.bpmn"

each_nrm_diagram = pytest.mark.parametrize("diagram", NRM_DIAGRAMS, ids=lambda path: path.stem)


@each_nrm_diagram
def test_imports_without_warnings(diagram: Path, render: RenderDiagram) -> None:
    problems = import_problems(render(diagram))
    assert not problems, "\n".join(problems)


@each_nrm_diagram
def test_draws_every_flow_node(diagram: Path, render: RenderDiagram) -> None:
    problems = nodes_without_shape(read_model(diagram), render(diagram))
    assert not problems, "\n".join(problems)


@each_nrm_diagram
def test_draws_every_sequence_and_message_flow(diagram: Path, render: RenderDiagram) -> None:
    problems = flows_not_drawn(read_model(diagram), render(diagram))
    assert not problems, "\n".join(problems)


@each_nrm_diagram
def test_flow_nodes_do_not_overlap(diagram: Path, render: RenderDiagram) -> None:
    problems = overlapping_nodes(read_model(diagram), render(diagram))
    assert not problems, "\n".join(problems)


@each_nrm_diagram
def test_lanes_hold_their_flow_nodes(diagram: Path, render: RenderDiagram) -> None:
    problems = nodes_outside_their_lane(read_model(diagram), render(diagram))
    assert not problems, "\n".join(problems)


@each_nrm_diagram
def test_labels_are_readable(diagram: Path, render: RenderDiagram) -> None:
    model, rendering = read_model(diagram), render(diagram)
    problems = text_outside_its_node(model, rendering) + overlapping_labels(rendering)
    assert not problems, "\n".join(problems)


@each_nrm_diagram
def test_no_browser_errors(diagram: Path, render: RenderDiagram) -> None:
    problems = render(diagram).browser_errors
    assert not problems, "\n".join(problems)


def test_a_process_without_layout_is_rejected(render: RenderDiagram) -> None:
    assert b"BPMNDiagram" not in SAMPLE_WITHOUT_LAYOUT.read_bytes()
    rendering = render(SAMPLE_WITHOUT_LAYOUT)
    assert rendering.error == "no diagram to display"
    assert rendering.shapes == {}
    problems = rendering.browser_errors
    assert not problems, "\n".join(problems)
