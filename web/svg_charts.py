"""Tiny horizontal bar charts drawn on the server as SVG: no chart library, no script.

A chart is an enhancement beside its table, which holds the same figures:
the SVG is one image to assistive technology (``role="img"`` with a
``<title>`` and an ``aria-label`` that name it), and a bar that is not shown
(a suppressed count) is drawn as its text only, never as a length that
would give the number away.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

BAR_HEIGHT = 22
GAP = 6
LABEL_WIDTH = 260
BAR_WIDTH = 300
VALUE_WIDTH = 110
MAX_LABEL = 42


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None  # None: not shown, no bar drawn
    text: str  # the value as the table shows it


def bar_chart(title: str, bars: Sequence[Bar], chart_id: str) -> Markup:
    """An accessible SVG of ``bars``, scaled to the largest shown value."""
    largest = max((bar.value for bar in bars if bar.value is not None), default=0.0)
    height = max(1, len(bars)) * (BAR_HEIGHT + GAP) + GAP
    width = LABEL_WIDTH + BAR_WIDTH + VALUE_WIDTH
    title_id = f"{chart_id}-title"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="bar-chart" role="img" '
        f'id="{escape(chart_id)}" aria-labelledby="{escape(title_id)}" '
        f'aria-label="{escape(title)}" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}">',
        f'<title id="{escape(title_id)}">{escape(title)}</title>',
    ]
    for index, bar in enumerate(bars):
        y = GAP + index * (BAR_HEIGHT + GAP)
        middle = y + BAR_HEIGHT / 2
        parts.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{middle}" text-anchor="end" '
            f'dominant-baseline="middle" class="bar-label">{escape(_short(bar.label))}</text>'
        )
        length = 0.0
        if bar.value is not None and largest > 0:
            length = max(1.0, BAR_WIDTH * bar.value / largest) if bar.value > 0 else 0.0
            parts.append(
                f'<rect x="{LABEL_WIDTH}" y="{y}" width="{length:.1f}" '
                f'height="{BAR_HEIGHT}" class="bar"/>'
            )
        parts.append(
            f'<text x="{LABEL_WIDTH + length + 6:.1f}" y="{middle}" dominant-baseline="middle" '
            f'class="bar-value">{escape(bar.text)}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def _short(label: str) -> str:
    """Long labels are cut in the chart; the table beside it has them whole."""
    return label if len(label) <= MAX_LABEL else label[: MAX_LABEL - 1] + "…"
