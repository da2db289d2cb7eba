"""API tokens: shown once, stored as a hash, refused when unknown or revoked, from the CLI too."""

from __future__ import annotations

import json

from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from cli.main import main
from engine.api_tokens import digest
from engine.db import Database
from engine.models import ApiToken, AuditEvent

PROBLEM = "application/problem+json"


def _cli(db: Database, *args: str, expect: int = 0) -> str:
    result = CliRunner().invoke(main, list(args), env={"NRMFLOW_DATABASE_URL": db.url})
    assert result.exit_code == expect, (result.output, result.exception)
    return result.output


def _get(client: FlaskClient, token: str | None, scheme: str = "Bearer"):  # type: ignore[no-untyped-def]
    headers = {"Authorization": f"{scheme} {token}"} if token is not None else {}
    return client.get("/api/v1/work-items", headers=headers)


def test_a_created_token_works_and_only_its_hash_is_stored(
    app: Flask, client: FlaskClient, db: Database
) -> None:
    created = json.loads(_cli(db, "tokens", "create", "--user", "demo.police", "--json"))
    token = created["token"]
    assert token.startswith("nrm_") and len(token) > 40
    assert _get(client, token).status_code == 200
    with db.reader() as session:
        row = session.scalars(select(ApiToken)).one()
        assert row.token_hash == digest(token) and token not in row.token_hash
        assert row.last_used_at is not None
        actions = set(session.scalars(select(AuditEvent.action)))
    assert "api_token_created" in actions


def test_requests_without_a_valid_token_are_401_problems(
    app: Flask, client: FlaskClient, db: Database
) -> None:
    token = _cli(db, "tokens", "create", "--user", "demo.police").strip()
    for response in (
        _get(client, None),
        _get(client, token, scheme="Basic"),
        _get(client, "nrm_" + "x" * 43),
        _get(client, "not-a-token"),
        _get(client, ""),
    ):
        assert response.status_code == 401
        assert response.mimetype == PROBLEM
        assert response.json["type"] == "urn:nrmflow:problem:unauthorized"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        assert "Set-Cookie" not in response.headers  # the API never starts a session


def test_a_revoked_token_is_refused_at_once(app: Flask, client: FlaskClient, db: Database) -> None:
    first = _cli(db, "tokens", "create", "--user", "demo.police").strip()
    second = _cli(db, "tokens", "create", "--user", "demo.police", "--label", "case system")
    listed = json.loads(_cli(db, "tokens", "list", "--json"))
    assert [t["label"] for t in listed] == ["api", "case system"]
    assert all("token" not in t for t in listed)
    _cli(db, "tokens", "revoke", str(listed[0]["id"]))
    assert _get(client, first).status_code == 401
    assert _get(client, second.strip()).status_code == 200
    assert "no live token" in _cli(db, "tokens", "revoke", str(listed[0]["id"]), expect=1)
    _cli(db, "tokens", "revoke", "--user", "demo.police")
    assert _get(client, second.strip()).status_code == 401
    _cli(db, "tokens", "revoke", expect=2)  # neither an id nor a user


def test_a_token_for_an_unknown_user_cannot_be_made(db: Database, app: Flask) -> None:
    assert "no user named" in _cli(db, "tokens", "create", "--user", "nobody", expect=1)


def test_unknown_api_paths_and_methods_are_problems_not_pages(client: FlaskClient) -> None:
    missing = client.get("/api/v1/no-such-thing")
    assert (missing.status_code, missing.mimetype) == (404, PROBLEM)
    wrong_method = client.delete("/api/v1/cases")
    assert (wrong_method.status_code, wrong_method.mimetype) == (405, PROBLEM)
    assert set(wrong_method.headers["Allow"].split(", ")) >= {"GET", "POST"}
    health = client.post("/healthz")  # a stranger, a wrong method: no sign-in page either
    assert (health.status_code, health.mimetype) == (405, PROBLEM)
    assert "GET" in health.headers["Allow"]
