"""Expiry propagation on real rows, on both backends: a library re-imported with a block retired
(or a date passing a block's expiry) flags the live documents that show it; regeneration swaps
that block only, moves the live links to the new document and leaves every earlier visit with
the old one.

The library: opening `o-now`, `o-peers`; value (2 blocks) `v-fuel`, `v-safety`, `v-routes`;
proof `p-fleet`. The document shows o-now, v-fuel, v-safety, p-fleet.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from engine import Alternative, Prospect, Selection, load_library, parse_prospect
from engine.assemble import Rep, assemble
from engine.library import Library
from engine.select import Section
from tests.factories import write_block, write_library
from tracker.documents import store_document
from tracker.library_store import StoredLibrary, import_library
from tracker.links import LinkOptions, create_link, find_link, revoke_link
from tracker.models import BlockVersion, Document, DocumentSection, SectionTime, ShareLink, Visit
from tracker.models import Prospect as ProspectRow
from tracker.regenerate import (
    RegenerationError,
    move_live_links,
    out_of_date_sections,
    plan_regeneration,
    store_successor,
)
from tracker.reports import document_report, link_report

pytestmark = pytest.mark.asyncio

TODAY = dt.date(2026, 6, 15)
NOW = dt.datetime(2026, 6, 15, 12, tzinfo=dt.UTC)
BLOCKS: list[dict[str, Any]] = [
    {"id": "o-now", "slot": "opening"},
    {"id": "o-peers", "slot": "opening"},
    {"id": "v-fuel", "slot": "value", "title": "Cut diesel spend"},
    {"id": "v-safety", "slot": "value", "expires": dt.date(2026, 12, 31)},
    {"id": "v-routes", "slot": "value"},
    {"id": "p-fleet", "slot": "proof"},
]
SHOWN = ("o-now", "v-fuel", "v-safety", "p-fleet")


class World:
    """A library folder imported into the database, and documents assembled from it."""

    def __init__(self, session: AsyncSession, root: Path) -> None:
        self.session = session
        self.root = write_library(root, BLOCKS)
        self.prospect = parse_prospect({"id": "p-north", "company": "Northwind", "needs": "Fuel."})

    async def load(self) -> tuple[Library, StoredLibrary]:
        library = load_library(self.root)
        return library, await import_library(self.session, library)

    async def reimport(self, block_id: str, **changes: Any) -> None:
        block = next(b for b in BLOCKS if b["id"] == block_id)
        write_block(self.root, {**block, **changes})
        await self.load()

    async def document(self, shown: tuple[str, ...] = SHOWN) -> Document:
        library, stored = await self.load()
        selection = pick(self.prospect, shown)
        assembled = assemble(library, selection, self.prospect, TODAY, Rep(name="Sam"))
        row = await store_document(self.session, assembled, stored.id, stored.versions, {}, None)
        return await reloaded(self.session, row.id)

    async def link(self, document: Document, recipient: str) -> tuple[ShareLink, str]:
        return await create_link(self.session, document.id, LinkOptions(recipient), None)

    async def visit(self, link: ShareLink, document: Document, position: int) -> Visit:
        """A session that read the section at `position` for 9 s."""
        visit = Visit(link_id=link.id, created_at=NOW, secret_hash="0" * 64, user_agent_kind="x")
        self.session.add(visit)
        await self.session.flush()
        section = document.sections[position]
        self.session.add(
            SectionTime(visit_id=visit.id, section_id=section.id, dwell_ms=9000, seen=True)
        )
        await self.session.flush()
        return visit


def pick(prospect: Prospect, shown: tuple[str, ...], **alternatives: list[str]) -> Selection:
    slots = {"o": "opening", "v": "value", "p": "proof"}
    sections = tuple(Section(slots[b[0]], b, 0.5, f"picked {b}") for b in shown)
    alts = {
        slot: tuple(Alternative(b, 0.4) for b in blocks) for slot, blocks in alternatives.items()
    }
    return Selection(prospect.id, sections, (), (), alts)


@pytest.fixture
def world(session: AsyncSession, tmp_path: Path) -> World:
    return World(session, tmp_path / "library")


async def reloaded(session: AsyncSession, document_id: str) -> Document:
    """The document with its sections' block versions and blocks, as read afresh."""
    session.expunge_all()
    options = selectinload(Document.sections)
    query = select(Document).where(Document.id == document_id)
    query = query.options(
        options.selectinload(DocumentSection.block_version).selectinload(BlockVersion.block)
    )
    return (await session.scalars(query)).one()


