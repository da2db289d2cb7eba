"""Render a BPMN file with the vendored bpmn-js viewer and read back what it drew.

The page loads the very files under ``web/static/vendor/bpmn-js`` that the web
app serves, so a diagram that passes here is one a person will see drawn.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, ConsoleMessage, Error

VENDOR = Path(__file__).resolve().parents[2] / "web" / "static" / "vendor" / "bpmn-js"
VIEWER_SCRIPT = VENDOR / "bpmn-navigated-viewer.production.min.js"
STYLESHEETS = (
    VENDOR / "assets" / "diagram-js.css",
    VENDOR / "assets" / "bpmn-js.css",
    VENDOR / "assets" / "bpmn-font" / "css" / "bpmn.css",
)
CANVAS_WIDTH, CANVAS_HEIGHT = 2000, 1200
EMPTY_PAGE = f"<div id='canvas' style='width:{CANVAS_WIDTH}px;height:{CANVAS_HEIGHT}px'></div>"

# Runs in the page. Every element says on which plane it is drawn: a collapsed
# sub-process has a plane of its own, which a person opens by drilling down.
IMPORT_AND_READ = """
async (xml) => {
  const viewer = new BpmnJS({container: '#canvas'});
  let result;
  try {
    result = await viewer.importXML(xml);
  } catch (error) {
    return {
      error: String(error && error.message || error),
      warnings: ((error && error.warnings) || []).map(w => w.message),
      shapes: [],
    };
  }
  const canvas = viewer.get('canvas');
  const rootOf = (element) => {
    while (element.parent) element = element.parent;
    return element;
  };
  const registry = viewer.get('elementRegistry');
  const viewbox = canvas.viewbox();
  const origin = document.getElementById('canvas').getBoundingClientRect();
  // Where the text really is, in diagram coordinates: the DI bounds of a label are
  // only a hint (bpmn-js centres and wraps the text itself), and a message flow
  // draws its message's name with no label element at all.
  const textBox = (element) => {
    const texts = [...registry.getGraphics(element).querySelectorAll('.djs-visual text')]
      .filter(text => text.textContent.trim());
    if (!texts.length) return null;
    const rects = texts.map(text => text.getBoundingClientRect());
    const left = Math.min(...rects.map(r => r.left));
    const top = Math.min(...rects.map(r => r.top));
    const right = Math.max(...rects.map(r => r.right));
    const bottom = Math.max(...rects.map(r => r.bottom));
    return [
      viewbox.x + (left - origin.left) / viewbox.scale,
      viewbox.y + (top - origin.top) / viewbox.scale,
      (right - left) / viewbox.scale,
      (bottom - top) / viewbox.scale,
    ];
  };
  const shapes = registry.getAll()
    .filter(element => element.parent)
    .map(element => ({
      id: element.id,
      type: element.type,
      x: element.x ?? null,
      y: element.y ?? null,
      width: element.width ?? null,
      height: element.height ?? null,
      waypoints: element.waypoints ? element.waypoints.map(p => [p.x, p.y]) : null,
      plane: rootOf(element).id,
      parent: element.parent.id,
      label_target: element.labelTarget ? element.labelTarget.id : null,
      text: textBox(element),
    }));
  window.viewer = viewer;
  return {error: null, warnings: result.warnings.map(w => w.message), shapes};
}
"""

# Runs in the page: size the canvas to the whole diagram at 100 %, for a picture
# a person can read (fitting a wide diagram into the window makes its text tiny).
SHOW_ACTUAL_SIZE = """
(margin) => {
  const canvas = window.viewer.get('canvas');
  const inner = canvas.viewbox().inner;
  const width = Math.ceil(inner.width + 2 * margin), height = Math.ceil(inner.height + 2 * margin);
  const container = document.getElementById('canvas');
  container.style.width = `${width}px`;
  container.style.height = `${height}px`;
  canvas.resized();
  canvas.viewbox({x: inner.x - margin, y: inner.y - margin, width, height});
}
"""
SCREENSHOT_MARGIN = 20


@dataclass(frozen=True)
class Box:
    """An axis-aligned rectangle in diagram coordinates."""

    x: float
    y: float
    width: float
    height: float

    def overlaps(self, other: Box) -> bool:
        """Whether the two share any area: boxes that only touch do not overlap."""
        return (
            self.x < other.x + other.width
            and other.x < self.x + self.width
            and self.y < other.y + other.height
            and other.y < self.y + self.height
        )

    def contains(self, other: Box) -> bool:
        return (
            self.x <= other.x
            and self.y <= other.y
            and other.x + other.width <= self.x + self.width
            and other.y + other.height <= self.y + self.height
        )

    def __str__(self) -> str:
        return f"({self.x:g},{self.y:g} {self.width:g}x{self.height:g})"


@dataclass(frozen=True)
class Shape:
    """One element as the viewer drew it: a shape has a box, a connection waypoints."""

    id: str
    type: str
    plane: str
    parent: str
    box: Box | None
    waypoints: tuple[tuple[float, float], ...] | None
    label_target: str | None
    text: Box | None


@dataclass
class Rendering:
    """What importing one file into the viewer gave: the failure, if any, and the drawing."""

    error: str | None
    warnings: list[str]
    shapes: dict[str, Shape]
    browser_errors: list[str] = field(default_factory=list)


# What the tests are handed: a file in, its (cached) rendering out.
RenderDiagram = Callable[[Path], Rendering]


def render_diagram(browser: Browser, xml: str, screenshot: Path | None = None) -> Rendering:
    """Import ``xml`` into a fresh page; optionally keep a picture of the whole diagram."""
    page = browser.new_page(viewport={"width": CANVAS_WIDTH, "height": CANVAS_HEIGHT})
    browser_errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            browser_errors.append(f"console: {message.text}")

    def on_page_error(error: Error) -> None:
        browser_errors.append(f"page: {error.message}")

    page.on("console", on_console)
    page.on("pageerror", on_page_error)
    try:
        page.set_content(EMPTY_PAGE)
        for stylesheet in STYLESHEETS:
            page.add_style_tag(path=stylesheet)
        page.add_script_tag(path=VIEWER_SCRIPT)
        raw: dict[str, Any] = page.evaluate(IMPORT_AND_READ, xml)
        if screenshot is not None and raw["error"] is None:
            page.evaluate(SHOW_ACTUAL_SIZE, SCREENSHOT_MARGIN)
            page.locator("#canvas").screenshot(path=screenshot)
    finally:
        page.close()
    shapes = {item["id"]: _shape(item) for item in raw["shapes"]}
    return Rendering(raw["error"], raw["warnings"], shapes, browser_errors)


def _shape(item: dict[str, Any]) -> Shape:
    waypoints = item["waypoints"]
    has_box = waypoints is None and item["width"] is not None
    return Shape(
        id=item["id"],
        type=item["type"],
        plane=item["plane"],
        parent=item["parent"],
        box=Box(item["x"], item["y"], item["width"], item["height"]) if has_box else None,
        waypoints=tuple((x, y) for x, y in waypoints) if waypoints is not None else None,
        label_target=item["label_target"],
        text=Box(*item["text"]) if item["text"] is not None else None,
    )
