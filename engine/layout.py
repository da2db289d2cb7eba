"""Diagram layout for hand-written BPMN: adds the BPMN DI a viewer needs to draw it.

Modellers write and review only the semantic XML; shapes and waypoints are
derived from lanes and flows, so a diagram never drifts from its process.
The semantic elements are left as they are; only the ``bpmndi:BPMNDiagram``
is replaced, and the output is deterministic so ``--check`` can compare bytes.

The work is split by stage: :mod:`engine.layout_model` reads the graph,
:mod:`engine.layout_rank` and :mod:`engine.layout_grid` place it,
:mod:`engine.layout_route` draws the flows, :mod:`engine.layout_labels`
finds room for names and :mod:`engine.layout_di` writes the DI elements.
"""

from __future__ import annotations

from lxml import etree

from engine.layout_di import BPMNDI, build_diagram, di_ids
from engine.layout_grid import place
from engine.layout_model import LayoutError, q, read_diagram
from engine.safexml import UnsafeXml, parse_xml

__all__ = ["LayoutError", "layout_bpmn", "layout_is_current"]

DEFAULT_INDENT = "  "


def layout_bpmn(content: bytes) -> bytes:
    """Return the file with fresh DI (existing DI removed first)."""
    try:
        tree = parse_xml(content)
    except UnsafeXml as error:
        where = f" (line {error.line})" if error.line else ""
        raise LayoutError(f"{error}{where}") from None
    root = tree.getroot()
    _remove_diagrams(root)
    diagram = read_diagram(root)
    clashes = sorted(
        {e.get("id") for e in root.iter() if isinstance(e.tag, str)} & set(di_ids(diagram))
    )
    if clashes:
        raise LayoutError(f"ids {', '.join(clashes)} are reserved for diagram layout; rename them")
    _insert_diagram(root, build_diagram(diagram, place(diagram)))
    return etree.tostring(tree, xml_declaration=True, encoding="UTF-8") + b"\n"


def layout_is_current(content: bytes) -> bool:
    """Whether the file already holds exactly the layout :func:`layout_bpmn` would write."""
    return layout_bpmn(content) == content


def _remove_diagrams(root: etree._Element) -> None:
    """Drop old DI together with the whitespace that indented it."""
    for diagram in root.findall(f"{{{BPMNDI}}}BPMNDiagram"):
        previous = diagram.getprevious()
        if previous is not None:
            previous.tail = diagram.tail
        root.remove(diagram)


def _insert_diagram(root: etree._Element, diagram: etree._Element) -> None:
    """Put the DI where the schema wants it (before any relationship), indented like its siblings.

    The whitespace is moved so that :func:`_remove_diagrams` restores it exactly,
    which is what makes a second run produce the same bytes.
    """
    children = list(root)
    relationship = root.find(q("relationship"))
    index = len(children) if relationship is None else max(1, children.index(relationship))
    previous = children[index - 1]
    indent = children[index - 2].tail if index >= 2 else root.text
    diagram.tail, previous.tail = previous.tail, indent
    root.insert(index, diagram)
    etree.indent(diagram, space=_indent_unit(indent), level=1)


def _indent_unit(whitespace: str | None) -> str:
    unit = (whitespace or "").rpartition("\n")[2]
    return unit if unit and not unit.strip() else DEFAULT_INDENT
