"""Hypothesis strategies that break a valid bundle the ways people and tools break them.

A coordinator's editor drops an element or leaves a reference dangling, a copy and
paste duplicates an id, an upload is cut short, a form is edited by hand. Each
mutation works on the parsed XML or JSON where it can, so most results still parse
and reach the deeper checks, and on raw bytes where it cannot.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from hypothesis import strategies as st
from lxml import etree

from engine.bundle import Bundle
from tests.engine.fuzz_form_data import any_text, json_values

# What ends up in attributes and expressions: other ids, code, markup, nothing.
NASTY_TEXT = st.one_of(
    any_text.filter(lambda t: "\x00" not in t and not any("\ud800" <= c <= "\udfff" for c in t)),
    st.sampled_from(
        [
            "",
            "1 / 0",
            "while True:\n    pass",
            "__import__('os').getenv('HOME')",
            "().__class__.__mro__",
            "x = [0] * 10**9",
            "route = 'nowhere'",
            "amount >",
            "P-1D",
            "R/P1D",
            "2026-02-30T00:00:00",
            "'",
            "<",
            "intake",
            "lane_clerk",
            "sample_check",
            "x" * 5000,
        ]
    ),
)


def _xml_elements(tree: etree._Element) -> list[etree._Element]:
    return [e for e in tree.iter() if isinstance(e.tag, str) and e is not tree]


@st.composite
def _mutate_xml(draw: st.DrawFn, content: bytes) -> bytes:
    root = etree.fromstring(content)
    elements = _xml_elements(root)
    if not elements:
        return draw(_mutate_bytes(content))
    element = draw(st.sampled_from(elements))
    action = draw(st.sampled_from(["remove", "duplicate", "attribute", "text", "move"]))
    parent = element.getparent()
    if action == "remove":
        parent.remove(element)
    elif action == "duplicate":
        parent.append(copy.deepcopy(element))
    elif action == "attribute" and element.attrib:
        name = draw(st.sampled_from(sorted(element.attrib)))
        if draw(st.booleans()):
            element.set(name, draw(NASTY_TEXT))
        else:
            del element.attrib[name]
    elif action == "text":
        element.text = draw(NASTY_TEXT)
    elif action == "move":
        target = draw(st.sampled_from(elements))
        if element not in target.iterancestors() and target is not element:
            target.append(element)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _replace_somewhere(draw: st.DrawFn, value: Any) -> Any:
    """``value`` with one node, anywhere in it, replaced by any JSON value."""
    if isinstance(value, dict) and value and draw(st.booleans()):
        key = draw(st.sampled_from(sorted(value)))
        return {**value, key: _replace_somewhere(draw, value[key])}
    if isinstance(value, list) and value and draw(st.booleans()):
        index = draw(st.integers(0, len(value) - 1))
        return [*value[:index], _replace_somewhere(draw, value[index]), *value[index + 1 :]]
    return draw(json_values)


@st.composite
def _mutate_json(draw: st.DrawFn, content: bytes) -> bytes:
    mutated = _replace_somewhere(draw, json.loads(content))
    return json.dumps(mutated, ensure_ascii=draw(st.booleans())).encode("utf-8", "surrogatepass")


@st.composite
def _mutate_bytes(draw: st.DrawFn, content: bytes) -> bytes:
    at = draw(st.integers(0, len(content)))
    if draw(st.booleans()):
        return content[:at]  # an upload cut short
    return content[:at] + draw(st.binary(min_size=1, max_size=8)) + content[at + 1 :]


@st.composite
def mutated_bundles(draw: st.DrawFn, bundle: Bundle) -> Bundle:
    """``bundle`` after one to three mutations, each on a file or on the set of files."""
    files = dict(bundle.files)
    for _ in range(draw(st.integers(1, 3))):
        if not files:
            break
        path = draw(st.sampled_from(sorted(files)))
        kind = draw(st.sampled_from(["structure", "structure", "structure", "bytes", "files"]))
        if kind == "files":
            action = draw(st.sampled_from(["drop", "rename", "add"]))
            content = files.pop(path)
            if action == "rename":
                files[draw(st.sampled_from(["x.bpmn", "x.dmn", "x.json", "forms/" + path]))] = (
                    content
                )
            elif action == "add":
                files[path] = content
                files[draw(st.sampled_from(["extra.bpmn", "extra.dmn", "extra.json"]))] = content
        elif kind == "bytes":
            files[path] = draw(_mutate_bytes(files[path]))
        else:
            try:
                mutate = _mutate_json if path.endswith(".json") else _mutate_xml
                files[path] = draw(mutate(files[path]))
            except (ValueError, etree.XMLSyntaxError):  # already broken by an earlier mutation
                files[path] = draw(_mutate_bytes(files[path]))
    return Bundle(files)
