"""The sign-in page limits failures per client address, before any password is checked."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from engine import accounts
from engine.clock import FixedClock
from engine.config import load_settings
from engine.db import Database
from engine.models import AuditEvent, SignInAttempt
from tests.web.api_tokens import api_as
from web import create_app
from workflows.demo import DEMO_PASSWORD

ATTACKER = "203.0.113.7"
COLLEAGUE = "198.51.100.2"
GENERIC = "Wrong user name or password."


def post_sign_in(client: FlaskClient, address: str, username: str, password: str) -> TestResponse:
    return client.post(
        "/sign-in",
        data={"username": username, "password": password},
        environ_base={"REMOTE_ADDR": address},
    )


def fail_from(client: FlaskClient, address: str, times: int) -> None:
    """Wrong passwords on many names (no one account gets locked), as a sprayer would."""
    for attempt in range(times):
        response = post_sign_in(client, address, f"guess.{attempt}", "not-the-password")
        assert GENERIC in response.get_data(as_text=True)


def is_signed_in(client: FlaskClient) -> bool:
    with client.session_transaction() as session:
        return "_user_id" in session


@pytest.fixture
def checked_passwords(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The user names whose password was really checked (the argon2 work)."""
    checked: list[str] = []
    authenticate = accounts.authenticate

    def counting(db: Database, username: str, *args: Any) -> Any:
        checked.append(username)
        return authenticate(db, username, *args)

    monkeypatch.setattr(accounts, "authenticate", counting)
    return checked


def test_the_21st_attempt_from_an_address_is_refused_even_with_the_right_password(
    web: Flask, checked_passwords: list[str]
) -> None:
    attacker = web.test_client()
    fail_from(attacker, ATTACKER, 20)
    assert len(checked_passwords) == 20

    response = post_sign_in(attacker, ATTACKER, "demo.police", DEMO_PASSWORD)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert GENERIC in page and "locked" not in page  # exactly a wrong password's answer
    assert not is_signed_in(attacker)
    assert len(checked_passwords) == 20  # refused before the password cost any work


def test_another_address_still_signs_in(web: Flask) -> None:
    fail_from(web.test_client(), ATTACKER, 20)
    colleague = web.test_client()
    response = post_sign_in(colleague, COLLEAGUE, "demo.police", DEMO_PASSWORD)
    assert response.status_code == 302 and is_signed_in(colleague)


def test_the_window_slides(web: Flask, clock: FixedClock) -> None:
    client = web.test_client()
    fail_from(client, ATTACKER, 20)
    clock.advance(minutes=14)
    assert not is_signed_in_after(client, ATTACKER)
    clock.advance(minutes=1, seconds=1)
    assert is_signed_in_after(client, ATTACKER)


def is_signed_in_after(client: FlaskClient, address: str) -> bool:
    post_sign_in(client, address, "demo.police", DEMO_PASSWORD)
    return is_signed_in(client)


def test_the_audit_names_the_refusal_but_never_the_address(web: Flask, db: Database) -> None:
    client = web.test_client()
    fail_from(client, ATTACKER, 20)
    post_sign_in(client, ATTACKER, "demo.police", DEMO_PASSWORD)
    with db.reader() as session:
        events = session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
        addresses = set(session.scalars(select(SignInAttempt.address)))
    assert events[-1].action == "sign_in_throttled" and events[-1].actor == "anonymous"
    hashed = json.loads(events[-1].payload)["address"]
    assert len(hashed) == 64 and addresses == {hashed}
    everything = json.dumps([(e.actor, e.action, e.payload) for e in events])
    assert ATTACKER not in everything and "203.0.113" not in everything


def test_the_limit_follows_the_settings(
    app: Flask, db: Database, clock: FixedClock, checked_passwords: list[str]
) -> None:
    """``app`` seeded the demo users; this second app on the same database allows two."""
    settings = load_settings(
        {"NRMFLOW_DATABASE_URL": db.url, "NRMFLOW_SIGN_IN_ADDRESS_MAX_FAILURES": "2"}
    )
    strict = create_app(settings, clock=clock)
    strict.config.update(TESTING=True, WTF_CSRF_ENABLED=False)
    client = strict.test_client()
    fail_from(client, ATTACKER, 2)
    assert not is_signed_in_after(client, ATTACKER)
    assert checked_passwords == ["guess.0", "guess.1"]
    assert is_signed_in_after(client, COLLEAGUE)


def test_api_tokens_are_not_sign_ins_and_are_not_held_back(web: Flask) -> None:
    fail_from(web.test_client(), ATTACKER, 20)
    api = api_as(web)("demo.police")
    answer = api.get("/work-items", environ_base={"REMOTE_ADDR": ATTACKER})
    assert answer.status_code == 200


PROXY = "10.0.0.5"


def post_via(
    client: FlaskClient, address: str, forwarded_for: str, username: str, password: str
) -> None:
    client.post(
        "/sign-in",
        data={"username": username, "password": password},
        environ_base={"REMOTE_ADDR": address},
        headers={"X-Forwarded-For": forwarded_for},
    )


def test_behind_one_trusted_proxy_each_client_has_its_own_count(
    app: Flask, db: Database, clock: FixedClock
) -> None:
    settings = load_settings({"NRMFLOW_DATABASE_URL": db.url, "NRMFLOW_TRUSTED_PROXIES": "1"})
    proxied = create_app(settings, clock=clock)
    proxied.config.update(TESTING=True, WTF_CSRF_ENABLED=False)
    attacker = proxied.test_client()
    for attempt in range(20):
        post_via(attacker, PROXY, ATTACKER, f"guess.{attempt}", "not-the-password")
    post_via(attacker, PROXY, ATTACKER, "demo.police", DEMO_PASSWORD)
    assert not is_signed_in(attacker)
    colleague = proxied.test_client()  # same proxy, another client behind it
    post_via(colleague, PROXY, COLLEAGUE, "demo.police", DEMO_PASSWORD)
    assert is_signed_in(colleague)


def test_without_a_trusted_proxy_a_forged_forwarded_for_changes_nothing(web: Flask) -> None:
    attacker = web.test_client()
    for attempt in range(20):
        post_via(attacker, ATTACKER, f"192.0.2.{attempt}", f"guess.{attempt}", "not-the-password")
    post_via(attacker, ATTACKER, "192.0.2.99", "demo.police", DEMO_PASSWORD)
    assert not is_signed_in(attacker)
