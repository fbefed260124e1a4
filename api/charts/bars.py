"""Horizontal bars for shares between 0 and 1: one labelled bar per value, drawn as an SVG
string that a page includes as it is.

Labels come from content (slot titles, block ids), so every text is escaped here; the caller
gets `Markup` that is safe to put in a template. Each bar's label sits above it and its value
at its end, so the chart reads without colour and still fits a 375 px screen when the SVG
scales down. Fills are presentation attributes, not style attributes, which the pages'
content security policy allows.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 640
LABEL = 18  # room for a bar's label line above it
BAR = 16
GAP = 10
VALUE_ROOM = 56  # room right of the longest bar for its value
BAR_FILL = "#0e7c7b"  # the brand's teal
TRACK_FILL = "#eef1f5"  # mist: the whole 0..1 range behind each bar


@dataclass(frozen=True)
class LabelledValue:
    """One bar: what it is and its share, 0..1 (values outside are drawn clamped)."""

    label: str
    value: float


def percent(value: float) -> str:
    return f"{round(value * 100)}%"


def bar_chart(
    bars: Sequence[LabelledValue],
    *,
    chart_id: str,
    title: str,
    value_text: Callable[[float], str] = percent,
) -> Markup:
    """An `<svg class="chart">` whose <title> (id `chart_id`-title) is `title`."""
    row = LABEL + BAR + GAP
    height = max(len(bars) * row, row)
    usable = WIDTH - VALUE_ROOM
    title_id = f"{chart_id}-title"
    parts = [
        f'<svg class="chart" id="{escape(chart_id)}" viewBox="0 0 {WIDTH} {height}" '
        f'role="img" aria-labelledby="{escape(title_id)}" focusable="false">',
        f'<title id="{escape(title_id)}">{escape(title)}</title>',
    ]
    for index, bar in enumerate(bars):
        top = index * row
        share = _clamped(bar.value)
        width = round(usable * share, 1)
        bar_top = top + LABEL
        parts += [
            f'<text x="0" y="{top + LABEL - 5}">{escape(bar.label)}</text>',
            f'<rect x="0" y="{bar_top}" width="{usable}" height="{BAR}" fill="{TRACK_FILL}"/>',
            f'<rect class="bar" x="0" y="{bar_top}" width="{width}" height="{BAR}" '
            f'fill="{BAR_FILL}"><title>{escape(bar.label)}: '
            f"{escape(value_text(bar.value))}</title></rect>",
            f'<text x="{width + 6}" y="{bar_top + BAR - 3}">{escape(value_text(bar.value))}</text>',
        ]
    parts.append("</svg>")
    return Markup("\n".join(parts))


def _clamped(value: float) -> float:
    if math.isnan(value):
        return 0.0
    return min(max(value, 0.0), 1.0)
