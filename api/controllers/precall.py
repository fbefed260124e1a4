"""The pre-call page of a document: what the prospect read, skipped and came back to, and when
(in the user's time zone), for the signed-in user who may see the document."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Controller, MediaType, Request, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath

from api.clock import LocalTime
from api.controllers.rep_documents import user_document
from api.runtime import Runtime
from api.web_auth import render_page
from tracker.precall import PreCall, precall
from tracker.users import UserInfo

# The timeline's drawing, in SVG user units (the SVG scales to the page's width).
WIDTH = 640
LEFT = 8
RIGHT = 8
ROW = 22
BAR = 14
TOP = 6
AXIS = 28  # room under the bars for the axis and its labels
MIN_BAR = 3


def duration(ms: int) -> str:
    """'1 min 05 s', '42 s', '0 s' (whole seconds, rounded down)."""
    seconds = max(ms, 0) // 1000
    minutes, seconds = divmod(seconds, 60)
    if minutes:
        return f"{minutes} min {seconds:02d} s"
    return f"{seconds} s"


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    label: str


@dataclass(frozen=True)
class Timeline:
    width: int
    height: int
    bar_height: int
    axis_y: int
    bars: tuple[Bar, ...]
    start_label: str
    end_label: str


def timeline(report: PreCall, local: LocalTime) -> Timeline | None:
    """A bar per listed visit on one time axis from the first start to the last end, its
    labels in the reader's zone (`local`) and numbered among all the document's visits."""
    visits = report.visits
    earlier = report.visit_count - len(visits)
    if not visits:
        return None
    first = min(v.started for v in visits)
    last = max(v.ended for v in visits)
    span = max((last - first).total_seconds(), 1.0)
    usable = WIDTH - LEFT - RIGHT
    bars = []
    for row, visit in enumerate(visits):
        x = LEFT + usable * (visit.started - first).total_seconds() / span
        width = max(usable * (visit.ended - visit.started).total_seconds() / span, MIN_BAR)
        x = min(x, LEFT + usable - width)
        label = (
            f"Visit {earlier + row + 1}: {local(visit.started)}, "
            f"{duration(visit.dwell_ms)} reading, "
            f"{visit.sections_seen} section{'s' if visit.sections_seen != 1 else ''} seen"
        )
        bars.append(Bar(x=round(x, 1), y=TOP + row * ROW, width=round(width, 1), label=label))
    axis_y = TOP + len(visits) * ROW
    return Timeline(
        width=WIDTH,
        height=axis_y + AXIS,
        bar_height=BAR,
        axis_y=axis_y,
        bars=tuple(bars),
        start_label=local(first),
        end_label=local(last),
    )


class PreCallController(Controller):
    path = "/documents/{document_id:str}/before-the-call"
    include_in_schema = False

    @get("/", media_type=MediaType.HTML)
    async def show(
        self,
        document_id: FromPath[str],
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        user: NamedDependency[UserInfo],
    ) -> Response[str]:
        async with runtime.session() as session:
            document = await user_document(session, document_id, user)
            report = await precall(session, document_id)
        return render_page(
            request,
            "precall.html",
            user=user,
            document=document,
            report=report,
            timeline=timeline(report, LocalTime(user.time_zone)),
            duration=duration,
        )
