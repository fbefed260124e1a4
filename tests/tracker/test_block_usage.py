"""One block's uses and its week-by-week engagement over real rows on both backends, with every
figure worked out by hand, and ISO weeks as the user's calendar has them.

    block `fuel` v1 in d1 (section 1, reading 2000) and v2 in d2 (sections 0 and 1, reading
    2000 each: a session that shows both still counts once); `other` only in d3.
    Visits (UTC start; per section: dwell ms, * = seen):
        w1  2026-03-02 (Mon) 09:00  d1: fuel 2500*          -> seen, read
        w1  2026-03-04       12:00  d1: fuel  500*          -> seen
        w1  2026-03-05       08:00  d1: (nothing)           -> session only
        w2  2026-03-10       10:00  d2: s0 3000*, s1 100*   -> seen, read (once)
        w2  2026-03-11       10:00  d3: other 9000*         -> not fuel's
        w0  2026-02-23       10:00  d1: fuel 9000*          -> before the weeks asked about
"""

from __future__ import annotations

import datetime as dt
import hashlib
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from tracker.block_usage import block_uses, find_block, recent_weeks, weekly_engagement
from tracker.models import (
    Block,
    BlockVersion,
    Document,
    DocumentSection,
    Library,
    Prospect,
    SectionTime,
    ShareLink,
    Visit,
)

BERLIN = ZoneInfo("Europe/Berlin")


def at(day: int, hour: int, month: int = 3) -> dt.datetime:
    return dt.datetime(2026, month, day, hour, tzinfo=dt.UTC)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


async def build(session: AsyncSession) -> tuple[int, int]:
    """The world above; returns (library id, fuel's block id)."""
    library = Library(name="Weekly", root="/libraries/weekly")
    session.add(library)
    await session.flush()
    versions: dict[str, int] = {}
    blocks: dict[str, int] = {}
    for key, numbers in (("fuel", (1, 2)), ("other", (1,))):
        block = Block(library_id=library.id, key=key)
        session.add(block)
        await session.flush()
        blocks[key] = block.id
        for number in numbers:
            version = BlockVersion(
                block_id=block.id,
                number=number,
                content_hash=sha(f"{key}{number}"),
                slot="value",
                title=f"{key} v{number}",
                body="Body.",
                status="approved",
                tags={},
                source=f"blocks/{key}.md",
            )
            session.add(version)
            await session.flush()
            versions[f"{key}{number}"] = version.id
    layouts = {"d1": ("other1", "fuel1"), "d2": ("fuel2", "fuel2"), "d3": ("other1",)}
    sections: dict[str, list[int]] = {}
    links: dict[str, int] = {}
    for index, (doc_id, layout) in enumerate(layouts.items()):
        prospect = Prospect(key=f"p-{doc_id}", company=f"Company {doc_id}", profile={})
        session.add(prospect)
        await session.flush()
        rows = [
            DocumentSection(
                position=p, slot="value", block_version_id=versions[v], title=v, reading_ms=2000
            )
            for p, v in enumerate(layout)
        ]
        session.add(
            Document(
                id=doc_id,
                library_id=library.id,
                prospect_id=prospect.id,
                title=f"Pitch {doc_id}",
                as_of=dt.date(2026, 3, 1),
                created_at=at(1 + index, 8),
                sections=rows,
            )
        )
        await session.flush()
        sections[doc_id] = [row.id for row in rows]
        link = ShareLink(document_id=doc_id, token_hash=sha(doc_id))
        session.add(link)
        await session.flush()
        links[doc_id] = link.id
    plan = [
        ("d1", at(2, 9), {1: 2500}),
        ("d1", at(4, 12), {1: 500}),
        ("d1", at(5, 8), {}),
        ("d2", at(10, 10), {0: 3000, 1: 100}),
        ("d3", at(11, 10), {0: 9000}),
        ("d1", at(23, 10, month=2), {1: 9000}),
    ]
    for number, (doc_id, started, dwell) in enumerate(plan):
        visit = Visit(
            link_id=links[doc_id],
            created_at=started,
            secret_hash=sha(f"visit {number}"),
            user_agent_kind="browser",
        )
        session.add(visit)
        await session.flush()
        session.add_all(
            SectionTime(visit_id=visit.id, section_id=sections[doc_id][p], dwell_ms=ms, seen=True)
            for p, ms in dwell.items()
        )
    await session.commit()
    return library.id, blocks["fuel"]


def test_weeks_start_on_monday_midnight_where_the_user_is() -> None:
    weeks = recent_weeks(at(31, 12), BERLIN, 3)  # Tuesday 2026-03-31
    assert [w.label for w in weeks] == ["2026-W12", "2026-W13", "2026-W14"]
    # Berlin moves to summer time on Sunday 29 March: that week is an hour short.
    assert weeks[1].start == dt.datetime(2026, 3, 22, 23, tzinfo=dt.UTC)
    assert weeks[1].end == dt.datetime(2026, 3, 29, 22, tzinfo=dt.UTC)
    assert weeks[1].end == weeks[2].start
    # A moment late on Sunday in UTC is already Monday in Tokyo: the next week there.
    sunday_night = dt.datetime(2026, 3, 29, 20, tzinfo=dt.UTC)
    assert recent_weeks(sunday_night, ZoneInfo("Asia/Tokyo"), 1)[0].label == "2026-W14"
    assert recent_weeks(sunday_night, ZoneInfo("UTC"), 1)[0].label == "2026-W13"


@pytest.mark.asyncio
async def test_weekly_figures_are_counted_per_week(session: AsyncSession) -> None:
    _, fuel = await build(session)
    weeks = recent_weeks(at(11, 12), ZoneInfo("UTC"), 2)  # W10 (2-8 March), W11 (9-15)
    figures = await weekly_engagement(session, fuel, weeks)
    assert [(f.week.label, f.sessions, f.seen, f.read) for f in figures] == [
        ("2026-W10", 3, 2, 1),
        ("2026-W11", 1, 1, 1),
    ]
    assert figures[0].seen_rate == pytest.approx(2 / 3)
    assert figures[0].read_rate == pytest.approx(1 / 3)
    # The median dwell of the sessions that saw it: (2500, 500) in W10; 3000 + 100 in one
    # session of W11, its two sections folded.
    assert [f.median_dwell_ms for f in figures] == [1500, 3100]


@pytest.mark.asyncio
async def test_a_week_with_no_sessions_is_a_zero_column(session: AsyncSession) -> None:
    _, fuel = await build(session)
    weeks = recent_weeks(at(25, 12), ZoneInfo("UTC"), 2)  # W12, W13: no visits at all
    figures = await weekly_engagement(session, fuel, weeks)
    assert [(f.sessions, f.seen, f.read, f.seen_rate) for f in figures] == [(0, 0, 0, 0.0)] * 2


@pytest.mark.asyncio
async def test_uses_list_every_document_with_its_version_and_visits(
    session: AsyncSession,
) -> None:
    library, fuel = await build(session)
    block = await find_block(session, library, "fuel")
    assert block is not None and [v.number for v in block.versions] == [1, 2]
    assert await find_block(session, library, "missing") is None
    uses = await block_uses(session, fuel)
    assert [(u.document_id, u.company, u.version, u.visits) for u in uses] == [
        ("d2", "Company d2", 2, 1),
        ("d1", "Company d1", 1, 4),
    ]
