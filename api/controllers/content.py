"""Marketing's content pages: the needs no block answers, grouped into themes across prospects,
and the stale content (expired, expiring, out of date in live documents, never selected, rarely
seen). Marketing and admins only.

Themes are made by api/gap_themes.py with the selector's embedder.
"""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, MediaType, Request, Response, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from api import fields
from api.auth import Action
from api.charts.bars import LabelledValue, bar_chart, percent
from api.clock import LocalTime, zone
from api.errors import bad_field
from api.gap_themes import MAX_WORDINGS, gap_themes_of
from api.runtime import Runtime
from api.web_auth import permit_user, render_page
from engine import InputError, Library
from tracker.gaps import Window, gather_wordings
from tracker.models import utcnow
from tracker.stale import (
    EXPIRING_WITHIN,
    RARELY_SEEN_DOCUMENTS,
    RARELY_SEEN_RATE,
    stale_content,
)
from tracker.users import UserInfo

CHART_THEMES = 10  # themes drawn in the chart; the table lists them all

DayQuery = Annotated[str, QueryParameter(name="from")]
UntilQuery = Annotated[str, QueryParameter(name="to")]


def gap_window(since: str, until: str, user: UserInfo) -> Window:
    """The user's days `since`..`until` (inclusive, either may be empty) as a UTC window; 400
    naming the field for a day that is not one or a range that ends before it starts."""
    local = zone(user.time_zone)
    window = Window(
        fields.day_start("from", since, local, 0), fields.day_start("to", until, local, 1)
    )
    if window.since is not None and window.until is not None and window.until <= window.since:
        raise bad_field("to", "is before from")
    return window


class ContentController(Controller):
    path = "/marketing"
    include_in_schema = False

    @get("/gaps", media_type=MediaType.HTML)
    async def gaps(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        user: NamedDependency[UserInfo],
        since: DayQuery = "",
        until: UntilQuery = "",
    ) -> Response[str]:
        """The themes of unanswered and reported needs, biggest first."""
        permit_user(user, Action.READ_ENGAGEMENT)
        selector = runtime.workspace.selector
        library = selector.indexed.library if selector is not None else None
        form = {"from": since.strip(), "to": until.strip()}
        try:
            window = gap_window(since, until, user)
        except InputError as exc:
            message = "; ".join(f"{p.field}: {p.message}" for p in exc.problems)
            return _gaps_page(request, user, library, form, message=message, status_code=400)
        if selector is None:
            return _gaps_page(request, user, library, form, message="No library is loaded.")
        async with runtime.session() as session:
            found = await gather_wordings(
                session, runtime.library.id if runtime.library else None, window
            )
        chosen = found[:MAX_WORDINGS]
        themes = await gap_themes_of(selector.embedder, chosen)
        mentions = sum(w.mentions for w in found)
        grouped = sum(w.mentions for w in chosen)
        chart = bar_chart(
            [LabelledValue(t.wording, t.mentions / grouped) for t in themes[:CHART_THEMES]],
            chart_id="gaps-chart",
            title=f"Share of {grouped} mentions per theme, the {CHART_THEMES} biggest; "
            "the table below gives the numbers.",
        )
        return _gaps_page(
            request,
            user,
            library,
            form,
            themes=themes,
            chart=chart if themes else None,
            mentions=mentions,
            prospects=len(frozenset[int]().union(*(w.prospects for w in found))),
            left_out=mentions - grouped,
        )

    @get("/stale", media_type=MediaType.HTML)
    async def stale(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        user: NamedDependency[UserInfo],
    ) -> Response[str]:
        """The library's blocks that need attention, section by section."""
        permit_user(user, Action.READ_ENGAGEMENT)
        selector = runtime.workspace.selector
        now = utcnow()
        today = LocalTime(user.time_zone).date(now)
        content = None
        if runtime.library is not None:
            async with runtime.session() as session:
                content = await stale_content(session, runtime.library.id, today, now)
        return render_page(
            request,
            "stale.html",
            user=user,
            library=selector.indexed.library if selector is not None else None,
            content=content,
            today=today,
            percent=percent,
            expiring_days=EXPIRING_WITHIN.days,
            rarely_documents=RARELY_SEEN_DOCUMENTS,
            rarely_rate=RARELY_SEEN_RATE,
        )


def _gaps_page(
    request: Request[Any, Any, Any],
    user: UserInfo,
    library: Library | None,
    form: dict[str, str],
    *,
    message: str = "",
    status_code: int = 200,
    **context: Any,
) -> Response[str]:
    return render_page(
        request,
        "gaps.html",
        user=user,
        library=library,
        form=form,
        message=message,
        status_code=status_code,
        **context,
    )
