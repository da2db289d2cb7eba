"""The coordinator's process model pages, and the issue's whole story without a browser:
change the reasonable-grounds deadline and add a task, deploy, move the running cases
that can move, and find all of it in the audit trail.
"""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from flask import Flask
from flask.testing import FlaskClient
from lxml import html
from sqlalchemy import select

from engine.calendar import BusinessCalendar
from engine.clock import FixedClock
from engine.models import AuditEvent, ProcessInstance, ProcessModelVersion
from engine.runtime import Runtime
from tests.web.conftest import SignIn
from tests.workflows import nrm_steps
from tests.workflows.nrm_driver import NrmCase
from tests.workflows.nrm_edits import KEY, PATH, edited


@pytest.fixture
def coordinator(web: Flask, sign_in: SignIn) -> FlaskClient:
    return sign_in(web.test_client(), "demo.coordinator")


def cases(runtime: Runtime, clock: FixedClock) -> tuple[NrmCase, NrmCase]:
    """One case waiting for the reasonable-grounds decision, one still being screened."""
    at_decision = NrmCase.refer(runtime, runtime.db, clock)
    nrm_steps.identify_adult(at_decision)
    screening = NrmCase.refer(runtime, runtime.db, clock)
    return at_decision, screening


def deploy(client: FlaskClient, text: str) -> dict[str, object]:
    base = {"version": client.get(f"/models/{KEY}/edit/source.json").get_json()["version"]}
    answer = client.post(f"/models/{KEY}/deploy", json={"xml": text, "base": base})
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()  # type: ignore[no-any-return]


def page(client: FlaskClient, url: str) -> html.HtmlElement:
    answer = client.get(url)
    assert answer.status_code == 200, url
    return html.fromstring(answer.get_data(as_text=True))


def test_the_models_page_lists_every_process_and_version(
    coordinator: FlaskClient, runtime: Runtime, clock: FixedClock
) -> None:
    cases(runtime, clock)
    deploy(coordinator, edited())
    listing = page(coordinator, "/models")
    rows = listing.xpath("//section[h2[@id='model-nrm_case']]//tbody/tr")
    assert [r.xpath("string(th)").strip() for r in rows] == ["Version 2", "Version 1"]
    assert [r.xpath("string(td[4])").strip() for r in rows] == ["0", "2"]  # cases per version
    assert "demo.coordinator" in rows[0].text_content()
    assert listing.xpath("//a[@href='/models/nrm_referral_decision/edit']")


def test_a_version_page_links_its_diagram_its_bundle_and_its_diff(
    coordinator: FlaskClient,
) -> None:
    sent = edited()
    deploy(coordinator, sent)
    shown = page(coordinator, f"/models/{KEY}/2")
    canvas = shown.xpath("//div[contains(@class, 'model-diagram')]")[0]
    assert canvas.get("data-url") == f"/models/{KEY}/2/diagram.bpmn"
    assert coordinator.get(canvas.get("data-url")).get_data(as_text=True) == sent
    download = coordinator.get(f"/models/{KEY}/2/bundle.zip")
    archive = zipfile.ZipFile(io.BytesIO(download.get_data()))
    assert archive.read(PATH).decode("utf-8") == sent
    assert "forms/decide_reasonable_grounds.json" in archive.namelist()
    assert coordinator.get(f"/models/{KEY}/2/bundle.zip").get_data() == download.get_data()
    assert shown.xpath("//form[@action='/models/nrm_referral_decision/diff']")


def test_the_diff_lists_and_colours_what_changed(coordinator: FlaskClient) -> None:
    deploy(coordinator, edited())
    diff = page(coordinator, f"/models/{KEY}/diff?from=1&to=2")
    changes = {
        row.get("data-element"): row.get("data-change")
        for row in diff.xpath("//table[contains(@class, 'model-changes')]//tr[@data-element]")
    }
    assert changes["check_interpretation"] == "added"
    assert changes["to_check_interpretation"] == "added"
    assert changes["rg_target_missed"] == "changed"
    new_marks = json.loads(diff.xpath("//div[@id='diff-new-canvas']/@data-marks")[0])
    assert new_marks["check_interpretation"] == "nrm-added"
    assert new_marks["rg_target_missed"] == "nrm-changed"
    assert coordinator.get(f"/models/{KEY}/diff?from=1").status_code == 400
    assert coordinator.get(f"/models/{KEY}/diff?from=1&to=9").status_code == 404


