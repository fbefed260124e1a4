"""The retention purge on both backends: it removes old raw visits only once the roll-ups hold
them, so marketing's figures with no date range or over whole months are the same before and
after, while the reports that read raw rows cover only what is kept (as documented)."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

import tracker.purge
from tests.tracker import test_reports
from tests.tracker.test_reports import march
from tracker.database import create_engine, create_sessions
from tracker.funnel import slot_funnel
from tracker.models import SectionTime, ViewEvent, Visit
from tracker.partitions import TABLES, make_months, months
from tracker.purge import Purge, Purger, purge
from tracker.reports import EngagementFilter, block_engagement, link_report
from tracker.rollup import roll_up

pytestmark = pytest.mark.asyncio

NOW = dt.datetime(2024, 6, 1, tzinfo=dt.UTC)
MONTH = dt.timedelta(days=30)
SLOTS = ("opening", "value", "proof")
# test_reports' world: its visits by start day, and their section-time rows.
VISIT_DAYS = {"a1": 1, "a2": 5, "b1": 10, "c1": 2, "c2": 12}
SECTION_ROWS = 12
MARCH = dt.date(2024, 3, 1)


async def world_with_heartbeats(session: AsyncSession) -> test_reports.World:
    """test_reports' world, each visit with two heartbeats as ingestion records them."""
    world = await test_reports.build(session)
    for visit_id in await session.scalars(select(Visit.id)):
        session.add_all(ViewEvent(visit_id=visit_id, seq=seq, dwell_ms=1000) for seq in (1, 2))
    await session.commit()
    return world


async def aggregates(session: AsyncSession, library: int) -> list[object]:
    """What marketing reads with no date range and over the whole month of March."""
    whole_march = EngagementFilter(
        library, since=march(1, 0), until=dt.datetime(2024, 4, 1, tzinfo=dt.UTC)
    )
    found: list[object] = []
    for filters in (EngagementFilter(), EngagementFilter(library), whole_march):
        found.append(await block_engagement(session, filters))
        found.append(await slot_funnel(session, SLOTS, filters))
    await session.commit()  # the next call reads a fresh snapshot
    return found


async def remaining_days(session: AsyncSession) -> list[int]:
    return sorted(moment.day for moment in await session.scalars(select(Visit.created_at)))


async def count(session: AsyncSession, model: type[SectionTime] | type[ViewEvent]) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


async def test_purge_keeps_every_aggregate_and_removes_the_raw_rows(session) -> None:
    world = await world_with_heartbeats(session)
    await roll_up(session, NOW)
    before = await aggregates(session, world.library)

    done = await purge(session, MONTH, NOW)

    assert done == Purge(visits=5, section_time=SECTION_ROWS, view_events=10, kept=0)
    assert done.rows == 5 + SECTION_ROWS + 10
    assert await remaining_days(session) == []
    assert await count(session, SectionTime) == 0
    assert await count(session, ViewEvent) == 0
    assert await aggregates(session, world.library) == before


async def test_only_rolled_up_visits_go_and_the_leaderboard_stays_exact(session) -> None:
    """Rolled up to a2 (visits go in id order: a1, a2, then b1 is still going on the 6th), so
    b1, c1 and c2 stay although they are old, and the reports add them raw to the roll-ups."""
    world = await world_with_heartbeats(session)
    assert await roll_up(session, march(6)) == 2
    before = await aggregates(session, world.library)

    done = await purge(session, MONTH, NOW)

    assert (done.visits, done.kept) == (2, 3)
    assert await remaining_days(session) == sorted(VISIT_DAYS[v] for v in ("b1", "c1", "c2"))
    assert await aggregates(session, world.library) == before


async def test_only_visits_older_than_the_period_go(session) -> None:
    await world_with_heartbeats(session)
    await roll_up(session, NOW)

    done = await purge(session, dt.timedelta(days=12), march(20))  # before March 8th, 10:00

    assert (done.visits, done.kept) == (3, 0)
    assert await remaining_days(session) == [10, 12]


async def test_a_second_purge_removes_nothing(session) -> None:
    await world_with_heartbeats(session)
    await roll_up(session, NOW)
    await purge(session, MONTH, NOW)

    assert await purge(session, MONTH, NOW) == Purge(0, 0, 0, 0)


async def test_purge_goes_batch_by_batch(session, monkeypatch: pytest.MonkeyPatch) -> None:
    world = await world_with_heartbeats(session)
    await roll_up(session, NOW)
    before = await aggregates(session, world.library)
    monkeypatch.setattr(tracker.purge, "BATCH", 2)

    done = await purge(session, MONTH, NOW)

    assert done == Purge(visits=5, section_time=SECTION_ROWS, view_events=10, kept=0)
    assert await aggregates(session, world.library) == before


