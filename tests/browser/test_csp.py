"""The strict Content-Security-Policy holds in Chromium on the pages that run the most code.

The coordinator signs in through the form, opens a case, its history diagram
and goes down into a call activity (each diagram fetched as JSON), then the
monitoring diagram, which fetches its figures too. Every
``securitypolicyviolation`` event and every console message is collected
from the first page on: the test fails on any violation, so an inline
script or style attribute that sneaks into a template or a viewer upgrade
is caught here, with the real headers of the real app, and not by a
person's browser. (bpmn-js sets its styles through the DOM's style
properties, which the policy allows; markup with a ``style`` attribute is
what it refuses.)
"""

from __future__ import annotations

from playwright.sync_api import ConsoleMessage, Page, expect

from tests.browser.conftest import StaffTab
from tests.browser.live_server import LiveServer
from tests.browser.test_history_diagram import decided_case, element, expect_diagram
from web.security_headers import CONTENT_SECURITY_POLICY

# Runs before any script of every page: keep what the browser reports as a violation.
RECORD_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (event) => {
  window.__cspViolations.push(
    `${event.violatedDirective} blocked ${event.blockedURI || 'inline'} in ${event.sourceFile}`
  );
});
"""


def watch(page: Page) -> list[str]:
    """Console errors and warnings (Chromium reports a CSP refusal there too) and page errors."""
    problems: list[str] = []

    def note(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            problems.append(f"console {message.type}: {message.text}")

    page.on("console", note)
    page.on("pageerror", lambda error: problems.append(f"uncaught: {error}"))
    page.add_init_script(RECORD_VIOLATIONS)
    return problems


def violations(page: Page) -> list[str]:
    return page.evaluate("window.__cspViolations")  # type: ignore[no-any-return]


def test_the_diagram_pages_draw_under_the_policy_with_no_violation(
    nrm_server: LiveServer, staff_tab: StaffTab
) -> None:
    case = decided_case(nrm_server)
    page = staff_tab.page
    problems = watch(page)
    staff_tab.sign_in("demo.coordinator")  # the sign-in page, then the inbox
    page.goto(f"/cases/{case.view.id}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(case.view.business_key)

    response = page.goto(f"/cases/{case.view.id}/history")
    assert response is not None
    assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    expect_diagram(staff_tab, "nrm_case")
    expect(page.locator("#history-canvas .djs-element").first).to_be_visible()
    element(page, "identification").click()
    expect_diagram(staff_tab, "nrm_identification")
    expect(page.locator("#history-canvas .djs-element")).not_to_have_count(0)
    history_violations = violations(page)

    page.goto("/monitoring/diagram/nrm_identification")
    canvas = page.locator("#heat-canvas")
    expect(canvas).to_have_attribute("data-ready", "true")
    expect(canvas.locator('.djs-element[data-element-id="screen_indicators"]')).to_be_visible()
    staff_tab.record()

    assert history_violations == [], history_violations
    assert violations(page) == [], violations(page)
    assert problems == [], problems
