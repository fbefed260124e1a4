"""Selection, index recall and reports at scale: 100,000 blocks and 10,000,000 section-time rows.

The block vectors are SEEDED RANDOM vectors, not model embeddings (embedding 100k blocks
would take hours): unit vectors with a low intrinsic dimension (a 32-dimensional latent
plus noise, in 384 dimensions), as real sentence embeddings have; on uniform random vectors no
block is meaningfully nearest to anything and graph indexes degrade to brute force. The
prospects' query vectors are drawn the same way, so the selection figure leaves out the
query embedding (measured by bench/select.py). Blocks get random facets and one of the slots
of a synthetic message map.

- select: `engine.select.select` at `--blocks` blocks on the HNSW index's candidate retrieval,
  p50 over `--prospects` prospects; baseline: the same selection scoring every block (exact).
- recall@10: the HNSW index (`engine.index.BlockIndex`, above PITCHMAP_HNSW_THRESHOLD) against
  exact search (faiss IndexFlatIP) over 200 queries.
- PostgreSQL: a throwaway server (bench/postgres.py; as root, or as a user that can run
  initdb), the migrated schema with the year's monthly partitions (tracker/partitions.py),
  filled with COPY: one library of `--blocks` blocks, documents of 10 sections with one share link
  each, 10 visits per link and one section-time row per visit and section (`--events` rows),
  visits spread over the last year and all finished; then `tracker.rollup.roll_up`.
  Figures: `tracker.reports.link_report` p50 over 50 links and `block_engagement` over the
  library p50 over 5 runs, each in a fresh session, after a first run (also printed) that
  builds the all-time base the report keeps until the next roll-up moves its marks; baseline:
  `SELECT 1` in a fresh session.
  When the engagement figure misses its target, one more run is profiled: its statements'
  server time (EXPLAIN ANALYZE) against the wall time, and tracker's costliest functions.

Usage: python bench/scale.py [--blocks 100000] [--events 10000000] [--prospects 50]
Last line: `scale blocks=<n> select_p50_ms=<x> recall_at_10=<r> events=<m> report_p50_ms=<y>
engagement_p50_ms=<z>`.
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this folder would come first on sys.path and bench/select.py would shadow
# the standard library's `select`: put the repository root there instead.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse
import asyncio
import cProfile
import dataclasses
import datetime as dt
import json
import pstats
import random
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import faiss
import numpy as np
from sqlalchemy import event, text  # noqa: TID251 (times the statements of tracker's reports)
from threadpoolctl import threadpool_limits

from bench.copying import copied_columns
from bench.postgres import FAST, throwaway_postgres
from engine.embed import Vectors
from engine.index import BlockIndex
from engine.library import Block, Library, MessageMap, Slot
from engine.prospect import parse_prospect
from engine.select import Query, select
from engine.table import BlockTable
from tracker.database import create_engine, create_sessions, migrate
from tracker.months import month_of, months_from
from tracker.partitions import make_months
from tracker.reports import EngagementFilter, block_engagement, link_report
from tracker.rollup import roll_up

DIMENSION = 384
LATENT = 32
SEED = 7
AS_OF = dt.date(2026, 11, 24)
SLOTS = (
    Slot("opening", "Why now"),
    Slot("value", "What changes", 2),
    Slot("proof", "Results", 2),
    Slot("capabilities", "What you get", 2),
    Slot("differentiation", "Why us"),
    Slot("trust", "Security"),
    Slot("next_steps", "Next steps"),
)
SECTIONS = sum(s.count for s in SLOTS)  # per document: one section per block it shows
VISITS_PER_LINK = 10
FACETS = {
    "industry": ("banking", "insurance", "logistics", "retail", "healthcare"),
    "persona": ("cfo", "cio", "ciso", "coo"),
    "stage": ("discovery", "evaluation", "negotiation"),
}
# A server that takes 10M rows by COPY without checkpointing all the while.
SERVER = (*FAST, "shared_buffers=1GB", "max_wal_size=8GB", "work_mem=64MB")
TARGETS = {"select": 30.0, "recall": 0.95, "report": 50.0, "engagement": 500.0}


# ---------------------------------------------------------------------------------------------
# Vectors, blocks and prospects


class Vectors384:
    """Seeded unit vectors sharing one latent basis, so blocks and queries live in one space."""

    def __init__(self, seed: int) -> None:
        self._rng = np.random.default_rng(seed)
        self._basis = self._rng.standard_normal((LATENT, DIMENSION)).astype(np.float32)

    def draw(self, count: int) -> Vectors:
        latent = self._rng.standard_normal((count, LATENT)).astype(np.float32)
        noise = 0.3 * self._rng.standard_normal((count, DIMENSION)).astype(np.float32)
        raw = latent @ self._basis + noise
        unit: Vectors = (raw / np.linalg.norm(raw, axis=1, keepdims=True)).astype(np.float32)
        return unit


def synthetic_blocks(count: int, rng: random.Random) -> list[Block]:
    """Approved blocks spread over the slots, each with a random 40 % of the facets."""
    blocks = []
    for i in range(count):
        tags = {f: (rng.choice(vs),) for f, vs in FACETS.items() if rng.random() < 0.4}
        slot = SLOTS[i % len(SLOTS)].id
        blocks.append(Block(f"b{i:06d}", slot, f"Block {i}", "", "approved", None, tags))
    return blocks


def prospect_queries(count: int, vectors: Vectors384, rng: random.Random) -> list[Any]:
    """(prospect, query) pairs: three needs each, a needs-text vector and a profile vector."""
    pairs = []
    for i in range(count):
        facets = {f: rng.choice(vs) for f, vs in FACETS.items() if rng.random() < 0.7}
        prospect = parse_prospect({"id": f"p{i}", "company": f"Company {i}", **facets})
        needs = vectors.draw(3)
        whole = needs.mean(axis=0)
        profile = vectors.draw(1)[0]
        names = tuple(f"need {j} of p{i}" for j in range(3))
        pairs.append((prospect, Query(names, needs, whole / np.linalg.norm(whole), profile)))
    return pairs


# ---------------------------------------------------------------------------------------------
# Selection and recall


def timed_ms(run: Callable[[], object]) -> float:
    start = time.perf_counter()
    run()
    return (time.perf_counter() - start) * 1000


def selection_figures(
    library: Library, tables: dict[str, BlockTable], pairs: list[Any]
) -> dict[str, Any]:
    """p50 of the HNSW-backed and the exact selection, and how often they agree."""
    figures: dict[str, Any] = {}
    chosen: dict[str, list[Any]] = {}
    with threadpool_limits(limits=1, user_api="blas"):  # as engine.selector.Selector does
        for name, table in tables.items():
            figures[name], chosen[name] = _selections(library, table, pairs)
    same = [
        len({(s.slot, s.block_id) for s in a.sections} & {(s.slot, s.block_id) for s in b.sections})
        / max(len(b.sections), 1)
        for a, b in zip(chosen["hnsw"], chosen["exact"], strict=True)
    ]
    figures["agreement"] = float(np.mean(same))
    return figures


def _selections(library: Library, table: BlockTable, pairs: list[Any]) -> tuple[float, list[Any]]:
    select(library, table, *pairs[0], AS_OF)  # warm
    chosen: list[Any] = []
    runs = [
        timed_ms(lambda p=p, q=q: chosen.append(select(library, table, p, q, AS_OF)))
        for p, q in pairs
    ]
    return statistics.median(runs), chosen


def recall_figures(index: BlockIndex, ids: list[str], vectors: Vectors, queries: Vectors) -> Any:
    """recall@10 of the index against faiss IndexFlatIP, and both p50s per query."""
    exact = faiss.IndexFlatIP(DIMENSION)
    exact.add(vectors)
    found, truth, graph_ms, exact_ms = [], [], [], []
    for query in queries:
        graph_ms.append(timed_ms(lambda q=query: found.append(index.search(q, 10))))
        exact_ms.append(timed_ms(lambda q=query: truth.append(exact.search(q[None], 10)[1][0])))
    recall = np.mean(
        [
            len({bid for bid, _ in f} & {ids[i] for i in t}) / 10
            for f, t in zip(found, truth, strict=True)
        ]
    )
    return float(recall), statistics.median(graph_ms), statistics.median(exact_ms)


# ---------------------------------------------------------------------------------------------
# PostgreSQL


async def make_partitions(url: str) -> None:
    """The monthly partitions of the year the visits span, as the server would have made them."""
    now = dt.datetime.now(dt.UTC)
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            first = month_of(now - dt.timedelta(days=366))
            await connection.run_sync(make_months, months_from(first, month_of(now)))
    finally:
        await engine.dispose()


async def fill(url: str, blocks: list[Block], events: int, rng: np.random.Generator) -> int:
    """The library, documents, links, visits and `events` section-time rows, by COPY."""
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    visits = -(-events // SECTIONS)
    links = -(-visits // VISITS_PER_LINK)
    connection = await asyncpg.connect(url.replace("+asyncpg", ""))
    try:
        await connection.copy_records_to_table(
            "libraries", records=[(1, "scale", "/scale", now)], columns=copied_columns("libraries")
        )
        await connection.copy_records_to_table(
            "blocks",
            records=[(i + 1, 1, b.id, now) for i, b in enumerate(blocks)],
            columns=copied_columns("blocks"),
        )
        await connection.copy_records_to_table(
            "block_versions",
            records=[
                (
                    i + 1,
                    i + 1,
                    1,
                    f"{i:064x}",
                    b.slot,
                    b.title,
                    "",
                    "approved",
                    None,
                    json.dumps({f: list(v) for f, v in b.tags.items()}),
                    "",
                    now,
                )
                for i, b in enumerate(blocks)
            ],
            columns=copied_columns("block_versions"),
        )
        profiles = [{f: random.Random(i).choice(vs) for f, vs in FACETS.items()} for i in range(60)]
        await connection.copy_records_to_table(
            "prospects",
            records=[
                (i + 1, f"p{i}", f"Company {i}", json.dumps(profiles[i]), now) for i in range(60)
            ],
            columns=copied_columns("prospects"),
        )
        prospect_of = rng.integers(0, len(profiles), links)
        await connection.copy_records_to_table(
            "documents",
            records=[
                (
                    f"d{i:08d}",
                    1,
                    int(p) + 1,
                    f"Pitch {i}",
                    AS_OF,
                    json.dumps(profiles[p]),
                    "{}",
                    now - dt.timedelta(days=366),  # made before any of its visits
                )
                for i, p in enumerate(prospect_of)
            ],
            columns=copied_columns("documents"),
        )
        await connection.copy_records_to_table(
            "document_sections",
            records=_sections(links, blocks, rng),
            columns=copied_columns("document_sections"),
        )
        await connection.copy_records_to_table(
            "share_links",
            records=[(i + 1, f"d{i:08d}", f"{i:064x}", False, False, now) for i in range(links)],
            columns=copied_columns("share_links"),
        )
        months = await _copy_visits(connection, visits, now, rng)
        await _copy_section_time(connection, months, events, rng)
        await connection.execute("ANALYZE")
    finally:
        await connection.close()
    return links


def _sections(
    documents: int, blocks: list[Block], rng: np.random.Generator
) -> list[tuple[Any, ...]]:
    """Each document's sections in message-map order, each a random block of its slot."""
    by_slot: dict[str, list[int]] = {}
    for i, block in enumerate(blocks):
        by_slot.setdefault(block.slot, []).append(i + 1)
    slots = [s.id for s in SLOTS for _ in range(s.count)]
    picks = {s: rng.choice(by_slot[s], size=(documents, slots.count(s))) for s in set(slots)}
    records = []
    for d in range(documents):
        used = dict.fromkeys(picks, 0)
        for position, slot in enumerate(slots):
            version = int(picks[slot][d, used[slot]])
            used[slot] += 1
            records.append(
                (d * SECTIONS + position + 1, f"d{d:08d}", position, slot, version, slot)
            )
    return records


