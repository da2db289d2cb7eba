"""Deploy validation: everything that can be known about a bundle before it runs.

Each rejection names the file, the line, the element id and the reason, so a
coordinator can find it in the diagram. Validation collects every problem it
can rather than stopping at the first.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from jsonschema import SchemaError
from jsonschema.validators import validator_for
from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.bpmn_process_spec import BpmnProcessSpec
from SpiffWorkflow.bpmn.specs.mixins.events.start_event import StartEvent
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser
from SpiffWorkflow.spiff.specs.defaults import UserTask

from engine.bundle import Bundle
from engine.errors import ModelInvalid, Problem
from engine.expressions import expression_problems
from engine.safexml import UnsafeXml, parse_xml
from engine.unsupported_elements import unsupported_elements

FORM_PROPERTY = "formJsonSchemaFilename"
FORM_DIALECT = "https://json-schema.org/draft/2020-12/schema"


@dataclass
class ValidatedBundle:
    """A bundle that passed validation, with what deploy needs to store it."""

    bundle: Bundle
    parser: SpiffBpmnParser
    forms: dict[str, dict[str, Any]]
    specs: dict[str, tuple[BpmnProcessSpec, dict[str, BpmnProcessSpec]]] = field(
        default_factory=dict
    )
    trees: dict[str, etree._ElementTree] = field(default_factory=dict)
    warnings: list[Problem] = field(default_factory=list)


def form_reference(task_spec: Any) -> str | None:
    properties = (getattr(task_spec, "extensions", None) or {}).get("properties") or {}
    return properties.get(FORM_PROPERTY)


def start_form_reference(spec: BpmnProcessSpec) -> str | None:
    """The form of a process's start event: the schema a case's start data must satisfy."""
    for task_spec in spec.task_specs.values():
        if isinstance(task_spec, StartEvent) and form_reference(task_spec):
            return form_reference(task_spec)
    return None


def validate_bundle(
    bundle: Bundle,
    helpers: Mapping[str, Callable[..., Any]],
    role_for_lane: Callable[[str | None], str | None] | None = None,
) -> ValidatedBundle:
    """Return the parsed bundle, or raise :class:`ModelInvalid` listing every problem.

    Warnings SpiffWorkflow raises while parsing (deprecated extension
    elements, for example) are kept on the result, so deploy can report them
    instead of letting them scroll past on a console.
    """
    problems: list[Problem] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        trees = _parse_xml_files(bundle, problems)
        refused = {path: unsupported_elements(path, tree) for path, tree in trees.items()}
        problems.extend(problem for found in refused.values() for problem in found)
        parser = SpiffBpmnParser(validator=VALIDATOR)
        _add_to_parser(parser, {p: t for p, t in trees.items() if not refused[p]}, problems)
        for path, tree in trees.items():
            problems.extend(expression_problems(path, tree, helpers))
        forms = _parse_forms(bundle, problems)
        validated = ValidatedBundle(bundle, parser, forms, trees=trees)
        _build_specs(validated, problems, role_for_lane)
    if problems:
        raise ModelInvalid(problems)
    validated.warnings = sorted(
        {
            Problem("", None, "", f"{w.category.__name__}: {w.message}")
            for w in caught
            if "SpiffWorkflow" in w.filename  # not, say, a connection the GC closed meanwhile
        },
        key=str,
    )
    return validated


def _parse_xml_files(bundle: Bundle, problems: list[Problem]) -> dict[str, etree._ElementTree]:
    trees = {}
    for path, content in bundle.files.items():
        if not path.endswith((".bpmn", ".dmn")):
            continue
        try:
            trees[path] = parse_xml(content)
        except UnsafeXml as error:
            problems.append(Problem(path, error.line, "", str(error)))
    return trees


def _add_to_parser(
    parser: SpiffBpmnParser, trees: dict[str, etree._ElementTree], problems: list[Problem]
) -> None:
    # DMN first: business rule tasks look their decisions up while BPMN parses.
    for path in sorted(trees, key=lambda p: not p.endswith(".dmn")):
        root = trees[path].getroot()
        if path.endswith(".dmn") and not root.xpath("//*[local-name()='decision']"):
            problems.append(Problem(path, None, "", "a DMN file must hold a decision"))
            continue
        try:
            if path.endswith(".dmn"):
                parser.add_dmn_xml(root, filename=path)
            else:
                parser.add_bpmn_xml(root, filename=path)
        except ValidationException as error:
            problems.append(_problem_from_spiff(error, path))
        except Exception as error:  # SpiffWorkflow's parser trusts its input's structure
            kind = "DMN" if path.endswith(".dmn") else "BPMN"
            problems.append(Problem(path, None, "", f"not a usable {kind} file: {error!r}"))


def _problem_from_spiff(error: ValidationException, path: str) -> Problem:
    line = error.line_number if isinstance(error.line_number, int) else None
    message = str(error.args[0]) if error.args else str(error)
    return Problem(error.file_name or path, line, error.id or "", message)


def _parse_forms(bundle: Bundle, problems: list[Problem]) -> dict[str, dict[str, Any]]:
    forms = {}
    for path, content in bundle.with_suffix(".json").items():
        try:
            text = content.decode("utf-8")  # strictly: json.loads lets surrogates pass
        except UnicodeDecodeError:
            problems.append(Problem(path, None, "", "not UTF-8 text"))
            continue
        try:
            schema = json.loads(text)
        except (ValueError, RecursionError) as error:
            problems.append(Problem(path, getattr(error, "lineno", None), "", f"not JSON: {error}"))
            continue
        problem = form_schema_problem(schema)
        if problem:
            problems.append(Problem(path, None, "", problem))
        else:
            forms[path] = schema
    return forms


def form_schema_problem(schema: Any) -> str | None:
    """Why ``schema`` cannot be a form's JSON Schema, or None (also the modeler's live check)."""
    if not isinstance(schema, dict):
        return "a form schema must be a JSON object"
    dialect = schema.get("$schema", FORM_DIALECT)
    if not isinstance(dialect, str) or validator_for({"$schema": dialect}, None) is None:
        return f"$schema must name a JSON Schema draft, such as {FORM_DIALECT}"
    try:
        validator_for(schema).check_schema(schema)
    except SchemaError as error:
        where = "/".join(str(p) for p in error.absolute_path) or "(root)"
        return f"not a valid JSON Schema at {where}: {error.message}"
    except RecursionError:
        return "the schema is nested too deeply"
    return _undrawable_property(schema, "")


def _undrawable_property(schema: dict[str, Any], where: str) -> str | None:
    """A field the task page could not draw: ``true``/``false`` is a valid schema, but no field."""
    for name, prop in (schema.get("properties") or {}).items():
        path = f"{where}/{name}"
        if not isinstance(prop, dict):
            return f"the field {path.lstrip('/')} must be a schema object, not {json.dumps(prop)}"
        found = _undrawable_property(prop, path)
        if found:
            return found
    return None


def _element_lines(trees: dict[str, etree._ElementTree]) -> dict[str, tuple[str, int | None]]:
    index: dict[str, tuple[str, int | None]] = {}
    for path, tree in trees.items():
        for element in tree.iter():
            element_id = element.get("id") if isinstance(element.tag, str) else None
            if element_id:
                index.setdefault(element_id, (path, element.sourceline))
    return index


def _build_specs(
    validated: ValidatedBundle,
    problems: list[Problem],
    role_for_lane: Callable[[str | None], str | None] | None,
) -> None:
    parser = validated.parser
    where = _element_lines(validated.trees)
    for process_id in sorted(parser.get_process_ids()):
        try:
            spec = parser.get_spec(process_id)
            subprocess_specs = parser.get_subprocess_specs(process_id)
        except ValidationException as error:
            path = parser.get_process_parser(process_id).filename
            problems.append(_problem_from_spiff(error, path))
            continue
        except Exception as error:  # a half-parsed bundle can fail in many ways
            path, line = where.get(process_id, ("", None))
            problems.append(Problem(path, line, process_id, f"process cannot be built: {error}"))
            continue
        validated.specs[process_id] = (spec, subprocess_specs)
        default_path = str(parser.get_process_parser(process_id).filename)
        for task_spec in spec.task_specs.values():
            if not isinstance(task_spec, UserTask | StartEvent):
                continue
            path, line = where.get(task_spec.bpmn_id, (default_path, None))
            if isinstance(task_spec, UserTask):
                problems.extend(_lane_problems(task_spec, path, line, role_for_lane))
            problems.extend(_form_problems(task_spec, path, line, validated))


def _lane_problems(
    task_spec: UserTask,
    path: str,
    line: int | None,
    role_for_lane: Callable[[str | None], str | None] | None,
) -> Iterator[Problem]:
    element_id = task_spec.bpmn_id
    if task_spec.lane is None:
        yield Problem(
            path, line, element_id, "user task is not inside a lane (its role is unknown)"
        )
    elif role_for_lane is not None and role_for_lane(task_spec.lane) is None:
        yield Problem(
            path, line, element_id, f"lane '{task_spec.lane}' is not served by any known role"
        )


def _form_problems(
    task_spec: UserTask | StartEvent, path: str, line: int | None, validated: ValidatedBundle
) -> Iterator[Problem]:
    """A user task's form, or a start event's form for the case's start data, must exist."""
    element_id = task_spec.bpmn_id
    reference = form_reference(task_spec)
    if reference is None:
        return
    form_path = validated.bundle.find_form(reference)
    if form_path is None:
        yield Problem(path, line, element_id, f"form schema '{reference}' is not in the bundle")
    elif form_path not in validated.forms:
        yield Problem(path, line, element_id, f"form schema '{reference}' is invalid (see above)")
