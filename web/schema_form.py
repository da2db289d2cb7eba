"""A task's JSON Schema as server-rendered form fields, and a post back as typed data.

The schema stays the one authority: these fields are a convenience for a
person, and whatever is posted is validated by the engine against the same
schema (``additionalProperties: false`` included) before the workflow sees
it. So parsing never trusts the form: it reads only the schema's fields,
types what it can and leaves every rule to the engine. Conditional fields
(``if``/``then``) are ordinary optional fields with their description; the
engine's validation says when they are needed, so no script is required.

Names of nested fields are joined with ``.``; error keys (see
:func:`errors_by_field`) use the same names, without ``prefix``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from flask import render_template
from flask_babel import gettext as _
from markupsafe import Markup
from werkzeug.datastructures import MultiDict

from engine.errors import FieldError
from engine.model_labels import readable

TEXTAREA_ABOVE = 200  # maxLength above which a string gets a text area
RADIOS_UP_TO = 4  # options shown as radios; more become a select
_CHOICE_GROUPS = ("radios", "checkboxes", "yes_no")
_TRUE = ("on", "true")
_YES = ("true", "yes", "on")
_NO = ("false", "no", "off")


@dataclass(frozen=True)
class Option:
    id: str
    value: str
    title: str
    checked: bool


@dataclass(frozen=True)
class Field:
    """One field as the template draws it; ``kind`` picks the widget."""

    kind: str
    key: str
    name: str
    id: str
    label: str
    help: str
    required: bool
    error: str
    value: str = ""
    checked: bool = False
    options: tuple[Option, ...] = ()
    children: tuple[Field, ...] = ()
    limits: dict[str, Any] = field(default_factory=dict)

    @property
    def described_by(self) -> str | None:
        ids = [f"{self.id}-help"] if self.help else []
        ids += [f"{self.id}-error"] if self.error else []
        return " ".join(ids) or None

    @property
    def attrs(self) -> dict[str, Any]:
        """Attributes of the control itself (of each option's input for a group)."""
        if self.kind in (*_CHOICE_GROUPS, "group"):
            return {"aria-invalid": "true" if self.error else None}
        return {
            **self.limits,
            "aria-describedby": self.described_by,
            "aria-invalid": "true" if self.error else None,
            "aria-required": "true" if self.required else None,
        }

    @property
    def anchor(self) -> str:
        """The id an error summary links to: the first control a person can focus."""
        if self.kind in _CHOICE_GROUPS and self.options:
            return self.options[0].id
        if self.children:
            return self.children[0].anchor
        return self.id


@dataclass(frozen=True)
class ErrorLink:
    label: str
    message: str
    anchor: str | None


# ----------------------------------------------------------------- public API


def render_fields(
    schema: dict[str, Any], values: dict[str, Any], errors: dict[str, str], prefix: str = ""
) -> Markup:
    """The schema's fields with ``values`` (typed data or a draft) and ``errors`` beside them.

    A fresh form (no values, no errors) shows the schema's defaults.
    """
    fresh = not values and not errors
    fields = schema_fields(schema, values, errors, prefix, fresh=fresh)
    return Markup(render_template("_fields.html", fields=fields))


def parse_submission(
    schema: dict[str, Any], form: MultiDict[str, str], prefix: str = ""
) -> tuple[dict[str, Any], dict[str, str]]:
    """Typed data for the engine, and what could not even be typed (keyed like the fields)."""
    errors: dict[str, str] = {}
    return _parse_object(schema, form, prefix, (), errors), errors


def errors_by_field(field_errors: list[FieldError]) -> dict[str, str]:
    """The engine's errors keyed by field name; an error in an array's item is the array's."""
    by_field: dict[str, str] = {}
    for error in field_errors:
        parts: list[str] = []
        for part in (p for p in error.path.split("/") if p):
            if part.isdigit():
                break
            parts.append(part)
        by_field.setdefault(".".join(parts), error.message)
    return by_field


def error_summary(
    schema: dict[str, Any], errors: dict[str, str], prefix: str = ""
) -> list[ErrorLink]:
    """Every error in form order, each linking to its field (form-wide ones link nowhere)."""
    fields = {f.key: f for f in _walk(schema_fields(schema, {}, errors, prefix))}
    links = [ErrorLink(f.label, f.error, f.anchor) for f in fields.values() if f.error]
    for key, problem in errors.items():
        if key not in fields:
            label = key.rsplit(".", 1)[-1].replace("_", " ") if key else _("The form")
            links.append(ErrorLink(label, problem_sentence(problem), None))
    return links


def problem_sentence(problem: str) -> str:
    """A person's sentence for the engine's (and the parser's) rule-named problem."""
    sentences = {
        "is required": _("This field is required."),
        "has the wrong type": _("This answer has the wrong type."),
        "is not one of the allowed values": _("Choose one of the options given."),
        "is too long": _("This answer is too long."),
        "is too short": _("This answer is too short."),
        "is below the minimum": _("This number is below the minimum."),
        "is above the maximum": _("This number is above the maximum."),
        "does not have the expected format": _("This answer does not have the expected format."),
        "is not a field of this form": _("This is not a field of this form."),
        "must be left empty with these answers": _("Leave this empty with the answers given."),
        "does not have the required value": _("This answer does not have the required value."),
        "is not valid": _("This answer is not valid with the other answers."),
        "must be a number": _("Enter a number."),
        "must be a whole number": _("Enter a whole number."),
        "form data must be an object": _("The form could not be read."),
    }
    return sentences.get(problem, problem)


# ----------------------------------------------------------------- fields


def schema_fields(
    schema: dict[str, Any],
    values: dict[str, Any],
    errors: dict[str, str],
    prefix: str = "",
    path: tuple[str, ...] = (),
    fresh: bool = False,
) -> list[Field]:
    fields = []
    for name, prop, required in _properties(schema):
        kind = _kind(prop, required)
        if kind is None:
            continue
        key = ".".join((*path, name))
        html_name = _html_name(prefix, key)
        value = values.get(name) if isinstance(values, dict) else None
        if value is None and fresh:
            value = prop.get("default")
        common = {
            "kind": kind,
            "key": key,
            "name": html_name,
            "id": f"field-{html_name}",
            "label": str(prop.get("title") or readable(name)),
            "help": str(prop.get("description") or ""),
            "required": required,
            "error": problem_sentence(errors[key]) if key in errors else "",
        }
        if kind == "group":
            nested = value if isinstance(value, dict) else {}
            children = schema_fields(prop, nested, errors, prefix, (*path, name), fresh)
            fields.append(Field(**common, children=tuple(children)))
        elif kind == "confirm":
            fields.append(Field(**common, checked=value is True))
        elif kind in (*_CHOICE_GROUPS, "select"):
            fields.append(Field(**common, options=_options(kind, prop, value, common["id"])))
        else:
            fields.append(Field(**common, value=_text(value), limits=_limits(kind, prop)))
    return fields


def _walk(fields: list[Field] | tuple[Field, ...]) -> Iterator[Field]:
    for f in fields:
        yield f
        yield from _walk(f.children)


def _properties(schema: dict[str, Any]) -> list[tuple[str, dict[str, Any], bool]]:
    """The schema's fields, then any a conditional branch defines, which are optional."""
    properties = schema.get("properties") or {}
    required = set(schema.get("required") or [])
    found = [(name, prop, name in required) for name, prop in properties.items()]
    seen = set(properties)
    for branch in _conditional_branches(schema):
        for name, prop in (branch.get("properties") or {}).items():
            if name not in seen and isinstance(prop, dict) and _kind(prop, False) is not None:
                found.append((name, prop, False))
                seen.add(name)
    return found


def _conditional_branches(schema: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for part in (schema, *(schema.get("allOf") or [])):
        for key in ("then", "else"):
            if isinstance(part, dict) and isinstance(part.get(key), dict):
                yield part[key]


def _type(prop: dict[str, Any]) -> str | None:
    declared = prop.get("type")
    if isinstance(declared, list):
        declared = next((t for t in declared if t != "null"), None)
    return declared if isinstance(declared, str) else None


def _kind(prop: dict[str, Any], required: bool) -> str | None:
    """Which widget a property gets, or None for what a form cannot sensibly ask."""
    declared = _type(prop)
    if declared == "object":
        return "group" if prop.get("properties") else None
    if declared == "array":
        items = prop.get("items")
        return "checkboxes" if isinstance(items, dict) and items.get("enum") else None
    if prop.get("enum"):
        return "radios" if len(prop["enum"]) <= RADIOS_UP_TO else "select"
    if declared == "boolean":
        # A question is answered Yes or No explicitly: an unticked box would record
        # "no consent" for someone who only forgot to tick. A confirmation is a box.
        return "confirm" if prop.get("const") is True else "yes_no"
    if declared in ("integer", "number"):
        return "number"
    if declared == "string":
        if prop.get("format") == "date":
            return "date"
        return "textarea" if (prop.get("maxLength") or 0) > TEXTAREA_ABOVE else "text"
    return None


def _choices(kind: str, prop: dict[str, Any]) -> list[tuple[Any, str]]:
    if kind == "yes_no":
        return [(True, _("Yes")), (False, _("No"))]
    source = prop.get("items") if kind == "checkboxes" else prop
    enum = list(source.get("enum") or [])
    titles = source.get("x-enumTitles")
    if not isinstance(titles, list) or len(titles) != len(enum):
        titles = [_option_value(v) for v in enum]
    return [(v, str(t)) for v, t in zip(enum, titles, strict=True)]


def _options(kind: str, prop: dict[str, Any], value: Any, field_id: str) -> tuple[Option, ...]:
    chosen = value if isinstance(value, list) else [] if value is None else [value]
    chosen_values = {_option_value(v) for v in chosen}
    return tuple(
        Option(f"{field_id}-{i}", _option_value(v), title, _option_value(v) in chosen_values)
        for i, (v, title) in enumerate(_choices(kind, prop))
    )


def _limits(kind: str, prop: dict[str, Any]) -> dict[str, Any]:
    if kind == "number":
        return {
            "min": prop.get("minimum"),
            "max": prop.get("maximum"),
            "step": "1" if _type(prop) == "integer" else "any",
        }
    if kind in ("text", "textarea"):
        return {"maxlength": prop.get("maxLength")}
    return {}


def _option_value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _text(value: Any) -> str:
    if value is None or isinstance(value, dict | list):
        return ""
    return value if isinstance(value, str) else _option_value(value)


def _html_name(prefix: str, key: str) -> str:
    return f"{prefix}.{key}" if prefix else key


# ----------------------------------------------------------------- parsing

_MISSING = object()


class _Unparsable(Exception):
    """A value that cannot be typed; its message names the rule, never the value."""


def _parse_object(
    schema: dict[str, Any],
    form: MultiDict[str, str],
    prefix: str,
    path: tuple[str, ...],
    errors: dict[str, str],
) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name, prop, required in _properties(schema):
        kind = _kind(prop, required)
        key = ".".join((*path, name))
        if kind is None:
            continue
        if kind == "group":
            nested = _parse_object(prop, form, prefix, (*path, name), errors)
            if nested:
                data[name] = nested
            continue
        try:
            value = _parse_value(kind, prop, form, _html_name(prefix, key))
        except _Unparsable as problem:
            errors[key] = str(problem)
            continue
        if value is not _MISSING:
            data[name] = value
    return data


def _parse_value(kind: str, prop: dict[str, Any], form: MultiDict[str, str], name: str) -> Any:
    if kind == "checkboxes":
        known = {_option_value(v): v for v, _title in _choices(kind, prop)}
        picked = [v for v in form.getlist(name) if v]
        typed = list(dict.fromkeys(known.get(v, v) for v in picked))
        return typed or _MISSING
    text = form.get(name, "").replace("\r\n", "\n").strip()
    if kind == "confirm":
        return True if text in _TRUE else _MISSING
    if not text:
        return _MISSING
    if kind == "yes_no":
        if text.lower() in _YES or text.lower() in _NO:
            return text.lower() in _YES
        raise _Unparsable("is not one of the allowed values")
    if kind in ("radios", "select"):
        known = {_option_value(v): v for v, _title in _choices(kind, prop)}
        return known.get(text, text)  # an unknown choice is the engine's to refuse
    if kind == "number":
        return _parse_number(text, integer=_type(prop) == "integer")
    return text


def _parse_number(text: str, integer: bool) -> int | float:
    try:
        return int(text)
    except ValueError:
        if integer:
            raise _Unparsable("must be a whole number") from None
    try:
        number = float(text)
    except ValueError:
        raise _Unparsable("must be a number") from None
    if not math.isfinite(number):
        raise _Unparsable("must be a number")
    return number
