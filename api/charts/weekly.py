"""Week-by-week engagement drawn on the server as an SVG column chart.

Each week is one column of its sessions, with the sessions that saw the block and those that
read it drawn over it in darker shades (read sessions are a part of the seen ones, which are a
part of all). The page shows the same numbers as a table, for screen readers and for exact
values; the chart is for the shape of the trend.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tracker.block_usage import WeekFigures

# In SVG user units; the SVG scales to the page's width.
WIDTH = 640
HEIGHT = 220
LEFT = 36  # room for the scale's labels
RIGHT = 8
TOP = 28  # room for the legend
BOTTOM = 28  # room for the week labels
GAP = 0.25  # of each column's slot, left empty between columns
BASELINE = HEIGHT - BOTTOM


@dataclass(frozen=True)
class Bar:
    kind: str  # sessions, seen or read
    y: float
    height: float


@dataclass(frozen=True)
class Column:
    x: float
    width: float
    label: str  # the week, "W48"
    label_x: float
    bars: tuple[Bar, ...]
    description: str  # what a pointer or a screen reader is told about the week


@dataclass(frozen=True)
class WeeklyChart:
    width: int
    height: int
    baseline: float
    top: float
    scale: int  # the session count the top of the chart stands for
    columns: tuple[Column, ...]


def weekly_chart(weeks: Sequence[WeekFigures]) -> WeeklyChart:
    scale = max([w.sessions for w in weeks] + [1])
    slot = (WIDTH - LEFT - RIGHT) / max(len(weeks), 1)
    width = slot * (1 - GAP)
    columns = []
    for index, figures in enumerate(weeks):
        x = LEFT + index * slot + (slot - width) / 2
        bars = tuple(
            _bar(kind, count, scale)
            for kind, count in (
                ("sessions", figures.sessions),
                ("seen", figures.seen),
                ("read", figures.read),
            )
        )
        columns.append(
            Column(
                x=round(x, 1),
                width=round(width, 1),
                label=figures.week.label.rsplit("-", 1)[1],
                label_x=round(x + width / 2, 1),
                bars=bars,
                description=describe(figures),
            )
        )
    return WeeklyChart(
        width=WIDTH,
        height=HEIGHT,
        baseline=BASELINE,
        top=TOP,
        scale=scale,
        columns=tuple(columns),
    )


def _bar(kind: str, count: int, scale: int) -> Bar:
    height = (BASELINE - TOP) * count / scale
    return Bar(kind, round(BASELINE - height, 1), round(height, 1))


def describe(figures: WeekFigures) -> str:
    """'2026-W48: 4 sessions, seen in 75%, read in 50%'."""
    sessions = f"{figures.sessions} session{'s' if figures.sessions != 1 else ''}"
    return (
        f"{figures.week.label}: {sessions}, seen in {figures.seen_rate:.0%}, "
        f"read in {figures.read_rate:.0%}"
    )
