"""The NRM coordinator changes a process in the browser modeler and deploys it.

Everything goes through the page as a person uses it: the side panel renames
a user task and rewrites a boundary timer with the business-day helper,
Validate finds nothing, Deploy stores a new version. The stored file must be
byte for byte the XML the modeler wrote (read in the page with ``saveXML``,
and the very text the Deploy request carried), and a case started afterwards
must run on it. A broken diagram (an unquoted timer duration, which only
fails when the timer starts) is refused: its problem leads to the element,
and no version is stored. A page older than the newest version is refused
too, and keeps the coordinator's work to download.
"""

from __future__ import annotations

import re
from pathlib import Path

from flask import url_for
from playwright.sync_api import Page, expect
from sqlalchemy import select

from engine.bundle import unpack_files
from engine.calendar import BusinessCalendar
from engine.model_drafts import Editor, deploy_edit
from engine.model_workspace import EditBase, open_workspace
from engine.models import ProcessModelVersion
from tests.browser.conftest import StaffTab
from tests.browser.live_server import LiveServer
from tests.browser.test_csp import violations, watch
from tests.workflows.nrm_driver import NrmCase
from tests.workflows.nrm_steps import identify_adult

KEY = "nrm_referral_decision"
DIAGRAM_FILE = "nrm_referral_decision.bpmn"
FOREIGN = Path(__file__).resolve().parents[1] / "fixtures" / "foreign_bpmn"
RENAMED = "Decide on reasonable grounds, with reasons"
BUSINESS_DAYS = 10
RG_TIMER = 'business_days_from_now(time_limit("rg_target_working_days"))'
BUNDLE_LIMIT = 5_000_000

# Runs in the page: the XML the modeler holds, written as the page writes it for the server.
MODELER_XML = """
async () => (await document.getElementById('modeler').bpmnModeler.saveXML({format: true})).xml
"""


def open_modeler(tab: StaffTab) -> Page:
    tab.sign_in("demo.coordinator")
    page = tab.page
    page.goto(f"/models/{KEY}/edit")
    expect(page.locator("#modeler")).to_have_attribute("data-ready", "true")
    return page


def select_on_canvas(page: Page, element_id: str) -> None:
    page.locator(f'#modeler-canvas .djs-shape[data-element-id="{element_id}"]').click()
    expect(page.locator("#panel-id")).to_have_text(element_id)


def rename(page: Page, element_id: str, name: str) -> None:
    """Through the side panel's Name field, committed with Enter."""
    select_on_canvas(page, element_id)
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Name", exact=True).press("Enter")


def business_days_timer(page: Page, days: int) -> None:
    """Rewrite the selected timer with the panel's helper, as a coordinator would."""
    page.get_by_label("Number of days").fill(str(days))
    page.get_by_role("button", name="Business days from now").click()
    expect(page.get_by_label("Expression")).to_have_value(f"business_days_from_now({days})")


def versions(server: LiveServer, key: str) -> list[int]:
    with server.db.reader() as session:
        query = select(ProcessModelVersion.version).filter_by(key=key)
        return sorted(session.scalars(query))


def stored_file(server: LiveServer, key: str, path: str) -> str:
    """The file as the newest version of ``key`` keeps it."""
    with server.db.reader() as session:
        query = select(ProcessModelVersion).filter_by(key=key)
        newest = session.scalars(query.order_by(ProcessModelVersion.version.desc())).first()
        assert newest is not None
        return unpack_files(newest.source_files)[path].decode("utf-8")


def version_page(server: LiveServer, version: int) -> str:
    """Where a deployment sends the coordinator: the new version's page."""
    with server.app.test_request_context():
        return url_for("process_models.version", key=KEY, number=version)


def deploy_behind_the_page(server: LiveServer) -> None:
    """Another coordinator's change, deployed after the page opened: a 7-day target."""
    workspace = open_workspace(server.db, KEY)
    library = workspace.files[workspace.path].decode("utf-8")
    changed = library.replace(RG_TIMER, "business_days_from_now(7)")
    assert changed != library
    runtime = server.runtime
    editor = Editor(server.db, "demo.coordinator", runtime.hooks, runtime.clock, BUNDLE_LIMIT)
    saved_at = workspace.draft.saved_at if workspace.draft else None
    base = EditBase(workspace.version, saved_at)
    deploy_edit(editor, KEY, {workspace.path: changed.encode("utf-8")}, base)


