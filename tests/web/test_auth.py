"""Signing in and out through the real form, the session's rules, CSRF and the language choice."""

from __future__ import annotations

import re
from urllib.parse import urlencode

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from werkzeug.test import TestResponse

from engine.accounts import set_password
from engine.clock import FixedClock
from engine.config import load_settings
from engine.db import Database
from engine.models import User
from tests.web.conftest import SignIn
from web import create_app
from workflows.demo import DEMO_PASSWORD

INBOX = "/inbox"


def post_sign_in(
    client: FlaskClient, username: str, password: str, next_url: str | None = None
) -> TestResponse:
    url = "/sign-in" if next_url is None else f"/sign-in?{urlencode({'next': next_url})}"
    return client.post(url, data={"username": username, "password": password})


def is_signed_in(client: FlaskClient) -> bool:
    with client.session_transaction() as session:
        return "_user_id" in session


def location(response: TestResponse) -> str:
    return response.headers.get("Location", "")


# --- signing in -------------------------------------------------------------


def test_the_demo_password_signs_in_and_lands_in_the_inbox(web: Flask) -> None:
    client = web.test_client()
    response = post_sign_in(client, "demo.police", DEMO_PASSWORD)
    assert response.status_code == 302 and location(response) == INBOX
    assert is_signed_in(client)


def test_a_wrong_password_shows_one_message_and_keeps_the_user_name(web: Flask) -> None:
    client = web.test_client()
    for username in ("demo.police", "nobody.here"):
        response = post_sign_in(client, username, "not-the-password")
        page = response.get_data(as_text=True)
        assert response.status_code == 200
        assert "Wrong user name or password." in page
        assert f'value="{username}"' in page
        assert "not-the-password" not in page
    assert not is_signed_in(client)


def test_five_failures_lock_the_account_and_say_until_when(web: Flask) -> None:
    client = web.test_client()
    for _attempt in range(5):
        response = post_sign_in(client, "demo.police", "guess-guess-guess")
    page = post_sign_in(client, "demo.police", DEMO_PASSWORD).get_data(as_text=True)
    assert "Account locked until 09:15 UTC after repeated failures." in page
    assert not is_signed_in(client)
    assert response.status_code == 200


def test_the_form_is_labelled_and_errors_are_linked_to_their_fields(web: Flask) -> None:
    client = web.test_client()
    page = client.get("/sign-in").get_data(as_text=True)
    assert '<label for="username">' in page and '<label for="password">' in page
    assert 'autocomplete="username"' in page and 'autocomplete="current-password"' in page
    assert 'type="password"' in page and "<script" not in page

    page = post_sign_in(client, "", "").get_data(as_text=True)
    assert 'aria-describedby="username-error"' in page
    assert re.search(r'<p class="error" id="username-error">Enter your user name.</p>', page)
    assert 'aria-describedby="password-error"' in page

    page = post_sign_in(client, "demo.police", "wrong-password").get_data(as_text=True)
    assert 'id="sign-in-failure" role="alert"' in page
    assert 'aria-describedby="sign-in-failure"' in page


def test_next_never_leaves_the_site(web: Flask) -> None:
    for evil in (
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example/",
        "https:/x.example",
    ):
        response = post_sign_in(web.test_client(), "demo.police", DEMO_PASSWORD, evil)
        assert location(response) == INBOX, evil


def test_next_returns_to_a_page_of_the_site(web: Flask) -> None:
    response = post_sign_in(
        web.test_client(), "demo.police", DEMO_PASSWORD, next_url="/inbox?mine=1"
    )
    assert location(response) == "/inbox?mine=1"


def test_signing_in_starts_a_new_session(web: Flask) -> None:
    client = web.test_client()
    with client.session_transaction() as session:
        session["planted"] = "by someone else"
        session["csrf_token"] = "known-to-someone-else"
    post_sign_in(client, "demo.police", DEMO_PASSWORD)
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session.get("csrf_token") != "known-to-someone-else"
        assert session.permanent


def test_the_session_cookie_is_httponly_and_samesite_lax(web: Flask) -> None:
    response = post_sign_in(web.test_client(), "demo.police", DEMO_PASSWORD)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie


def test_in_production_the_session_cookie_is_secure_too(
    web: Flask, db: Database, clock: FixedClock
) -> None:
    settings = load_settings(
        {
            "NRMFLOW_DATABASE_URL": db.url,
            "NRMFLOW_ENV": "production",
            "NRMFLOW_SECRET_KEY": "a-long-random-value-that-is-not-the-demo-key-0123456789",
        }
    )
    production = create_app(settings, clock=clock)
    production.config.update(TESTING=True, WTF_CSRF_ENABLED=False)
    response = post_sign_in(production.test_client(), "demo.police", DEMO_PASSWORD)
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie


# --- who gets in without signing in ----------------------------------------


def test_pages_need_a_signed_in_user(client: FlaskClient) -> None:
    response = client.get("/inbox")
    assert response.status_code == 302 and location(response) == "/sign-in?next=/inbox"
    assert client.get("/work-items/1").status_code == 302
    assert client.get("/no-such-page").status_code == 302  # not even a 404 for strangers
    assert client.get("/sign-in").status_code == 200
    assert client.get("/healthz").status_code == 200
    assert client.get("/static/css/app.css").status_code == 200


