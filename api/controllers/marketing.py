"""Marketing's view of how blocks are read: the block leaderboard and the slot funnel, with the
same filters as `GET /api/blocks/engagement`, chosen from the library's own values.

The date range is typed as days in the user's time zone: `since` is the start of its day and
`until` the end of its day (inclusive), both turned into UTC moments for the reports.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any
from urllib.parse import urlencode

from litestar import Controller, MediaType, Request, Response, get
from litestar.di import NamedDependency
from litestar.params import FromQuery

from api import fields
from api.auth import Action
from api.charts.bars import LabelledValue, bar_chart, percent
from api.clock import zone
from api.controllers.blocks import engagement_filter
from api.controllers.documents import selector_of
from api.controllers.precall import duration
from api.errors import bad_field
from api.runtime import Runtime
from api.web_auth import permit_user, render_page
from engine import InputError, Library
from tracker.funnel import slot_funnel
from tracker.influence import influence_by_block
from tracker.reports import PROFILE_FACETS, BlockEngagement, EngagementFilter, block_engagement
from tracker.users import UserInfo

PAGE_SIZE = 100  # a library may hold thousands of blocks: a page shows the best hundred
MAX_PAGE = 1_000_000
_PAGE = re.compile(r"[0-9]{1,7}")  # ASCII digits only, and few enough for MAX_PAGE
# Column -> how the leaderboard sorts by it: figures best first, names alphabetically.
SORTS: dict[str, tuple[Callable[[BlockEngagement], Any], bool]] = {
    "block_id": (lambda row: row.block_id, False),
    "slot": (lambda row: row.slot, False),
    "documents": (lambda row: row.documents, True),
    "sessions": (lambda row: row.sessions, True),
    "seen_rate": (lambda row: row.seen_rate, True),
    "median_dwell_ms": (lambda row: row.median_dwell_ms, True),
    "read_rate": (lambda row: row.read_rate, True),
}
DEFAULT_SORT = "read_rate"


@dataclass(frozen=True)
class FilterForm:
    """The filter form's fields as typed (empty: any), shown back in the form and kept in the
    leaderboard's sorting and paging links."""

    slot: str = ""
    industry: str = ""
    persona: str = ""
    stage: str = ""
    since: str = ""
    until: str = ""

    def query(self, **extra: str) -> str:
        """The query string of these filters (and `extra`), without the empty ones."""
        values = {**asdict(self), **extra}
        return urlencode({k: v for k, v in values.items() if v})


def read_filters(
    runtime: Runtime, library: Library, user: UserInfo, form: FilterForm
) -> EngagementFilter:
    """The report filter the form asks for; 400 naming the field for a value the library does
    not offer or a day that is not one."""
    facets = library.facet_values()
    chosen = {
        facet: _offered(facet, getattr(form, facet), facets.get(facet, []))
        for facet in PROFILE_FACETS
    }
    local = zone(user.time_zone)
    since = fields.day_start("since", form.since, local, 0)
    until = fields.day_start("until", form.until, local, 1)  # the end of the day: inclusive
    return engagement_filter(
        runtime,
        _offered("slot", form.slot, [s.id for s in library.slots]),
        chosen["industry"],
        chosen["persona"],
        chosen["stage"],
        since,
        until,
    )


def _offered(field: str, value: str, offered: Sequence[str]) -> str | None:
    value = value.strip()
    if not value:
        return None
    if value.lower() not in {v.lower() for v in offered}:
        raise bad_field(field, f"{value[:80]!r} is not one of the library's values")
    return value


def check_sort(sort: str) -> None:
    """400 naming `sort` for a column the leaderboard does not sort by."""
    if sort not in SORTS:
        raise bad_field("sort", f"{sort[:40]!r} is not one of {', '.join(SORTS)}")


def sorted_rows(rows: list[BlockEngagement], sort: str) -> list[BlockEngagement]:
    """The rows by the column `sort` (one of SORTS), ties by block id."""
    key, best_first = SORTS[sort]
    by_id = sorted(rows, key=lambda row: row.block_id)
    return sorted(by_id, key=key, reverse=best_first)


