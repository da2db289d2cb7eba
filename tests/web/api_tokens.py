"""Bearer tokens for demo users, and a test client that sends one with every API call."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from engine.api_tokens import create_token
from engine.runtime import Runtime


class ApiClient:
    """Calls ``/api/v1`` as one user, with their bearer token."""

    def __init__(self, client: FlaskClient, token: str):
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, path: str, **kwargs: Any) -> TestResponse:
        return self.client.get(f"/api/v1{path}", headers=self.headers, **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> TestResponse:
        return self.client.post(f"/api/v1{path}", headers=self.headers, json=json, **kwargs)


ApiAs = Callable[[str], ApiClient]


def api_as(app: Flask) -> ApiAs:
    runtime: Runtime = app.extensions["nrmflow.runtime"]

    def client_for(username: str) -> ApiClient:
        token = create_token(runtime.db, username, "tests", "tester", runtime.clock)
        return ApiClient(app.test_client(), token)

    return client_for
