"""The coordinator's process model pages in Chromium: a version's diagram, and a diff coloured.

The second version is the issue's story (tests/workflows/nrm_edits.py): a new
reasonable-grounds deadline and a task added before the decision. The diff page
draws both versions with the vendored viewer; the test reads the colours off
the SVG it drew.
"""

from __future__ import annotations

from playwright.sync_api import Locator, Page, expect

from engine.model_drafts import Editor, deploy_edit
from engine.model_workspace import EditBase, open_workspace
from tests.browser.conftest import StaffTab
from tests.browser.live_server import MAX_BUNDLE_BYTES, LiveServer
from tests.browser.test_csp import violations, watch
from tests.workflows.nrm_edits import KEY, PATH, edited

ADDED_FILL = "rgb(218, 251, 225)"  # models.css: #dafbe1
CHANGED_FILL = "rgb(255, 241, 194)"  # models.css: #fff1c2


def shape(page: Page, canvas: str, element_id: str) -> Locator:
    return page.locator(f'#{canvas} .djs-element[data-element-id="{element_id}"]')


def test_the_coordinator_sees_a_version_and_what_the_next_one_changed(
    nrm_server: LiveServer, staff_tab: StaffTab
) -> None:
    runtime = nrm_server.runtime
    workspace = open_workspace(nrm_server.db, KEY)
    changes = {PATH: edited().encode("utf-8")}
    editor = Editor(
        nrm_server.db, "demo.coordinator", runtime.hooks, runtime.clock, MAX_BUNDLE_BYTES
    )
    deploy_edit(editor, KEY, changes, EditBase(workspace.version, None))
    page = staff_tab.page
    problems = watch(page)
    staff_tab.sign_in("demo.coordinator")
    page.get_by_role("link", name="Process models").click()
    section = page.locator("section", has=page.locator(f"h2#model-{KEY}"))
    section.get_by_role("link", name="Version 2").click()
    diagram = page.locator(".model-diagram")
    expect(diagram).to_have_attribute("data-ready", "true")
    expect(
        page.locator('.model-diagram .djs-element[data-element-id="check_interpretation"]')
    ).to_be_visible()

    page.get_by_role("button", name="Show the changes").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("version 1 against version 2")
    for canvas in ("diff-old-canvas", "diff-new-canvas"):
        expect(page.locator(f"#{canvas}")).to_have_attribute("data-ready", "true")
    added = shape(page, "diff-new-canvas", "check_interpretation")
    expect(added).to_have_class("djs-element djs-shape nrm-added")
    expect(added.locator(".djs-visual > rect").first).to_have_css("fill", ADDED_FILL)
    for canvas in ("diff-old-canvas", "diff-new-canvas"):
        changed = shape(page, canvas, "rg_target_missed")
        expect(changed).to_have_class("djs-element djs-shape nrm-changed")
        expect(changed.locator(".djs-visual > circle").first).to_have_css("fill", CHANGED_FILL)
    expect(shape(page, "diff-old-canvas", "check_interpretation")).to_have_count(0)
    row = page.locator('tr[data-element="rg_target_missed"]')
    expect(row).to_contain_text("timer")
    assert violations(page) == [], violations(page)  # the strict policy holds on these pages
    assert problems == [], problems
