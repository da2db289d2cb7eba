"""The OpenAPI document is generated from the routes: it covers each one, and only those."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from jsonschema import Draft202012Validator

from web.api.spec import OPERATIONS

METHODS = {"get", "post", "put", "patch", "delete"}


def _document(client: FlaskClient) -> dict[str, Any]:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.json  # type: ignore[no-any-return]


def _served(app: Flask) -> set[tuple[str, str]]:
    """(method, OpenAPI path) of every API and health route the app serves."""
    served = set()
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith(("api.", "health.")):
            continue
        path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
        served |= {(m.lower(), path) for m in rule.methods or () if m.lower() in METHODS}
    return served


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def test_the_document_is_openapi_3_1_and_needs_no_token(client: FlaskClient) -> None:
    document = _document(client)
    assert document["openapi"] == "3.1.0"
    assert document["info"]["title"] == "nrmflow API"


def test_every_served_route_is_documented_and_nothing_else(app: Flask, client: FlaskClient) -> None:
    documented = {
        (method, path)
        for path, operations in _document(client)["paths"].items()
        for method in operations
    }
    served = _served(app)
    assert {"/api/v1/cases", "/api/v1/work-items/{work_item_id}/complete", "/readyz"} <= {
        path for _method, path in served
    }
    assert documented == {
        (method, path) for method, path in served if _available(app, method, path)
    }


def _available(app: Flask, method: str, path: str) -> bool:
    """A route answers 404 (and is left out of the document) where the settings disable it."""
    settings = app.extensions["nrmflow.settings"]
    for declared in OPERATIONS:
        if (declared.method.lower(), declared.path) == (method, path):
            return declared.available is None or declared.available(settings)
    raise AssertionError(f"{method} {path} is served but not declared with @operation")


def test_every_reference_resolves_and_every_schema_is_valid(client: FlaskClient) -> None:
    document = _document(client)
    components = document["components"]["schemas"]
    for ref in _refs(document):
        assert ref.startswith("#/components/schemas/") and ref.rsplit("/", 1)[1] in components
    for schema in components.values():
        Draft202012Validator.check_schema(schema)


def test_token_routes_document_401_and_body_routes_422(client: FlaskClient) -> None:
    paths = _document(client)["paths"]
    complete = paths["/api/v1/work-items/{work_item_id}/complete"]["post"]
    assert {"200", "401", "404", "409", "422"} <= set(complete["responses"])
    assert complete["security"] == [{"bearerAuth": []}]
    assert paths["/healthz"]["get"]["security"] == []
    problem = complete["responses"]["409"]["content"]["application/problem+json"]["schema"]
    assert problem == {"$ref": "#/components/schemas/Problem"}
