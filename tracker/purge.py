"""Retention: removing raw visits older than the retention period once the roll-ups hold them.

Only visits already in the roll-ups (`rollup_state.visit_id`, see tracker/rollup.py) are
removed, with their section-time rows and heartbeats: an old visit the roll-up has not taken
yet stays until it has, so nothing a report counts is lost. What each report then sees:
- marketing's block figures and the slot funnel over no date range, or over whole UTC months,
  read the roll-ups and stay exact: they take raw rows only for visits after the mark;
- a date range whose edge month was partly purged reads that partial month from the raw rows,
  and so undercounts it;
- the link and document reports, the pre-call page, a block's weekly figures and stale
  content's rarely-seen test read the raw rows, so they cover the retention period only. A
  link whose earlier visits are gone announces its next visit as a first visit;
- block influence and the digest's deals read each section's rolled-up seen and read counts
  besides the raw rows, so they stay exact.

"Older than" goes by a visit's start. On PostgreSQL a month wholly older than that whose visits
are all rolled up loses its partitions of the raw event tables (tracker/partitions.py) with one
DROP each; everything else goes in batches of visits. Each batch and each drop is its own
transaction, so a purge of millions of rows never holds a lock for long, and one stopped halfway
is simply run again. A drop waits at most `LOCK_WAIT` for the readers and writers of its table
(it needs the table to itself for a moment); past that the month's rows go batch by batch.
With a retention setting the server purges once a day (`Purger`); `pitchmap purge` does it at
once.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Final

from sqlalchemy import delete, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from tracker.database import affected_rows
from tracker.models import RollupState, SectionTime, ViewEvent, Visit
from tracker.months import month_start, next_month
from tracker.partitions import TABLES, months, partition_name
from tracker.periodic import Periodic

_log = logging.getLogger(__name__)
LOCK_WAIT: Final = dt.timedelta(seconds=5)
_LOCK_NOT_AVAILABLE: Final = "55P03"  # PostgreSQL's lock_not_available
BATCH: Final = 1000  # visits per transaction; also the size of each statement's IN list
MAX_DAYS: Final = 36_500  # a retention period longer than a century is a typo


@dataclass(frozen=True)
class Purge:
    """What a purge removed, and the old visits it kept because they are not rolled up yet."""

    visits: int
    section_time: int
    view_events: int
    kept: int

    @property
    def rows(self) -> int:
        return self.visits + self.section_time + self.view_events


async def purge(session: AsyncSession, older_than: dt.timedelta, now: dt.datetime) -> Purge:
    """Remove the rolled-up visits started before `now - older_than`, committing each batch."""
    if older_than <= dt.timedelta(0):
        raise ValueError(f"older_than must be positive, not {older_than}")
    before = now - older_than
    # The mark only moves forward, so every visit up to the one read here stays rolled up.
    mark = int(await session.scalar(select(RollupState.visit_id)) or 0)
    section_time, view_events = await _drop_whole_months(session, before, mark)
    old = Visit.created_at < before
    visits = 0
    after = 0
    while batch := (
        await session.execute(
            select(Visit.id, Visit.month)
            .where(Visit.id > after, Visit.id <= mark, old)
            .order_by(Visit.id)
            .limit(BATCH)
        )
    ).all():
        ids = [visit_id for visit_id, _ in batch]
        # With their months, PostgreSQL looks in those months' partitions alone.
        months = sorted({month for _, month in batch})
        section_time += affected_rows(
            await session.execute(
                delete(SectionTime).where(
                    SectionTime.visit_id.in_(ids), SectionTime.month.in_(months)
                )
            )
        )
        view_events += affected_rows(
            await session.execute(
                delete(ViewEvent).where(ViewEvent.visit_id.in_(ids), ViewEvent.month.in_(months))
            )
        )
        visits += affected_rows(await session.execute(delete(Visit).where(Visit.id.in_(ids))))
        await session.commit()
        after = ids[-1]
    kept = await session.scalar(select(func.count()).select_from(Visit).where(Visit.id > mark, old))
    return Purge(visits, section_time, view_events, int(kept or 0))


async def _drop_whole_months(
    session: AsyncSession, before: dt.datetime, mark: int
) -> tuple[int, int]:
    """Drop the partitions of the months that end by `before` and hold only rolled-up visits;
    returns the section-time and heartbeat rows they held. Nothing on SQLite."""
    if session.get_bind().dialect.name != "postgresql":
        return 0, 0
    dropped = dict.fromkeys(TABLES, 0)
    connection = await session.connection()
    stored = sorted(set().union(*[await connection.run_sync(months, t) for t in TABLES]))
    await session.commit()
    for month in stored:
        if month_start(next_month(month)) > before:
            break
        try:
            rows = await _drop_month(session, month, mark)
        except DBAPIError as error:
            await session.rollback()
            if getattr(error.orig, "sqlstate", None) != _LOCK_NOT_AVAILABLE:
                raise
            _log.warning("retention: the tables stayed busy; month %s goes row by row", month)
            break
        for table, count in rows.items():
            dropped[table] += count
    return dropped["section_time"], dropped["view_events"]


async def _drop_month(session: AsyncSession, month: dt.date, mark: int) -> dict[str, int]:
    """Drop one month's partitions in one transaction if all their visits are rolled up; each
    is locked before it is counted, so no row can arrive between the count and the drop."""
    await session.execute(text(f"SET LOCAL lock_timeout = '{LOCK_WAIT.total_seconds():g}s'"))
    counts: dict[str, int] = {}
    for table in TABLES:
        name = partition_name(table, month)
        if not await session.scalar(text("SELECT to_regclass(:name) IS NOT NULL"), {"name": name}):
            continue
        await session.execute(text(f"LOCK TABLE {name} IN ACCESS EXCLUSIVE MODE"))
        found = await session.execute(
            text(f"SELECT count(*), coalesce(max(visit_id), 0) FROM {name}")
        )
        rows, last_visit = found.one()
        if last_visit > mark:
            await session.rollback()
            return {}
        counts[table] = rows
    for table in counts:
        await session.execute(text(f"DROP TABLE {partition_name(table, month)}"))
    await session.commit()
    _log.info("retention: dropped the partitions of %s", month)
    return counts


class Purger(Periodic):
    """Applies the retention period once a day, as the roll-up's `Roller` does every minute;
    without a period it does nothing. The first pass comes a few minutes after the start, so a
    server restarted every night still purges."""

    FIRST: Final = dt.timedelta(minutes=5)
    INTERVAL: Final = dt.timedelta(days=1)

    def __init__(self, sessions: async_sessionmaker[AsyncSession], days: int | None) -> None:
        super().__init__("purge", self.FIRST, self.INTERVAL)
        self._sessions = sessions
        self._days = days

    async def start(self) -> None:
        if self._days is not None:
            await super().start()

    async def run_once(self) -> None:
        if self._days is None:
            return
        async with self._sessions() as session:
            done = await purge(session, dt.timedelta(days=self._days), dt.datetime.now(dt.UTC))
        _log.info("retention: removed %d rows of visits over %d days old", done.rows, self._days)
