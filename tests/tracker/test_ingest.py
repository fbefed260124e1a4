"""Heartbeat ingestion: counted once, only with the visit's secret, clamped, committed in groups."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import pytest_asyncio
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from tracker.database import create_engine, create_sessions
from tracker.ingest import Heartbeat, Ingestor, Outcome
from tracker.models import (
    Block,
    BlockVersion,
    Document,
    DocumentSection,
    Library,
    Prospect,
    SectionTime,
    ShareLink,
    ViewEvent,
    Visit,
)

pytestmark = pytest.mark.asyncio

T0 = dt.datetime(2026, 11, 24, 9, 0, tzinfo=dt.UTC)
TOKEN = "link-token-of-the-cfo"
OTHER_TOKEN = "link-token-of-the-cto"


def sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


@dataclass(frozen=True)
class World:
    engine: AsyncEngine
    link_id: int
    other_link_id: int
    visit: int
    secret: str


async def add_link(engine: AsyncEngine, token: str, **fields: object) -> int:
    async with create_sessions(engine)() as session:
        link = ShareLink(document_id="doc-cfo", token_hash=sha256(token), **fields)
        session.add(link)
        await session.commit()
        return link.id


async def add_visit(engine: AsyncEngine, link_id: int, secret: str) -> int:
    async with create_sessions(engine)() as session:
        visit = Visit(
            link_id=link_id, created_at=T0, secret_hash=sha256(secret), user_agent_kind="browser"
        )
        session.add(visit)
        await session.commit()
        return visit.id


async def add_document(engine: AsyncEngine) -> None:
    async with create_sessions(engine)() as session:
        library = Library(name="bastion", root="/libraries/bastion")
        session.add(library)
        await session.flush()
        block = Block(library_id=library.id, key="roi-bank")
        prospect = Prospect(key="acme", company="Acme Bank")
        session.add_all([block, prospect])
        await session.flush()
        version = BlockVersion(
            block_id=block.id,
            number=1,
            content_hash="0" * 64,
            slot="proof",
            title="ROI at a bank",
            body="Cut fraud losses 40%.",
            status="approved",
            expires=None,
            tags={},
            source="",
        )
        session.add(version)
        await session.flush()
        session.add(
            Document(
                id="doc-cfo",
                library_id=library.id,
                prospect_id=prospect.id,
                title="Fraud losses at Acme",
                as_of=dt.date(2026, 11, 24),
                sections=[
                    DocumentSection(
                        position=position, slot="proof", block_version_id=version.id, title="S"
                    )
                    for position in range(3)
                ],
            )
        )
        await session.commit()


@pytest_asyncio.fixture
async def world(migrated_url: str) -> AsyncIterator[World]:
    engine = create_engine(migrated_url)
    try:
        await add_document(engine)
        link_id = await add_link(engine, TOKEN)
        other_link_id = await add_link(engine, OTHER_TOKEN)
        visit = await add_visit(engine, link_id, "visit-secret")
        yield World(engine, link_id, other_link_id, visit, "visit-secret")
    finally:
        await engine.dispose()


@pytest_asyncio.fixture
async def ingestor(world: World) -> AsyncIterator[Ingestor]:
    ingestor = Ingestor(world.engine)
    await ingestor.start()
    try:
        yield ingestor
    finally:
        await ingestor.stop()


def beat(
    world: World,
    seq: int,
    dwell: dict[int, int] | None = None,
    seen: list[int] | None = None,
    *,
    visit: int | None = None,
    secret: str | None = None,
) -> Heartbeat:
    return Heartbeat(
        visit=world.visit if visit is None else visit,
        secret=world.secret if secret is None else secret,
        seq=seq,
        dwell=dwell or {},
        seen=seen or [],
    )


async def section_time(engine: AsyncEngine, visit: int) -> dict[int, tuple[int, bool]]:
    """Position -> (dwell_ms, seen) of one visit."""
    query = (
        select(DocumentSection.position, SectionTime.dwell_ms, SectionTime.seen)
        .join(DocumentSection, DocumentSection.id == SectionTime.section_id)
        .where(SectionTime.visit_id == visit)
    )
    async with engine.connect() as connection:
        rows = (await connection.execute(query)).all()
    return {position: (dwell, bool(seen)) for position, dwell, seen in rows}


async def events(engine: AsyncEngine) -> list[tuple[int, int, int]]:
    query = select(ViewEvent.visit_id, ViewEvent.seq, ViewEvent.dwell_ms).order_by(
        ViewEvent.visit_id, ViewEvent.seq
    )
    async with engine.connect() as connection:
        return [(visit, seq, dwell) for visit, seq, dwell in await connection.execute(query)]


async def visit_state(engine: AsyncEngine, visit: int) -> tuple[int, dt.datetime | None]:
    async with create_sessions(engine)() as session:
        row = await session.get_one(Visit, visit)
        return row.last_seq, row.last_seen_at


async def test_an_applied_heartbeat_adds_its_dwell_and_marks_what_was_seen(
    world: World, ingestor: Ingestor
) -> None:
    first = beat(world, 1, {0: 1500, 1: 500}, [0, 1, 2])
    assert await ingestor.submit(sha256(TOKEN), first, at(2)) is Outcome.APPLIED
    assert await section_time(world.engine, world.visit) == {
        0: (1500, True),
        1: (500, True),
        2: (0, True),
    }
    second = beat(world, 2, {0: 1000}, [0])
    assert await ingestor.submit(sha256(TOKEN), second, at(4)) is Outcome.APPLIED
    assert (await section_time(world.engine, world.visit))[0] == (2500, True)
    assert await events(world.engine) == [(world.visit, 1, 2000), (world.visit, 2, 1000)]
    assert await visit_state(world.engine, world.visit) == (2, at(4))


async def test_time_without_a_seen_entry_still_marks_the_section_seen(
    world: World, ingestor: Ingestor
) -> None:
    assert await ingestor.submit(sha256(TOKEN), beat(world, 1, {1: 700}), at(1)) is Outcome.APPLIED
    assert await section_time(world.engine, world.visit) == {1: (700, True)}


async def test_a_replayed_heartbeat_counts_once(world: World, ingestor: Ingestor) -> None:
    replayed = beat(world, 1, {0: 1000}, [0])
    assert await ingestor.submit(sha256(TOKEN), replayed, at(2)) is Outcome.APPLIED
    assert await ingestor.submit(sha256(TOKEN), replayed, at(3)) is Outcome.DUPLICATE
    assert await section_time(world.engine, world.visit) == {0: (1000, True)}
    assert await events(world.engine) == [(world.visit, 1, 1000)]


async def test_replays_inside_one_batch_count_once(world: World, ingestor: Ingestor) -> None:
    replayed = beat(world, 1, {0: 1000}, [0])
    outcomes = await asyncio.gather(
        *(ingestor.submit(sha256(TOKEN), replayed, at(2)) for _ in range(10))
    )
    assert sorted(o.value for o in outcomes) == ["applied"] + ["duplicate"] * 9
    assert await section_time(world.engine, world.visit) == {0: (1000, True)}
    assert await events(world.engine) == [(world.visit, 1, 1000)]


async def test_two_ingestors_on_one_database_count_a_replay_once(
    world: World, migrated_url: str
) -> None:
    """Two server processes, each with its own engine and writer, racing on one visit."""
    other_engine = create_engine(migrated_url)
    ingestors = [Ingestor(world.engine), Ingestor(other_engine)]
    token = sha256(TOKEN)
    try:
        for n, ingestor in enumerate(ingestors, start=1001):
            await ingestor.start()
            # Connected, dialect initialised and sections cached: the race below is a real one.
            assert await ingestor.submit(token, beat(world, n), at(1)) is Outcome.APPLIED
        outcomes: list[Outcome] = []
        for first in range(1, 101, 10):
            beats = [beat(world, seq, {0: 100}) for seq in range(first, first + 10)]
            outcomes += await asyncio.gather(
                *(i.submit(token, b, at(60)) for b in beats for i in ingestors)
            )
    finally:
        for ingestor in ingestors:
            await ingestor.stop()
        await other_engine.dispose()
    assert outcomes.count(Outcome.APPLIED) == 100
    assert outcomes.count(Outcome.DUPLICATE) == 100
    assert len(await events(world.engine)) == 102
    assert await section_time(world.engine, world.visit) == {0: (10_000, True)}
    assert (await visit_state(world.engine, world.visit))[0] == 1002


async def test_a_forged_secret_is_forbidden_and_writes_nothing(
    world: World, ingestor: Ingestor
) -> None:
    forged = beat(world, 1, {0: 1000}, [0], secret="guessed")
    assert await ingestor.submit(sha256(TOKEN), forged, at(2)) is Outcome.FORBIDDEN
    assert await events(world.engine) == []
    assert await section_time(world.engine, world.visit) == {}
    assert await visit_state(world.engine, world.visit) == (0, None)


async def test_a_visit_posted_to_another_links_token_is_forbidden(
    world: World, ingestor: Ingestor
) -> None:
    elsewhere = beat(world, 1, {0: 1000}, [0])
    assert await ingestor.submit(sha256(OTHER_TOKEN), elsewhere, at(2)) is Outcome.FORBIDDEN
    assert await events(world.engine) == []


async def test_an_unknown_visit_is_unknown(world: World, ingestor: Ingestor) -> None:
    stray = beat(world, 1, {0: 1000}, visit=world.visit + 1000)
    assert await ingestor.submit(sha256(TOKEN), stray, at(2)) is Outcome.UNKNOWN
    assert await events(world.engine) == []


async def test_a_revoked_link_is_gone(world: World, ingestor: Ingestor) -> None:
    link = await add_link(world.engine, "revoked-token", revoked_at=at(1))
    visit = await add_visit(world.engine, link, "s")
    late = beat(world, 1, {0: 1000}, visit=visit, secret="s")
    assert await ingestor.submit(sha256("revoked-token"), late, at(2)) is Outcome.GONE
    assert await events(world.engine) == []


async def test_a_link_is_gone_from_the_moment_it_expires(world: World, ingestor: Ingestor) -> None:
    link = await add_link(world.engine, "expiring-token", expires_at=at(10))
    visit = await add_visit(world.engine, link, "s")
    token = sha256("expiring-token")
    before = beat(world, 1, {0: 1000}, visit=visit, secret="s")
    assert await ingestor.submit(token, before, at(9)) is Outcome.APPLIED
    at_expiry = beat(world, 2, {0: 1000}, visit=visit, secret="s")
    assert await ingestor.submit(token, at_expiry, at(10)) is Outcome.GONE
    assert await events(world.engine) == [(visit, 1, 1000)]


@pytest.mark.parametrize(
    ("dwell", "seen"), [({3: 100}, []), ({0: 100}, [7]), ({-1: 100}, []), ({}, [-1])]
)
async def test_a_position_the_document_lacks_is_a_bad_section(
    world: World, ingestor: Ingestor, dwell: dict[int, int], seen: list[int]
) -> None:
    wrong = beat(world, 1, dwell, seen)
    assert await ingestor.submit(sha256(TOKEN), wrong, at(2)) is Outcome.BAD_SECTION
    assert await events(world.engine) == []
    assert await section_time(world.engine, world.visit) == {}


async def test_no_section_is_credited_more_time_than_the_visit_has_lasted(
    world: World, ingestor: Ingestor
) -> None:
    token = sha256(TOKEN)
    # Two seconds since the visit began, plus one second of slack: at most 3 s per section.
    inflated = beat(world, 1, {0: 60_000, 1: 2500}, [0, 1])
    assert await ingestor.submit(token, inflated, at(2)) is Outcome.APPLIED
    assert await section_time(world.engine, world.visit) == {0: (3000, True), 1: (2500, True)}
    # Half a second later section 0 may hold 3.5 s in all: 0.5 s more.
    assert await ingestor.submit(token, beat(world, 2, {0: 5000}), at(2.5)) is Outcome.APPLIED
    # Stamped before the previous heartbeat: the visit has still lasted 2.5 s.
    assert await ingestor.submit(token, beat(world, 3, {2: 5000}), at(1)) is Outcome.APPLIED
    assert await section_time(world.engine, world.visit) == {
        0: (3500, True),
        1: (2500, True),
        2: (3500, True),
    }
    assert await events(world.engine) == [
        (world.visit, 1, 5500),
        (world.visit, 2, 500),
        (world.visit, 3, 3500),
    ]
    assert await visit_state(world.engine, world.visit) == (3, at(2.5))


async def test_a_flood_of_inflated_heartbeats_gains_nothing(
    world: World, ingestor: Ingestor
) -> None:
    token = sha256(TOKEN)
    flood = [
        ingestor.submit(token, beat(world, seq, {0: 86_400_000}), at(2 + seq / 1000))
        for seq in range(1, 51)
    ]
    assert set(await asyncio.gather(*flood)) == {Outcome.APPLIED}
    # 2.05 s passed since the visit began; one second of slack in all, not one per heartbeat.
    assert await section_time(world.engine, world.visit) == {0: (3050, True)}


async def test_a_backlog_sent_late_is_credited_in_full(world: World, ingestor: Ingestor) -> None:
    token = sha256(TOKEN)
    backlog = [beat(world, seq, {0: 2000}) for seq in (1, 2, 3)]
    for heartbeat in backlog:  # three beats of 2 s each, all arriving 6.2 s into the visit
        assert await ingestor.submit(token, heartbeat, at(6.2)) is Outcome.APPLIED
    assert await section_time(world.engine, world.visit) == {0: (6000, True)}


async def test_heartbeats_arriving_together_never_add_up_to_more_than_the_wall_clock(
    world: World, ingestor: Ingestor
) -> None:
    token = sha256(TOKEN)
    outcomes = await asyncio.gather(
        ingestor.submit(token, beat(world, 2, {0: 9000}), at(6)),
        ingestor.submit(token, beat(world, 1, {0: 9000}), at(2)),
    )
    assert list(outcomes) == [Outcome.APPLIED, Outcome.APPLIED]
    # In whatever order they apply, the section holds what 6 s and one slack allow.
    stored = await events(world.engine)
    assert [(visit, seq) for visit, seq, _ in stored] == [(world.visit, 1), (world.visit, 2)]
    assert sum(dwell for _, _, dwell in stored) == 7000
    assert await visit_state(world.engine, world.visit) == (2, at(6))


async def test_out_of_order_sequences_both_apply(world: World, ingestor: Ingestor) -> None:
    token = sha256(TOKEN)
    assert await ingestor.submit(token, beat(world, 3, {0: 1000}), at(2)) is Outcome.APPLIED
    assert await ingestor.submit(token, beat(world, 2, {1: 1000}), at(4)) is Outcome.APPLIED
    assert await events(world.engine) == [(world.visit, 2, 1000), (world.visit, 3, 1000)]
    assert (await visit_state(world.engine, world.visit))[0] == 3


async def test_each_heartbeat_of_a_mixed_batch_gets_its_own_outcome(
    world: World, ingestor: Ingestor
) -> None:
    token = sha256(TOKEN)
    outcomes = await asyncio.gather(
        ingestor.submit(token, beat(world, 1, {0: 1000}), at(2)),
        ingestor.submit(token, beat(world, 2, {0: 1000}, secret="guessed"), at(2)),
        ingestor.submit(token, beat(world, 3, {9: 1000}), at(2)),
        ingestor.submit(token, beat(world, 4, visit=world.visit + 1000), at(2)),
        ingestor.submit(sha256(OTHER_TOKEN), beat(world, 5), at(2)),
    )
    assert list(outcomes) == [
        Outcome.APPLIED,
        Outcome.FORBIDDEN,
        Outcome.BAD_SECTION,
        Outcome.UNKNOWN,
        Outcome.FORBIDDEN,
    ]
    assert await events(world.engine) == [(world.visit, 1, 1000)]


async def test_stop_commits_everything_already_queued(world: World) -> None:
    ingestor = Ingestor(world.engine, max_batch=8)
    await ingestor.start()
    token = sha256(TOKEN)
    pending = [
        asyncio.create_task(ingestor.submit(token, beat(world, seq, {0: 10}), at(60)))
        for seq in range(1, 101)
    ]
    await asyncio.sleep(0)  # every submit has queued its heartbeat
    await ingestor.stop()
    assert len(await events(world.engine)) == 100
    assert set(await asyncio.gather(*pending)) == {Outcome.APPLIED}
    with pytest.raises(RuntimeError, match="not running"):
        await ingestor.submit(token, beat(world, 101), at(61))


async def test_a_submitter_that_gives_up_does_not_disturb_the_others(
    world: World, ingestor: Ingestor
) -> None:
    token = sha256(TOKEN)
    abandoned = asyncio.create_task(ingestor.submit(token, beat(world, 1, {0: 100}), at(2)))
    kept = asyncio.create_task(ingestor.submit(token, beat(world, 2, {0: 100}), at(2)))
    await asyncio.sleep(0)
    abandoned.cancel()  # the client went away while its batch was being written
    assert await kept is Outcome.APPLIED
    with pytest.raises(asyncio.CancelledError):
        await abandoned
    assert await ingestor.submit(token, beat(world, 3, {0: 100}), at(3)) is Outcome.APPLIED
    # What was queued is applied all the same: the script's retry would be a duplicate.
    assert [seq for _, seq, _ in await events(world.engine)] == [1, 2, 3]


async def test_a_submit_before_start_is_refused(world: World) -> None:
    with pytest.raises(RuntimeError, match="not running"):
        await Ingestor(world.engine).submit(sha256(TOKEN), beat(world, 1), at(1))


async def test_a_naive_receive_time_is_refused_before_it_can_fail_a_batch(
    world: World, ingestor: Ingestor
) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        await ingestor.submit(sha256(TOKEN), beat(world, 1), dt.datetime(2026, 11, 24, 9))


async def test_two_thousand_concurrent_heartbeats_are_all_committed(
    world: World, ingestor: Ingestor
) -> None:
    visits = [(await add_visit(world.engine, world.link_id, f"s{n}"), f"s{n}") for n in range(20)]
    token = sha256(TOKEN)
    beats = [
        beat(world, seq, {seq % 3: 100}, [seq % 3], visit=visit, secret=secret)
        for visit, secret in visits
        for seq in range(1, 101)
    ]
    outcomes = await asyncio.gather(*(ingestor.submit(token, b, at(60)) for b in beats))
    assert set(outcomes) == {Outcome.APPLIED}
    assert len(outcomes) == 2000
    async with world.engine.connect() as connection:
        count = await connection.scalar(select(func.count()).select_from(ViewEvent))
        seqs = await connection.execute(select(Visit.last_seq).where(Visit.id != world.visit))
        assert count == 2000
        assert {last_seq for (last_seq,) in seqs} == {100}
    for visit, _ in visits:
        times = await section_time(world.engine, visit)
        assert sum(dwell for dwell, _ in times.values()) == 10_000


_REFUSE_SQLITE = (
    "CREATE TRIGGER refuse_visit_update BEFORE UPDATE ON visits "
    "BEGIN SELECT RAISE(ABORT, 'storage refused the write'); END",
)
_REFUSE_POSTGRES = (
    "CREATE FUNCTION refuse_write() RETURNS trigger LANGUAGE plpgsql AS "
    "$$ BEGIN RAISE EXCEPTION 'storage refused the write'; END $$",
    "CREATE TRIGGER refuse_visit_update BEFORE UPDATE ON visits "
    "FOR EACH ROW EXECUTE FUNCTION refuse_write()",
)


async def test_a_failed_transaction_fails_every_submitter_and_leaves_nothing(
    world: World, ingestor: Ingestor
) -> None:
    """The database refuses the batch's last write (the visits update): the events and section
    time written before it in the same transaction must be gone too."""
    postgres = world.engine.dialect.name == "postgresql"
    async with world.engine.begin() as connection:
        for statement in _REFUSE_POSTGRES if postgres else _REFUSE_SQLITE:
            await connection.execute(text(statement))
    token = sha256(TOKEN)
    beats = [beat(world, seq, {0: 500}, [0]) for seq in range(1, 21)]
    results = await asyncio.gather(
        *(ingestor.submit(token, b, at(60)) for b in beats), return_exceptions=True
    )
    assert all(isinstance(r, DBAPIError) for r in results), results
    assert all("storage refused the write" in str(r) for r in results)
    assert await events(world.engine) == []
    assert await section_time(world.engine, world.visit) == {}
    assert await visit_state(world.engine, world.visit) == (0, None)

    async with world.engine.begin() as connection:
        await connection.execute(
            text("DROP TRIGGER refuse_visit_update" + (" ON visits" * postgres))
        )
    again = await asyncio.gather(*(ingestor.submit(token, b, at(60)) for b in beats))
    assert set(again) == {Outcome.APPLIED}
    assert await section_time(world.engine, world.visit) == {0: (10_000, True)}
