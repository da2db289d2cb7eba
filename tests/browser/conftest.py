"""One headless Chromium for the whole run: Debian's, driven by Playwright.

Playwright's own browser downloads are never used (this machine reaches no
download host); ``/usr/bin/chromium`` comes from the distribution. Without it
the browser tests skip, unless ``NRMFLOW_REQUIRE_BROWSER=1`` (CI) makes that a
failure, so CI can never pass without having looked at a diagram.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.browser.viewer import RenderDiagram, Rendering, render_diagram

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
