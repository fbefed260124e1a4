"""The raw event tables by month: on PostgreSQL each row sits in its visit's month partition
(or the default one until its month is made), and migration 0012 carries a filled database
there and back without losing a row; on SQLite the month is an ordinary column."""

from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from alembic import command
from sqlalchemy import Connection, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from tests.tracker import test_reports
from tests.tracker.test_purge import world_with_heartbeats
from tests.tracker.test_rollup import everything
from tracker.database import alembic_config, create_engine
from tracker.models import SectionTime, ViewEvent, Visit
from tracker.months import month_of
from tracker.partitions import Partitioner, coming_months, make_months, months

pytestmark = pytest.mark.asyncio

MARCH = dt.date(2024, 3, 1)
_ROWS = {
    "section_time": "SELECT visit_id, section_id, month, dwell_ms, seen FROM section_time",
    "view_events": "SELECT visit_id, seq, month, received_at, dwell_ms FROM view_events",
}


async def rows(session: AsyncSession, table: str) -> set[tuple[object, ...]]:
    return {tuple(row) for row in await session.execute(text(_ROWS[table]))}


async def where(session: AsyncSession, table: str) -> set[str]:
    """The tables (partitions) holding `table`'s rows."""
    found = await session.scalars(
        text(f"SELECT DISTINCT CAST(tableoid::regclass AS text) FROM {table}")
    )
    return set(found)


def postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


async def test_every_row_carries_its_visit_month(session) -> None:
    await world_with_heartbeats(session)
    visits = list(await session.scalars(select(Visit)))
    assert [v.month for v in visits] == [month_of(v.created_at) for v in visits]
    started = {v.id: v.month for v in visits}
    for model in (SectionTime, ViewEvent):
        stored = list(await session.execute(select(model.visit_id, model.month)))
        assert stored and all(month == started[visit] for visit, month in stored)


@pytest.mark.postgres
async def test_rows_of_a_month_without_partition_wait_in_the_default_one(
    postgres_session: AsyncSession,
) -> None:
    session = postgres_session
    world = await world_with_heartbeats(session)
    assert await where(session, "section_time") == {"section_time_default"}
    before = {table: await rows(session, table) for table in _ROWS}
    reports = await everything(session, world.library)

    connection = await session.connection()
    assert await connection.run_sync(make_months, [MARCH]) == [MARCH]
    await session.commit()

    assert await where(session, "section_time") == {"section_time_p202403"}
    assert await where(session, "view_events") == {"view_events_p202403"}
    assert {table: await rows(session, table) for table in _ROWS} == before
    assert await everything(session, world.library) == reports


@pytest.mark.postgres
async def test_a_visit_of_this_month_lands_in_this_month_partition(
    postgres_session: AsyncSession,
) -> None:
    session = postgres_session
    world = await test_reports.build(session)
    visit = Visit(link_id=world.links["A"], secret_hash="0" * 64, user_agent_kind="browser")
    session.add(visit)
    await session.flush()
    session.add(ViewEvent(visit_id=visit.id, seq=99, dwell_ms=10))
    await session.commit()
    now = dt.datetime.now(dt.UTC)
    found = await session.scalar(
        text("SELECT CAST(tableoid::regclass AS text) FROM view_events WHERE seq = 99")
    )
    assert found == f"view_events_p{now:%Y%m}"


@pytest.mark.postgres
async def test_workers_making_the_same_months_at_once_take_turns(postgres_url: str) -> None:
    wanted = [dt.date(2030, month, 1) for month in range(1, 13)]
    engines = [create_engine(postgres_url) for _ in range(4)]

    async def make(engine_index: int) -> list[dt.date]:
        async with engines[engine_index].begin() as connection:
            return await connection.run_sync(make_months, wanted)

    try:
        made = await asyncio.gather(*(make(i) for i in range(len(engines))))
        assert sorted(made, key=len) == [[], [], [], wanted]  # one made them, the rest waited
        async with engines[0].connect() as connection:
            for table in ("section_time", "view_events"):
                assert set(wanted) <= set(await connection.run_sync(months, table))
    finally:
        for engine in engines:
            await engine.dispose()


@pytest.mark.postgres
async def test_the_partitioner_keeps_the_coming_months_ready(postgres_url: str) -> None:
    engine = create_engine(postgres_url)
    try:
        async with engine.begin() as connection:
            for month in coming_months(dt.datetime.now(dt.UTC))[1:]:
                await connection.execute(text(f"DROP TABLE section_time_p{month:%Y%m}"))
        await Partitioner(engine).run_once()
        async with engine.connect() as connection:
            kept = await connection.run_sync(months, "section_time")
        assert set(coming_months(dt.datetime.now(dt.UTC))) <= set(kept)
    finally:
        await engine.dispose()


def _back_and_forth(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.downgrade(config, revision)


def _to_head(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


async def test_migration_0012_keeps_every_row_both_ways(session) -> None:
    world = await world_with_heartbeats(session)
    reports = await everything(session, world.library)
    before = {table: await rows(session, table) for table in _ROWS}
    without_month = {table: {row[:2] + row[3:] for row in found} for table, found in before.items()}

    await (await session.connection()).run_sync(_back_and_forth, "0011")
    await session.commit()
    for table, query in _ROWS.items():
        found = await session.execute(text(query.replace(" month,", "")))
        assert {tuple(row) for row in found} == without_month[table]

    await (await session.connection()).run_sync(_to_head)
    await session.commit()
    assert {table: await rows(session, table) for table in _ROWS} == before
    assert await everything(session, world.library) == reports
    if postgres(session):  # the migration made a partition for the month that has visits
        assert await where(session, "section_time") == {"section_time_p202403"}
