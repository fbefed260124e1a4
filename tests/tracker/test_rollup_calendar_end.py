"""Report windows at the end of the calendar, on both backends: a window starting in December
9999 has no whole month after it (January 10000 cannot be named), so it takes no month from
the roll-ups and counts only the visits inside it, which are none."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.tracker import test_reports
from tracker.funnel import slot_funnel
from tracker.reports import EngagementFilter, block_engagement
from tracker.rollup import roll_up, split

pytestmark = pytest.mark.asyncio

NOW = dt.datetime(2024, 6, 1, tzinfo=dt.UTC)  # every visit of the world is rolled up by then
LAST_MONTH = dt.date(9999, 12, 1)
INSIDE_LAST_MONTH = [
    dt.datetime(9999, 12, 15, tzinfo=dt.UTC),
    dt.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=dt.UTC),
]


@pytest.mark.parametrize("since", INSIDE_LAST_MONTH)
async def test_a_window_from_inside_the_last_month_has_no_whole_month(session, since) -> None:
    cut = await split(session, since, None)
    assert (cut.first, cut.end) == (LAST_MONTH, LAST_MONTH)  # none whole, as for March 2-31


async def test_a_window_from_the_last_months_start_has_that_whole_month(session) -> None:
    cut = await split(session, dt.datetime(9999, 12, 1, tzinfo=dt.UTC), None)
    assert (cut.first, cut.end) == (LAST_MONTH, None)


@pytest.mark.parametrize("since", INSIDE_LAST_MONTH)
async def test_reports_from_inside_the_last_month_count_no_rolled_up_session(
    session, since
) -> None:
    world = await test_reports.build(session)
    assert await roll_up(session, NOW) > 0
    window = EngagementFilter(world.library, since=since)
    rows = await block_engagement(session, window)
    await session.commit()  # the next report reads a fresh snapshot
    assert rows and all(row.sessions == 0 for row in rows)
    funnel = await slot_funnel(session, ("opening", "value", "proof"), window)
    assert funnel.sessions == 0
