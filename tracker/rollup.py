"""Roll-ups of finished visits, so marketing's reports add up a few rows per month instead of
scanning every section-time row.

A visit is *finished* once nothing was heard from it for FINISHED_AFTER (well past the viewer's
120 s inactivity timeout). Visits are rolled up in id order, as far as the first one still
going: `rollup_state.visit_id` is then the last visit in the roll-ups, every visit up to it is
in them, none after it is. Moving that mark and adding the visits happen in one transaction,
and the move is conditional on the mark read before, so two workers rolling up at once cannot
count a visit twice (the loser's transaction adds nothing). Time a visit gains after it was
rolled up (a tab left open and used again half an hour later) stays in section_time, where the
pre-call page and the link reports see it, but not in the roll-ups.

The roll-ups are keyed by the UTC month of the visit's start and by the document's prospect
profile (its facets as the reports match them, stored once in `rollup_profiles`): profiles
repeat across documents, so a block's rows stay few however many documents use it.
- `rollup_document_sessions`: sessions per document (the denominator of every rate);
- `rollup_slot_reach`: sessions that saw a slot, per library and profile (the funnel);
- `rollup_block_dwell`: sessions per block and slot by seen, read and dwell, the dwell rounded
  down to two significant digits (12,345 ms counts as 12,000): medians over rolled-up sessions
  are exact to that resolution (less than 10 %, and exact for round figures), counts are exact;
- `rollup_block_totals`: the same over all months and profiles, one row per block and slot
  with its dwell histogram as JSON (sorted [dwell, sessions] pairs), for the block report
  with no date range or facet (the leaderboard as it opens, the engagement API without
  parameters: `Split.unbounded`);
- `rollup_block_usage`: for that same report, per block and slot the documents using it and
  their rolled-up sessions. Documents are counted from their sections, rolled up in id order
  like visits (`rollup_state.section_id`) once the document is FINISHED_AFTER old, so a
  section committed late with a lower id is never skipped. A document uses a block at most
  once per slot (a slot's blocks are different blocks), so counting sections counts documents.

A report over a date range takes the months wholly inside it from the roll-ups and everything
else from the raw rows: visits in the range's partial months at either end, and visits not
rolled up yet (the last minutes). `Split` says which is which; its conditions are in UTC, so
a range of days in the user's zone is still exact, only its edge months cost a raw scan.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import takewhile
from typing import Any, Final, Literal, cast

import numpy as np
from sqlalchemy import (
    ColumnElement,
    Select,
    Table,
    and_,
    bindparam,
    delete,
    false,
    func,
    insert,
    not_,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import InstrumentedAttribute

from tracker.database import affected_rows
from tracker.models import (
    Base,
    BlockVersion,
    Document,
    DocumentSection,
    RollupBlockDwell,
    RollupBlockTotal,
    RollupBlockUsage,
    RollupDocumentSessions,
    RollupProfile,
    RollupSlotReach,
    RollupState,
    SectionTime,
    ShareLink,
    Visit,
)
from tracker.months import LAST_MONTH, month_of, month_start, next_month
from tracker.periodic import Periodic

FINISHED_AFTER: Final = dt.timedelta(minutes=30)
BATCH: Final = 5000  # visits per transaction
SECTION_BATCH: Final = 50_000  # document sections per transaction
PROFILE_FACETS: Final = ("industry", "persona", "stage")


def dwell_bucket(dwell_ms: int) -> int:
    """The dwell rounded down to two significant digits: 0-99 as they are, 12,345 -> 12,000."""
    if dwell_ms < 100:
        return max(dwell_ms, 0)
    step = int(10 ** (len(str(dwell_ms)) - 2))
    return dwell_ms - dwell_ms % step


def facet_values(profile: Mapping[str, Any], name: str) -> tuple[str, ...]:
    """A profile's values for a facet as selection reads them: trimmed, lower-cased, deduped."""
    value = profile.get(name)
    if value is None:
        return ()
    values = value if isinstance(value, list) else [value]
    cleaned = (str(v).strip().lower() for v in values if v is not None)
    return tuple(dict.fromkeys(v for v in cleaned if v))