def has_class(name: str) -> re.Pattern[str]:
    return re.compile(rf"(^|\s){re.escape(name)}(\s|$)")


def test_the_coordinator_edits_validates_and_deploys_a_new_version(
    nrm_server: LiveServer, staff_tab: StaffTab
) -> None:
    before = versions(nrm_server, KEY)
    page = staff_tab.page
    problems = watch(page)
    page = open_modeler(staff_tab)

    rename(page, "decide_reasonable_grounds", RENAMED)
    select_on_canvas(page, "rg_target_missed")
    business_days_timer(page, BUSINESS_DAYS)

    page.get_by_role("button", name="Validate").click()
    expect(page.get_by_role("status")).to_have_text("No problems found.")
    expect(page.locator("#modeler-problem-list li")).to_have_count(0)

    produced = page.evaluate(MODELER_XML)
    assert f'name="{RENAMED}"' in produced
    assert f"business_days_from_now({BUSINESS_DAYS})" in produced
    with page.expect_response(lambda response: response.url.endswith("/deploy")) as deploying:
        page.get_by_role("button", name="Deploy").click()
    answer = deploying.value
    assert answer.status == 201, answer.text()
    assert answer.request.post_data_json["xml"] == produced
    page.wait_for_url(f"**{version_page(nrm_server, before[-1] + 1)}")
    staff_tab.record()

    assert versions(nrm_server, KEY) == [*before, before[-1] + 1]
    assert stored_file(nrm_server, KEY, DIAGRAM_FILE) == produced

    case = NrmCase.refer(nrm_server.runtime, nrm_server.db, nrm_server.clock, as_user="demo.police")
    identify_adult(case)
    assert case.item("decide_reasonable_grounds").title == RENAMED
    country = nrm_server.app.extensions["nrmflow.settings"].holiday_country
    due = BusinessCalendar(country).add_business_days(nrm_server.clock.now(), BUSINESS_DAYS)
    assert case.waiting_timers()["rg_target_missed"] == due  # the old version gave 5 days
    assert violations(page) == [], violations(page)
    assert problems == [], problems


def test_a_broken_diagram_is_refused_and_its_problem_leads_to_the_element(
    nrm_server: LiveServer, staff_tab: StaffTab
) -> None:
    before = versions(nrm_server, KEY)
    page = open_modeler(staff_tab)

    select_on_canvas(page, "rg_target_missed")
    page.get_by_label("Kind").select_option("duration")
    page.get_by_label("Expression").fill("P30D")  # a Python name, not a duration
    page.get_by_label("Expression").press("Enter")
    assert "<bpmn:timeDuration>P30D</bpmn:timeDuration>" in page.evaluate(MODELER_XML)
    select_on_canvas(page, "decided")  # away from the broken element

    page.get_by_role("button", name="Deploy").click()
    expect(page.get_by_role("status")).to_contain_text("Nothing was deployed")
    problem = page.locator('#modeler-problem-list button[data-element="rg_target_missed"]')
    expect(problem.first).to_be_visible()
    staff_tab.record()
    problem.first.click()

    expect(page.locator("#panel-id")).to_have_text("rg_target_missed")
    marked = page.locator('#modeler-canvas .djs-shape[data-element-id="rg_target_missed"]')
    for marker in ("nrm-problem", "nrm-problem-shown", "selected"):
        expect(marked).to_have_class(has_class(marker))
    # beside the element on the canvas: a badge with the count, its words on hover
    badge = page.locator('.djs-overlays[data-container-id="rg_target_missed"] .nrm-problem-badge')
    expect(badge).to_have_text(str(problem.count()))
    expect(badge).to_have_attribute("title", re.compile("Target missed"))
    select_on_canvas(page, "decided")
    badge.click()
    expect(page.locator("#panel-id")).to_have_text("rg_target_missed")
    assert versions(nrm_server, KEY) == before


