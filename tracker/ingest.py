"""Heartbeat ingestion: every heartbeat committed before it is answered, thousands a second.

One commit per heartbeat would cap ingestion at the disk's fsync rate, so heartbeats are
committed in groups: requests queue their heartbeat and wait, and a single writer task takes
whatever has queued up, checks and applies it in one transaction, then answers them all. While
it writes, the next group gathers, so the batches grow with the load and no request waits for a
timer. A failed transaction fails its whole batch and leaves nothing of it behind.

Several server processes may ingest into the same database: on PostgreSQL the batch locks the
rows of its visits (`FOR UPDATE OF visits`), on SQLite it takes the write lock up front
(`BEGIN IMMEDIATE`), so each visit's sequence check and clamp see the latest committed state.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import enum
import hashlib
import hmac
import json
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy import (
    Date,
    Integer,
    Row,
    Select,
    String,
    Table,
    bindparam,
    case,
    func,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.sql import Executable

from tracker.database import create_sync_engine
from tracker.links import LinkState, state_of
from tracker.models import Base

_VISITS: Final[Table] = Base.metadata.tables["visits"]
_LINKS: Final[Table] = Base.metadata.tables["share_links"]
_SECTIONS: Final[Table] = Base.metadata.tables["document_sections"]
_EVENTS: Final[Table] = Base.metadata.tables["view_events"]
_SECTION_TIME: Final[Table] = Base.metadata.tables["section_time"]
_MS: Final = dt.timedelta(milliseconds=1)
# How long a batch waits for another writer of the SQLite file before its requests get 503.
LOCK_WAIT_S: Final = 10.0


@dataclass(frozen=True)
class Heartbeat:
    """One heartbeat as the viewer script sent it (already parsed and shape-checked)."""

    visit: int
    secret: str
    seq: int
    dwell: Mapping[int, int]  # section position -> ms on screen since the previous heartbeat
    seen: Sequence[int]  # positions on screen since the previous heartbeat


class Outcome(enum.Enum):
    APPLIED = "applied"
    DUPLICATE = "duplicate"  # this (visit, seq) was applied before: a replay counts once
    FORBIDDEN = "forbidden"  # wrong secret, or the visit belongs to another link
    UNKNOWN = "unknown"  # no such visit
    GONE = "gone"  # the link was revoked or has expired
    BAD_SECTION = "bad_section"  # a position the document does not have


@dataclass(frozen=True, slots=True)
class _Item:
    token_hash: str
    beat: Heartbeat
    received_at: dt.datetime
    future: asyncio.Future[Outcome]


@dataclass(slots=True)
class _VisitState:
    """A visit as read under lock, advanced in memory as the batch's heartbeats apply."""

    secret_hash: str
    token_hash: str
    document_id: str
    expires_at: dt.datetime | None
    revoked: bool
    started: dt.datetime
    month: dt.date  # of the start: the partition the visit's rows go to
    last_seen: dt.datetime
    last_seq: int
    # section id -> dwell credited so far: no section may hold more than the visit has lasted
    credited: dict[int, int] = field(default_factory=dict)
    touched: bool = False


@dataclass(slots=True)
class _Writes:
    """What one batch writes, aggregated so each row is written once per batch."""

    events: list[dict[str, Any]]
    # (visit, month, section) -> dwell_ms; every section written was seen (on screen or given
    # time)
    section_time: dict[tuple[int, dt.date, int], int]


_STOP: Final = object()


