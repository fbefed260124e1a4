"""Retention purge on PostgreSQL: dropping a month's partitions against deleting its rows.

One throwaway server (bench/postgres.py; as root, or as a user that can run initdb) holds two
migrated databases filled alike by COPY: one library of 10 blocks, documents of 10 sections with
one share link each, 10 visits per link, `--visits` visits started over ONE month 14 months
back, each with a section-time row per section and 3 heartbeats (view_events). Every visit is
marked rolled up by setting `rollup_state.visit_id` to the last visit's id directly: the roll-up
itself is not run, since only the purge is timed.

- partitions: the old month's partitions are made before the fill (tracker/partitions.py), so
  its rows land in them and `tracker.purge.purge` drops them, one DROP per table; the visits
  themselves still go in batches (each deleted visit's ON DELETE CASCADE looks in its own
  month's partition only: the month is in the foreign key): that, not the drops, is most of
  this figure.
- rows (the baseline): the old month has no partition, so its rows sit in the default ones and
  the purge deletes them batch by batch (`tracker.purge.BATCH` visits per transaction).

The server runs crash-safe (fsync, full-page writes, synchronous commit), as in production:
deleted rows cost WAL, dropped partitions do not. The fills skip synchronous commit. Each
figure is one `purge(session, 30 days, now)` call in a fresh session, after a CHECKPOINT.
The bench checks that the partitions were there and then gone (to_regclass), that both purges
removed the same counts, and that both databases end with no visits, section-time rows or
heartbeats; it exits non-zero otherwise.

Usage: python bench/purge.py [--visits 200000]
Last line: `purge rows=<visits+section-time+heartbeats removed> drop_s=<x> rows_s=<y>
speedup=<rows_s/drop_s>`.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this folder would come first on sys.path and bench/select.py would shadow
# the standard library's `select`: put the repository root there instead.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse
import asyncio
import datetime as dt
import time
from collections.abc import Iterator
from typing import Any

import asyncpg
import numpy as np

from bench.copying import copied_columns
from bench.postgres import throwaway_postgres
from tracker.database import create_engine, create_sessions, migrate
from tracker.months import month_of, month_start, next_month
from tracker.partitions import TABLES, default_name, make_months, partition_name
from tracker.purge import Purge, purge

SEED = 7
SECTIONS = 10  # per document, one per block
VISITS_PER_LINK = 10
HEARTBEATS = 3  # view_events rows per visit
_SEEN = dt.timedelta(minutes=2)  # how long each visit lasts
AGE_MONTHS = 14  # how far back the visits' month is
RETENTION = dt.timedelta(days=30)
CHUNK = 50_000  # visits per round of COPY
# Crash-safe, as a production server runs: deleting rows costs WAL and, after a checkpoint,
# full-page images, which dropping a partition does not (FAST would hide that difference).
SERVER = ("shared_buffers=512MB", "max_wal_size=4GB")
# Each database, and whether its old month gets partitions before the fill.
DATABASES = {"partitions": True, "rows": False}
EMPTIED = ("visits", *TABLES)


def old_month(now: dt.datetime) -> dt.date:
    """The first day of the month AGE_MONTHS before `now`'s."""
    current = month_of(now)
    months = current.year * 12 + current.month - 1 - AGE_MONTHS
    return dt.date(months // 12, months % 12 + 1, 1)


async def new_database(server: str, name: str) -> str:
    """The URL of a new empty database on the server whose `postgres` database is at `server`."""
    connection = await asyncpg.connect(server.replace("+asyncpg", ""))
    try:
        await connection.execute(f"CREATE DATABASE {name}")
    finally:
        await connection.close()
    return f"{server.rsplit('/', 1)[0]}/{name}"


async def make_partitions(url: str, month: dt.date) -> None:
    """The old month's partitions, as the migration makes them for a month that has visits."""
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(make_months, [month])
    finally:
        await engine.dispose()


# ---------------------------------------------------------------------------------------------
# Fill


async def fill(url: str, month: dt.date, visits: int) -> None:
    """The library, documents, links, visits, section-time rows and heartbeats, by COPY; then
    the roll-up mark past the last visit."""
    now = dt.datetime.now(dt.UTC)
    made = month_start(month) - dt.timedelta(days=1)  # documents made before their visits
    links = -(-visits // VISITS_PER_LINK)
    rng = np.random.default_rng(SEED)
    connection = await asyncpg.connect(url.replace("+asyncpg", ""))
    try:
        await connection.execute("SET synchronous_commit = off")  # a fill needs no durability
        await _copy(connection, "libraries", [(1, "purge", "/purge", now)])
        await _copy(connection, "blocks", [(i + 1, 1, f"b{i}", now) for i in range(SECTIONS)])
        await _copy(
            connection,
            "block_versions",
            [
                (
                    i + 1,
                    i + 1,
                    1,
                    f"{i:064x}",
                    f"s{i}",
                    f"Block {i}",
                    "",
                    "approved",
                    None,
                    "{}",
                    "",
                    now,
                )
                for i in range(SECTIONS)
            ],
        )
        await _copy(connection, "prospects", [(1, "p0", "Company 0", "{}", now)])
        await _copy(
            connection,
            "documents",
            [
                (f"d{d:08d}", 1, 1, f"Pitch {d}", made.date(), "{}", "{}", made)
                for d in range(links)
            ],
        )
        await _copy(
            connection,
            "document_sections",
            [
                (d * SECTIONS + p + 1, f"d{d:08d}", p, f"s{p}", p + 1, f"Section {p}")
                for d in range(links)
                for p in range(SECTIONS)
            ],
        )
        await _copy(
            connection,
            "share_links",
            [(d + 1, f"d{d:08d}", f"{d:064x}", False, False, made) for d in range(links)],
        )
        for first, started in _starts(month, visits, rng):
            await _copy_visits(connection, month, first, started, rng)
        await connection.execute(
            "INSERT INTO rollup_state (id, visit_id) VALUES (1, $1) "
            "ON CONFLICT (id) DO UPDATE SET visit_id = $1",
            visits,
        )
        await connection.execute("ANALYZE")
    finally:
        await connection.close()


def _starts(
    month: dt.date, visits: int, rng: np.random.Generator
) -> Iterator[tuple[int, list[dt.datetime]]]:
    """Chunks of (first visit id, the visits' starts), in id order over the whole month."""
    seconds = int((month_start(next_month(month)) - month_start(month)).total_seconds())
    offsets = np.sort(rng.integers(0, seconds - 3600, visits))
    for first in range(0, visits, CHUNK):
        chunk = offsets[first : first + CHUNK].tolist()
        yield first + 1, [month_start(month) + dt.timedelta(seconds=s) for s in chunk]


async def _copy_visits(
    connection: Any,
    month: dt.date,
    first: int,
    started: list[dt.datetime],
    rng: np.random.Generator,
) -> None:
    """Visits from id `first`, each finished two minutes in, with its rows of the raw tables."""
    ids = range(first, first + len(started))
    await _copy(
        connection,
        "visits",
        [
            (
                v,
                (v - 1) // VISITS_PER_LINK + 1,
                s,
                month,
                "0" * 64,
                "browser",
                HEARTBEATS,
                s + _SEEN,
            )
            for v, s in zip(ids, started, strict=True)
        ],
    )
    dwell = rng.integers(0, 60_000, (len(started), SECTIONS)).tolist()
    await _copy(
        connection,
        "section_time",
        [
            (v, ((v - 1) // VISITS_PER_LINK) * SECTIONS + p + 1, month, dwell[i][p], True)
            for i, v in enumerate(ids)
            for p in range(SECTIONS)
        ],
    )
    await _copy(
        connection,
        "view_events",
        [
            (v, seq, month, s + _SEEN * seq / HEARTBEATS, 10_000)
            for v, s in zip(ids, started, strict=True)
            for seq in range(1, HEARTBEATS + 1)
        ],
    )


async def _copy(connection: Any, table: str, records: list[tuple[Any, ...]]) -> None:
    await connection.copy_records_to_table(table, records=records, columns=copied_columns(table))


# ---------------------------------------------------------------------------------------------
# Purge and checks


async def where_rows_are(url: str, month: dt.date) -> dict[str, Any]:
    """Row counts of the emptied tables and of the default partitions, and which of the
    month's partitions exist."""
    connection = await asyncpg.connect(url.replace("+asyncpg", ""))
    try:
        found: dict[str, Any] = {}
        for table in (*EMPTIED, *(default_name(t) for t in TABLES)):
            found[table] = await connection.fetchval(f"SELECT count(*) FROM {table}")
        names = [partition_name(t, month) for t in TABLES]
        found["partitions"] = [
            n for n in names if await connection.fetchval("SELECT to_regclass($1)", n)
        ]
        return found
    finally:
        await connection.close()


async def checkpoint(url: str) -> None:
    """Write the fill's pages out, so each purge starts from the same clean state."""
    connection = await asyncpg.connect(url.replace("+asyncpg", ""))
    try:
        await connection.execute("CHECKPOINT")
    finally:
        await connection.close()


async def timed_purge(url: str, now: dt.datetime) -> tuple[Purge, float]:
    """One purge in a fresh session, and its wall time in seconds."""
    engine = create_engine(url)
    try:
        async with create_sessions(engine)() as session:
            start = time.perf_counter()
            done = await purge(session, RETENTION, now)
            return done, time.perf_counter() - start
    finally:
        await engine.dispose()


async def measure(
    server: str, name: str, partitioned: bool, month: dt.date, visits: int
) -> tuple[Purge, float]:
    """Make, fill and purge one database; exits when the rows were not where the path needs
    them, or remain."""
    url = await new_database(server, name)
    migrate(url)
    if partitioned:
        await make_partitions(url, month)
    start = time.perf_counter()
    await fill(url, month, visits)
    filled = time.perf_counter() - start
    before = await where_rows_are(url, month)
    in_default = sum(before[default_name(t)] for t in TABLES)
    expected = [partition_name(t, month) for t in TABLES] if partitioned else []
    if before["partitions"] != expected or in_default != (0 if partitioned else _raw(before)):
        sys.exit(
            f"{name}: the rows are not where this path needs them: partitions "
            f"{before['partitions']}, {in_default} of {_raw(before)} rows in the default ones"
        )
    print(
        f"{name}: filled by COPY in {filled:.0f} s: {before['visits']} visits, "
        f"{before['section_time']} section-time rows, {before['view_events']} heartbeats, "
        f"{'in ' + ' and '.join(expected) if partitioned else 'in the default partitions'}",
        flush=True,
    )
    await checkpoint(url)
    done, seconds = await timed_purge(url, dt.datetime.now(dt.UTC))
    after = await where_rows_are(url, month)
    if after["partitions"]:
        sys.exit(f"{name}: NO DROP: the month's partitions {after['partitions']} are still there")
    left = {table: after[table] for table in EMPTIED if after[table]}
    if left:
        sys.exit(f"{name}: rows remain after the purge: {left}")
    return done, seconds


def _raw(found: dict[str, Any]) -> int:
    return sum(int(found[t]) for t in TABLES)


async def run(server: str, visits: int) -> dict[str, tuple[Purge, float]]:
    month = old_month(dt.datetime.now(dt.UTC))
    return {
        name: await measure(server, name, partitioned, month, visits)
        for name, partitioned in DATABASES.items()
    }


# ---------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--visits", type=int, default=200_000)
    args = parser.parse_args()
    print(
        f"visits: {args.visits} in {old_month(dt.datetime.now(dt.UTC)):%Y-%m}, marked rolled up "
        "directly (the roll-up is not run)",
        flush=True,
    )
    with throwaway_postgres(SERVER) as server:
        results = asyncio.run(run(server, args.visits))
    (dropped, drop_s), (deleted, rows_s) = results["partitions"], results["rows"]
    if dropped != deleted or dropped.visits != args.visits or dropped.kept:
        sys.exit(f"the purges differ or missed visits: partitions {dropped}, rows {deleted}")
    for name, (done, seconds) in results.items():
        how = "partitions dropped" if name == "partitions" else "row by row (baseline)"
        print(
            f"{name}: purge {how} in {seconds:.1f} s: {done.visits} visits, "
            f"{done.section_time} section-time rows, {done.view_events} heartbeats"
        )
    print(
        f"purge rows={dropped.rows} drop_s={drop_s:.1f} rows_s={rows_s:.1f} "
        f"speedup={rows_s / drop_s:.1f}"
    )


if __name__ == "__main__":
    main()