def test_a_diagram_from_another_tool_opens_and_validate_leads_to_what_cannot_run(
    nrm_server: LiveServer, staff_tab: StaffTab
) -> None:
    """Imported from the process list, a Camunda export with a complex gateway opens in the
    modeler as it was written, and Validate names the gateway and shows it."""
    staff_tab.sign_in("demo.coordinator")
    page = staff_tab.page
    problems = watch(page)
    page.get_by_role("link", name="Process models").click()
    page.get_by_label("Import a BPMN file").set_input_files(FOREIGN / "unsupported_elements.bpmn")
    page.get_by_role("button", name="Open it in the modeler").click()
    expect(page.locator("#modeler")).to_have_attribute("data-ready", "true")
    expect(page.locator("#modeler-origin")).to_contain_text("imported and not deployed yet")
    written = (FOREIGN / "unsupported_elements.bpmn").read_text("utf-8")
    assert page.evaluate(MODELER_XML).count("complexGateway") == written.count("complexGateway")

    page.get_by_role("button", name="Validate").click()
    problem = page.locator('#modeler-problem-list button[data-element="Gateway_pick_route"]')
    expect(problem).to_contain_text("complexGateway")
    problem.click()
    expect(page.locator("#panel-id")).to_have_text("Gateway_pick_route")
    marked = page.locator('#modeler-canvas .djs-shape[data-element-id="Gateway_pick_route"]')
    for marker in ("nrm-problem", "nrm-problem-shown", "selected"):
        expect(marked).to_have_class(has_class(marker))
    assert versions(nrm_server, "Process_ParcelDispatch") == []
    assert violations(page) == [], violations(page)
    assert problems == [], problems


def test_a_page_older_than_the_newest_version_is_refused_and_keeps_its_diagram(
    nrm_server: LiveServer, staff_tab: StaffTab
) -> None:
    page = staff_tab.page
    problems = watch(page)
    page = open_modeler(staff_tab)
    rename(page, "decide_reasonable_grounds", RENAMED)
    deploy_behind_the_page(nrm_server)
    before = versions(nrm_server, KEY)
    produced = page.evaluate(MODELER_XML)

    with page.expect_response(lambda response: response.url.endswith("/deploy")) as deploying:
        page.get_by_role("button", name="Deploy").click()
    answer = deploying.value
    assert answer.status == 409, answer.text()
    expect(page.get_by_role("status")).to_have_text(answer.json()["message"])
    assert page.evaluate(MODELER_XML) == produced  # the canvas holds the rename still
    assert f'name="{RENAMED}"' in produced
    assert page.url.endswith(f"/models/{KEY}/edit")
    assert versions(nrm_server, KEY) == before

    with page.expect_download() as downloading:
        page.get_by_role("button", name="Download the diagram").click()
    download = downloading.value
    assert download.suggested_filename == f"{KEY}.bpmn"
    assert Path(download.path()).read_text("utf-8") == produced
    staff_tab.record()
    assert violations(page) == [], violations(page)
    refused = [p for p in problems if "status of 409" in p]  # Chromium's word on the answer
    assert problems == refused and len(refused) == 1, problems


def test_a_draft_saved_twice_in_one_sitting_saves_both_times(
    nrm_server: LiveServer, staff_tab: StaffTab
) -> None:
    """Each save answers the draft's time, which the next save says it started from."""
    page = open_modeler(staff_tab)
    renames = {"decide_reasonable_grounds": RENAMED, "decide_conclusive_grounds": "Decide, at last"}
    sent, answered = [], []
    for element_id, name in renames.items():
        rename(page, element_id, name)
        with page.expect_response(lambda response: response.url.endswith("/draft")) as saving:
            page.get_by_role("button", name="Save draft").click()
        answer = saving.value
        assert answer.status == 200, answer.text()
        expect(page.get_by_role("status")).to_have_text("Draft saved.")
        sent.append(answer.request.post_data_json["base"])
        answered.append(answer.json()["base"])

    assert sent[0] == {"version": versions(nrm_server, KEY)[-1], "draft_saved_at": None}
    assert answered[0]["draft_saved_at"] is not None
    assert sent[1] == answered[0]
    workspace = open_workspace(nrm_server.db, KEY)
    assert workspace.draft is not None
    drafted = workspace.draft.files[workspace.path].decode("utf-8")
    assert all(f'name="{name}"' in drafted for name in renames.values()), drafted