def page_number(value: str) -> int:
    """The leaderboard page asked for; 400 naming `page` unless ASCII digits from 1 to
    MAX_PAGE. Not str.isdigit, which also takes '²' (that int() then refuses) and the digits
    of other scripts."""
    if not _PAGE.fullmatch(value) or not 1 <= int(value) <= MAX_PAGE:
        raise bad_field("page", f"{value[:20]!r} is not a page number")
    return int(value)


class MarketingController(Controller):
    path = "/marketing"
    include_in_schema = False

    @get("/blocks", media_type=MediaType.HTML)
    async def leaderboard(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        user: NamedDependency[UserInfo],
        slot: FromQuery[str] = "",
        industry: FromQuery[str] = "",
        persona: FromQuery[str] = "",
        stage: FromQuery[str] = "",
        since: FromQuery[str] = "",
        until: FromQuery[str] = "",
        sort: FromQuery[str] = DEFAULT_SORT,
        page: FromQuery[str] = "1",
    ) -> Response[str]:
        """Every block of the active library with its figures, a page at a time."""
        permit_user(user, Action.READ_ENGAGEMENT)
        library = selector_of(runtime).indexed.library
        form = FilterForm(slot, industry, persona, stage, since, until)
        template = "leaderboard.html"
        try:
            filters = read_filters(runtime, library, user, form)
            number = page_number(page)
            check_sort(sort)
        except InputError as exc:
            # The form's hidden sort is the default again, so sending it once more works.
            kept = sort if sort in SORTS else DEFAULT_SORT
            return _page(request, user, library, template, form, exc, sort=kept, rows=[])
        async with runtime.session() as session:
            rows = sorted_rows(await block_engagement(session, filters), sort)
            influence = (
                await influence_by_block(session, filters.library_id)
                if filters.library_id is not None
                else {}
            )
        start = (number - 1) * PAGE_SIZE
        return _page(
            request,
            user,
            library,
            template,
            form,
            None,
            sort=sort,
            sorts=SORTS,
            rows=rows[start : start + PAGE_SIZE],
            titles=library.titles,
            influence=influence,
            total=len(rows),
            page=number,
            pages=max(1, -(-len(rows) // PAGE_SIZE)),
        )

    @get("/funnel", media_type=MediaType.HTML)
    async def funnel(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        user: NamedDependency[UserInfo],
        industry: FromQuery[str] = "",
        persona: FromQuery[str] = "",
        stage: FromQuery[str] = "",
        since: FromQuery[str] = "",
        until: FromQuery[str] = "",
    ) -> Response[str]:
        """The share of sessions that reached each slot, in message-map order."""
        permit_user(user, Action.READ_ENGAGEMENT)
        library = selector_of(runtime).indexed.library
        form = FilterForm("", industry, persona, stage, since, until)
        try:
            filters = read_filters(runtime, library, user, form)
        except InputError as exc:
            return _page(request, user, library, "funnel.html", form, exc)
        async with runtime.session() as session:
            funnel = await slot_funnel(session, [s.id for s in library.slots], filters)
        titles = {s.id: s.title for s in library.slots}
        chart = bar_chart(
            [
                LabelledValue(f"{n}. {titles[step.slot]} ({step.slot})", step.share)
                for n, step in enumerate(funnel.steps, start=1)
            ],
            chart_id="funnel-chart",
            title=f"Share of {funnel.sessions} sessions that reached each slot, in order; "
            "the table below gives the numbers.",
        )
        return _page(
            request,
            user,
            library,
            "funnel.html",
            form,
            None,
            funnel=funnel,
            chart=chart,
            titles=titles,
        )


def _page(
    request: Request[Any, Any, Any],
    user: UserInfo,
    library: Library,
    template: str,
    form: FilterForm,
    error: InputError | None,
    **context: Any,
) -> Response[str]:
    """A marketing page with its filter form; with `error`, a 400 that says which field."""
    message = "; ".join(f"{p.field}: {p.message}" for p in error.problems) if error else ""
    return render_page(
        request,
        template,
        user=user,
        library=library,
        form=form,
        facets=_facet_choices(library.facet_values()),
        slots=library.slots,
        message=message,
        percent=percent,
        duration=duration,
        status_code=400 if error else 200,
        **context,
    )


def _facet_choices(values: Mapping[str, list[str]]) -> dict[str, list[str]]:
    """The report's facets, each with the values the library's blocks name."""
    return {facet: values.get(facet, []) for facet in PROFILE_FACETS}
