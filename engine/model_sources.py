"""The BPMN files a model version stores, parsed once for every reader of a deployed model.

Case histories, task durations and model labels all read the diagrams of
versions that deploy has already validated, so a file that no longer parses
safely can only be a damaged row: it is skipped rather than failing the page.
"""

from __future__ import annotations

from collections.abc import Iterator

from lxml import etree

from engine.bundle import Bundle
from engine.safexml import UnsafeXml, parse_xml

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"


def bpmn_trees(bundle: Bundle) -> Iterator[tuple[bytes, etree._ElementTree]]:
    """Each BPMN file of ``bundle`` (by path) with its parsed tree."""
    for content in bundle.with_suffix(".bpmn").values():
        try:
            tree = parse_xml(content)
        except UnsafeXml:  # refused at deploy, so only a damaged row gets here
            continue
        yield content, tree


def bpmn_processes(bundle: Bundle) -> Iterator[tuple[etree._Element, bytes]]:
    """Each ``process`` element of ``bundle`` with the whole file that defines it."""
    for content, tree in bpmn_trees(bundle):
        for process in tree.getroot().iter(f"{{{BPMN_NS}}}process"):
            yield process, content