class Ingestor:
    """The group-committing writer behind the heartbeat route; one per process and engine."""

    def __init__(self, engine: AsyncEngine, *, max_batch: int = 512, slack_ms: int = 1000) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._engine = engine
        self._max_batch = max_batch
        self._slack_ms = slack_ms
        self._postgres = engine.dialect.name == "postgresql"
        self._sqlite: Engine | None = None
        self._queue: asyncio.Queue[_Item | object] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        # Documents never change once stored, so their sections are looked up once per process.
        self._sections: dict[str, dict[int, int]] = {}
        self._upsert = _section_time_upsert(self._postgres)
        self._visit_update = _visit_update()
        self._applied = _applied_query(self._postgres)

    async def start(self) -> None:
        if self._task is not None:
            raise RuntimeError("the ingestor is already running")
        self._closing = False
        if self._engine.dialect.name == "sqlite":
            self._sqlite = create_sync_engine(self._engine.url)
        self._task = asyncio.get_running_loop().create_task(self._run(), name="ingestor")

    async def stop(self) -> None:
        """Answer everything already queued, then end the writer; later submits are refused."""
        if self._task is None:
            return
        self._closing = True
        self._queue.put_nowait(_STOP)
        task, self._task = self._task, None
        try:
            await task
        finally:
            self._fail_queued(RuntimeError("the ingestor stopped"))
            if self._sqlite is not None:
                self._sqlite.dispose()

    async def submit(self, token_hash: str, beat: Heartbeat, received_at: dt.datetime) -> Outcome:
        """The heartbeat's outcome once its batch has committed; raises when the batch failed.

        `token_hash` is the SHA-256 hex of the link token the heartbeat was posted to.
        """
        if self._task is None or self._task.done() or self._closing:
            raise RuntimeError("the ingestor is not running")
        if received_at.tzinfo is None:
            # Checked here: a naive time would fail the whole batch it landed in.
            raise ValueError("received_at must be timezone-aware")
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait(_Item(token_hash, beat, received_at, future))
        return await future

    async def _run(self) -> None:
        while True:
            first = await self._queue.get()
            # One turn of the loop lets the requests that are already being read queue their
            # heartbeats too: bigger batches for almost no added wait.
            await asyncio.sleep(0)
            batch, stopping = self._next_batch(first)
            if batch:
                await self._process(batch)
            if stopping:
                return

    def _next_batch(self, first: _Item | object) -> tuple[list[_Item], bool]:
        """The first item plus whatever else is queued already: no waiting, no timer."""
        if first is _STOP:
            return [], True
        batch = [_as_item(first)]
        while len(batch) < self._max_batch:
            try:
                item = self._queue.get_nowait()
            except asyncio.QueueEmpty:
                break
            if item is _STOP:
                return batch, True
            batch.append(_as_item(item))
        return batch, False

    async def _process(self, batch: list[_Item]) -> None:
        try:
            outcomes = await self._write(batch)
        except asyncio.CancelledError:
            for item in batch:
                item.future.cancel()
            raise
        except Exception as error:  # the route answers 503; the batch left nothing behind
            for item in batch:
                if not item.future.done():
                    item.future.set_exception(error)
            return
        for item, outcome in zip(batch, outcomes, strict=True):
            # A submitter that gave up (client gone) has a cancelled future; its event stays.
            if not item.future.done():
                item.future.set_result(outcome)

    async def _write(self, batch: list[_Item]) -> list[Outcome]:
        if self._sqlite is not None:
            return await self._write_sqlite(self._sqlite, batch)
        async with self._engine.connect() as remote, remote.begin():
            outcomes: list[Outcome] = await remote.run_sync(self._write_batch, batch)
            return outcomes

    async def _write_sqlite(self, sqlite: Engine, batch: list[_Item]) -> list[Outcome]:
        """The batch on this thread, blocking it for its few statements: a write on another
        thread (aiosqlite's) has to win the GIL back from the busy event loop after every
        statement, which under load made a batch a hundred times slower. The engine never
        waits for a lock on this thread; while another connection writes, this waits here,
        asynchronously, and tries again."""
        deadline = time.monotonic() + LOCK_WAIT_S
        pause = 0.001
        while True:
            try:
                with sqlite.begin() as connection:
                    # The driver's BEGIN is lazy; taking the write lock now, not at the first
                    # INSERT, keeps another process from committing between reads and writes.
                    connection.exec_driver_sql("BEGIN IMMEDIATE")
                    return self._write_batch(connection, batch)
            except OperationalError as error:
                if "locked" not in str(error.orig) or time.monotonic() > deadline:
                    raise
            await asyncio.sleep(pause)
            pause = min(pause * 2, 0.05)

    def _write_batch(self, connection: Connection, batch: list[_Item]) -> list[Outcome]:
        visits = self._lock_visits(connection, {i.beat.visit for i in batch})
        self._load_sections(connection, {v.document_id for v in visits.values()})
        return self._apply(connection, batch, visits)

    def _lock_visits(self, connection: Connection, ids: set[int]) -> dict[int, _VisitState]:
        query = _visits_query(sorted(ids))
        if self._postgres:
            # Sorted ids make concurrent processes lock shared visits in the same order.
            query = query.with_for_update(of=_VISITS)
        visits = {row.id: _visit_state(row) for row in connection.execute(query)}
        if visits:
            # With the visits' months, PostgreSQL reads their months' partitions alone: with
            # three years of them, a batch's lookup took 2.6x as long without.
            months = sorted({visit.month for visit in visits.values()})
            credited = select(
                _SECTION_TIME.c.visit_id, _SECTION_TIME.c.section_id, _SECTION_TIME.c.dwell_ms
            ).where(_SECTION_TIME.c.visit_id.in_(sorted(visits)), _SECTION_TIME.c.month.in_(months))
            for visit_id, section_id, dwell in connection.execute(credited):
                visits[visit_id].credited[section_id] = dwell
        return visits

    def _load_sections(self, connection: Connection, documents: set[str]) -> None:
        missing = documents - self._sections.keys()
        if not missing:
            return
        query = select(_SECTIONS.c.document_id, _SECTIONS.c.position, _SECTIONS.c.id).where(
            _SECTIONS.c.document_id.in_(sorted(missing))
        )
        loaded: dict[str, dict[int, int]] = {document: {} for document in missing}
        for document_id, position, section_id in connection.execute(query):
            loaded[document_id][position] = section_id
        self._sections.update(loaded)

    def _apply(
        self, connection: Connection, batch: list[_Item], visits: dict[int, _VisitState]
    ) -> list[Outcome]:
        outcomes = [self._check(item, visits.get(item.beat.visit)) for item in batch]
        candidates = [i for i, o in enumerate(outcomes) if o is Outcome.APPLIED]
        applied = self._already_applied(
            connection, [(batch[i].beat, visits[batch[i].beat.visit].month) for i in candidates]
        )
        writes = _Writes(events=[], section_time={})
        # A visit's heartbeats apply in the order they arrived, each clamped to the time since
        # the one before; sorting is stable, so equal times keep their queue order.
        for index in sorted(candidates, key=lambda i: batch[i].received_at):
            item = batch[index]
            key = (item.beat.visit, item.beat.seq)
            if key in applied:
                outcomes[index] = Outcome.DUPLICATE
                continue
            applied.add(key)
            self._accumulate(item, visits[item.beat.visit], writes)
        self._flush(connection, writes, visits)
        return outcomes

    def _already_applied(
        self, connection: Connection, beats: list[tuple[Heartbeat, dt.date]]
    ) -> set[tuple[int, int]]:
        """The (visit, seq) pairs of `beats` (each with its visit's month) already stored."""
        if not beats:
            return set()
        keys = sorted({(beat.visit, beat.seq, month) for beat, month in beats})
        params = _applied_params(self._postgres, keys)
        rows = connection.execute(self._applied, params)
        return {(visit_id, seq) for visit_id, seq in rows}

    def _check(self, item: _Item, visit: _VisitState | None) -> Outcome:
        """Every refusal that needs no view_events lookup; APPLIED means "still a candidate"."""
        if visit is None:
            return Outcome.UNKNOWN
        secret_hash = hashlib.sha256(item.beat.secret.encode()).hexdigest()
        if not hmac.compare_digest(secret_hash, visit.secret_hash):
            return Outcome.FORBIDDEN
        if not hmac.compare_digest(item.token_hash, visit.token_hash):
            return Outcome.FORBIDDEN
        if state_of(visit.revoked, visit.expires_at, item.received_at) is not LinkState.LIVE:
            return Outcome.GONE
        sections = self._sections[visit.document_id]
        if any(p not in sections for p in item.beat.dwell) or any(
            p not in sections for p in item.beat.seen
        ):
            return Outcome.BAD_SECTION
        return Outcome.APPLIED

    def _accumulate(self, item: _Item, visit: _VisitState, writes: _Writes) -> None:
        """Credit the heartbeat's time, each section's total held to the wall time the visit
        has lasted (plus one slack for clocks): a flood of inflated heartbeats gains nothing,
        and a backlog a browser sends late is not cut short."""
        beat = item.beat
        visit.last_seen = max(visit.last_seen, item.received_at)
        lasted = max((visit.last_seen - visit.started) // _MS, 0) + self._slack_ms
        sections = self._sections[visit.document_id]
        seen = set(beat.seen)
        total = 0
        for position in seen.union(beat.dwell):
            section = sections[position]
            budget = max(lasted - visit.credited.get(section, 0), 0)
            delta = min(max(beat.dwell.get(position, 0), 0), budget)
            if delta == 0 and position not in seen:
                continue  # nothing on screen and no time: no row to create or change
            total += delta
            visit.credited[section] = visit.credited.get(section, 0) + delta
            key = (beat.visit, visit.month, section)
            writes.section_time[key] = writes.section_time.get(key, 0) + delta
        writes.events.append(
            {
                "visit_id": beat.visit,
                "seq": beat.seq,
                "month": visit.month,
                "received_at": item.received_at,
                "dwell_ms": total,
            }
        )
        visit.last_seq = max(visit.last_seq, beat.seq)
        visit.touched = True

    def _flush(
        self, connection: Connection, writes: _Writes, visits: dict[int, _VisitState]
    ) -> None:
        if not writes.events:
            return
        connection.execute(_EVENTS.insert(), writes.events)
        if writes.section_time:
            connection.execute(self._upsert, _section_time_rows(writes.section_time))
        touched = [
            {"b_id": visit_id, "b_seen": v.last_seen, "b_seq": v.last_seq}
            for visit_id, v in visits.items()
            if v.touched
        ]
        connection.execute(self._visit_update, touched)

    def _fail_queued(self, error: Exception) -> None:
        while True:
            try:
                item = self._queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            if isinstance(item, _Item) and not item.future.done():
                item.future.set_exception(error)


def _as_item(value: _Item | object) -> _Item:
    assert isinstance(value, _Item)
    return value


def _visits_query(ids: list[int]) -> Select[Any]:
    return (
        select(
            _VISITS.c.id,
            _VISITS.c.secret_hash,
            _VISITS.c.created_at,
            _VISITS.c.month,
            _VISITS.c.last_seen_at,
            _VISITS.c.last_seq,
            _LINKS.c.token_hash,
            _LINKS.c.revoked_at,
            _LINKS.c.expires_at,
            _LINKS.c.document_id,
        )
        .join(_LINKS, _LINKS.c.id == _VISITS.c.link_id)
        .where(_VISITS.c.id.in_(ids))
        .order_by(_VISITS.c.id)
    )


def _visit_state(row: Row[Any]) -> _VisitState:
    return _VisitState(
        secret_hash=row.secret_hash,
        token_hash=row.token_hash,
        document_id=row.document_id,
        expires_at=row.expires_at,
        revoked=row.revoked_at is not None,
        started=row.created_at,
        month=row.month,
        last_seen=row.last_seen_at or row.created_at,
        last_seq=row.last_seq,
    )


def _applied_query(postgres: bool) -> Select[Any]:
    """The batch's (visit, seq) pairs that view_events holds already, one index probe a pair.

    The pairs travel as one array or JSON parameter, so the statement is the same for every
    batch and compiled once; SQLite would answer a row-value IN list by scanning all of
    view_events instead. On PostgreSQL each pair carries its visit's month too, so each probe
    goes to that month's partition alone.
    """
    if postgres:
        keys = (
            func.unnest(
                bindparam("visits", type_=ARRAY(Integer)),
                bindparam("seqs", type_=ARRAY(Integer)),
                bindparam("months", type_=ARRAY(Date)),
            )
            .table_valued("visit_id", "seq", "month")
            .render_derived(name="batch_keys")
        )
        on = (
            (_EVENTS.c.visit_id == keys.c.visit_id)
            & (_EVENTS.c.seq == keys.c.seq)
            & (_EVENTS.c.month == keys.c.month)
        )
        return select(_EVENTS.c.visit_id, _EVENTS.c.seq).select_from(keys).join(_EVENTS, on)
    pairs = func.json_each(bindparam("pairs", type_=String)).table_valued(
        "value", name="batch_keys"
    )
    visit_id = func.json_extract(pairs.c.value, "$[0]")
    seq = func.json_extract(pairs.c.value, "$[1]")
    return (
        select(_EVENTS.c.visit_id, _EVENTS.c.seq)
        .select_from(pairs)
        .join(_EVENTS, (_EVENTS.c.visit_id == visit_id) & (_EVENTS.c.seq == seq))
    )


def _applied_params(postgres: bool, keys: list[tuple[int, int, dt.date]]) -> dict[str, Any]:
    if postgres:
        return {
            "visits": [v for v, _, _ in keys],
            "seqs": [s for _, s, _ in keys],
            "months": [m for _, _, m in keys],
        }
    return {"pairs": json.dumps([(v, s) for v, s, _ in keys])}


def _section_time_rows(
    aggregated: Mapping[tuple[int, dt.date, int], int],
) -> list[dict[str, Any]]:
    # Sorted, so concurrent writers touch rows in the same order and cannot deadlock on them.
    return [
        {"visit_id": visit, "month": month, "section_id": section, "dwell_ms": dwell, "seen": True}
        for (visit, month, section), dwell in sorted(aggregated.items())
    ]


def _section_time_upsert(postgres: bool) -> Executable:
    """Adds the batch's time to what the visit already has; a section once seen stays seen."""
    statement = (pg_insert if postgres else sqlite_insert)(_SECTION_TIME)
    return statement.on_conflict_do_update(
        index_elements=[
            _SECTION_TIME.c.visit_id,
            _SECTION_TIME.c.section_id,
            _SECTION_TIME.c.month,
        ],
        set_={
            "dwell_ms": _SECTION_TIME.c.dwell_ms + statement.excluded.dwell_ms,
            "seen": _SECTION_TIME.c.seen | statement.excluded.seen,
        },
    )


def _visit_update() -> Executable:
    """`last_seq` only grows, even if an older heartbeat of the visit arrives last."""
    new_seq = bindparam("b_seq", type_=_VISITS.c.last_seq.type)
    return (
        update(_VISITS)
        .where(_VISITS.c.id == bindparam("b_id"))
        .values(
            last_seen_at=bindparam("b_seen", type_=_VISITS.c.last_seen_at.type),
            last_seq=case((_VISITS.c.last_seq < new_seq, new_seq), else_=_VISITS.c.last_seq),
        )
    )
