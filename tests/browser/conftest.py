"""One headless Chromium for the whole run: Debian's, driven by Playwright.

Playwright's own browser downloads are never used (this machine reaches no
download host); ``/usr/bin/chromium`` comes from the distribution. Without it
the browser tests skip, unless ``NRMFLOW_REQUIRE_BROWSER=1`` (CI) makes that a
failure, so CI can never pass without having looked at a diagram.

The staff journeys get the real app on a live server of their own and a tab
that keeps a picture of the last inbox, task and case page it showed: when a
journey fails, those pictures and one of the page it failed on are written to
the test's ``tmp_path`` and their paths are printed with the failure.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Error, Page, expect, sync_playwright

from engine.clock import FixedClock
from tests.browser.live_server import LiveServer, live_server
from tests.browser.viewer import RenderDiagram, Rendering, render_diagram
from workflows.demo import DEMO_PASSWORD

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing (apt-get install chromium)"
        if os.environ.get("NRMFLOW_REQUIRE_BROWSER") == "1":
            pytest.fail(f"{reason}, and NRMFLOW_REQUIRE_BROWSER=1 forbids skipping", pytrace=False)
        pytest.skip(reason)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def screenshot_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Pictures of every diagram that imported, named after its file, for a person to look at."""
    return tmp_path_factory.mktemp("diagram-screenshots")


@pytest.fixture(scope="session")
def render(browser: Browser, screenshot_dir: Path) -> RenderDiagram:
    """Render each file once, however many tests look at the result."""
    renderings: dict[Path, Rendering] = {}

    def render_once(path: Path) -> Rendering:
        if path not in renderings:
            screenshot = screenshot_dir / f"{path.stem}.png"
            renderings[path] = render_diagram(browser, path.read_text("utf-8"), screenshot)
        return renderings[path]

    return render_once


# ----------------------------------------------------------------- staff journeys

# The pages a failure is explained by, named after the first part of their path.
PAGE_KINDS = {"inbox": "inbox", "work-items": "task", "cases": "case", "referrals": "referral"}
SCREENSHOT_TIMEOUT_MS = 5_000


@dataclass
class StaffTab:
    """A browser tab on the live server that remembers the last page of each kind it showed.

    Pictures are taken as the test goes (a page is gone once the next one
    loads) but written out only if the test fails.
    """

    page: Page
    folder: Path
    seen: dict[str, bytes] = field(default_factory=dict)

    def record(self) -> None:
        """Keep a picture of the page now shown, if it is an inbox, task, case or referral."""
        self.page.wait_for_load_state()
        kind = PAGE_KINDS.get(urlsplit(self.page.url).path.strip("/").split("/")[0])
        if kind:
            self.seen[kind] = self.page.screenshot(full_page=True)

    def sign_in(self, username: str) -> None:
        """Through the sign-in form with the demo password, as a person would."""
        self.page.goto("/sign-in")
        self.page.get_by_label("User name").fill(username)
        self.page.get_by_label("Password").fill(DEMO_PASSWORD)
        self.page.get_by_role("button", name="Sign in").click()
        expect(self.page.get_by_role("button", name="Sign out")).to_be_visible()

    def save_pictures(self) -> list[str]:
        """Write what was recorded, and the page shown at the failure; say where they are."""
        saved = []
        for kind, picture in self.seen.items():
            path = self.folder / f"{kind}.png"
            path.write_bytes(picture)
            saved.append(str(path))
        failure = self.folder / "failure.png"
        try:
            self.page.screenshot(path=failure, full_page=True, timeout=SCREENSHOT_TIMEOUT_MS)
        except Error as error:
            saved.append(f"(no picture of the page at the failure: {error.message})")
        else:
            saved.append(str(failure))
        return saved


STAFF_TAB = pytest.StashKey[StaffTab]()


@pytest.fixture
def nrm_server(tmp_path: Path, clock: FixedClock) -> Iterator[LiveServer]:
    """The app on a SQLite file of this test's own, served until the test ends."""
    with live_server(f"sqlite:///{tmp_path / 'live.db'}", clock) as server:
        yield server


@pytest.fixture
def staff_tab(
    browser: Browser, nrm_server: LiveServer, tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[StaffTab]:
    """A fresh tab (no cookies) in English; ``page.goto("/inbox")`` goes to the live server."""
    context = browser.new_context(base_url=nrm_server.url, locale="en-GB")
    context.set_default_timeout(10_000)
    tab = StaffTab(context.new_page(), tmp_path)
    request.node.stash[STAFF_TAB] = tab
    yield tab
    context.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failed journey leaves pictures of what the person last saw, and says where."""
    report = yield
    tab = item.stash.get(STAFF_TAB, None)
    if tab is not None and report.when == "call" and report.failed:
        report.sections.append(("screenshots", "\n".join(tab.save_pictures())))
    return report
