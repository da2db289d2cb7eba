"""``nrmflow doctor``: one line per finding with its fix, JSON on request, exit 1 on a problem."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner, Result
from sqlalchemy import update

from cli.main import main
from engine.db import Database
from engine.models import AuditEvent


def test_a_healthy_database_exits_zero(nrmflow: Callable[..., Result]) -> None:
    nrmflow("users", "add", "clara", "--role", "clerk")  # an audit event to verify
    lines = nrmflow("doctor").output.splitlines()
    assert len(lines) == 7 and all(line.startswith("OK ") for line in lines)
    assert "→ fix:" not in "\n".join(lines)

    findings = json.loads(nrmflow("doctor", "--json").output)
    assert [f["severity"] for f in findings] == ["ok"] * 7
    assert set(findings[0]) == {"code", "severity", "message", "fix"}


def test_a_problem_prints_its_fix_and_exits_one(
    db: Database, nrmflow: Callable[..., Result]
) -> None:
    nrmflow("users", "add", "clara", "--role", "clerk")
    with db.transaction() as session:
        session.execute(update(AuditEvent).where(AuditEvent.seq == 1).values(actor="mallory"))

    output = nrmflow("doctor", expect=1).output
    [line] = [line for line in output.splitlines() if not line.startswith("OK ")]
    assert line.startswith("ERROR audit chain broken at event 1: ")
    assert "→ fix: see the Integrity page (/audit/integrity) or nrmflow audit verify" in line

    findings = json.loads(nrmflow("--json", "doctor", expect=1).output)
    broken = [f for f in findings if f["severity"] != "ok"]
    assert [f["code"] for f in broken] == ["audit_chain_broken"]


def test_an_unmigrated_or_unreachable_database_exits_one_without_a_traceback(
    tmp_path: Path,
) -> None:
    runner = CliRunner()
    empty = tmp_path / "empty.db"
    Database(f"sqlite:///{empty}").engine.connect().close()
    for url, expected in [
        (f"sqlite:///{empty}", "ERROR database schema is empty"),
        (f"sqlite:///{tmp_path}", "ERROR cannot reach the database"),
        ("nosuchdb://x", "ERROR NRMFLOW_DATABASE_URL cannot be used"),
    ]:
        result = runner.invoke(main, ["doctor"], env={"NRMFLOW_DATABASE_URL": url})
        assert result.exit_code == 1, (result.output, result.exception)
        assert result.output.startswith(expected), result.output
        assert "Traceback" not in result.output
    assert (
        "→ fix: nrmflow db upgrade"
        in runner.invoke(
            main, ["doctor"], env={"NRMFLOW_DATABASE_URL": f"sqlite:///{empty}"}
        ).output
    )
