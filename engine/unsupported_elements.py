"""Elements of an executable diagram that the engine would not run, refused by name and line.

A diagram drawn in another modeler can hold BPMN that SpiffWorkflow 3.2 refuses
with a message naming no element (a complex gateway), turns into something else
without a word (a link or signal end event becomes a plain event, an
error-triggered event sub-process starts with every case), or accepts and then
crashes or stalls on (an ad-hoc sub-process). Each is refused here, before
SpiffWorkflow sees the file, so the coordinator learns which shape to change.

What counts as supported is read from SpiffWorkflow's parser where it says so:
its table of element parsers, and the event definitions each event parser looks
for. Processes marked non-executable are never built, and documentary elements
(annotations, groups, data references, other tools' extensions) are never run,
so neither is looked at.
"""

from __future__ import annotations

from collections.abc import Iterator

from lxml import etree
from SpiffWorkflow.bpmn.parser import event_parsers
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from engine.errors import Problem
from engine.layout_model import FLOW_NODES, SUBPROCESSES, local_name, q

_PARSERS = {
    etree.QName(tag).localname: parser
    for tag, (parser, _spec) in {
        **SpiffBpmnParser.PARSER_CLASSES,
        **SpiffBpmnParser.OVERRIDE_PARSER_CLASSES,
    }.items()
}
# SpiffWorkflow 3.2 parses these, but running one fails: without a completion
# condition it raises TypeError, with one it raises or never offers a task.
_PARSED_BUT_NOT_RUN = frozenset({"adHocSubProcess"})


def _definitions_looked_for(parser: type) -> frozenset[str]:
    """The event definitions an event parser reads; any other is taken for none.

    SpiffWorkflow keeps no table of them: each event parser's ``create_task``
    passes its own choice of the ``*_EVENT_XPATH`` constants to
    ``get_event_definition``, so the names that method uses are the table.
    """
    for cls in parser.__mro__:
        create_task = cls.__dict__.get("create_task")
        if create_task is None:
            continue
        names = [n for n in create_task.__code__.co_names if n.endswith("_EVENT_XPATH")]
        if names:
            return frozenset(getattr(event_parsers, n).rsplit(":", 1)[1] for n in names)
    return frozenset()


HANDLED_DEFINITIONS: dict[str, frozenset[str]] = {
    kind: _definitions_looked_for(parser)
    for kind, parser in _PARSERS.items()
    if issubclass(parser, event_parsers.EventDefinitionParser)
}


def unsupported_elements(path: str, tree: etree._ElementTree) -> list[Problem]:
    """Every element of an executable process in ``tree`` that the engine would not run."""
    problems: list[Problem] = []
    for process in tree.getroot().iter(q("process")):
        if process.get("isExecutable", "true") == "true":  # SpiffWorkflow's own test
            problems.extend(_in_container(path, process))
    return problems


def _in_container(path: str, container: etree._Element) -> Iterator[Problem]:
    for element in container:
        kind = local_name(element)
        if kind not in FLOW_NODES:
            continue
        reasons = list(_reasons(element, kind))
        for reason in reasons:
            yield Problem(path, element.sourceline, element.get("id") or "", reason)
        if not reasons and kind in SUBPROCESSES:
            yield from _in_container(path, element)


def _reasons(element: etree._Element, kind: str) -> Iterator[str]:
    shown = f"{kind} '{element.get('name')}'" if element.get("name") else kind
    if kind not in _PARSERS or kind in _PARSED_BUT_NOT_RUN:
        yield f"{shown} is not supported by the engine"
        return
    if element.get("isForCompensation") == "true":
        yield f"{shown} is a compensation handler: the engine never runs compensation"
    handled = HANDLED_DEFINITIONS.get(kind, frozenset())
    for child in element:
        definition = local_name(child)
        if definition and definition.endswith("EventDefinition") and definition not in handled:
            yield f"{definition} on {shown} is not supported by the engine"
