"""One block as marketing looks into it: every version it has had, the documents that used it,
and how it was read week by week (seen, read and median dwell).

Weeks are ISO weeks of the reader's calendar (Monday 00:00 in their zone, so a week across a
daylight-saving change is 167 or 169 hours long). Their figures are counted in SQL with one
GROUP BY per query on both backends: a session is a visit of a document that used the block,
*seen*, *read* and the median dwell mean what they mean in tracker.reports. Nothing here writes.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Subquery, and_, case, distinct, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from tracker.models import (
    Block,
    BlockVersion,
    Document,
    DocumentSection,
    Prospect,
    SectionTime,
    ShareLink,
    Visit,
    visit_of_section_time,
)
from tracker.reports import read_flag, seen_flag
from tracker.rollup import weighted_median

USES_SHOWN = 100  # the most recent documents listed; the breakdown counts them all


@dataclass(frozen=True)
class Week:
    label: str  # "2026-W48"
    start: dt.datetime  # UTC, inclusive
    end: dt.datetime  # UTC, exclusive


@dataclass(frozen=True)
class WeekFigures:
    week: Week
    sessions: int
    seen: int  # sessions in which the block was seen
    read: int  # sessions in which its dwell reached the section's reading time
    median_dwell_ms: int = 0  # over the sessions in which it was seen (as tracker.reports)

    @property
    def seen_rate(self) -> float:
        return self.seen / self.sessions if self.sessions else 0.0

    @property
    def read_rate(self) -> float:
        return self.read / self.sessions if self.sessions else 0.0


@dataclass(frozen=True)
class BlockUse:
    """A document that used the block, and how often it was opened."""

    document_id: str
    title: str
    company: str
    created_at: dt.datetime
    version: int  # the block's version number in that document
    visits: int


def recent_weeks(now: dt.datetime, zone: dt.tzinfo, count: int) -> tuple[Week, ...]:
    """The `count` ISO weeks up to and including the one `now` falls in, oldest first, as the
    calendar in `zone` has them."""
    today = now.astimezone(zone).date()
    monday = today - dt.timedelta(days=today.weekday())
    weeks = []
    for back in range(count - 1, -1, -1):
        first = monday - dt.timedelta(weeks=back)
        year, number, _ = first.isocalendar()
        weeks.append(
            Week(
                label=f"{year}-W{number:02d}",
                start=_midnight(first, zone),
                end=_midnight(first + dt.timedelta(weeks=1), zone),
            )
        )
    return tuple(weeks)


async def find_block(session: AsyncSession, library_id: int, key: str) -> Block | None:
    """The library's block `key` with every version (oldest first), or None."""
    block: Block | None = await session.scalar(
        select(Block)
        .where(Block.library_id == library_id, Block.key == key)
        .options(selectinload(Block.versions))
    )
    return block if block is not None and block.versions else None


async def block_uses(session: AsyncSession, block_id: int) -> list[BlockUse]:
    """The documents that used any version of the block, newest first (at most USES_SHOWN)."""
    used = (
        select(
            DocumentSection.document_id.label("document_id"),
            func.max(BlockVersion.number).label("version"),
        )
        .join(BlockVersion, BlockVersion.id == DocumentSection.block_version_id)
        .where(BlockVersion.block_id == block_id)
        .group_by(DocumentSection.document_id)
        .subquery()
    )
    visits = (
        select(ShareLink.document_id.label("document_id"), func.count(Visit.id).label("visits"))
        .join(Visit, Visit.link_id == ShareLink.id)
        .where(ShareLink.document_id.in_(select(used.c.document_id)))
        .group_by(ShareLink.document_id)
        .subquery()
    )
    rows = await session.execute(
        select(
            Document.id,
            Document.title,
            Prospect.company,
            Document.created_at,
            used.c.version,
            func.coalesce(visits.c.visits, 0),
        )
        .join(used, used.c.document_id == Document.id)
        .join(Prospect, Prospect.id == Document.prospect_id)
        .outerjoin(visits, visits.c.document_id == Document.id)
        .order_by(Document.created_at.desc(), Document.id)
        .limit(USES_SHOWN)
    )
    return [
        BlockUse(document_id, title, company, created_at, int(version), int(count))
        for document_id, title, company, created_at, version, count in rows
    ]


async def weekly_engagement(
    session: AsyncSession, block_id: int, weeks: tuple[Week, ...]
) -> list[WeekFigures]:
    """Per week (every week of `weeks`, also those without sessions): the sessions of the
    documents using the block that started in it, and in how many the block was seen and read."""
    if not weeks:
        return []
    week = _week_of(weeks)
    in_window = and_(Visit.created_at >= weeks[0].start, Visit.created_at < weeks[-1].end)
    using = (
        select(DocumentSection.document_id)
        .join(BlockVersion, BlockVersion.id == DocumentSection.block_version_id)
        .where(BlockVersion.block_id == block_id)
    )
    started = (
        select(week.label("week"), Visit.id.label("visit_id"))
        .join(ShareLink, ShareLink.id == Visit.link_id)
        .where(ShareLink.document_id.in_(using), in_window)
        .subquery()
    )
    counts = await session.execute(select(started.c.week, func.count()).group_by(started.c.week))
    sessions: dict[int, int] = {index: int(count) for index, count in counts}
    shown = (
        select(
            week.label("week"),
            SectionTime.visit_id.label("visit_id"),
            seen_flag().label("seen"),
            read_flag().label("read"),
            SectionTime.dwell_ms.label("dwell_ms"),
        )
        .join(DocumentSection, DocumentSection.id == SectionTime.section_id)
        .join(BlockVersion, BlockVersion.id == DocumentSection.block_version_id)
        .join(Visit, visit_of_section_time())
        .join(
            ShareLink,
            and_(
                ShareLink.id == Visit.link_id, ShareLink.document_id == DocumentSection.document_id
            ),
        )
        .where(BlockVersion.block_id == block_id, in_window)
        .subquery()
    )
    # A session may show the block in two sections of its document: count the session once.
    counted = await session.execute(
        select(
            shown.c.week,
            func.count(distinct(case((shown.c.seen == 1, shown.c.visit_id)))),
            func.count(distinct(case((shown.c.read == 1, shown.c.visit_id)))),
        ).group_by(shown.c.week)
    )
    seen_read = {index: (int(seen), int(read)) for index, seen, read in counted}
    dwell = await _dwell_per_week(session, shown)
    return [
        WeekFigures(
            w,
            sessions.get(i, 0),
            *seen_read.get(i, (0, 0)),
            median_dwell_ms=weighted_median(dwell.get(i, {})),
        )
        for i, w in enumerate(weeks)
    ]


async def _dwell_per_week(session: AsyncSession, shown: Subquery) -> dict[int, Counter[int]]:
    """Per week, how many sessions that saw the block had each total dwell on it (summed over
    the block's sections in the document, as the block reports fold a session)."""
    per_session = (
        select(shown.c.week, func.sum(shown.c.dwell_ms))
        .group_by(shown.c.week, shown.c.visit_id)
        .having(func.max(shown.c.seen) == 1)
    )
    dwell: dict[int, Counter[int]] = defaultdict(Counter)
    for index, total in await session.execute(per_session):
        dwell[index][int(total or 0)] += 1
    return dwell


def _week_of(weeks: tuple[Week, ...]) -> ColumnElement[int]:
    """The index in `weeks` of the week a visit started in (the caller bounds the window)."""
    return case(*((Visit.created_at < w.end, i) for i, w in enumerate(weeks)), else_=len(weeks))


def _midnight(day: dt.date, zone: dt.tzinfo) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), zone).astimezone(dt.UTC)