def test_the_story_deadline_and_task_changed_deployed_and_cases_moved(
    coordinator: FlaskClient, web: Flask, runtime: Runtime, clock: FixedClock
) -> None:
    at_decision, screening = cases(runtime, clock)
    deployed = deploy(coordinator, edited())
    case_version = next(m["version"] for m in deployed["models"] if m["key"] == "nrm_case")
    preview_url = f"/models/nrm_case/{case_version}/migrate"
    preview = page(coordinator, preview_url)
    boxes = preview.xpath("//input[@name='case']/@value")
    assert sorted(int(b) for b in boxes) == sorted([at_decision.view.id, screening.view.id])
    moved = coordinator.post(preview_url, data={"case": boxes})
    assert moved.status_code == 302
    assert "2 cases moved to version 2." in page(coordinator, preview_url).text_content()
    db = web.extensions["nrmflow.db"]
    with db.reader() as session:
        versions = session.scalars(
            select(ProcessModelVersion.version)
            .join(ProcessInstance, ProcessInstance.model_version_id == ProcessModelVersion.id)
            .order_by(ProcessInstance.id)
        ).all()
        trail = session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
    assert versions == [2, 2]
    # the changed deadline restarts from the move: 10 working days, not the old 5
    due = at_decision.waiting_timers()["rg_target_missed"]
    calendar = BusinessCalendar("GB")
    assert due == calendar.add_business_days(clock.now(), 10)
    deploys = [e for e in trail if e.action == "model_deployed" and e.actor == "demo.coordinator"]
    migrations = [e for e in trail if e.action == "case_migrated"]
    assert len(deploys) == 3
    assert {e.actor for e in migrations} == {"demo.coordinator"}
    assert {e.instance_id for e in migrations} == {at_decision.view.id, screening.view.id}
    payload = json.loads(migrations[0].payload)
    assert (payload["from_version"], payload["to_version"]) == (1, 2)


def test_a_case_that_cannot_move_is_named_with_why_and_stays(
    coordinator: FlaskClient, web: Flask, runtime: Runtime, clock: FixedClock
) -> None:
    at_decision, screening = cases(runtime, clock)
    deploy(coordinator, edited(rename_decision=True))
    preview_url = "/models/nrm_case/2/migrate"
    preview = page(coordinator, preview_url)
    stuck = preview.xpath(f"//tr[@data-case='{at_decision.view.business_key}']")[0]
    assert not stuck.xpath(".//input")
    assert "the waiting task 'Decide on reasonable grounds'" in stuck.text_content()
    assert preview.xpath("//input[@name='case']/@value") == [str(screening.view.id)]
    both = [str(at_decision.view.id), str(screening.view.id)]  # forged: the stuck one too
    coordinator.post(preview_url, data={"case": both})
    after = page(coordinator, preview_url).text_content()
    assert "1 case moved to version 2." in after
    assert f"Case {at_decision.view.business_key} stays on its version" in after
    assert runtime.case(at_decision.view.id).model_version == 1
    assert runtime.case(screening.view.id).model_version == 2


def test_moving_nothing_says_so(coordinator: FlaskClient) -> None:
    deploy(coordinator, edited())
    answer = coordinator.post("/models/nrm_case/2/migrate", data={})
    assert answer.status_code == 302
    assert (
        "Choose at least one case to move."
        in page(coordinator, "/models/nrm_case/2/migrate").text_content()
    )


def test_forged_case_ids_move_nothing_and_never_move_a_case_back(
    coordinator: FlaskClient, runtime: Runtime, clock: FixedClock
) -> None:
    at_decision, _screening = cases(runtime, clock)
    deploy(coordinator, edited())
    moved_on = str(at_decision.view.id)
    coordinator.post("/models/nrm_case/2/migrate", data={"case": [moved_on]})
    assert runtime.case(at_decision.view.id).model_version == 2
    for forged in (["²", "x", "-1"], [moved_on]):  # junk, and a case already on version 2
        answer = coordinator.post("/models/nrm_case/1/migrate", data={"case": forged})
        assert answer.status_code == 302, forged
    assert runtime.case(at_decision.view.id).model_version == 2
