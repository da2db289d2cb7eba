"""Server-side validation of submitted form data against the task's JSON Schema.

Data is checked before the workflow sees it, and every field error is
reported at once so a person can fix the whole form in one go. Messages name
the field and the rule, never echo the submitted value.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from jsonschema.validators import validator_for

from engine.errors import FieldError, FormInvalid

_RULE_MESSAGES = {
    "required": "is required",
    "type": "has the wrong type",
    "enum": "is not one of the allowed values",
    "maxLength": "is too long",
    "minLength": "is too short",
    "minimum": "is below the minimum",
    "maximum": "is above the maximum",
    "pattern": "does not have the expected format",
    "additionalProperties": "is not a field of this form",
    "format": "does not have the expected format",
    "not": "must be left empty with these answers",
    "const": "does not have the required value",
}


# I-JSON (RFC 7493): what every store of the data (workflow state, audit, PostgreSQL's
# JSON) keeps exactly. Python's JSON parser accepts more: NaN, 2**64, lone surrogates.
SAFE_INTEGER = 2**53 - 1
MAX_DEPTH = 64  # far beyond any form; deeper input would exhaust the validator's recursion


def validate_form_data(schema: dict[str, Any] | None, data: Any) -> None:
    if not isinstance(data, dict):
        raise FormInvalid([FieldError("", "form data must be an object")])
    unstorable = list(_unstorable(data, [], 0))
    if unstorable:
        raise FormInvalid(unstorable)
    if schema is None:
        return
    validator = validator_for(schema)(schema, format_checker=validator_for(schema).FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        raise FormInvalid([field for e in errors for field in _field_errors(e)])


def _field_errors(error: Any) -> list[FieldError]:
    """One error per field; an unexpected field is named (its name, never its value)."""
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = set(error.schema.get("properties", {}))
        base = [str(p) for p in error.absolute_path]
        return [
            FieldError("/".join([*base, str(name)]), _RULE_MESSAGES["additionalProperties"])
            for name in sorted(set(error.instance) - known, key=str)
        ]
    return [_field_error(error)]


def _field_error(error: Any) -> FieldError:
    path = [str(p) for p in error.absolute_path]
    if error.validator == "required":
        missing = error.message.split("'")[1] if "'" in error.message else ""
        path.append(missing)
    message = _RULE_MESSAGES.get(error.validator, "is not valid")
    return FieldError("/".join(p for p in path if p), message)


def _unstorable(value: Any, path: list[str], depth: int) -> Iterator[FieldError]:
    """What cannot be stored exactly, by field; a bad field name is reported on its parent."""
    where = "/".join(path)
    if depth > MAX_DEPTH:
        yield FieldError(where, "is nested too deeply")
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int):
        if abs(value) > SAFE_INTEGER:
            yield FieldError(where, "is a number too large to store exactly")
    elif isinstance(value, float):
        if not math.isfinite(value):
            yield FieldError(where, "is not a finite number")
    elif isinstance(value, str):
        if not _is_unicode(value):
            yield FieldError(where, "contains characters that are not valid Unicode text")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _unstorable(item, [*path, str(index)], depth + 1)
    elif isinstance(value, dict):
        for name, item in value.items():
            if not isinstance(name, str) or not _is_unicode(name):
                yield FieldError(where, "has a field name that is not valid text")
            else:
                yield from _unstorable(item, [*path, name], depth + 1)
    else:
        yield FieldError(where, "is not a JSON value")


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate, as JSON's "\\ud800" decodes
        return False
    return True
