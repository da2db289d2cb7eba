"""``POST /api/v1/partner-messages`` on the real app: the signature is the only way in.

Each refusal is a problem document with its own type, so the sending
deployment's outbox can say why ("signature-expired": the two clocks
disagree); the answer to an accepted message names only its id.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from engine.bundle import read_bundle
from engine.clock import FixedClock
from engine.config import load_settings
from engine.db import Database
from engine.deploy import deploy_bundle
from engine.partner_inbox import MAX_MESSAGE_BYTES, PartnerEnvelope
from engine.partners import Partner, load_partner_directory
from engine.signing import KEY_HEADER, TIMESTAMP_HEADER, sign
from tests.workflows.nrm_driver import NRM_BUNDLE
from web import create_app
from workflows.demo import seed_demo_users
from workflows.hooks import build_hooks

ROUTE = "/api/v1/partner-messages"
PROBLEM = "urn:nrmflow:problem:"
REFERRAL = {"assistance_needs": ["accommodation"], "risk_level": "low"}


@pytest.fixture
def partners_file(tmp_path: Path) -> Path:
    path = tmp_path / "partners.json"
    partners = {
        "destination": {"url": "http://127.0.0.1:9", "key_id": "dest-key", "secret": "d" * 40},
        "consulate": {
            "url": "http://127.0.0.1:9",
            "key_id": "consulate-key",
            "secret": "c" * 40,
            "roles": ["consulate"],
        },
    }
    path.write_text(json.dumps({"partners": partners}))
    return path


@pytest.fixture
def app(db: Database, clock: FixedClock, partners_file: Path) -> Iterator[Flask]:
    """The origin deployment's app; its clock stands years from the wall clock on purpose."""
    settings = load_settings(
        {"NRMFLOW_DATABASE_URL": db.url, "NRMFLOW_PARTNERS_FILE": str(partners_file)}
    )
    deploy_bundle(db, read_bundle(NRM_BUNDLE, 5_000_000), "tester", build_hooks(settings), clock)
    seed_demo_users(db, clock)
    flask_app = create_app(settings, clock=FixedClock(clock.now().replace(year=2031)))
    yield flask_app
    flask_app.extensions["nrmflow.db"].dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def _partner(partners_file: Path, name: str) -> Partner:
    partner = load_partner_directory(str(partners_file)).named(name)
    assert partner is not None
    return partner


def _post(
    client: FlaskClient,
    partner: Partner | None,
    name: str,
    correlation: str,
    payload: Any,
    at: float | None = None,
    message_id: str | None = None,
) -> TestResponse:
    envelope = PartnerEnvelope(message_id or str(uuid.uuid4()), name, correlation, payload)
    body = envelope.to_json()
    headers = sign(partner, body, time.time() if at is None else at) if partner else {}
    return client.post(ROUTE, data=body, headers=headers, content_type="application/json")


def _problem(response: TestResponse, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    return response.get_json()  # type: ignore[no-any-return]


def test_a_referral_starts_a_case_once_and_the_answer_names_only_the_message(
    client: FlaskClient, partners_file: Path
) -> None:
    destination = _partner(partners_file, "destination")
    message_id = str(uuid.uuid4())
    first = _post(
        client, destination, "reintegration_referral", "2026-AAAA-BBBB", REFERRAL, None, message_id
    )
    assert first.status_code == 200 and first.get_json() == {"status": "started", "id": message_id}
    again = _post(
        client, destination, "reintegration_referral", "2026-AAAA-BBBB", REFERRAL, None, message_id
    )
    assert again.get_json() == {"status": "duplicate", "id": message_id}
    assert "Set-Cookie" not in first.headers  # no session: the signature is the authentication


def test_each_signature_failure_has_its_own_problem_type(
    client: FlaskClient, partners_file: Path
) -> None:
    destination = _partner(partners_file, "destination")
    unsigned = _post(client, None, "reintegration_referral", "R", REFERRAL)
    assert _problem(unsigned, 401)["type"] == PROBLEM + "signature-missing"

    stranger = Partner("stranger", destination.url, "stranger-key", destination.secret)
    unknown = _post(client, stranger, "reintegration_referral", "R", REFERRAL)
    assert _problem(unknown, 401)["type"] == PROBLEM + "unknown-partner-key"

    impostor = Partner("destination", destination.url, destination.key_id, b"i" * 40)
    forged = _post(client, impostor, "reintegration_referral", "R", REFERRAL)
    assert _problem(forged, 401)["type"] == PROBLEM + "signature-invalid"

    stale = _post(client, destination, "reintegration_referral", "R", REFERRAL, time.time() - 301)
    assert _problem(stale, 401)["type"] == PROBLEM + "signature-expired"

    body = PartnerEnvelope(str(uuid.uuid4()), "reintegration_referral", "R", REFERRAL).to_json()
    headers = sign(destination, body, time.time())
    tampered = client.post(ROUTE, data=body.replace(b"low", b"high"), headers=headers)
    assert _problem(tampered, 401)["type"] == PROBLEM + "signature-invalid"
    assert "risk_level" not in tampered.get_data(as_text=True)  # nothing of the body echoed


def test_a_partner_delivers_only_what_its_roles_allow(
    client: FlaskClient, partners_file: Path
) -> None:
    consulate = _partner(partners_file, "consulate")
    refused = _post(client, consulate, "reintegration_referral", "R", REFERRAL)
    assert _problem(refused, 403)["type"] == PROBLEM + "not-authorized"


def test_a_reply_to_no_case_of_ours_is_not_expected(
    client: FlaskClient, partners_file: Path
) -> None:
    destination = _partner(partners_file, "destination")
    refused = _post(client, destination, "reception_confirmed", "2026-AAAA-BBBB", {})
    assert _problem(refused, 409)["type"] == PROBLEM + "message-not-expected"


def test_a_malformed_or_oversized_message_is_refused_after_its_signature(
    client: FlaskClient, partners_file: Path
) -> None:
    destination = _partner(partners_file, "destination")
    malformed = _post(client, destination, "reintegration_referral", "R", ["not", "an", "object"])
    problem = _problem(malformed, 422)
    assert problem["type"] == PROBLEM + "invalid-data"
    assert problem["errors"] == [{"path": "payload", "message": "has the wrong type"}]

    body = b"x" * (MAX_MESSAGE_BYTES + 1)
    oversized = client.post(ROUTE, data=body, headers=sign(destination, body, time.time()))
    assert _problem(oversized, 413)["type"] == PROBLEM + "too-large"


def test_the_route_is_documented_as_signed_not_token_authenticated(client: FlaskClient) -> None:
    document = client.get("/api/v1/openapi.json").get_json()
    operation = document["paths"][ROUTE]["post"]
    assert operation["security"] == [{"partnerSignature": []}]
    assert set(operation["responses"]) >= {"200", "401", "403", "409", "413", "422"}
    assert {KEY_HEADER, TIMESTAMP_HEADER} <= set(
        document["components"]["securitySchemes"]["partnerSignature"]["description"]
        .replace(",", " ")
        .split()
    )
