"""Roll-ups on both backends: every marketing figure is the same whether the visits are read
raw, all rolled up, or some of each, for every filter; the hand-worked values themselves are
asserted over the raw rows in test_reports.py and test_funnel.py, on the same worlds."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter

import pytest
from alembic import command
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Connection, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tests.tracker import test_funnel, test_reports
from tracker.database import alembic_config
from tracker.funnel import slot_funnel
from tracker.models import (
    Block,
    BlockVersion,
    Document,
    DocumentSection,
    RollupBlockDwell,
    RollupBlockUsage,
    RollupState,
    SectionTime,
    ShareLink,
    Visit,
)
from tracker.reports import DIMENSIONS, EngagementFilter, block_breakdown, block_engagement
from tracker.rollup import (
    FINISHED_AFTER,
    dwell_bucket,
    merged_median,
    roll_up,
    roll_up_batch,
    roll_up_sections_batch,
    split,
)
from tracker.rollup import weighted_median as median

NOW = dt.datetime(2024, 6, 1, tzinfo=dt.UTC)
MARCH = dt.datetime(2024, 3, 1, tzinfo=dt.UTC)
APRIL = dt.datetime(2024, 4, 1, tzinfo=dt.UTC)


def report_filters(library: int) -> list[EngagementFilter]:
    """Every kind of filter, with windows that are all raw (inside March), all rolled up (the
    whole month) and mixed (a partial month at an edge)."""
    march = test_reports.march
    return [
        EngagementFilter(),
        EngagementFilter(library),
        EngagementFilter(library, slot="value"),
        EngagementFilter(library, industry="logistics"),
        EngagementFilter(library, stage="evaluation", persona="finance"),
        EngagementFilter(library, since=march(5), until=march(12)),
        EngagementFilter(library, since=MARCH, until=APRIL),
        EngagementFilter(library, since=march(2)),
        EngagementFilter(library, until=march(11)),
        EngagementFilter(library, since=dt.datetime(2024, 2, 20, tzinfo=dt.UTC), until=APRIL),
    ]


async def everything(
    session: AsyncSession, library: int, blocks: tuple[str, ...] = ("open-why", "val-fuel")
) -> list[object]:
    """Every report this module checks, as comparable values."""
    found: list[object] = []
    for filters in report_filters(library):
        found.append(await block_engagement(session, filters))
        for by in DIMENSIONS:
            for block in blocks:
                found.append(await block_breakdown(session, block, by, filters))
        found.append(await slot_funnel(session, ("opening", "value", "proof"), filters))
    await session.commit()  # the next call reads a fresh snapshot
    return found


@pytest.mark.asyncio
async def test_reports_agree_raw_rolled_up_and_half_rolled_up(session) -> None:
    world = await test_reports.build(session)
    raw = await everything(session, world.library)

    assert await roll_up_batch(session, NOW, limit=2) == 2
    await session.commit()
    assert await everything(session, world.library) == raw

    assert await roll_up(session, NOW) == 3
    assert await session.scalar(select(RollupState.visit_id)) == max(
        await session.scalars(select(Visit.id))
    )
    assert await everything(session, world.library) == raw
    assert await roll_up(session, NOW) == 0  # nothing counts twice
    assert await everything(session, world.library) == raw


async def made_at(session: AsyncSession, moment: dt.datetime) -> None:
    """Date every document to `moment` (the worlds' documents are made 'now')."""
    await session.execute(update(Document).values(created_at=moment))
    await session.commit()


@pytest.mark.asyncio
async def test_document_sections_roll_up_in_batches_and_agree(session) -> None:
    world = await test_reports.build(session)
    await made_at(session, MARCH)
    raw = await everything(session, world.library)
    sections = list(await session.scalars(select(DocumentSection.id).order_by(DocumentSection.id)))

    assert await roll_up_sections_batch(session, NOW, limit=3) == 3
    await session.commit()
    assert await session.scalar(select(RollupState.section_id)) == sections[2]
    assert await everything(session, world.library) == raw

    await roll_up(session, NOW)
    assert await session.scalar(select(RollupState.section_id)) == sections[-1]
    usage = await session.scalars(select(RollupBlockUsage.documents))
    assert sum(usage) == len(sections)  # every section counted once
    assert await everything(session, world.library) == raw
    assert await roll_up_sections_batch(session, NOW) == 0  # nothing counts twice
    assert await everything(session, world.library) == raw


@pytest.mark.asyncio
async def test_sections_of_a_recent_document_wait(session) -> None:
    world = await test_reports.build(session)
    await made_at(session, NOW - dt.timedelta(minutes=1))
    raw = await everything(session, world.library)
    assert await roll_up_sections_batch(session, NOW) == 0
    assert await session.scalar(select(RollupState.section_id)) == 0
    assert await roll_up_sections_batch(session, NOW + FINISHED_AFTER) > 0
    await session.commit()
    assert await everything(session, world.library) == raw


def _redo_block_usage(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.downgrade(config, "0010")
    command.upgrade(config, "head")


@pytest.mark.asyncio
async def test_migration_0011_counts_what_was_rolled_up_before_it(session) -> None:
    world = await test_reports.build(session)
    await made_at(session, MARCH)
    raw = await everything(session, world.library)
    assert await roll_up(session, NOW) == 5
    # Raw rows purged after the roll-up: the migration must count sessions from the roll-ups.
    await session.execute(delete(SectionTime))
    await session.execute(delete(Visit))
    await session.commit()
    rolled = await everything(session, world.library)
    usage = set(await session.execute(select(RollupBlockUsage.__table__)))

    await (await session.connection()).run_sync(_redo_block_usage)
    await session.commit()
    assert set(await session.execute(select(RollupBlockUsage.__table__))) == usage
    assert await everything(session, world.library) == rolled
    assert [r.sessions for r in raw[0]] == [r.sessions for r in rolled[0]]  # type: ignore[attr-defined]


@pytest.mark.asyncio
async def test_the_funnel_agrees_after_rolling_up(session) -> None:
    enterprise, _ = await test_funnel.build(session)
    blocks = ("b-opening", "b-value")
    raw = await everything(session, enterprise, blocks)
    assert await roll_up(session, NOW) == 7
    assert await everything(session, enterprise, blocks) == raw


@pytest.mark.asyncio
async def test_visits_still_going_wait_and_later_ones_wait_behind_them(session) -> None:
    world = await test_reports.build(session)
    raw = await everything(session, world.library)
    visits = list(await session.scalars(select(Visit.id).order_by(Visit.id)))
    # The third visit was heard from a minute ago: it and the two after it stay raw.
    await session.execute(
        update(Visit)
        .where(Visit.id == visits[2])
        .values(last_seen_at=NOW - dt.timedelta(minutes=1))
    )
    await session.commit()
    assert await roll_up(session, NOW) == 2
    assert await everything(session, world.library) == raw
    assert await roll_up(session, NOW + FINISHED_AFTER) == 3
    assert await everything(session, world.library) == raw


@pytest.mark.asyncio
async def test_a_new_visit_counts_before_it_is_rolled_up(session) -> None:
    world = await test_reports.build(session)
    await roll_up(session, NOW)
    visit = Visit(
        link_id=world.links["A"],
        created_at=test_reports.march(20),
        secret_hash=hashlib.sha256(b"new").hexdigest(),
        user_agent_kind="browser",
        last_seen_at=NOW,
    )
    session.add(visit)
    await session.flush()
    section_ids = await section_ids_of(session, world.links["A"])
    session.add(
        SectionTime(visit_id=visit.id, section_id=section_ids[0], dwell_ms=12_345, seen=True)
    )
    await session.commit()
    before = {
        r.block_id: r for r in await block_engagement(session, EngagementFilter(world.library))
    }
    await session.commit()
    assert before["open-why"].sessions == 6  # the five earlier sessions and the new one
    assert await roll_up(session, NOW + FINISHED_AFTER) == 1
    after = {
        r.block_id: r for r in await block_engagement(session, EngagementFilter(world.library))
    }
    # Counts are exact; the new dwell is rounded to 12,000 ms but is not a middle value here.
    assert after == before


@pytest.mark.asyncio
async def test_the_all_time_report_sees_a_new_block_version(session) -> None:
    world = await test_reports.build(session)
    await made_at(session, MARCH)
    await roll_up(session, NOW)
    before = await block_engagement(session, EngagementFilter(world.library))
    await session.commit()
    fuel = await session.scalar(select(Block.id).where(Block.key == "val-fuel"))
    session.add(
        BlockVersion(
            block_id=fuel,
            number=3,
            content_hash="3" * 64,
            slot="capabilities",
            title="val-fuel v3",
            body="Body.",
            status="approved",
            tags={},
            source="blocks/val-fuel.md",
        )
    )
    await session.commit()
    after = await block_engagement(session, EngagementFilter(world.library))
    await session.commit()
    changed = [(b.block_id, a.slot, b.slot) for a, b in zip(before, after, strict=True) if a != b]
    assert changed == [("val-fuel", "proof", "capabilities")]


async def section_ids_of(session: AsyncSession, link_id: int) -> list[int]:
    """The sections of a link's document, in order (a helper, not a test)."""
    from tracker.models import DocumentSection

    document = select(ShareLink.document_id).where(ShareLink.id == link_id).scalar_subquery()
    rows = await session.scalars(
        select(DocumentSection.id)
        .where(DocumentSection.document_id == document)
        .order_by(DocumentSection.position)
    )
    return list(rows)


@pytest.mark.asyncio
async def test_rows_are_few_and_dwell_is_rounded(session) -> None:
    world = await test_reports.build(session)
    await roll_up(session, NOW)
    dwells = set(await session.scalars(select(RollupBlockDwell.dwell_ms)))
    assert dwells <= {0, 500, 1000, 2000, 2500, 3000, 4000, 6000, 7000, 9000}
    assert world.library


@pytest.mark.asyncio
async def test_split_takes_only_whole_months_from_the_roll_ups(session) -> None:
    cut = await split(session, dt.datetime(2024, 2, 20, tzinfo=dt.UTC), APRIL)
    assert (cut.first, cut.end) == (dt.date(2024, 3, 1), dt.date(2024, 4, 1))
    cut = await split(session, MARCH, dt.datetime(2024, 3, 31, tzinfo=dt.UTC))
    assert (cut.first, cut.end) == (dt.date(2024, 3, 1), dt.date(2024, 3, 1))  # none whole
    cut = await split(session, None, None)
    assert (cut.first, cut.end, cut.watermark) == (None, None, 0)


def test_dwell_is_rounded_down_to_two_significant_digits() -> None:
    assert [dwell_bucket(v) for v in (0, 7, 99, 100, 999, 1_050, 12_345, 600_000, 987_654)] == [
        0,
        7,
        99,
        100,
        990,
        1_000,
        12_000,
        600_000,
        980_000,
    ]


def test_weighted_median() -> None:
    assert median({}) == 0
    assert median({5: 1}) == 5
    assert median({500: 1, 3000: 1}) == 1750
    assert median({10: 1, 600_000: 1}) == 300_005
    assert median({1: 2, 9: 1}) == 1
    assert median({1: 2, 9: 2}) == 5
    assert median({1: 1, 2: 1, 3: 1, 100: 1}) == 3  # (2 + 3 + 1) // 2: half rounds up


@given(
    st.lists(
        st.lists(st.tuples(st.integers(0, 10**7), st.integers(0, 5)), max_size=8),
        max_size=4,
    )
)
def test_the_median_of_several_histograms_is_the_median_of_their_sum(
    sources: list[list[tuple[int, int]]],
) -> None:
    """The leaderboard merges a block's rolled-up histograms with its recent sessions: the
    result must not depend on how the sessions were split between them."""
    total: Counter[int] = Counter()
    for pairs in sources:
        for value, count in pairs:
            total[value] += count
    as_stored = [[[v, c] for v, c in sorted(pairs)] for pairs in sources]
    assert merged_median(as_stored) == median(total)
    values = sorted(total.elements())
    if values:
        middle = (values[(len(values) - 1) // 2] + values[len(values) // 2] + 1) // 2
        assert median(total) == middle