async def test_raw_reports_cover_only_the_visits_kept(session) -> None:
    """The documented cost: the link report reads raw rows, and a date range whose edge month
    was purged reads that partial month raw, so both lose the purged visits."""
    world = await world_with_heartbeats(session)
    await roll_up(session, NOW)
    from_the_fifth = EngagementFilter(world.library, since=march(5, 0))
    assert (await link_report(session, world.links["A"])).sessions == 2
    assert sum(b.sessions for b in await block_engagement(session, from_the_fifth)) > 0
    await session.commit()

    await purge(session, MONTH, NOW)

    assert (await link_report(session, world.links["A"])).sessions == 0
    assert sum(b.sessions for b in await block_engagement(session, from_the_fifth)) == 0


async def test_a_period_of_no_days_is_refused(session) -> None:
    with pytest.raises(ValueError, match="positive"):
        await purge(session, dt.timedelta(0), NOW)


async def test_the_server_applies_the_retention_period_by_itself(
    migrated_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = create_engine(migrated_url)
    sessions = create_sessions(engine)
    try:
        async with sessions() as session:
            await world_with_heartbeats(session)
            await roll_up(session, NOW)
        monkeypatch.setattr(Purger, "FIRST", dt.timedelta(0))
        without_a_period, with_a_period = Purger(sessions, None), Purger(sessions, 30)

        await without_a_period.start()
        await asyncio.sleep(0.2)
        async with sessions() as session:
            assert await remaining_days(session) == sorted(VISIT_DAYS.values())
        await with_a_period.start()
        for _ in range(100):
            async with sessions() as session:
                if not await remaining_days(session):
                    break
            await asyncio.sleep(0.05)
        await with_a_period.stop()
        await without_a_period.stop()

        async with sessions() as session:
            assert await remaining_days(session) == []
    finally:
        await engine.dispose()


async def march_partitioned(session: AsyncSession) -> test_reports.World:
    """test_reports' world with March 2024 given its partitions (its rows move into them)."""
    world = await world_with_heartbeats(session)
    await (await session.connection()).run_sync(make_months, [MARCH])
    await session.commit()
    return world


async def stored_months(session: AsyncSession) -> set[dt.date]:
    connection = await session.connection()
    found = {m for table in TABLES for m in await connection.run_sync(months, table)}
    await session.commit()
    return found


@pytest.mark.postgres
async def test_a_whole_old_month_goes_by_dropping_its_partitions(
    postgres_session: AsyncSession,
) -> None:
    session = postgres_session
    world = await march_partitioned(session)
    await roll_up(session, NOW)
    before = await aggregates(session, world.library)

    done = await purge(session, MONTH, NOW)

    assert done == Purge(visits=5, section_time=SECTION_ROWS, view_events=10, kept=0)
    assert MARCH not in await stored_months(session)
    assert await aggregates(session, world.library) == before


@pytest.mark.postgres
async def test_a_month_partly_in_the_period_or_not_rolled_up_keeps_its_partitions(
    postgres_session: AsyncSession,
) -> None:
    session = postgres_session
    await march_partitioned(session)
    assert await roll_up(session, march(6)) == 2  # a1 and a2 only

    partly = await purge(session, dt.timedelta(days=12), march(20))  # the month is not over
    not_rolled = await purge(session, MONTH, NOW)  # b1, c1, c2 are not rolled up

    assert (partly.visits, not_rolled.visits, not_rolled.kept) == (2, 0, 3)
    assert MARCH in await stored_months(session)
    assert await count(session, SectionTime) > 0


@pytest.mark.postgres
async def test_a_month_whose_tables_stay_busy_goes_row_by_row(
    postgres_session: AsyncSession, postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reader holding section_time keeps the drop from its lock: the purge waits LOCK_WAIT,
    then removes the same rows batch by batch and the reader is never blocked for long."""
    session = postgres_session
    world = await march_partitioned(session)
    await roll_up(session, NOW)
    before = await aggregates(session, world.library)
    monkeypatch.setattr(tracker.purge, "LOCK_WAIT", dt.timedelta(milliseconds=200))
    reader = create_engine(postgres_url)
    try:
        async with reader.begin() as connection:
            await connection.execute(select(func.count()).select_from(SectionTime))
            done = await purge(session, MONTH, NOW)
    finally:
        await reader.dispose()

    assert done == Purge(visits=5, section_time=SECTION_ROWS, view_events=10, kept=0)
    assert MARCH in await stored_months(session)
    assert await count(session, SectionTime) == 0
    assert await aggregates(session, world.library) == before