def facets(profile: Mapping[str, Any]) -> dict[str, list[str]]:
    """Every facet of a profile as the reports match them (see `facet_values`)."""
    return {name: list(facet_values(profile, name)) for name in PROFILE_FACETS}


def profile_hash(values: Mapping[str, list[str]]) -> str:
    return hashlib.sha256(json.dumps(values, sort_keys=True).encode()).hexdigest()


# ---------------------------------------------------------------------------------------------
# Reading: which visits come from the roll-ups and which from the raw rows


@dataclass(frozen=True)
class Split:
    """A report's visit window cut into whole UTC months (from the roll-ups) and the rest.

    `first`/`end`: the whole months are those from `first` (inclusive) to `end` (exclusive);
    None is unbounded. `watermark`: the last visit in the roll-ups; `section_mark`: the last
    document section.
    """

    since: dt.datetime | None
    until: dt.datetime | None
    first: dt.date | None
    end: dt.date | None
    watermark: int
    section_mark: int

    @property
    def _no_months(self) -> bool:
        return self.first is not None and self.end is not None and self.first >= self.end

    def raw(self) -> list[ColumnElement[bool]]:
        """Conditions on `Visit` for the visits a report reads from the raw rows."""
        window: list[ColumnElement[bool]] = []
        if self.since is not None:
            window.append(Visit.created_at >= self.since)
        if self.until is not None:
            window.append(Visit.created_at < self.until)
        if self._no_months:
            return window
        whole: list[ColumnElement[bool]] = []
        if self.first is not None:
            whole.append(Visit.created_at >= month_start(self.first))
        if self.end is not None:
            whole.append(Visit.created_at < month_start(self.end))
        later = Visit.id > self.watermark
        return [*window, or_(later, not_(and_(*whole))) if whole else later]

    @property
    def unbounded(self) -> bool:
        """Whether the window has no start and no end: every rolled-up month counts."""
        return self.first is None and self.end is None

    def raw_ids(self, visit_id: InstrumentedAttribute[int]) -> list[ColumnElement[bool]]:
        """`raw()`'s bound on visit ids, on another table's visit id column, when the raw
        visits are all after the mark (no partial month): it lets the database read only the
        recent rows of, say, section_time instead of all of them. Empty otherwise."""
        if self.unbounded:
            return [visit_id > self.watermark]
        return []

    def rolled(self, month: InstrumentedAttribute[dt.date]) -> list[ColumnElement[bool]]:
        """Conditions on a roll-up's month for the months a report reads from the roll-ups."""
        if self._no_months:
            return [false()]
        conditions: list[ColumnElement[bool]] = [true()]
        if self.first is not None:
            conditions.append(month >= self.first)
        if self.end is not None:
            conditions.append(month < self.end)
        return conditions


async def split(
    session: AsyncSession, since: dt.datetime | None, until: dt.datetime | None
) -> Split:
    """The split of the window [since, until) as of the roll-ups' current mark.

    Called first in a fresh session, it also makes the rest of the session's transaction read
    one snapshot (SQLite: an explicit BEGIN; PostgreSQL: REPEATABLE READ), so a roll-up that
    commits meanwhile cannot make the report see a visit both raw and rolled up.
    """
    if not session.in_transaction():
        if session.get_bind().dialect.name == "postgresql":
            await session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        else:
            await (await session.connection()).exec_driver_sql("BEGIN")
    marks = (
        await session.execute(
            select(RollupState.visit_id, RollupState.section_id).where(RollupState.id == 1)
        )
    ).first()
    watermark, section_mark = marks or (0, 0)
    first, end = _whole_months(since, until)
    return Split(since, until, first, end, watermark, section_mark)


