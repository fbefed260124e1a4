"""Block influence: Wilson intervals against published values, and the seen/unseen split of
deals counted from real documents, links, visits and section time on both backends.

The world (every document holds `safety` and `fuel` in slot value; deals close 2026-03-10):

    deal   outcome      documents (created; industry; what the sessions saw)
    s1     won          03-01 logistics, also `proof`: a visit saw fuel and proof
    s2     won          03-01 logistics, also `proof`: two links, the second's visit saw fuel
    s3     won          03-01 retail: a visit saw safety only;  03-05 logistics: saw fuel
    s4     won          03-10 18:00 (the day of the close) [logistics, " Retail "]: saw fuel
    s5     lost         03-01 retail, fuel in slot opening: saw fuel
    s6     no_decision  03-01 no industry: saw fuel
    u1     won          03-01 logistics: fuel's row not seen;  03-11 (after the close): saw fuel
    u2     lost         03-01 logistics, also `proof`: a link, never visited
    u3     lost         03-01 retail: a visit saw safety only
    u4     lost         03-01 retail: no link
    u5     no_decision  03-01 no industry: a link, never visited
    late   won          03-11 (after the close) logistics: saw fuel   -> no deal for any block
    open   (no outcome) 03-01 logistics: saw fuel                     -> not a deal

So fuel was seen in 6 deals (s1-s6, 4 won) and sent but not seen in 5 (u1-u5, 1 won); proof
in 1 seen (won) and 2 unseen (1 won): too few deals on both sides.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tracker.influence import (
    MIN_DEALS,
    Influence,
    InfluenceGroup,
    WinRate,
    block_influence,
    influence_breakdown,
    influence_by_block,
    influence_to_dict,
    wilson_interval,
)
from tracker.models import (
    Block,
    BlockVersion,
    DealOutcome,
    Document,
    DocumentSection,
    Library,
    Prospect,
    SectionTime,
    ShareLink,
    Visit,
)
from tracker.purge import purge
from tracker.reports import UnknownBlockError
from tracker.rollup import roll_up

CLOSED = dt.date(2026, 3, 10)
SLOTS = {"safety": "value", "fuel": "value", "proof": "proof", "unused": "proof"}
_ids = itertools.count(1)


def at(day: int, hour: int = 9) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, tzinfo=dt.UTC)


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Doc:
    created: dt.datetime
    industry: str | list[str] | None
    visits: tuple[tuple[int, dict[str, bool]], ...] = ()  # (link number, {block: seen})
    links: int = 1
    blocks: tuple[str, ...] = ("safety", "fuel")
    slots: dict[str, str] = field(default_factory=dict)  # a block's slot other than its own


WORLD: dict[str, tuple[str | None, list[Doc]]] = {
    "s1": (
        "won",
        [
            Doc(
                at(1),
                "logistics",
                ((0, {"fuel": True, "proof": True}),),
                1,
                ("safety", "fuel", "proof"),
            )
        ],
    ),
    "s2": (
        "won",
        [Doc(at(1), "logistics", ((0, {}), (1, {"fuel": True})), 2, ("safety", "fuel", "proof"))],
    ),
    "s3": (
        "won",
        [
            Doc(at(1), "retail", ((0, {"safety": True}),)),
            Doc(at(5), "logistics", ((0, {"fuel": True}),)),
        ],
    ),
    "s4": ("won", [Doc(at(10, 18), ["logistics", " Retail "], ((0, {"fuel": True}),))]),
    "s5": ("lost", [Doc(at(1), "retail", ((0, {"fuel": True}),), slots={"fuel": "opening"})]),
    "s6": ("no_decision", [Doc(at(1), None, ((0, {"fuel": True}),))]),
    "u1": (
        "won",
        [
            Doc(at(1), "logistics", ((0, {"fuel": False}),)),
            Doc(at(11), "logistics", ((0, {"fuel": True}),)),
        ],
    ),
    "u2": ("lost", [Doc(at(1), "logistics", blocks=("safety", "fuel", "proof"))]),
    "u3": ("lost", [Doc(at(1), "retail", ((0, {"safety": True}),))]),
    "u4": ("lost", [Doc(at(1), "retail", links=0)]),
    "u5": ("no_decision", [Doc(at(1), None)]),
    "late": ("won", [Doc(at(11), "logistics", ((0, {"fuel": True}),))]),
    "open": (None, [Doc(at(1), "logistics", ((0, {"fuel": True}),))]),
}


async def build(session: AsyncSession) -> int:
    """The world above; returns the library's id."""
    library = Library(name="Influence", root="/libraries/influence")
    session.add(library)
    await session.flush()
    versions: dict[str, int] = {}
    for key, slot in SLOTS.items():
        block = Block(library_id=library.id, key=key)
        session.add(block)
        await session.flush()
        version = BlockVersion(
            block_id=block.id,
            number=1,
            content_hash=sha(key),
            slot=slot,
            title=key,
            body="Body.",
            status="approved",
            tags={},
            source=f"blocks/{key}.md",
        )
        session.add(version)
        await session.flush()
        versions[key] = version.id
    for prospect_key, (outcome, documents) in WORLD.items():
        prospect = Prospect(key=prospect_key, company=prospect_key.upper(), profile={})
        session.add(prospect)
        await session.flush()
        if outcome is not None:
            session.add(
                DealOutcome(
                    prospect_id=prospect.id, outcome=outcome, closed_on=CLOSED, source="api"
                )
            )
        for number, doc in enumerate(documents):
            await add_document(
                session, library.id, prospect.id, f"{prospect_key}-{number}", doc, versions
            )
    await session.commit()
    return library.id


