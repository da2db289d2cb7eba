"""The ``nrmflow`` commands, end to end on a real database with the NRM library."""

from __future__ import annotations

import json
from typing import Any

from click.testing import Result
from sqlalchemy import update

from engine.db import Database
from engine.models import AuditEvent
from tests.engine.helpers import BUNDLES
from tests.workflows import nrm_answers as answers
from tests.workflows.nrm_driver import NRM_BUNDLE, START


def as_json(result: Result) -> Any:
    return json.loads(result.stdout)


def test_a_case_from_deploy_to_audit_verify(nrmflow, db: Database) -> None:  # type: ignore[no-untyped-def]
    nrmflow("db", "upgrade")
    deployed = as_json(nrmflow("deploy", str(NRM_BUNDLE), "--json"))
    assert "nrm_case" in {d["key"] for d in deployed}
    assert [d["warnings"] for d in deployed if d["warnings"]] == []
    assert "unchanged" in nrmflow("deploy", str(NRM_BUNDLE)).stdout
    assert as_json(nrmflow("models", "--json"))[0]["version"] == 1
    nrmflow("seed-demo")

    start = json.dumps(START)
    case = as_json(nrmflow("start", "nrm_case", "--as", "demo.police", "--data", start, "--json"))
    assert case["status"] == "running"
    refused = nrmflow("start", "nrm_identification", "--as", "demo.police", expect=1)
    assert "may not start" in refused.stderr  # stages run only inside a case

    items = as_json(nrmflow("tasks", "--as", "demo.police", "--json"))
    assert [i["task_name"] for i in items] == ["screen_indicators"]
    assert as_json(nrmflow("tasks", "--role", "competent_authority", "--json")) == []
    item_id = str(items[0]["id"])
    claimed = as_json(nrmflow("claim", item_id, "--as", "demo.police", "--json"))
    assert claimed["assignee"] == "demo.police"

    bad = nrmflow("complete", item_id, "--as", "demo.police", "--data", '{"sex": "x"}', expect=1)
    assert "sex" in bad.stderr and "indicators" in bad.stderr
    data = json.dumps(answers.screening())
    case = as_json(nrmflow("complete", item_id, "--as", "demo.police", "--data", data, "--json"))
    assert [w["task_name"] for w in case["work_items"]] == ["obtain_consent"]
    not_waiting = nrmflow(
        "deliver",
        "arrival_confirmed",
        "--case",
        case["business_key"],
        "--as",
        "demo.partners",
        expect=1,
    )
    assert "not waiting for 'arrival_confirmed'" in not_waiting.stderr
    assert as_json(nrmflow("worker", "--once", "--json")) == {
        "fired": 0,
        "delivered": 0,
        "failed": 0,
        "errors": [],
    }

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


def test_unknown_process_and_user_are_clean_errors(nrmflow) -> None:  # type: ignore[no-untyped-def]
    nrmflow("db", "upgrade")
    nrmflow("users", "add", "fran", "--role", "first_responder")
    assert (
        "no process model 'nrm_case'"
        in nrmflow("start", "nrm_case", "--as", "fran", expect=1).stderr
    )
    assert "no user named 'ghost'" in nrmflow("tasks", "--as", "ghost", expect=1).stderr
