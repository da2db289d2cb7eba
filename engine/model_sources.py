"""The files a model version stores, parsed once for every reader of a deployed model.

Case histories, task durations and model labels all read the diagrams of
versions that deploy has already validated, so a file that no longer parses
safely can only be a damaged row: it is skipped rather than failing the page.
Versions never change, so what each reader makes of them is kept by content
hash (:class:`ParsedVersions`).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from lxml import etree
from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from engine.bundle import Bundle, unpack_files
from engine.errors import ModelNotFound
from engine.models import ProcessModelVersion
from engine.safexml import UnsafeXml, parse_xml

Parsed = TypeVar("Parsed")

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


class ParsedVersions(Generic[Parsed]):
    """What ``parse`` makes of a model version's files, computed once per content hash."""

    def __init__(self, parse: Callable[[Bundle], Parsed]):
        self._parse = parse
        self._parsed: dict[str, Parsed] = {}
        self._lock = threading.Lock()

    def get(self, session: Session, *version: ColumnElement[bool]) -> Parsed:
        """The parsed files of the one version ``version`` selects (by id, or key and number)."""
        content_hash = session.scalar(select(ProcessModelVersion.content_hash).where(*version))
        if content_hash is None:
            raise ModelNotFound("no such process model version")
        found = self._parsed.get(content_hash)
        if found is None:
            packed = session.scalar(select(ProcessModelVersion.source_files).where(*version))
            found = self._parse(Bundle(unpack_files(packed or b"")))
            with self._lock:
                self._parsed[content_hash] = found
        return found


@dataclass(frozen=True)
class ProcessSource:
    xml: bytes  # the whole file that defines the process, as the viewer draws it
    flows: Mapping[tuple[str, str], tuple[str, ...]]  # (source, target) → flow ids
    call_activities: Mapping[str, str]


@dataclass(frozen=True)
class ModelSources:
    processes: Mapping[str, ProcessSource]
    forms: Mapping[str, dict[str, Any]]


def sources_of_bundle(bundle: Bundle) -> ModelSources:
    """Each process of a bundle with its file, its sequence flows and its call activities."""
    processes: dict[str, ProcessSource] = {}
    for process, content in bpmn_processes(bundle):
        flows: dict[tuple[str, str], tuple[str, ...]] = {}
        for flow in process.iter(f"{{{BPMN_NS}}}sequenceFlow"):
            key = (flow.get("sourceRef") or "", flow.get("targetRef") or "")
            flows[key] = (*flows.get(key, ()), flow.get("id") or "")
        calls = {
            call.get("id") or "": call.get("calledElement") or ""
            for call in process.iter(f"{{{BPMN_NS}}}callActivity")
        }
        processes.setdefault(process.get("id") or "", ProcessSource(content, flows, calls))
    forms = {}
    for path, content in bundle.with_suffix(".json").items():
        schema = json.loads(content)
        if isinstance(schema, dict):
            forms[path] = schema
    return ModelSources(processes, forms)