async def test_a_block_retired_by_a_reimport_flags_the_live_documents_that_show_it(
    world: World,
) -> None:
    live = await world.document()
    await world.link(live, "dana@north.example")
    dead = await world.document()
    link, _ = await world.link(dead, "old@north.example")
    await revoke_link(world.session, link)
    assert await out_of_date_sections(world.session, live, TODAY, NOW) == ()

    await world.reimport("v-fuel", status="retired")

    live = await reloaded(world.session, live.id)
    (flag,) = await out_of_date_sections(world.session, live, TODAY, NOW)
    assert (flag.position, flag.slot, flag.block_id, flag.title) == (
        1,
        "value",
        "v-fuel",
        "Cut diesel spend",
    )
    assert flag.reason == "the block was retired since (version 2)"
    dead = await reloaded(world.session, dead.id)
    assert await out_of_date_sections(world.session, dead, TODAY, NOW) == ()  # nobody can open it


async def test_a_block_flags_its_documents_once_the_date_passes_its_expiry(world: World) -> None:
    document = await world.document()
    await world.link(document, "dana@north.example")
    last_day = dt.date(2026, 12, 31)
    assert await out_of_date_sections(world.session, document, last_day, NOW) == ()
    (flag,) = await out_of_date_sections(world.session, document, last_day + dt.timedelta(1), NOW)
    assert flag.block_id == "v-safety" and flag.reason == "version 1 expired on 2026-12-31"


async def test_a_block_sent_back_to_draft_flags_its_documents(world: World) -> None:
    document = await world.document()
    await world.link(document, "dana@north.example")
    await world.reimport("p-fleet", status="draft")
    document = await reloaded(world.session, document.id)
    (flag,) = await out_of_date_sections(world.session, document, TODAY, NOW)
    assert flag.block_id == "p-fleet" and flag.reason == "the block is a draft since (version 2)"


async def test_the_plan_swaps_only_the_out_of_date_block_for_the_best_unused_one(
    world: World,
) -> None:
    document = await world.document()
    library, _ = await world.load()
    # Today's selection would pick v-fuel's neighbour v-safety first: it is in the document
    # already, so the next best, v-routes, takes v-fuel's place.
    fresh = pick(world.prospect, ("o-now", "v-safety", "v-fuel", "p-fleet"), value=["v-routes"])
    plan = plan_regeneration(document, {"v-fuel": "retired"}, fresh, library, world.prospect, TODAY)
    assert [s.block_id for s in plan.selection.sections] == [
        "o-now",
        "v-routes",
        "v-safety",
        "p-fleet",
    ]
    assert [s.why for s in plan.selection.sections] == [
        "picked o-now",
        "replaces v-fuel (retired)",
        "picked v-safety",
        "picked p-fleet",
    ]
    (replacement,) = plan.replacements
    assert (replacement.position, replacement.replaced, replacement.block_id) == (
        1,
        "v-fuel",
        "v-routes",
    )


async def test_a_slot_with_no_eligible_block_left_refuses_the_plan(world: World) -> None:
    document = await world.document()
    library, _ = await world.load()
    fresh = pick(world.prospect, ("o-now", "v-safety", "p-fleet"))
    with pytest.raises(RegenerationError, match="no eligible block is left for the slot 'proof'"):
        plan_regeneration(document, {"p-fleet": "retired"}, fresh, library, world.prospect, TODAY)


