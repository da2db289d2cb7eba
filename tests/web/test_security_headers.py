"""Every answer carries the security headers: pages, API answers, error pages, static files.

The policy's effect in a real browser (no violation on the diagram pages) is
tests/browser/test_csp.py; here, that each kind of answer has the headers,
that HSTS comes only over HTTPS, that nothing but a static file may be
cached, and that no template brings back what the policy refuses. At the
end, two request rules of the same hardening that had no test of their own:
every route of the pages that changes something is a POST refused without
its CSRF token, and a bundle upload is capped (5 MB unless configured).
"""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from flask import Flask, url_for
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from engine.clock import FixedClock
from engine.config import load_settings
from engine.db import Database
from tests.web.api_tokens import api_as
from tests.web.conftest import SignIn
from web import create_app
from web.security_headers import CONTENT_SECURITY_POLICY

TEMPLATES = Path(__file__).resolve().parents[2] / "web" / "templates"

# the policy as issue 9 asks for it, written out: a change to it must be a change here too
EXPECTED_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
EXPECTED = {
    "Content-Security-Policy": EXPECTED_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
HSTS = "Strict-Transport-Security"


def assert_secured(response: TestResponse, cacheable: bool = False) -> None:
    for name, value in EXPECTED.items():
        assert response.headers.get(name) == value, (name, response.status_code)
    assert HSTS not in response.headers  # a plain-HTTP request
    if not cacheable:
        assert response.headers.get("Cache-Control") == "no-store"


def test_the_policy_is_the_strict_one() -> None:
    assert CONTENT_SECURITY_POLICY == EXPECTED_POLICY
    assert "unsafe-inline" not in CONTENT_SECURITY_POLICY
    assert "unsafe-eval" not in CONTENT_SECURITY_POLICY


def test_pages_carry_every_header_and_are_not_stored(client: FlaskClient, sign_in: SignIn) -> None:
    assert_secured(client.get("/sign-in"))
    assert_secured(client.get("/inbox"))  # the redirect to the sign-in page
    signed_in = sign_in(client, "demo.coordinator")
    for path in (
        "/inbox",
        "/monitoring",
        "/audit",
        "/audit/integrity",
        "/models",
        "/models/nrm_case/1",
    ):
        response = signed_in.get(path)
        assert response.status_code == 200, path
        assert_secured(response)


def test_api_answers_carry_every_header_and_are_not_stored(app: Flask) -> None:
    api = api_as(app)("demo.police")
    assert_secured(api.get("/work-items"))
    assert_secured(app.test_client().get("/api/v1/work-items"))  # a 401 problem
    assert_secured(app.test_client().get("/healthz"))


def test_error_pages_carry_every_header(app: Flask, client: FlaskClient, sign_in: SignIn) -> None:
    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("an unexpected failure")

    app.config["PROPAGATE_EXCEPTIONS"] = False
    signed_in = sign_in(client, "demo.police")
    not_found = signed_in.get("/no/such/page")
    assert not_found.status_code == 404
    assert_secured(not_found)
    failed = signed_in.get("/boom")
    assert failed.status_code == 500
    assert_secured(failed)
    without_csrf = signed_in.post("/sign-out")
    assert without_csrf.status_code == 400
    assert_secured(without_csrf)


def test_static_files_carry_the_policy_and_may_be_cached(client: FlaskClient) -> None:
    response = client.get("/static/css/app.css")
    assert response.status_code == 200
    assert_secured(response, cacheable=True)
    assert response.headers.get("Cache-Control") != "no-store"


def test_hsts_only_over_https(client: FlaskClient, app: Flask) -> None:
    over_https = client.get("/sign-in", base_url="https://localhost")
    assert over_https.headers.get(HSTS) == "max-age=31536000"
    api = app.test_client().get("/api/v1/work-items", base_url="https://localhost")
    assert api.headers.get(HSTS) == "max-age=31536000"
    assert HSTS not in client.get("/sign-in").headers


# What the policy refuses, in a template's source: an inline script, a style element or
# attribute, an event-handler attribute, a javascript: URL.
REFUSED_IN_TEMPLATES = {
    "inline script": re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE),
    "style element": re.compile(r"<style\b", re.IGNORECASE),
    "style attribute": re.compile(r"\sstyle\s*=", re.IGNORECASE),
    "event handler": re.compile(r"\son[a-z]+\s*=", re.IGNORECASE),
    "javascript: URL": re.compile(r"javascript:", re.IGNORECASE),
}


@pytest.mark.parametrize("template", sorted(TEMPLATES.rglob("*.html")), ids=lambda p: p.name)
def test_no_template_has_what_the_policy_refuses(template: Path) -> None:
    source = template.read_text("utf-8")
    found = [what for what, pattern in REFUSED_IN_TEMPLATES.items() if pattern.search(source)]
    assert found == [], f"{template.relative_to(TEMPLATES)}: {', '.join(found)}"


# --- request rules without a test of their own until now ---------------------------

READ_ONLY = {"GET", "HEAD", "OPTIONS"}


def test_every_page_route_that_changes_something_is_a_post_checked_for_csrf(
    app: Flask, client: FlaskClient, sign_in: SignIn
) -> None:
    """The API is exempt (a bearer token per request, no cookie); every other route is not.

    Each POST is sent twice: without a token it must be a 400, and with the
    check switched off it must not be, so the 400 was the token's doing.
    """
    signed_in = sign_in(client, "demo.coordinator")
    posts = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("api.") or rule.endpoint == "static":
            continue
        changing = (rule.methods or set()) - READ_ONLY
        assert changing <= {"POST"}, rule.rule
        if changing:
            with app.test_request_context():
                posts.append(url_for(rule.endpoint, **dict.fromkeys(rule.arguments, 1)))
    assert {"/sign-in", "/work-items/1/complete", "/cases/1/suspend", "/inbox/1/claim"} <= set(
        posts
    )
    for url in posts:
        assert signed_in.post(url, data={"language": "fr"}).status_code == 400, url
    app.config["WTF_CSRF_ENABLED"] = False
    for url in sorted(posts, key=lambda url: url == "/sign-out"):  # stay signed in until last
        assert signed_in.post(url, data={"language": "fr"}).status_code != 400, url


def test_a_bundle_is_capped_at_5_mb_unless_configured(
    app: Flask, db: Database, clock: FixedClock
) -> None:
    """``app`` deployed and seeded the database; this second app on it allows 2,000 bytes."""
    assert load_settings({}).max_bundle_bytes == 5 * 1024 * 1024
    settings = load_settings({"NRMFLOW_DATABASE_URL": db.url, "NRMFLOW_MAX_BUNDLE_BYTES": "2000"})
    capped = create_app(settings, clock=clock)
    capped.config.update(TESTING=True)
    coordinator = api_as(capped)("demo.coordinator")
    files = [(io.BytesIO(b"x" * 1500), name) for name in ("a.bpmn", "b.bpmn")]
    response = coordinator.client.post(
        "/api/v1/process-models",
        data={"files": files},
        headers=coordinator.headers,
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "bundle exceeds 2000 bytes" in response.get_data(as_text=True)