async def add_document(
    session: AsyncSession,
    library_id: int,
    prospect_id: int,
    document_id: str,
    doc: Doc,
    versions: dict[str, int],
) -> None:
    sections = {
        key: DocumentSection(
            position=position,
            slot=doc.slots.get(key, SLOTS[key]),
            block_version_id=versions[key],
            title=key,
            reading_ms=2000,
        )
        for position, key in enumerate(doc.blocks)
    }
    profile: dict[str, Any] = {} if doc.industry is None else {"industry": doc.industry}
    session.add(
        Document(
            id=document_id,
            library_id=library_id,
            prospect_id=prospect_id,
            title=document_id,
            as_of=doc.created.date(),
            profile=profile,
            created_at=doc.created,
            sections=list(sections.values()),
        )
    )
    links = [
        ShareLink(document_id=document_id, token_hash=sha(f"{document_id} {n}"))
        for n in range(doc.links)
    ]
    session.add_all(links)
    await session.flush()
    for link_number, seen in doc.visits:
        visit = Visit(
            link_id=links[link_number].id,
            created_at=doc.created + dt.timedelta(hours=1),
            secret_hash=sha(f"visit {next(_ids)}"),
            user_agent_kind="browser",
        )
        session.add(visit)
        await session.flush()
        session.add_all(
            SectionTime(
                visit_id=visit.id,
                section_id=sections[key].id,
                dwell_ms=3000 if was_seen else 0,
                seen=was_seen,
            )
            for key, was_seen in seen.items()
        )
    await session.flush()


@contextmanager
def statements(session: AsyncSession) -> Iterator[list[str]]:
    """The SQL statements the session's engine runs inside the block."""
    ran: list[str] = []

    def record(*args: Any) -> None:
        ran.append(str(args[2]))

    engine = session.bind.sync_engine  # type: ignore[union-attr]
    event.listen(engine, "before_cursor_execute", record)
    try:
        yield ran
    finally:
        event.remove(engine, "before_cursor_execute", record)


# ---------------------------------------------------------------------------------------------
# Wilson and Newcombe against published values


@pytest.mark.parametrize(
    ("won", "deals", "expected"),
    [
        # Newcombe (1998), "Two-sided confidence intervals for the single proportion", Table I;
        # 5 of 10 and 10 of 10 as in every table of the Wilson score interval.
        (0, 10, (0.0, 0.2775)),
        (5, 10, (0.2366, 0.7634)),
        (10, 10, (0.7225, 1.0)),
        (81, 263, (0.2553, 0.3662)),
        (15, 148, (0.0624, 0.1605)),
        (0, 20, (0.0, 0.1611)),
        (1, 29, (0.0061, 0.1718)),
    ],
)
def test_wilson_interval_matches_published_values(
    won: int, deals: int, expected: tuple[float, float]
) -> None:
    low, high = wilson_interval(won, deals)
    assert low == pytest.approx(expected[0], abs=5e-5)
    assert high == pytest.approx(expected[1], abs=5e-5)


def test_wilson_interval_of_nothing_is_everything_and_nonsense_is_refused() -> None:
    assert wilson_interval(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError, match="3 of 2"):
        wilson_interval(3, 2)
    with pytest.raises(ValueError):
        wilson_interval(-1, 2)


def test_a_wider_z_gives_a_wider_interval() -> None:
    narrow = wilson_interval(5, 10, z=1.0)
    wide = wilson_interval(5, 10)
    assert wide[0] < narrow[0] < 0.5 < narrow[1] < wide[1]


def test_the_lift_interval_is_newcombe_s_hybrid_score_interval() -> None:
    # Newcombe (1998), "Interval estimation for the difference between independent
    # proportions", example (a): 56/70 against 48/80, method 10: 0.0524 to 0.3339.
    influence = Influence(seen=WinRate(deals=70, won=56), unseen=WinRate(deals=80, won=48))
    assert influence.lift == pytest.approx(0.2)
    assert influence.lift_interval == pytest.approx((0.0524, 0.3339), abs=5e-5)


def test_below_the_minimum_an_arm_has_counts_but_no_figure() -> None:
    few = WinRate(deals=MIN_DEALS - 1, won=MIN_DEALS - 1)
    enough = WinRate(deals=MIN_DEALS, won=1)
    assert (few.rate, few.interval, few.enough) == (None, None, False)
    assert enough.rate == pytest.approx(1 / MIN_DEALS) and enough.interval is not None
    assert Influence(seen=enough, unseen=few).lift is None
    assert Influence(seen=enough, unseen=few).lift_interval is None
    assert few.to_dict() == {
        "deals": MIN_DEALS - 1,
        "won": MIN_DEALS - 1,
        "win_rate": None,
        "interval": None,
        "enough": False,
    }


