"""``nrmflow partners`` and the worker's outbox pass, as an operator runs them."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from cli.main import main
from engine.clock import FixedClock
from engine.db import Database
from engine.hooks import Hooks
from engine.partners import load_partner_directory
from engine.runtime import Runtime
from tests.engine.helpers import sample_runtime

SECRET = "origin-secret-that-is-long-enough-to-use"


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def partners_file(tmp_path: Path, closed_port: int) -> Path:
    path = tmp_path / "partners.json"
    origin = {
        "url": f"http://127.0.0.1:{closed_port}",
        "key_id": "dest-to-origin-2026",
        "secret": SECRET,
        "messages": ["partner_request"],
    }
    path.write_text(json.dumps({"partners": {"origin": origin}}))
    return path


def _nrmflow(db: Database, partners_file: Path, *args: str, expect: int = 0) -> Result:
    env = {"NRMFLOW_DATABASE_URL": db.url, "NRMFLOW_PARTNERS_FILE": str(partners_file)}
    result = CliRunner().invoke(main, list(args), env=env)
    assert result.exit_code == expect, (result.output, result.exception)
    return result


def test_partners_list_shows_routes_but_never_a_secret(db: Database, partners_file: Path) -> None:
    listed = _nrmflow(db, partners_file, "partners", "list", "--json")
    assert json.loads(listed.stdout) == [
        {
            "name": "origin",
            "url": load_partner_directory(str(partners_file)).partners["origin"].url,
            "key_id": "dest-to-origin-2026",
            "messages": ["partner_request"],
            "roles": ["partner_gateway"],
        }
    ]
    assert SECRET not in _nrmflow(db, partners_file, "partners", "list").stdout


def test_a_broken_partners_file_is_named_with_its_problem(db: Database, tmp_path: Path) -> None:
    broken = tmp_path / "partners.json"
    broken.write_text(json.dumps({"partners": {"origin": {"url": "origin"}}}))
    refused = _nrmflow(db, broken, "partners", "list", expect=1)
    assert "partners.json: partner 'origin': url must be" in refused.stderr


def test_the_worker_sends_the_outbox_and_the_operator_sees_why_it_failed(
    db: Database, clock: FixedClock, partners_file: Path
) -> None:
    sample_runtime(db, clock, bundle="messages")
    directory = load_partner_directory(str(partners_file))
    runtime = Runtime(db, Hooks(), clock, partners=directory)
    case = runtime.start("message_case", {"topic": "documents"}, "clara")

    passed = json.loads(_nrmflow(db, partners_file, "worker", "--once", "--json").stdout)
    assert (passed["fired"], passed["delivered"], passed["failed"]) == (0, 0, 1)
    assert [e["error"] for e in passed["errors"]] == ["connection refused"]

    (pending,) = json.loads(_nrmflow(db, partners_file, "partners", "outbox", "--json").stdout)
    assert pending["partner"] == "origin" and pending["case_reference"] == case.business_key
    assert (pending["attempts"], pending["last_error"]) == (1, "connection refused")
    assert "documents" not in json.dumps(pending)
    text = _nrmflow(db, partners_file, "partners", "outbox").stdout
    assert "partner_request\torigin\tcase " in text and "connection refused" in text

    retried = _nrmflow(db, partners_file, "partners", "retry", "--partner", "origin", "--json")
    assert json.loads(retried.stdout) == {"due": 1}
    (pending,) = json.loads(_nrmflow(db, partners_file, "partners", "outbox", "--json").stdout)
    assert pending["next_attempt_at"] is None