# --- signing out and timing out --------------------------------------------


def test_signing_out_is_post_only_and_ends_the_session(web: Flask) -> None:
    client = web.test_client()
    post_sign_in(client, "demo.police", DEMO_PASSWORD)
    assert client.get("/sign-out").status_code == 405
    assert is_signed_in(client)

    response = client.post("/sign-out")
    assert response.status_code == 302 and location(response) == "/sign-in"
    assert not is_signed_in(client)
    assert "You are signed out." in client.get("/sign-in").get_data(as_text=True)
    assert location(client.get("/inbox")).startswith("/sign-in")


def _copy_of_the_session(app: Flask, client: FlaskClient) -> FlaskClient:
    """Another browser holding the same session cookie, as a thief who copied it would."""
    stolen = app.test_client()
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert cookie is not None
    stolen.set_cookie(cookie.key, cookie.value)
    return stolen


def test_signing_out_ends_a_copied_session_too(web: Flask) -> None:
    client = web.test_client()
    post_sign_in(client, "demo.police", DEMO_PASSWORD)
    stolen = _copy_of_the_session(web, client)
    assert stolen.get(INBOX).status_code == 200

    client.post("/sign-out")
    refused = stolen.get(INBOX)
    assert location(refused).startswith("/sign-in")
    assert "Your session has ended" in stolen.get("/sign-in").get_data(as_text=True)
    post_sign_in(client, "demo.police", DEMO_PASSWORD)  # signing in again works
    assert client.get(INBOX).status_code == 200


def test_a_new_password_ends_every_session_of_the_account(
    web: Flask, db: Database, clock: FixedClock
) -> None:
    client = web.test_client()
    post_sign_in(client, "demo.police", DEMO_PASSWORD)
    colleague = web.test_client()
    post_sign_in(colleague, "demo.caseworker", DEMO_PASSWORD)

    set_password(db, "demo.police", "a much longer new passphrase", "tester", clock)
    assert location(client.get(INBOX)).startswith("/sign-in")
    assert colleague.get(INBOX).status_code == 200  # other accounts keep theirs


def test_31_minutes_without_activity_sign_you_out(web: Flask, clock: FixedClock) -> None:
    client = web.test_client()
    post_sign_in(client, "demo.authority", DEMO_PASSWORD)
    clock.advance(minutes=31)
    response = client.get("/inbox")
    assert response.status_code == 302 and location(response) == "/sign-in?next=/inbox"
    assert not is_signed_in(client)
    page = client.get(location(response)).get_data(as_text=True)
    assert "You were signed out after 30 minutes without activity." in page


def test_29_minutes_without_activity_do_not(web: Flask, clock: FixedClock) -> None:
    client = web.test_client()
    post_sign_in(client, "demo.authority", DEMO_PASSWORD)
    for _request in range(3):  # each request restarts the count: 87 minutes in all
        clock.advance(minutes=29)
        assert client.get("/inbox").status_code == 200
    assert is_signed_in(client)


# --- CSRF -------------------------------------------------------------------


def assert_refused_politely(response: TestResponse) -> None:
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "The request could not be understood" in page and "Traceback" not in page


def test_csrf_a_sign_in_without_the_token_is_refused(client: FlaskClient) -> None:
    assert_refused_politely(
        client.post("/sign-in", data={"username": "demo.police", "password": DEMO_PASSWORD})
    )
    assert not is_signed_in(client)


def test_csrf_the_sign_in_form_carries_its_token(client: FlaskClient) -> None:
    page = client.get("/sign-in").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert token is not None
    response = client.post(
        "/sign-in",
        data={"username": "demo.police", "password": DEMO_PASSWORD, "csrf_token": token[1]},
    )
    assert response.status_code == 302 and is_signed_in(client)


def test_csrf_sign_out_and_language_without_the_token_are_refused(
    client: FlaskClient, sign_in: SignIn, db: Database
) -> None:
    sign_in(client, "demo.authority")
    assert_refused_politely(client.post("/sign-out"))
    assert_refused_politely(client.post("/language", data={"language": "fr"}))
    assert is_signed_in(client)
    with db.reader() as session:
        user = session.scalars(select(User).where(User.username == "demo.authority")).one()
        assert user.language is None


# --- language ---------------------------------------------------------------


def test_the_language_choice_is_saved_and_used_on_the_next_page(
    web: Flask, sign_in: SignIn, db: Database
) -> None:
    client = sign_in(web.test_client(), "demo.authority")
    assert '<html lang="en">' in client.get("/inbox").get_data(as_text=True)
    response = client.post(
        "/language", data={"language": "fr"}, headers={"Referer": "http://localhost/inbox?mine=1"}
    )
    assert response.status_code == 302 and location(response) == "/inbox?mine=1"
    with db.reader() as session:
        user = session.scalars(select(User).where(User.username == "demo.authority")).one()
        assert user.language == "fr"
    assert '<html lang="fr">' in client.get("/inbox").get_data(as_text=True)


def test_the_language_switch_goes_back_only_within_the_site(web: Flask, sign_in: SignIn) -> None:
    client = sign_in(web.test_client(), "demo.authority")
    response = client.post(
        "/language", data={"language": "en"}, headers={"Referer": "https://evil.example/inbox"}
    )
    assert location(response) == INBOX
    assert client.post("/language", data={"language": "xx"}).status_code == 400
