"""Markup in a diagram's names and documentation stays text in every page that shows them.

A coordinator who can edit a diagram must not be able to run script in a colleague's
browser. The NRM library is deployed again with an identification process whose pool,
task, start event and flow names and whose task instructions carry script and an
image with an ``onerror``; Chromium then opens the pages that draw or quote them: the
task page (title and markdown instructions), the case history's diagram and the
monitoring diagram. (Lane names must be names from the role catalogue, so deploy
already refuses markup there.)
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from engine.bundle import read_bundle
from engine.config import load_settings
from engine.deploy import deploy_bundle
from tests.browser.conftest import StaffTab
from tests.browser.live_server import MAX_BUNDLE_BYTES, LiveServer
from tests.workflows import nrm_answers as answers
from tests.workflows.nrm_driver import NRM_BUNDLE, START
from workflows.hooks import build_hooks

IMAGE = '<img src=x onerror="window.__xss=1">'
SCRIPT = "<script>window.__xss=1</script>"
PROCESS = "nrm_identification"


def _attribute(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


# (what the library says, what the hostile copy says instead), in nrm_identification.bpmn
REWRITES = [
    (
        'participant" name="Identification and consent"',
        f'participant" name="Pool {_attribute(IMAGE)}"',
    ),
    ('name="Screen for indicators of trafficking"', f'name="Screen {_attribute(IMAGE)}"'),
    ('name="Possible victim met"', f'name="Met {_attribute(SCRIPT)}"'),
    (
        'name="Yes" sourceRef="presumed_child_gateway"',
        f'name="Yes {_attribute(IMAGE)}" sourceRef="presumed_child_gateway"',
    ),
    (
        "<bpmn:documentation>## Screen for indicators of trafficking",
        "<bpmn:documentation>## Screen for indicators of trafficking\n\n"
        f"{_attribute(SCRIPT)} {_attribute(IMAGE)} [a link](javascript:window.__xss=1)",
    ),
]


@pytest.fixture
def hostile_server(nrm_server: LiveServer, tmp_path: Path) -> LiveServer:
    """The live server with the hostile identification process deployed as its new version."""
    bundle = tmp_path / "nrm"
    shutil.copytree(NRM_BUNDLE, bundle)
    diagram = bundle / f"{PROCESS}.bpmn"
    text = diagram.read_text("utf-8")
    for old, new in REWRITES:
        assert text.count(old) == 1, old
        text = text.replace(old, new)
    diagram.write_text(text, "utf-8")
    hooks = build_hooks(load_settings({}))
    deployed = deploy_bundle(
        nrm_server.db, read_bundle(bundle, MAX_BUNDLE_BYTES), "tester", hooks, nrm_server.clock
    )
    assert {d.key for d in deployed if d.created} >= {PROCESS}
    return nrm_server


def _assert_inert(page: Page) -> None:
    """No label became an element, no handler ran, and the markup is there as text."""
    assert page.evaluate("() => window.__xss") is None
    assert page.locator("img[src='x']").count() == 0
    scripts = page.locator("script").evaluate_all("els => els.map(e => e.textContent)")
    assert not [s for s in scripts if "__xss" in s]
    assert page.locator("a[href^='javascript:']").count() == 0


def _expect_text(page: Page, selector: str, text: str) -> None:
    expect(page.locator(selector).filter(has_text=text).first).to_be_attached()


def test_diagram_labels_and_instructions_are_text_on_every_page(
    hostile_server: LiveServer, staff_tab: StaffTab
) -> None:
    runtime = hostile_server.runtime
    case = runtime.start("nrm_case", START, "demo.police")
    screening = next(w for w in case.work_items if w.task_name == "screen_indicators")
    page = staff_tab.page

    staff_tab.sign_in("demo.police")
    page.goto(f"/work-items/{screening.id}")
    staff_tab.record()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Screen {IMAGE}")
    _expect_text(page, "main", SCRIPT)
    _assert_inert(page)
    runtime.complete(screening.id, answers.screening(), "demo.police")

    page.context.clear_cookies()  # sign in as the next person
    staff_tab.sign_in("demo.auditor")
    page.goto(f"/cases/{case.id}/history")
    section = page.locator("#history-diagram")
    expect(section).to_have_attribute("data-ready", "true")
    page.locator('#history-canvas .djs-element[data-element-id="identification"]').click()
    expect(section).to_have_attribute("data-shown-process", PROCESS)
    expect(section).to_have_attribute("data-ready", "true")
    staff_tab.record()
    for label in ("Screen <img", "Pool <img", "Yes <img", "Met <script>"):
        _expect_text(page, "#history-canvas text", label)
    _assert_inert(page)

    page.context.clear_cookies()
    staff_tab.sign_in("demo.coordinator")
    page.goto(f"/monitoring/diagram/{PROCESS}")
    expect(page.locator("#heat-canvas")).to_have_attribute("data-ready", "true")
    staff_tab.record()
    _expect_text(page, "#heat-canvas text", "Screen <img")
    _expect_text(page, "#heat-canvas text", "Met <script>")
    _assert_inert(page)
