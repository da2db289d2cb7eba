"""The API's routes are declared once, here, and the OpenAPI document is built from them.

``@operation`` registers a view on the ``/api/v1`` blueprint and records what
it takes and answers: the same declaration authenticates the caller,
validates the query and the JSON body (a 422 problem lists every error) and
documents the route, so the document cannot drift from what the code does.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import wraps
from typing import Any, Literal

from flask import Blueprint, request

from engine.config import Settings
from engine.errors import FormInvalid
from engine.forms import validate_form_data
from web import services
from web.api.auth import authenticate
from web.api.problems import ApiProblem, not_found

blueprint = Blueprint("api", __name__, url_prefix="/api/v1")

Auth = Literal["token", "partner", "none"]
MAX_JSON_DEPTH = 32
MAX_ID = 2**31 - 1  # ids are 4-byte integers on PostgreSQL


@dataclass(frozen=True)
class Reply:
    description: str
    schema: Mapping[str, Any] | None = None
    media_type: str = "application/json"


@dataclass(frozen=True)
class Param:
    """A query parameter: its JSON Schema types the raw string (integer, boolean, string)."""

    name: str
    schema: Mapping[str, Any]
    description: str
    required: bool = False


PAGE = Param("page", {"type": "integer", "minimum": 1, "maximum": 100000, "default": 1}, "page")


@dataclass(frozen=True)
class Operation:
    method: str
    rule: str
    endpoint: str
    summary: str
    tag: str
    auth: Auth
    body: Mapping[str, Any] | None
    multipart: Mapping[str, Any] | None
    params: Sequence[Param]
    responses: Mapping[int, Reply]
    problems: Sequence[int]
    available: Callable[[Settings], bool] | None = field(default=None)
    prefix: str = ""

    @property
    def path(self) -> str:
        """The OpenAPI path: ``/api/v1/cases/{case_id}`` for ``/cases/<int:case_id>``."""
        return self.prefix + re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", self.rule)

    @property
    def path_parameters(self) -> list[str]:
        return re.findall(r"<(?:[a-z]+:)?([a-z_]+)>", self.rule)


OPERATIONS: list[Operation] = []


def operation(
    method: str,
    rule: str,
    *,
    summary: str,
    tag: str,
    responses: Mapping[int, Reply],
    auth: Auth = "token",
    body: Mapping[str, Any] | None = None,
    multipart: Mapping[str, Any] | None = None,
    params: Sequence[Param] = (),
    problems: Sequence[int] = (),
    available: Callable[[Settings], bool] | None = None,
    on: Blueprint = blueprint,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register ``view`` for ``method rule``; it receives ``query=`` / ``body=`` when declared.

    ``available`` hides a route (404, and absent from the document) where the
    settings do not provide it, e.g. the training clock in production. ``on``
    is the blueprint that serves it (the API's unless said otherwise).
    """

    def register(view: Callable[..., Any]) -> Callable[..., Any]:
        declared = Operation(
            method.upper(),
            rule,
            view.__name__,
            summary,
            tag,
            auth,
            body,
            multipart,
            tuple(params),
            dict(responses),
            tuple(problems),
            available,
            on.url_prefix or "",
        )

        @wraps(view)
        def handler(**path: Any) -> Any:
            if available is not None and not available(services.settings()):
                raise not_found("no such API route")
            if any(isinstance(v, int) and v > MAX_ID for v in path.values()):
                raise not_found()  # beyond any stored id; the database would refuse the query
            if auth == "token":
                authenticate()
            arguments: dict[str, Any] = dict(path)
            if params:
                arguments["query"] = _parse_query(params)
            if body is not None:
                arguments["body"] = _parse_body(body)
            return view(**arguments)

        on.add_url_rule(rule, declared.endpoint, handler, methods=[declared.method])
        OPERATIONS.append(declared)
        return handler

    return register


def _parse_query(params: Sequence[Param]) -> dict[str, Any]:
    errors = []
    values: dict[str, Any] = {}
    for param in params:
        raw = request.args.get(param.name)
        if raw is None:
            if param.required:
                errors.append({"path": param.name, "message": "is required"})
            values[param.name] = param.schema.get("default")
            continue
        try:
            values[param.name] = _typed(raw, param.schema)
        except ValueError as error:
            errors.append({"path": param.name, "message": str(error)})
    if errors:
        raise ApiProblem(422, "invalid-query", "Invalid query parameters", errors=errors)
    return values


def _typed(raw: str, schema: Mapping[str, Any]) -> Any:
    kind = schema.get("type")
    if kind == "boolean":
        if raw not in ("true", "false"):
            raise ValueError("must be true or false")
        return raw == "true"
    if kind == "integer":
        try:
            value = int(raw)
        except ValueError:
            raise ValueError("must be a whole number") from None
        if value < schema.get("minimum", value) or value > schema.get("maximum", value):
            raise ValueError(f"must be between {schema['minimum']} and {schema['maximum']}")
        return value
    if "enum" in schema and raw not in schema["enum"]:
        raise ValueError(f"must be one of {', '.join(schema['enum'])}")
    if len(raw) > schema.get("maxLength", 200):
        raise ValueError("is too long")
    return raw


def _parse_body(schema: Mapping[str, Any]) -> Any:
    """The JSON body checked against ``schema``; errors name the path and rule, never the value."""
    if not request.is_json:
        raise ApiProblem(
            415, "unsupported-media-type", "Send JSON", "the body must be application/json"
        )
    try:
        data = request.get_json(silent=True)
    except RecursionError:  # json's decoder recurses: thousands of brackets exhaust the stack
        raise ApiProblem(422, "invalid-request", "The JSON is nested too deeply") from None
    if data is None:
        raise ApiProblem(400, "bad-request", "Malformed JSON", "the body is not valid JSON")
    if _depth(data) > MAX_JSON_DEPTH:
        raise ApiProblem(422, "invalid-request", "The JSON is nested too deeply")
    try:
        validate_form_data(dict(schema), data)
    except FormInvalid as invalid:
        errors = [{"path": e.path, "message": e.message} for e in invalid.errors]
        raise ApiProblem(
            422, "invalid-request", "The request body is invalid", errors=errors
        ) from None
    return data


def _depth(value: Any) -> int:
    """Nesting depth without recursion, so a hostile body cannot exhaust the stack."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        current, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > MAX_JSON_DEPTH:
            return deepest
        if isinstance(current, dict):
            stack.extend((v, depth + 1) for v in current.values())
        elif isinstance(current, list):
            stack.extend((v, depth + 1) for v in current)
    return deepest
