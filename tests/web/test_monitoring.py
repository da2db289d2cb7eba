"""The coordinator's monitoring pages: figures as the seeding made them, the CSV equal to
the page, small counts shown as "<5", every read audited, nobody else let in."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient
from lxml import html
from sqlalchemy import select

from engine.config import load_settings
from engine.models import AuditEvent
from tests.conftest import BACKENDS
from tests.workflows.statistics_seed import Seeded, seeded_database
from web import create_app


@pytest.fixture(scope="module", params=BACKENDS)
def seeded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Seeded]:
    yield from seeded_database(request.param, tmp_path_factory.mktemp("monitoring"))


@pytest.fixture(scope="module")
def app_client(seeded: Seeded) -> FlaskClient:
    app = create_app(load_settings({"NRMFLOW_DATABASE_URL": seeded.db.url}), clock=seeded.clock)
    app.config.update(TESTING=True)
    return app.test_client()


def signed_in(client: FlaskClient, seeded: Seeded, username: str) -> FlaskClient:
    with client.session_transaction() as session:
        session["_user_id"] = username
        session["_fresh"] = True
        session["last_seen"] = seeded.clock.now().isoformat()
        session.permanent = True
    return client


def page_tables(body: bytes) -> dict[str, list[list[str]]]:
    """Every figure's table: its rows as [label, value, ...] texts."""
    tree = html.fromstring(body)
    return {
        table.get("data-figure"): [
            [" ".join(c.text_content().split()) for c in row.xpath("th|td")]
            for row in table.xpath("./tbody/tr")
        ]
        for table in tree.xpath("//table[@data-figure]")
    }


def audited(seeded: Seeded, action: str) -> list[dict[str, object]]:
    with seeded.db.reader() as session:
        query = select(AuditEvent).where(AuditEvent.action == action)
        return [{"actor": e.actor, **json.loads(e.payload)} for e in session.scalars(query)]


def test_dashboard_shows_seeded_figures_and_is_audited(
    app_client: FlaskClient, seeded: Seeded
) -> None:
    before = len(audited(seeded, "statistics_viewed"))
    response = signed_in(app_client, seeded, "demo.coordinator").get("/monitoring")
    assert response.status_code == 200
    tables = page_tables(response.data)
    rows = {row[0]: row[1:] for row in tables["rg_within_target"]}
    late = sum(p.rg_days >= 10 for p in seeded.plans)
    within = len(seeded.plans) - late
    assert rows["Within target"] == [
        str(within),
        f"{round(100 * within / len(seeded.plans), 1):g}%",
    ]
    assert rows["After the target"][0] == str(late)
    sex = {row[0]: row[1:] for row in tables["referrals_by_sex"]}
    assert sex["2026-03"][0] == "<5"  # three women referred in March
    per_task = {row[0]: row[1:] for row in tables["durations_per_task"]}
    assert per_task["Screen for indicators of trafficking"] == ["3 hours", "8 hours"]
    assert per_task["Decide on reasonable grounds"] == ["2 days", "11 days"]
    assert b'role="img"' in response.data and b"<title" in response.data
    events = audited(seeded, "statistics_viewed")
    assert len(events) == before + 1
    assert events[-1]["actor"] == "demo.coordinator"


def test_csv_equals_the_page_and_is_audited(app_client: FlaskClient, seeded: Seeded) -> None:
    client = signed_in(app_client, seeded, "demo.coordinator")
    page = page_tables(client.get("/monitoring").data)
    response = client.get("/monitoring.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    lines = list(csv.reader(io.StringIO(response.get_data(as_text=True))))[1:]
    shown = [value for rows in page.values() for row in rows for value in row[1:]]
    assert [value for _f, _r, _c, value in lines] == shown
    assert "<5" in shown
    assert audited(seeded, "statistics_exported")[-1]["actor"] == "demo.coordinator"


def test_other_roles_get_403(app_client: FlaskClient, seeded: Seeded) -> None:
    for username in ("demo.caseworker", "demo.auditor"):
        client = signed_in(app_client, seeded, username)
        assert client.get("/monitoring").status_code == 403
        assert client.get("/monitoring.csv").status_code == 403
        assert client.get("/monitoring/diagram/nrm_identification/data.json").status_code == 403


def test_heat_overlay_data(app_client: FlaskClient, seeded: Seeded) -> None:
    client = signed_in(app_client, seeded, "demo.coordinator")
    page = client.get("/monitoring/diagram/nrm_identification")
    assert page.status_code == 200
    assert b"monitoring_heat.js" in page.data and b"<script>" not in page.data
    data = client.get("/monitoring/diagram/nrm_identification/data.json").get_json()
    assert data["xml"].startswith("<?xml") or "<bpmn:definitions" in data["xml"]
    assert data["tasks"]["screen_indicators"] == {"median": "3 hours", "level": 1}
    assert data["tasks"]["obtain_consent"]["level"] == 0
    assert client.get("/monitoring/diagram/no_such_process").status_code == 404
    referral = client.get("/monitoring/diagram/nrm_referral_decision/data.json").get_json()
    assert referral["tasks"]["escalate_overdue_decision"] == {
        "median": "fewer than 5",
        "level": None,
    }
