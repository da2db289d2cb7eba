"""Errors are pages in the app's layout: a title for a person, never a stack trace."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from tests.web.conftest import SignIn


def test_an_unexpected_failure_is_a_500_page_without_details(app: Flask, sign_in: SignIn) -> None:
    @app.get("/boom")
    def boom() -> str:
        raise RuntimeError("case 2026-ABCD-EFGH of Alex Example at the safe house")

    app.config["PROPAGATE_EXCEPTIONS"] = False
    response = sign_in(app.test_client(), "demo.police").get("/boom")
    html = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "Something went wrong on our side" in html and "Back to your inbox" in html
    assert "Alex Example" not in html and "Traceback" not in html and "RuntimeError" not in html


def test_an_unknown_page_is_a_404_in_the_layout(client: FlaskClient, sign_in: SignIn) -> None:
    response = sign_in(client, "demo.police").get("/no/such/page")
    assert response.status_code == 404
    assert "Not found" in response.get_data(as_text=True)
    assert 'href="/inbox"' in response.get_data(as_text=True)