def _whole_months(
    since: dt.datetime | None, until: dt.datetime | None
) -> tuple[dt.date | None, dt.date | None]:
    """The whole UTC months of [since, until) as `Split.first` and `Split.end`. A window
    starting inside the calendar's last month has none, even without an end: the month after
    it cannot be named, so the range is that month to itself (empty), and every visit of the
    window is read raw."""
    end = month_of(until) if until is not None else None
    if since is None:
        return None, end
    first = month_of(since)
    if month_start(first) == since:
        return first, end
    if first == LAST_MONTH:
        return first, first
    return next_month(first), end


def weighted_median(counts: Mapping[int, int]) -> int:
    """The median of values given with their counts; for an even total the mean of the middle
    two, rounded half up; 0 when there are none. In plain Python: the roll-up takes one of a
    few pairs for every block it touches, where numpy's setup cost ten times the work."""
    total = sum(counts.values())
    if not total:
        return 0
    ranks = ((total - 1) // 2, total // 2)  # 0-based ranks of the middle value(s)
    middle: list[int] = []
    passed = 0
    for value in sorted(counts):
        middle.extend(value for rank in ranks if passed <= rank < passed + counts[value])
        passed += counts[value]
        if passed > ranks[1]:
            break
    return (middle[0] + middle[-1] + 1) // 2


def pairs(counts: Mapping[int, int]) -> list[list[int]]:
    """The [value, count] pairs of a histogram, by value: how the roll-ups store one."""
    return [[value, count] for value, count in sorted(counts.items())]


def merged_median(sources: Sequence[Sequence[list[int]]]) -> int:
    """`weighted_median` of several lists of (value, count) pairs: a block's rolled-up
    histograms and its recent sessions. In numpy, because the leaderboard takes the median of
    every used block's histograms (hundreds of pairs each) on every page."""
    pairs_ = [np.asarray(p, dtype=np.int64).reshape(-1, 2) for p in sources if len(p)]
    if not pairs_:
        return 0
    merged = np.concatenate(pairs_)
    merged = merged[np.argsort(merged[:, 0], kind="stable")]
    below = np.cumsum(merged[:, 1])  # below[i]: the values ranked before pair i + 1's
    total = int(below[-1])
    if not total:
        return 0
    # The 0-based ranks of the middle value(s) fall in the first pairs whose counts pass them.
    low, high = np.searchsorted(below, [(total - 1) // 2, total // 2], side="right")
    return (int(merged[low, 0]) + int(merged[high, 0]) + 1) // 2


# ---------------------------------------------------------------------------------------------
# Writing: rolling finished visits up


@dataclass(frozen=True)
class _Visit:
    month: dt.date
    library_id: int
    profile: str


async def roll_up(session: AsyncSession, now: dt.datetime) -> int:
    """Roll up every document section and visit finished by `now`, committing a batch at a
    time; how many visits."""
    await _in_batches(session, lambda: roll_up_sections_batch(session, now), SECTION_BATCH)
    return await _in_batches(session, lambda: roll_up_batch(session, now), BATCH)


async def _in_batches(session: AsyncSession, batch: Callable[[], Awaitable[int]], size: int) -> int:
    total = 0
    while True:
        added = await batch()
        await session.commit()
        total += added
        if added < size:
            return total


class Roller(Periodic):
    """Rolls finished visits up every INTERVAL, so the reports' raw part stays the last minutes
    whatever the traffic."""

    INTERVAL: Final = dt.timedelta(minutes=1)

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        super().__init__("rollup", self.INTERVAL, self.INTERVAL)
        self._sessions = sessions

    async def run_once(self) -> None:
        async with self._sessions() as session:
            await roll_up(session, dt.datetime.now(dt.UTC))


async def _mark(session: AsyncSession, column: InstrumentedAttribute[int]) -> int:
    """The roll-ups' mark in `column` of the state row, which is created on first use."""
    mark = await session.scalar(select(column).where(RollupState.id == 1))
    if mark is None:
        await _upsert(session, RollupState, [{"id": 1}], ("id",), add=())
        return 0
    return mark


async def _move_mark(
    session: AsyncSession, column: InstrumentedAttribute[int], mark: int, last: int
) -> bool:
    """Move the mark in `column` from `mark` to `last`, unless another worker moved it since it
    was read: then the caller adds nothing (its row lock waited for the other's commit)."""
    moved = await session.execute(
        update(RollupState).where(RollupState.id == 1, column == mark).values({column.key: last})
    )
    return affected_rows(moved) == 1


async def roll_up_sections_batch(
    session: AsyncSession, now: dt.datetime, limit: int = SECTION_BATCH
) -> int:
    """Count up to `limit` sections after the mark, of documents made FINISHED_AFTER before
    `now`, in `rollup_block_usage` and move the mark past them (the caller commits); 0 when
    there is none or another worker moved the mark first."""
    mark = await _mark(session, RollupState.section_id)
    rows = await session.execute(
        select(DocumentSection.id, Document.created_at)
        .join(Document, Document.id == DocumentSection.document_id)
        .where(DocumentSection.id > mark)
        .order_by(DocumentSection.id)
        .limit(limit)
    )
    counted = list(takewhile(lambda row: row[1] <= now - FINISHED_AFTER, rows))
    if not counted:
        return 0
    last = counted[-1][0]
    if not await _move_mark(session, RollupState.section_id, mark, last):
        return 0
    used = await session.execute(
        documents_per_block([DocumentSection.id > mark, DocumentSection.id <= last])
    )
    await _add_usage(session, used, "documents")
    return len(counted)


def documents_per_block(sections: Sequence[ColumnElement[bool]]) -> Select[int, str, int]:
    """(block row id, slot, documents) over the sections the conditions admit."""
    return (
        select(BlockVersion.block_id, DocumentSection.slot, func.count(DocumentSection.id))
        .join(BlockVersion, BlockVersion.id == DocumentSection.block_version_id)
        .where(*sections)
        .group_by(BlockVersion.block_id, DocumentSection.slot)
    )


def sessions_per_block(visits: Sequence[ColumnElement[bool]]) -> Select[int, str, int]:
    """(block row id, slot, sessions) over the visits the conditions admit: a visit is a
    session of every block in its document. Meant for a range of visit ids: `+ 0` makes
    SQLite read the visits by id first rather than every section, link and visit (203 ms ->
    under 1 ms for the leaderboard at 10k blocks and 100k visits)."""
    return (
        select(BlockVersion.block_id, DocumentSection.slot, func.count(Visit.id))
        .select_from(Visit)
        .join(ShareLink, ShareLink.id == Visit.link_id + 0)
        .join(DocumentSection, DocumentSection.document_id == ShareLink.document_id)
        .join(BlockVersion, BlockVersion.id == DocumentSection.block_version_id)
        .where(*visits)
        .group_by(BlockVersion.block_id, DocumentSection.slot)
    )


async def roll_up_batch(session: AsyncSession, now: dt.datetime, limit: int = BATCH) -> int:
    """Add up to `limit` finished visits after the mark and move the mark past them, in the
    session's transaction (the caller commits); 0 when none is finished or another worker
    moved the mark first."""
    mark = await _mark(session, RollupState.visit_id)
    rows = await session.execute(
        select(
            Visit.id,
            Visit.created_at,
            Visit.last_seen_at,
            ShareLink.document_id,
            Document.library_id,
            Document.profile,
        )
        .join(ShareLink, ShareLink.id == Visit.link_id)
        .join(Document, Document.id == ShareLink.document_id)
        .where(Visit.id > mark)
        .order_by(Visit.id)
        .limit(limit)
    )
    visits: dict[int, _Visit] = {}
    documents: Counter[tuple[dt.date, str]] = Counter()
    profiles: dict[str, dict[str, list[str]]] = {}
    for visit_id, created_at, last_seen_at, document_id, library_id, profile in rows:
        if (last_seen_at or created_at) > now - FINISHED_AFTER:
            break  # still going: it and every later visit wait for the next run
        values = facets(profile or {})
        key = profile_hash(values)
        profiles[key] = values
        visits[visit_id] = _Visit(month_of(created_at), library_id, key)
        documents[month_of(created_at), document_id] += 1
    if not visits:
        return 0
    last = max(visits)
    if not await _move_mark(session, RollupState.visit_id, mark, last):
        return 0
    blocks, reach, sections = await _fold_sections(session, visits, mark, last)
    await _add_section_counts(session, sections)
    await _upsert(
        session,
        RollupProfile,
        [{"hash": k, "facets": v} for k, v in profiles.items()],
        ("hash",),
        add=(),
    )
    await _upsert(
        session,
        RollupDocumentSessions,
        [{"month": m, "document_id": d, "sessions": n} for (m, d), n in documents.items()],
        ("month", "document_id"),
    )
    await _upsert(
        session,
        RollupSlotReach,
        [
            {"month": m, "library_id": lib, "profile_hash": p, "slot": s, "sessions": n}
            for (m, lib, p, s), n in reach.items()
        ],
        ("month", "library_id", "profile_hash", "slot"),
    )
    await _upsert(
        session,
        RollupBlockDwell,
        [
            {
                "month": m,
                "block_id": b,
                "profile_hash": p,
                "slot": s,
                "seen": seen,
                "read": read,
                "dwell_ms": dwell,
                "sessions": n,
            }
            for (m, b, p, s, seen, read, dwell), n in blocks.items()
        ],
        ("month", "block_id", "profile_hash", "slot", "seen", "read", "dwell_ms"),
    )
    await _add_totals(session, blocks)
    used = await session.execute(sessions_per_block([Visit.id > mark, Visit.id <= last]))
    await _add_usage(session, used, "sessions")
    return len(visits)


async def _add_usage(
    session: AsyncSession,
    counted: Iterable[Sequence[Any]],
    column: Literal["documents", "sessions"],
) -> None:
    """Add the (block row id, slot, count) rows to `column` of `rollup_block_usage`, in key
    order (as tuples: SQLAlchemy's rows sort slowly)."""
    rows = [
        {"block_id": block_id, "slot": slot, "documents": 0, "sessions": 0, column: count}
        for block_id, slot, count in sorted(map(tuple, counted))
    ]
    await _upsert(session, RollupBlockUsage, rows, ("block_id", "slot"), add=(column,))


async def _add_totals(session: AsyncSession, blocks: Counter[_BlockKey]) -> None:
    """Add the batch's block figures to the all-time totals: each touched block's rows are read,
    merged and written back (the mark's row lock keeps other roll-ups out meanwhile)."""
    touched = {block_id for _, block_id, *_ in blocks}
    table = RollupBlockTotal
    totals: dict[tuple[int, str], tuple[int, int, Counter[int]]] = {}
    for block_id, slot, seen, read, dwell in await session.execute(
        select(table.block_id, table.slot, table.seen, table.read, table.dwell).where(
            table.block_id.in_(touched)
        )
    ):
        totals[block_id, slot] = (seen, read, Counter({value: n for value, n in dwell}))
    for (_, block_id, _, slot, seen, read, value), count in blocks.items():
        seen_n, read_n, histogram = totals.get((block_id, slot), (0, 0, Counter()))
        if seen:
            histogram[value] += count
        totals[block_id, slot] = (seen_n + seen * count, read_n + read * count, histogram)
    await session.execute(delete(table).where(table.block_id.in_(touched)))
    # Core, not ORM objects: a batch rewrites tens of thousands of rows (ORM: 5 s of 26).
    await session.execute(
        insert(table),
        [
            {
                "block_id": b,
                "slot": s,
                "seen": seen,
                "read": read,
                "dwell": pairs(h),
                "median_ms": weighted_median(h),
            }
            for (b, s), (seen, read, h) in sorted(totals.items())
        ],
    )


_BlockKey = tuple[dt.date, int, str, str, bool, bool, int]
_ReachKey = tuple[dt.date, int, str, str]


async def _fold_sections(
    session: AsyncSession, visits: Mapping[int, _Visit], after: int, last: int
) -> tuple[Counter[_BlockKey], Counter[_ReachKey], dict[int, tuple[int, int]]]:
    """The visits' section time folded per (visit, block, slot) as the reports fold it: seen
    in any of the block's sections, dwell summed, read if any section was read; and per
    section, the visits that saw and that read it."""
    rows = await session.execute(
        select(
            SectionTime.visit_id,
            SectionTime.section_id,
            BlockVersion.block_id,
            DocumentSection.slot,
            SectionTime.seen,
            SectionTime.dwell_ms,
            DocumentSection.reading_ms,
        )
        .join(DocumentSection, DocumentSection.id == SectionTime.section_id)
        .join(BlockVersion, BlockVersion.id == DocumentSection.block_version_id)
        .where(SectionTime.visit_id > after, SectionTime.visit_id <= last)
    )
    folded: dict[tuple[int, int, str], tuple[bool, int, bool]] = {}
    sections: dict[int, tuple[int, int]] = {}
    for visit_id, section_id, block_id, slot, seen, dwell, reading_ms in rows:
        was_seen, total, was_read = folded.get((visit_id, block_id, slot), (False, 0, False))
        read = dwell > 0 and dwell >= reading_ms
        folded[visit_id, block_id, slot] = (was_seen or seen, total + dwell, was_read or read)
        seen_n, read_n = sections.get(section_id, (0, 0))
        sections[section_id] = (seen_n + bool(seen), read_n + read)
    blocks: Counter[_BlockKey] = Counter()
    reached: set[tuple[int, str]] = set()
    for (visit_id, block_id, slot), (seen, dwell, read) in folded.items():
        if not (seen or read):
            continue  # a row that neither saw nor read adds nothing to any figure
        visit = visits[visit_id]
        bucket = dwell_bucket(dwell) if seen else 0
        blocks[visit.month, block_id, visit.profile, slot, seen, read, bucket] += 1
        if seen:
            reached.add((visit_id, slot))
    reach: Counter[_ReachKey] = Counter()
    for visit_id, slot in reached:
        visit = visits[visit_id]
        reach[visit.month, visit.library_id, visit.profile, slot] += 1
    return blocks, reach, sections


async def _add_section_counts(
    session: AsyncSession, sections: Mapping[int, tuple[int, int]]
) -> None:
    """Add the batch's seen and read visits to each section's rolled-up counts."""
    counted = [
        {"section": section_id, "seen": seen, "read": read}
        for section_id, (seen, read) in sections.items()
        if seen or read
    ]
    if not counted:
        return
    table = cast("Table", DocumentSection.__table__)
    await session.execute(
        update(table)
        .where(table.c.id == bindparam("section"))
        .values(
            rolled_seen=table.c.rolled_seen + bindparam("seen"),
            rolled_read=table.c.rolled_read + bindparam("read"),
        ),
        counted,
    )


async def _upsert(
    session: AsyncSession,
    model: type[Base],
    rows: Sequence[dict[str, Any]],
    keys: Sequence[str],
    add: Sequence[str] = ("sessions",),
) -> None:
    """Insert the rows; where a key exists already, add their `add` columns to it."""
    if not rows:
        return
    table = cast("Table", model.__table__)
    postgres = session.get_bind().dialect.name == "postgresql"
    # On the table, not the model: the ORM's bulk insert spent seconds per batch preparing rows.
    statement = (pg_insert if postgres else sqlite_insert)(table)
    if add:
        sums = {c: table.c[c] + statement.excluded[c] for c in add}
        statement = statement.on_conflict_do_update(index_elements=list(keys), set_=sums)
    else:
        statement = statement.on_conflict_do_nothing(index_elements=list(keys))
    await session.execute(statement, list(rows))
