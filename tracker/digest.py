"""The figures of marketing's weekly digest, for the week that ends at a given moment.

- *Rising and falling blocks*: each block's read rate this week against its read rate over the
  BASELINE_WEEKS before, among blocks with at least MIN_SESSIONS sessions in both windows (a
  rate over three sessions moves by a third with one reader: that is noise, not news); the
  SHOWN biggest changes each way, each with its sessions so a reader can weigh it.
- *Blocks about to expire*: the stale page's "expiring" section (tracker/stale.py).
- *Deals won*: deals whose outcome is 'won' with a close date in the week, each with the blocks
  its prospect read (a section read in a session of a document made on or before the close,
  as block influence counts documents: tracker/influence.py).
- The week's content gaps are grouped by meaning with the embedding model, which lives on the
  server's side: `api.digest` adds them.

Nothing here writes; `claim_week` is the one write, and it is what keeps two workers (or a
worker and the command) from mailing the same week twice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from tracker.influence import made_by, section_read
from tracker.models import (
    Block,
    BlockVersion,
    DealOutcome,
    DigestRun,
    Document,
    DocumentSection,
    Prospect,
)
from tracker.reports import BlockEngagement, EngagementFilter, block_engagement
from tracker.stale import StaleBlock, stale_content

WEEK: Final = dt.timedelta(days=7)
BASELINE_WEEKS: Final = 4
MIN_SESSIONS: Final = 5
SHOWN: Final = 5


@dataclass(frozen=True)
class Trend:
    """A block's read rate this week and over the weeks before."""

    block_id: str
    slot: str
    read_rate: float
    sessions: int
    before_read_rate: float
    before_sessions: int

    @property
    def change(self) -> float:
        return self.read_rate - self.before_read_rate


@dataclass(frozen=True)
class WonDeal:
    company: str
    closed_on: dt.date
    amount_cents: int | None
    currency: str | None
    blocks_read: tuple[str, ...]  # block ids, sorted


@dataclass(frozen=True)
class DigestFigures:
    since: dt.datetime  # the week: since (inclusive) to until (exclusive), UTC
    until: dt.datetime
    rising: tuple[Trend, ...]  # biggest rise first
    falling: tuple[Trend, ...]  # biggest fall first
    expiring: tuple[StaleBlock, ...]  # soonest first
    won: tuple[WonDeal, ...]  # latest close first


async def digest_figures(
    session: AsyncSession, library_id: int, until: dt.datetime
) -> DigestFigures:
    """The digest's figures for the week before `until` (aware), over library `library_id`."""
    since = until - WEEK
    rising, falling = await _trends(session, library_id, since, until)
    stale = await stale_content(session, library_id, until.date(), until)
    return DigestFigures(
        since=since,
        until=until,
        rising=rising,
        falling=falling,
        expiring=stale.expiring,
        won=await _won_deals(session, library_id, since.date(), until.date()),
    )


async def _trends(
    session: AsyncSession, library_id: int, since: dt.datetime, until: dt.datetime
) -> tuple[tuple[Trend, ...], tuple[Trend, ...]]:
    week = await _engagement(session, library_id, since, until)
    before = await _engagement(session, library_id, since - BASELINE_WEEKS * WEEK, since)
    trends = [
        Trend(key, now.slot, now.read_rate, now.sessions, was.read_rate, was.sessions)
        for key, now in week.items()
        if (was := before.get(key)) is not None
        and min(now.sessions, was.sessions) >= MIN_SESSIONS
        and now.read_rate != was.read_rate
    ]
    trends.sort(key=lambda t: (-t.change, t.block_id))
    rising = tuple(t for t in trends if t.change > 0)[:SHOWN]
    falling = tuple(t for t in reversed(trends) if t.change < 0)[:SHOWN]
    return rising, falling


async def _engagement(
    session: AsyncSession, library_id: int, since: dt.datetime, until: dt.datetime
) -> dict[str, BlockEngagement]:
    filters = EngagementFilter(library_id=library_id, since=since, until=until)
    return {row.block_id: row for row in await block_engagement(session, filters)}


async def _won_deals(
    session: AsyncSession, library_id: int, first: dt.date, end: dt.date
) -> tuple[WonDeal, ...]:
    """Deals won with a close date in [first, end), each with the blocks its prospect read."""
    deals = await session.execute(
        select(
            DealOutcome.prospect_id,
            Prospect.company,
            DealOutcome.closed_on,
            DealOutcome.amount_cents,
            DealOutcome.currency,
        )
        .join(Prospect, Prospect.id == DealOutcome.prospect_id)
        .where(
            DealOutcome.outcome == "won",
            DealOutcome.closed_on >= first,
            DealOutcome.closed_on < end,
        )
        .order_by(DealOutcome.closed_on.desc(), Prospect.company)
    )
    found = list(deals)
    reads = await session.execute(
        select(Document.prospect_id, Document.created_at, Block.key)
        .select_from(DocumentSection)
        .join(Document, Document.id == DocumentSection.document_id)
        .join(BlockVersion, BlockVersion.id == DocumentSection.block_version_id)
        .join(Block, Block.id == BlockVersion.block_id)
        .where(
            Document.library_id == library_id,
            Document.prospect_id.in_([deal.prospect_id for deal in found]),
            section_read(),
        )
    )
    closes = {deal.prospect_id: deal.closed_on for deal in found}
    read: dict[int, set[str]] = {}
    for prospect_id, created_at, key in reads:
        if made_by(created_at, closes[prospect_id]):
            read.setdefault(prospect_id, set()).add(key)
    return tuple(
        WonDeal(
            company=deal.company,
            closed_on=deal.closed_on,
            amount_cents=deal.amount_cents,
            currency=deal.currency,
            blocks_read=tuple(sorted(read.get(deal.prospect_id, ()))),
        )
        for deal in found
    )


def week_of(moment: dt.datetime) -> dt.date:
    """The Monday (UTC) of the week `moment` falls in: a week's digest is sent once."""
    day = moment.astimezone(dt.UTC).date()
    return day - dt.timedelta(days=day.weekday())


async def claim_week(session: AsyncSession, week: dt.date, now: dt.datetime) -> bool:
    """Record that the digest of `week` is being sent, committing; False when it already was
    (by another worker, or by the command). Whoever claims it sends it."""
    session.add(DigestRun(week=week, sent_at=now))
    try:
        await session.commit()
    except IntegrityError:
        await session.rollback()
        return False
    return True


async def release_week(session: AsyncSession, week: dt.date) -> None:
    """Give a claimed week back after its mail could not be sent, so a later pass retries."""
    await session.execute(delete(DigestRun).where(DigestRun.week == week))
    await session.commit()
