"""An auditor follows a case's path on its diagrams in Chromium.

The case is worked through the live server's own runtime (identification with
consent, then positive reasonable grounds); the auditor signs in through the
form, opens the case history and reads the path off the SVG the vendored
bpmn-js viewer drew. A failure leaves a picture of the page in ``tmp_path``
(see ``staff_tab``).
"""

from __future__ import annotations

from playwright.sync_api import Locator, Page, expect

from tests.browser.conftest import StaffTab
from tests.browser.live_server import LiveServer
from tests.workflows import nrm_answers as answers
from tests.workflows.nrm_driver import NrmCase
from tests.workflows.nrm_steps import identify_adult


def decided_case(server: LiveServer) -> NrmCase:
    case = NrmCase.refer(server.runtime, server.db, server.clock, as_user="demo.police")
    identify_adult(case)
    case.advance(days=3)
    case.complete("decide_reasonable_grounds", answers.rg("positive"), "competent_authority")
    return case


def element(page: Page, element_id: str) -> Locator:
    return page.locator(f'#history-canvas .djs-element[data-element-id="{element_id}"]')


def expect_diagram(tab: StaffTab, process: str) -> None:
    """Wait until the viewer has drawn ``process`` and marked its path."""
    section = tab.page.locator("#history-diagram")
    expect(section).to_have_attribute("data-shown-process", process)
    expect(section).to_have_attribute("data-ready", "true")
    tab.record()


def test_the_auditor_sees_the_path_taken_and_opens_a_call_activity(
    nrm_server: LiveServer, staff_tab: StaffTab
) -> None:
    case = decided_case(nrm_server)
    page = staff_tab.page
    staff_tab.sign_in("demo.auditor")
    page.goto(f"/cases/{case.view.id}/history")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"History of case {case.view.business_key}"
    )
    expect_diagram(staff_tab, "nrm_case")

    marked = page.locator("#history-canvas")
    for completed in ("referral_received", "open_case_record", "identification", "route_gateway"):
        expect(marked.locator(f'.nrm-completed[data-element-id="{completed}"]')).to_have_count(1)
    expect(marked.locator('.nrm-active[data-element-id="protect_with_consent"]')).to_have_count(1)
    expect(
        marked.locator('.djs-connection.nrm-taken[data-element-id="flow_route_adult"]')
    ).to_have_count(1)
    expect(marked.locator('.nrm-taken[data-element-id="flow_route_child"]')).to_have_count(0)
    expect(page.get_by_text("Completed: green fill")).to_be_visible()

    # the call activity opens its own diagram, with its own path and a way back
    element(page, "identification").click()
    expect_diagram(staff_tab, "nrm_identification")
    for completed in ("screen_indicators", "obtain_consent", "route_adult"):
        expect(marked.locator(f'.nrm-completed[data-element-id="{completed}"]')).to_have_count(1)
    expect(marked.locator(".nrm-taken")).not_to_have_count(0)

    # clicking a completed task finds its events in the timeline
    element(page, "screen_indicators").click()
    events = page.locator("#history-element-events")
    expect(events).to_contain_text("Events at Screen for indicators of trafficking:")
    highlighted = page.locator("tr.history-highlight")
    expect(highlighted).to_have_count(1)
    expect(highlighted).to_have_attribute("data-element", "screen_indicators")
    expect(highlighted).to_contain_text("Task completed")

    page.locator("#history-diagram-back").click()
    expect_diagram(staff_tab, "nrm_case")

    # down two levels to the decision, where the recovery period's timer waits
    element(page, "protect_with_consent").click()
    expect_diagram(staff_tab, "nrm_protection")
    element(page, "referral_decision").click()
    expect_diagram(staff_tab, "nrm_referral_decision")
    expect(
        marked.locator('.nrm-completed[data-element-id="decide_reasonable_grounds"]')
    ).to_have_count(1)
    expect(marked.locator('.nrm-waiting[data-element-id="recovery_period_ended"]')).to_have_count(1)
    expect(page.locator("#history-diagram-back")).to_have_text(
        "Back to Protection and durable solution"
    )

    # back up one level, into the assistance: the needs assessment waits for a caseworker
    page.locator("#history-diagram-back").click()
    expect_diagram(staff_tab, "nrm_protection")
    element(page, "immediate_assistance").click()
    expect_diagram(staff_tab, "nrm_assistance")
    expect(marked.locator('.nrm-active[data-element-id="assess_needs"]')).to_have_count(1)
    expect(marked.locator('.nrm-completed[data-element-id="assess_needs"]')).to_have_count(0)
