"""The issue's "done when", all in the browser: the coordinator changes the reasonable-grounds
deadline and adds a task in the modeler, deploys, moves the running case that can move, and
the audit trail shows all of it; the moved case then runs the added task.

The task is added as a person adds one: bpmn-js's context pad appends a task after the
decision, its replace menu makes it a user task, the side panel names it.
"""

from __future__ import annotations

import json

from playwright.sync_api import expect
from sqlalchemy import select

from engine.models import AuditEvent
from tests.browser.conftest import StaffTab
from tests.browser.live_server import LiveServer
from tests.browser.test_csp import violations, watch
from tests.browser.test_modeler import (
    business_days_timer,
    open_modeler,
    select_on_canvas,
    versions,
)
from tests.workflows import nrm_answers as answers
from tests.workflows.nrm_driver import NrmCase
from tests.workflows.nrm_steps import identify_adult

KEY = "nrm_referral_decision"
ADDED = "Tell the person the decision"


def test_the_coordinator_changes_the_deadline_adds_a_task_deploys_and_moves_the_case(
    nrm_server: LiveServer, staff_tab: StaffTab
) -> None:
    case = NrmCase.refer(nrm_server.runtime, nrm_server.db, nrm_server.clock)
    identify_adult(case)  # waiting for the reasonable-grounds decision, on version 1
    page = open_modeler(staff_tab)
    problems = watch(page)

    select_on_canvas(page, "rg_target_missed")
    business_days_timer(page, 10)
    # a task from the palette, dropped on the flow out of the decision: bpmn-js splits the flow
    page.locator('.djs-palette .entry[data-action="create.task"]').click()
    flow = page.locator('#modeler-canvas .djs-connection[data-element-id="rg_decided"]')
    box = flow.bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(x - 30, y + 30, steps=4)
    page.mouse.move(x, y, steps=4)
    page.mouse.down()
    page.mouse.up()
    page.keyboard.press("Escape")  # leave the label editor bpmn-js opens on the new task
    page.locator('.djs-context-pad .entry[data-action="replace"]').click()
    page.locator('.djs-popup [data-id="replace-with-user-task"]').click()
    added_id = page.locator("#panel-id").inner_text()
    page.get_by_label("Name", exact=True).fill(ADDED)
    page.get_by_label("Name", exact=True).press("Enter")

    page.get_by_role("button", name="Validate").click()
    expect(page.get_by_role("status")).to_have_text("No problems found.")
    page.get_by_role("button", name="Deploy").click()
    page.wait_for_url(f"**/models/{KEY}/2")
    assert versions(nrm_server, "nrm_case") == [1, 2]

    page.goto("/models/nrm_case/2")
    page.get_by_role("link", name="Move 1 running case from an older version").click()
    row = page.locator(f'tr[data-case="{case.view.business_key}"]')
    expect(row).to_contain_text("Yes")
    page.get_by_role("button", name="Move the chosen cases").click()
    expect(page.get_by_text("1 case moved to version 2.")).to_be_visible()
    staff_tab.record()

    with nrm_server.db.reader() as session:
        trail = session.scalars(select(AuditEvent).order_by(AuditEvent.seq)).all()
    mine = [
        json.loads(e.payload)
        for e in trail
        if e.action == "model_deployed" and e.actor == "demo.coordinator"
    ]
    assert {(d["key"], d["version"]) for d in mine} == {
        (KEY, 2),
        ("nrm_protection", 2),
        ("nrm_case", 2),
    }
    [moved] = [e for e in trail if e.action == "case_migrated"]
    assert (moved.actor, moved.instance_id) == ("demo.coordinator", case.view.id)
    moved_between = json.loads(moved.payload)
    assert (moved_between["from_version"], moved_between["to_version"]) == (1, 2)

    # the moved case has the new deadline, and after the decision it runs the added task
    due = case.waiting_timers()["rg_target_missed"]
    assert due > nrm_server.clock.now()
    case.complete("decide_reasonable_grounds", answers.rg("positive"), "competent_authority")
    assert added_id in case.open_tasks()
    assert case.open_tasks()[added_id].title == ADDED
    assert violations(page) == [], violations(page)
    # bpmn-js 18.31's own replace menu calls its deprecated ContextPad#getPad: not ours
    own = [p for p in problems if "ContextPad#getPad is deprecated" not in p]
    assert own == [], own
