"""The ``nrmflow`` commands, end to end on a real database."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import update

from cli.main import main
from engine.db import Database
from engine.models import AuditEvent
from tests.engine.helpers import BUNDLES


@pytest.fixture
def nrmflow(db: Database):  # type: ignore[no-untyped-def]
    runner = CliRunner()

    def run(*args: str, expect: int = 0) -> Result:
        result = runner.invoke(main, list(args), env={"NRMFLOW_DATABASE_URL": db.url})
        assert result.exit_code == expect, (result.output, result.exception)
        return result

    return run


def as_json(result: Result) -> Any:
    return json.loads(result.stdout)


def test_a_case_from_deploy_to_audit_verify(nrmflow, db: Database) -> None:  # type: ignore[no-untyped-def]
    nrmflow("db", "upgrade")
    deployed = as_json(nrmflow("deploy", str(BUNDLES / "sample"), "--json"))
    assert {d["key"] for d in deployed} == {"sample_case", "sample_check"}
    assert "unchanged" in nrmflow("deploy", str(BUNDLES / "sample")).stdout
    assert as_json(nrmflow("models", "--json"))[0]["version"] == 1

    nrmflow("users", "add", "clara", "--role", "clerk", "--agency", "Registry")
    nrmflow("users", "add", "sam", "--role", "supervisor")
    case = as_json(nrmflow("start", "sample_case", "--as", "clara", "--json"))
    assert case["status"] == "running"

    items = as_json(nrmflow("tasks", "--as", "clara", "--json"))
    assert [i["task_name"] for i in items] == ["intake"]
    assert as_json(nrmflow("tasks", "--role", "supervisor", "--json")) == []
    item_id = str(items[0]["id"])
    claimed = as_json(nrmflow("claim", item_id, "--as", "clara", "--json"))
    assert claimed["assignee"] == "clara"

    bad = nrmflow("complete", item_id, "--as", "clara", "--data", '{"amount": -1}', expect=1)
    assert "amount" in bad.stderr and "applicant_ref" in bad.stderr
    data = json.dumps({"applicant_ref": "R-1", "amount": 5, "urgent": True})
    case = as_json(nrmflow("complete", item_id, "--as", "clara", "--data", data, "--json"))
    assert [w["task_name"] for w in case["work_items"]] == ["approve"]
    assert as_json(nrmflow("worker", "--once", "--json")) == {"fired": 0}

    verified = as_json(nrmflow("audit", "verify", "--json"))
    assert verified["intact"] and verified["events"] > 5

    with db.transaction() as session:
        session.execute(update(AuditEvent).where(AuditEvent.seq == 3).values(actor="nobody"))
    broken = nrmflow("audit", "verify", expect=1)
    assert "event 3" in broken.stdout


def test_invalid_bundle_exits_2_with_one_line_per_problem(nrmflow) -> None:  # type: ignore[no-untyped-def]
    nrmflow("db", "upgrade")
    result = nrmflow("deploy", str(BUNDLES / "invalid" / "missing_form"), expect=2)
    lines = result.stderr.strip().splitlines()
    assert lines and all(line.count(":") >= 3 for line in lines)
    assert any(line.startswith("missing.bpmn:") and ":fill:" in line for line in lines)


def test_unknown_model_and_user_are_clean_errors(nrmflow) -> None:  # type: ignore[no-untyped-def]
    nrmflow("db", "upgrade")
    nrmflow("users", "add", "clara", "--role", "clerk")
    assert "no process model 'nope'" in nrmflow("start", "nope", "--as", "clara", expect=1).stderr
    assert "no user named 'ghost'" in nrmflow("tasks", "--as", "ghost", expect=1).stderr
