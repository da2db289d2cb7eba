"""The coordinator sees median task durations drawn on a process diagram in Chromium.

Twelve invented cases (``statistics_seed``) are worked through on the live
server's database: each is screened after 1 to 9 hours and given consent at
once, so ``obtain_consent`` has a median under an hour, ``screen_indicators``
one between an hour and a day, and the age assessment and the anonymous
notification, never reached, too few completions to show. The coordinator
opens the identification diagram and reads the colours off the SVG the
vendored bpmn-js viewer drew. A failure leaves a picture of the page in
``tmp_path`` (see ``staff_tab``).
"""

from __future__ import annotations

from playwright.sync_api import ConsoleMessage, Locator, Page, expect

from tests.browser.conftest import StaffTab
from tests.browser.live_server import LiveServer
from tests.workflows.statistics_seed import seed

PROCESS = "nrm_identification"
# each task's fill, from the durations the seeding chose and monitoring.css's colours
COLOURED = {
    "obtain_consent": ("heat-0", "rgb(232, 241, 250)"),  # under 1 hour
    "screen_indicators": ("heat-1", "rgb(185, 215, 238)"),  # 1 hour to 1 day
}
TOO_FEW = ("assess_age", "anonymous_notification")
VIEWER_WHITE = "rgb(255, 255, 255)"


def shape(page: Page, element_id: str) -> Locator:
    return page.locator(f'#heat-canvas .djs-element[data-element-id="{element_id}"]')


def fill(page: Page, element_id: str) -> Locator:
    return shape(page, element_id).locator(".djs-visual > rect").first


def badge(page: Page, element_id: str) -> Locator:
    return page.locator(f'#heat-canvas [data-container-id="{element_id}"] .heat-badge')


def table_median(page: Page, element_id: str) -> str:
    return page.locator(f'tr[data-task="{element_id}"] td').inner_text().strip()


def test_the_coordinator_sees_median_durations_on_the_diagram(
    nrm_server: LiveServer, staff_tab: StaffTab
) -> None:
    seed(nrm_server.db, nrm_server.clock)
    page = staff_tab.page
    staff_tab.sign_in("demo.coordinator")

    problems: list[str] = []

    def note(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            url = message.location.get("url", "")
            problems.append(f"{message.type}: {message.text} ({url})")

    page.on("console", note)
    page.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
    page.goto(f"/monitoring/diagram/{PROCESS}")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Median task durations: Identification"
    )
    canvas = page.locator("#heat-canvas")
    expect(canvas).to_have_attribute("data-ready", "true")
    expect(canvas).to_be_visible()
    staff_tab.record()

    for element_id, (level, colour) in COLOURED.items():
        expect(shape(page, element_id)).to_have_class(f"djs-element djs-shape {level}")
        expect(fill(page, element_id)).to_have_css("fill", colour)
        expect(badge(page, element_id)).to_have_text(table_median(page, element_id))
    expect(badge(page, "obtain_consent")).to_have_text("0 minutes")

    # a median over fewer than 5 completions is not coloured, only outlined
    for element_id in TOO_FEW:
        expect(shape(page, element_id)).to_have_class("djs-element djs-shape heat-none")
        expect(fill(page, element_id)).to_have_css("fill", VIEWER_WHITE)
        expect(fill(page, element_id)).to_have_css("stroke-dasharray", "4px, 3px")
        expect(badge(page, element_id)).to_have_text("fewer than 5")

    # only the process's user tasks are marked: no gateway, event or script task
    marked = page.locator("#heat-canvas .djs-element[class*='heat-']")
    expect(marked).to_have_count(len(COLOURED) + len(TOO_FEW))

    legend = page.locator("ul.heat-legend li")
    expect(legend).to_have_text(
        [
            "under 1 hour",
            "1 hour to 1 day",
            "1 to 3 days",
            "3 to 7 days",
            "7 days or more",
            "fewer than 5 completed tasks: not shown",
        ]
    )
    expect(legend.locator(".heat-swatch.heat-1")).to_have_css(
        "background-color", COLOURED["screen_indicators"][1]
    )
    expect(legend.locator(".heat-swatch.heat-none")).to_have_css("border-style", "dashed")

    assert problems == [], problems