async def test_regeneration_keeps_the_link_and_each_version_keeps_its_visits(
    world: World,
) -> None:
    old = await world.document()
    link, token = await world.link(old, "dana@north.example")
    gone, _ = await world.link(old, "former@north.example")
    await world.visit(link, old, 1)
    await world.visit(link, old, 1)
    await world.visit(gone, old, 0)
    await revoke_link(world.session, gone)
    await world.reimport("v-fuel", status="retired")
    library, stored = await world.load()
    fresh = pick(world.prospect, ("o-now", "v-routes", "v-safety", "p-fleet"))
    plan = plan_regeneration(old, {"v-fuel": "retired"}, fresh, library, world.prospect, TODAY)
    assembled = assemble(library, plan.selection, world.prospect, TODAY, Rep(name="Sam"))
    new = await store_successor(world.session, old, assembled, stored.versions, {}, ())
    moved = await move_live_links(world.session, old.id, new.id, NOW)
    await world.session.commit()

    assert moved == (link.id,)
    found = await find_link(world.session, token)
    assert found is not None and found.id == link.id and found.document_id == new.id
    assert found.revoked_at is None
    fresh_report = await link_report(world.session, link.id)
    assert fresh_report.sessions == 0
    assert [s.block_id for s in fresh_report.sections] == [
        "o-now",
        "v-routes",
        "v-safety",
        "p-fleet",
    ]

    old_report = await document_report(world.session, old.id)
    assert old_report.sessions == 3
    assert sorted((x.recipient_email, x.sessions) for x in old_report.links) == [
        ("dana@north.example", 2),
        ("former@north.example", 1),
    ]
    frozen = next(x for x in old_report.links if x.recipient_email == "dana@north.example")
    assert frozen.id != link.id and frozen.revoked_at is not None
    fuel = next(s for s in old_report.sections if s.block_id == "v-fuel")
    assert fuel.sessions_seen == 2
    assert (await document_report(world.session, new.id)).sessions == 0
    revoked = await world.session.get(ShareLink, gone.id)
    assert revoked is not None and revoked.document_id == old.id  # revoked links stay behind


async def test_the_successor_is_the_old_maker_s_and_leaves_the_prospect_s_profile_alone(
    world: World,
) -> None:
    old = await world.document()
    old.created_by_key_id = None
    old.swaps = [{"slot": "value", "block_id": "v-fuel", "replaced": "v-routes"}]
    prospect = await world.session.get(ProspectRow, old.prospect_id)
    assert prospect is not None
    prospect.profile = {**prospect.profile, "needs": "Edited since."}
    await world.session.flush()
    library, stored = await world.load()
    fresh = pick(world.prospect, SHOWN, value=["v-routes"])
    plan = plan_regeneration(old, {"v-fuel": "retired"}, fresh, library, world.prospect, TODAY)
    assembled = assemble(library, plan.selection, world.prospect, TODAY, Rep(name="Sam"))
    new = await store_successor(world.session, old, assembled, stored.versions, {}, ())
    assert new.prospect_id == old.prospect_id and new.swaps == []  # v-fuel is gone
    assert prospect.profile["needs"] == "Edited since."
    assert new.profile["needs"] == "Fuel."


async def test_moving_links_refuses_when_no_link_is_live(world: World) -> None:
    old = await world.document()
    link, _ = await world.link(old, "dana@north.example")
    await revoke_link(world.session, link)
    new = await world.document()
    with pytest.raises(RegenerationError, match="no live share link"):
        await move_live_links(world.session, old.id, new.id, NOW)
    rows = (
        await world.session.scalars(select(ShareLink).where(ShareLink.document_id == old.id))
    ).all()
    assert [r.id for r in rows] == [link.id]


async def test_a_kept_block_that_left_the_library_is_replaced_too(world: World) -> None:
    document = await world.document()
    (world.root / "blocks" / "o-now.md").unlink()
    library = load_library(world.root)
    fresh = pick(world.prospect, ("o-peers", "v-safety", "v-routes", "p-fleet"))
    plan = plan_regeneration(document, {"v-fuel": "retired"}, fresh, library, world.prospect, TODAY)
    assert [(r.replaced, r.block_id, r.reason) for r in plan.replacements] == [
        ("o-now", "o-peers", "no longer in the library"),
        ("v-fuel", "v-routes", "retired"),
    ]
