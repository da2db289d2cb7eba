"""Deploy-time checks of every piece of Python inside a diagram or decision table.

Scripts, conditions, DMN cells and timer expressions all run in the sandbox,
so each must compile under its rules before a version is stored. Timer
expressions are also evaluated when they do not depend on case data, because
an unquoted ``P30D`` compiles fine and fails only when the timer starts.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition

from engine.errors import Problem
from engine.scripting import RestrictedEnvironment, check_compiles

# local element name -> compile mode
_BPMN_CODE = {
    "script": "exec",
    "preScript": "exec",
    "postScript": "exec",
    "conditionExpression": "eval",
    "completionCondition": "eval",
    "loopCardinality": "eval",
    "loopCondition": "eval",
}
_TIMER_PARSERS: dict[str, Callable[[str], Any]] = {
    "timeDuration": TimerEventDefinition.parse_iso_duration,
    "timeDate": TimerEventDefinition.parse_time_or_duration,
    "timeCycle": TimerEventDefinition.parse_iso_recurring_interval,
}
_DMN_CELLS = {"inputExpression": "eval", "outputEntry": "eval", "inputEntry": "unary"}
_ISO_LOOKING = re.compile(r"^(R\d*/)?P[0-9TYMWDHS.,]+$|^R\d*/", re.IGNORECASE)


def expression_problems(
    path: str, tree: etree._ElementTree, helpers: Mapping[str, Callable[..., Any]]
) -> Iterator[Problem]:
    for element in tree.iter():
        if not isinstance(element.tag, str):
            continue
        name = etree.QName(element).localname
        source = _text_of(element, name)
        if source is None:
            continue
        if name in _BPMN_CODE:
            reason = check_compiles(source, _BPMN_CODE[name])
        elif name in _TIMER_PARSERS:
            reason = _timer_problem(source, name, helpers)
        elif path.endswith(".dmn") and name in _DMN_CELLS:
            reason = _dmn_cell_problem(source, _DMN_CELLS[name])
        else:
            continue
        if reason:
            yield Problem(path, element.sourceline, _owner_id(element), f"{name}: {reason}")


def _text_of(element: etree._Element, name: str) -> str | None:
    if name in ("inputExpression", "inputEntry", "outputEntry"):
        text_child = next((c for c in element if etree.QName(c).localname == "text"), None)
        text = text_child.text if text_child is not None else None
    else:
        text = element.text
    if text is None or not text.strip():
        return None
    return text.strip()


def _owner_id(element: etree._Element) -> str:
    node: etree._Element | None = element
    while node is not None:
        if node.get("id"):
            return node.get("id") or ""
        node = node.getparent()
    return ""


def _dmn_cell_problem(source: str, mode: str) -> str | None:
    if mode == "eval":
        return check_compiles(source, "eval")
    if source == "-":
        return None
    # SpiffWorkflow turns a unary test into "<input> == (<cell>)" or "<input> <cell>";
    # '?' stands for the input value.
    placeholder = source.replace("?", "dmninputexpr")
    if check_compiles(placeholder, "eval") is None:
        return None
    return check_compiles(f"dmninputexpr {placeholder}", "eval")


def _timer_problem(source: str, kind: str, helpers: Mapping[str, Callable[..., Any]]) -> str | None:
    reason = check_compiles(source, "eval")
    if reason:
        return reason
    if _ISO_LOOKING.match(source):
        return f"'{source}' is Python, not a literal: quote the ISO 8601 value, e.g. \"{source}\""
    if _uses_case_data(source, helpers):
        return None  # depends on case data: checked when the timer starts
    try:
        value = RestrictedEnvironment(helpers).evaluate(source, {})
        _TIMER_PARSERS[kind](value)
    except Exception as error:  # whatever fails here would fail when the timer starts
        return f"timer expression does not give a valid ISO 8601 {kind}: {error}"
    return None


def _uses_case_data(source: str, helpers: Mapping[str, Callable[..., Any]]) -> bool:
    names = {n.id for n in ast.walk(ast.parse(source, mode="eval")) if isinstance(n, ast.Name)}
    return bool(names - set(helpers) - {"True", "False", "None"})
