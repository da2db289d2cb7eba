"""What a bundle's files define: each BPMN process with its file, name and executability,
and each DMN decision. The modeler offers these as choices and checks an edit against them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from lxml import etree

from engine.model_sources import BPMN_NS
from engine.safexml import UnsafeXml, parse_xml


@dataclass(frozen=True)
class DefinedProcess:
    id: str
    name: str
    path: str
    line: int | None
    executable: bool  # SpiffWorkflow's rule: isExecutable absent or "true"


def processes_in(files: dict[str, bytes]) -> dict[str, DefinedProcess]:
    """Every process the BPMN files define, by id (the first file wins, sorted by path)."""
    found: dict[str, DefinedProcess] = {}
    for path, root in _roots(files, ".bpmn"):
        for process in defined_processes(path, root):
            found.setdefault(process.id, process)
    return found


def defined_processes(path: str, root: etree._Element) -> Iterator[DefinedProcess]:
    """The processes of one parsed BPMN file, in document order."""
    for process in root.iter(f"{{{BPMN_NS}}}process"):
        process_id = process.get("id")
        if process_id:
            executable = process.get("isExecutable", "true") == "true"
            name = process.get("name") or process_id
            yield DefinedProcess(process_id, name, path, process.sourceline, executable)


def defining_file(files: dict[str, bytes], process_id: str) -> str | None:
    """The path of the BPMN file among ``files`` that defines process ``process_id``."""
    found = processes_in(files).get(process_id)
    return found.path if found else None


def decisions_in(files: dict[str, bytes]) -> list[tuple[str, str]]:
    """(id, name) of every decision of the DMN files, whatever DMN version they are written in."""
    return [
        (decision.get("id") or "", decision.get("name") or "")
        for _, root in _roots(files, ".dmn")
        for decision in root.iter("{*}decision")
    ]


def _roots(files: dict[str, bytes], suffix: str) -> Iterator[tuple[str, etree._Element]]:
    for path, content in sorted(files.items()):
        if path.endswith(suffix):
            try:
                yield path, parse_xml(content).getroot()
            except UnsafeXml:  # deploy refuses such a file and names it; nothing to offer here
                continue