async def _copy_visits(
    connection: Any, visits: int, now: dt.datetime, rng: np.random.Generator
) -> list[dt.date]:
    """Visits in id order, VISITS_PER_LINK a link, started over the last year, all finished;
    returns each visit's month, the partition its section-time rows go to."""
    chunk = 500_000
    months: list[dt.date] = []
    for start in range(0, visits, chunk):
        ids = np.arange(start, min(start + chunk, visits))
        ages = np.sort(rng.integers(3600, 365 * 86400, len(ids)))[::-1]
        first = len(months)
        months.extend(
            month_of(now.replace(tzinfo=dt.UTC) - dt.timedelta(seconds=int(a))) for a in ages
        )
        records = [
            (
                int(i) + 1,
                int(i) // VISITS_PER_LINK + 1,
                now - dt.timedelta(seconds=int(a)),
                months[first + n],
                "0" * 64,
                "browser",
                1,
                now - dt.timedelta(seconds=int(a) - 120),
            )
            for n, (i, a) in enumerate(zip(ids, ages, strict=True))
        ]
        await connection.copy_records_to_table(
            "visits", records=records, columns=copied_columns("visits")
        )
    return months


async def _copy_section_time(
    connection: Any, months: list[dt.date], events: int, rng: np.random.Generator
) -> None:
    """One row per visit and section of its document (the last visit may see fewer)."""
    chunk = 1_000_000
    for start in range(0, events, chunk):
        rows = np.arange(start, min(start + chunk, events))
        visit = rows // SECTIONS
        section = (visit // VISITS_PER_LINK) * SECTIONS + rows % SECTIONS + 1
        dwell = rng.integers(0, 60_000, len(rows))
        seen = rng.random(len(rows)) < 0.8
        records = zip(
            (visit + 1).tolist(),
            section.tolist(),
            [months[v] for v in visit.tolist()],
            dwell.tolist(),
            seen.tolist(),
            strict=True,
        )
        await connection.copy_records_to_table(
            "section_time", records=records, columns=copied_columns("section_time")
        )


async def database_figures(url: str, links: int) -> dict[str, Any]:
    """Roll-up time, then SELECT 1, link report and engagement p50s, each in a fresh session;
    where the engagement figure misses its target, where one run spends its time."""
    engine = create_engine(url)
    sessions = create_sessions(engine)
    figures: dict[str, Any] = {}
    try:
        async with sessions() as session:
            start = time.perf_counter()
            figures["rolled"] = await roll_up(session, dt.datetime.now(dt.UTC))
            figures["rollup_s"] = time.perf_counter() - start
        picks = np.random.default_rng(SEED).integers(1, links + 1, 50).tolist()
        figures["select1"] = await p50(
            lambda _: _in_session(sessions, lambda s: s.execute(text("SELECT 1"))), 50
        )
        figures["report"] = await p50(
            lambda i: _in_session(sessions, lambda s: link_report(s, picks[i])), 50
        )
        whole = EngagementFilter(library_id=1)
        engagement: list[Any] = []
        start = time.perf_counter()
        await _in_session(sessions, lambda s: _keep(engagement, block_engagement(s, whole)))
        figures["engagement_first"] = (time.perf_counter() - start) * 1000
        figures["engagement"] = await p50(
            lambda _: _in_session(
                sessions, lambda s: _keep(engagement, block_engagement(s, whole))
            ),
            5,
        )
        figures["engaged_sessions"] = sum(e.sessions for e in engagement[-1])
        if figures["engagement"] > TARGETS["engagement"]:
            run = lambda: _in_session(sessions, lambda s: block_engagement(s, whole))  # noqa: E731
            figures["diagnosis"] = await _where_time_goes(engine, sessions, run)
    finally:
        await engine.dispose()
    return figures


async def p50(run: Callable[[int], Awaitable[object]], repeat: int) -> float:
    timings = []
    for i in range(repeat):
        start = time.perf_counter()
        await run(i)
        timings.append((time.perf_counter() - start) * 1000)
    return statistics.median(timings)


async def _keep(into: list[Any], work: Awaitable[Any]) -> Any:
    into.append(await work)
    return into[-1]


async def _in_session(sessions: Any, work: Callable[[Any], Awaitable[object]]) -> object:
    async with sessions() as session:
        return await work(session)


async def _where_time_goes(
    engine: Any, sessions: Any, run: Callable[[], Awaitable[object]]
) -> list[str]:
    """One run under cProfile with its statements recorded, then each statement's server
    execution time from EXPLAIN ANALYZE: SQL time against Python time, and the costliest."""
    statements: list[tuple[str, Any]] = []

    def record(_c: Any, _cur: Any, statement: str, parameters: Any, *_: Any) -> None:
        statements.append((statement, parameters))

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    profile = cProfile.Profile()
    start = time.perf_counter()
    profile.enable()
    await run()
    profile.disable()
    wall = (time.perf_counter() - start) * 1000
    event.remove(engine.sync_engine, "before_cursor_execute", record)
    plans = []
    async with sessions() as session:
        connection = await session.connection()
        for statement, parameters in statements:
            explain = "EXPLAIN (ANALYZE, FORMAT JSON) " + statement
            plan = (await connection.exec_driver_sql(explain, parameters)).scalar_one()
            plan = json.loads(plan) if isinstance(plan, str) else plan
            plans.append((plan[0]["Execution Time"], plan[0]["Plan"]["Plan Rows"], statement))
    server = sum(ms for ms, _, _ in plans)
    lines = [
        f"one run {wall:.0f} ms: SQL execution in the server {server:.0f} ms over "
        f"{len(plans)} statements, the rest fetching rows and Python"
    ]
    for ms, rows, statement in sorted(plans, reverse=True)[:3]:
        lines.append(f"  {ms:.0f} ms (~{rows} rows): {' '.join(statement.split())[:150]}")
    stats = pstats.Stats(profile)
    ours = [
        (cumulative, function)
        for (file, _, function), (_, _, _, cumulative, _) in stats.stats.items()  # type: ignore[attr-defined]
        if "/tracker/" in file
    ]
    for cumulative, function in sorted(ours, reverse=True)[:6]:
        lines.append(f"  Python: {cumulative * 1000:.0f} ms in tracker {function}")
    return lines


# ---------------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--blocks", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--prospects", type=int, default=50)
    args = parser.parse_args()
    print(
        "block and query vectors: SEEDED RANDOM unit vectors (low intrinsic dimension), "
        "not model embeddings",
        flush=True,
    )
    vectors = Vectors384(SEED)
    rng = random.Random(SEED)
    blocks = synthetic_blocks(args.blocks, rng)
    block_vectors = vectors.draw(args.blocks)
    by_id = dict(zip((b.id for b in blocks), block_vectors, strict=True))
    index = BlockIndex(DIMENSION)
    start = time.perf_counter()
    index.sync(blocks, lambda bs: np.stack([by_id[b.id] for b in bs]), hnsw_threshold=1)
    print(
        f"HNSW index of {args.blocks} blocks built in {time.perf_counter() - start:.1f} s",
        flush=True,
    )
    ids = [b.id for b in blocks]
    exact_table = BlockTable.build(blocks, index.vectors(ids))
    tables = {
        "hnsw": dataclasses.replace(
            exact_table, nearest=index.candidates(ids, exact_table.slot_rows)
        ),
        "exact": exact_table,
    }
    library = Library(Path("synthetic"), MessageMap("scale", SLOTS), tuple(blocks))
    chosen = selection_figures(library, tables, prospect_queries(args.prospects, vectors, rng))
    print(
        f"select p50 {chosen['hnsw']:.1f} ms with HNSW retrieval; baseline scoring every block "
        f"exactly {chosen['exact']:.1f} ms; {chosen['agreement']:.1%} of sections the same "
        "(query embedding not included)",
        flush=True,
    )
    recall, graph_ms, exact_ms = recall_figures(index, ids, block_vectors, vectors.draw(200))
    print(
        f"recall@10 {recall:.3f} over 200 queries; one query p50 HNSW {graph_ms:.2f} ms, "
        f"exact IndexFlatIP {exact_ms:.2f} ms",
        flush=True,
    )
    with throwaway_postgres(SERVER) as url:
        migrate(url)
        asyncio.run(make_partitions(url))
        start = time.perf_counter()
        links = asyncio.run(fill(url, blocks, args.events, np.random.default_rng(SEED)))
        print(
            f"PostgreSQL filled by COPY in {time.perf_counter() - start:.0f} s: {args.events} "
            f"section-time rows, {links} documents and links",
            flush=True,
        )
        db = asyncio.run(database_figures(url, links))
    print(f"roll-up of {db['rolled']} visits in {db['rollup_s']:.0f} s", flush=True)
    print(f"link report p50 {db['report']:.1f} ms; baseline SELECT 1 p50 {db['select1']:.1f} ms")
    print(
        f"block engagement p50 {db['engagement']:.0f} ms over {args.blocks} blocks "
        f"({db['engaged_sessions']} block sessions); baseline SELECT 1 p50 {db['select1']:.1f} ms; "
        f"the first ask after the roll-up, which builds the kept all-time base: "
        f"{db['engagement_first']:.0f} ms"
    )
    for line in db.get("diagnosis", []):
        print(line)
    print(
        f"scale blocks={args.blocks} select_p50_ms={chosen['hnsw']:.1f} recall_at_10={recall:.3f} "
        f"events={args.events} report_p50_ms={db['report']:.1f} "
        f"engagement_p50_ms={db['engagement']:.0f}"
    )


if __name__ == "__main__":
    main()