# ---------------------------------------------------------------------------------------------
# Deals counted from visits


@pytest.mark.asyncio
async def test_deals_split_by_whether_any_session_saw_the_block(session: AsyncSession) -> None:
    library = await build(session)
    fuel = await block_influence(session, library, "fuel")
    assert fuel.seen == WinRate(deals=6, won=4)
    assert fuel.unseen == WinRate(deals=5, won=1)
    assert fuel.seen.interval == pytest.approx(wilson_interval(4, 6))
    assert fuel.lift == pytest.approx(4 / 6 - 1 / 5)
    body = influence_to_dict("fuel", fuel)
    assert body["min_deals"] == MIN_DEALS and body["unseen"]["win_rate"] == pytest.approx(0.2)
    assert body["lift_interval"] == pytest.approx(list(fuel.lift_interval or ()))


@pytest.mark.asyncio
async def test_a_document_made_after_the_close_does_not_count(session: AsyncSession) -> None:
    library = await build(session)
    by_industry = await influence_breakdown(session, library, "fuel", "industry")
    logistics = next(g.influence for g in by_industry if g.value == "logistics")
    # u1 saw fuel only in a document made after its close: it stays unseen; `late` had no
    # document before its close at all, so it is no deal of fuel's.
    assert logistics.unseen == WinRate(deals=2, won=1)
    assert logistics.seen == WinRate(deals=4, won=4)


@pytest.mark.asyncio
async def test_below_the_minimum_sample_the_block_has_no_win_rate(session: AsyncSession) -> None:
    library = await build(session)
    proof = await block_influence(session, library, "proof")
    assert proof == Influence(seen=WinRate(1, 1), unseen=WinRate(2, 1))
    assert (proof.seen.rate, proof.unseen.rate, proof.lift) == (None, None, None)


@pytest.mark.asyncio
async def test_breakdowns_by_prospect_facet_and_by_slot(session: AsyncSession) -> None:
    library = await build(session)
    by_industry = await influence_breakdown(session, library, "fuel", "industry")
    # s3 counts as seen under logistics (its second document) and unseen under retail (its
    # first); s4's profile lists both values, written untidily.
    assert by_industry == [
        InfluenceGroup("industry", "logistics", Influence(WinRate(4, 4), WinRate(2, 1))),
        InfluenceGroup("industry", "retail", Influence(WinRate(2, 1), WinRate(3, 1))),
        InfluenceGroup("industry", None, Influence(WinRate(1, 0), WinRate(1, 0))),
    ]
    by_slot = await influence_breakdown(session, library, "fuel", "slot")
    assert by_slot == [
        InfluenceGroup("slot", "opening", Influence(WinRate(1, 0), WinRate(0, 0))),
        InfluenceGroup("slot", "value", Influence(WinRate(5, 4), WinRate(5, 1))),
    ]
    assert by_slot[1].influence.lift == pytest.approx(0.8 - 0.2)
    assert by_slot[1].to_dict()["value"] == "value"


@pytest.mark.asyncio
async def test_unknown_blocks_and_dimensions_are_refused(session: AsyncSession) -> None:
    library = await build(session)
    with pytest.raises(UnknownBlockError):
        await block_influence(session, library, "missing")
    with pytest.raises(UnknownBlockError):
        await block_influence(session, library + 1, "fuel")
    with pytest.raises(ValueError, match="region"):
        await influence_breakdown(session, library, "fuel", "region")  # type: ignore[arg-type]


@pytest.mark.asyncio
async def test_every_block_at_once_in_two_queries(session: AsyncSession) -> None:
    library = await build(session)
    with statements(session) as ran:
        everything = await influence_by_block(session, library)
    assert len(ran) == 2
    assert set(everything) == set(SLOTS) - {"unused"}  # a block in no deal is left out
    assert everything["fuel"] == await block_influence(session, library, "fuel")
    assert everything["proof"] == await block_influence(session, library, "proof")
    # safety was seen in s3 (won) and u3 (lost); the other nine deals were sent it unseen.
    assert everything["safety"] == Influence(WinRate(2, 1), WinRate(9, 4))


@pytest.mark.asyncio
async def test_influence_outlives_a_purge_of_the_raw_rows(session: AsyncSession) -> None:
    """Deals close months after their documents were read: once the visits are rolled up, the
    retention purge may take their raw rows, and each section's rolled-up counts still say
    which blocks every deal's prospect saw."""
    library_id = await build(session)
    before = await influence_by_block(session, library_id)
    later = at(28) + dt.timedelta(days=60)
    await roll_up(session, later)
    removed = await purge(session, dt.timedelta(days=1), later)
    assert removed.visits > 0 and removed.kept == 0
    assert await session.scalar(select(func.count()).select_from(SectionTime)) == 0
    assert await influence_by_block(session, library_id) == before
