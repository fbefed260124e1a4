"""Feedback from the field over real rows on both backends: a second rating replaces the first,
ratings and reported needs are found per block and per prospect."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tracker.feedback import (
    block_needs,
    block_ratings,
    prospect_needs,
    rate_block,
    ratings_by_user,
    report_need,
)
from tracker.models import (
    Block,
    BlockRating,
    BlockVersion,
    Document,
    DocumentSection,
    Library,
    Prospect,
    User,
)

pytestmark = pytest.mark.asyncio


@dataclasses.dataclass
class World:
    prospect: int
    other_prospect: int
    blocks: dict[str, int]
    users: dict[str, int]


async def build(session: AsyncSession) -> World:
    """Library "Field" with blocks `used` and `elsewhere`; d1 (prospect P) uses `used`, d2
    (prospect Q) uses `elsewhere`; two users."""
    library = Library(name="Field", root="/libraries/field")
    session.add(library)
    await session.flush()
    blocks: dict[str, int] = {}
    versions: dict[str, int] = {}
    for key in ("used", "elsewhere"):
        block = Block(library_id=library.id, key=key)
        session.add(block)
        await session.flush()
        version = BlockVersion(
            block_id=block.id,
            number=1,
            content_hash=hashlib.sha256(key.encode()).hexdigest(),
            slot="value",
            title=key,
            body="Body.",
            status="approved",
            tags={},
            source=f"blocks/{key}.md",
        )
        session.add(version)
        await session.flush()
        blocks[key], versions[key] = block.id, version.id
    prospects = []
    for doc_id, key in (("d1", "used"), ("d2", "elsewhere")):
        prospect = Prospect(key=f"p-{doc_id}", company=f"Company {doc_id}", profile={})
        session.add(prospect)
        await session.flush()
        prospects.append(prospect.id)
        section = DocumentSection(
            position=0, slot="value", block_version_id=versions[key], title=key
        )
        session.add(
            Document(
                id=doc_id,
                library_id=library.id,
                prospect_id=prospect.id,
                title=f"Pitch {doc_id}",
                as_of=dt.date(2026, 1, 5),
                sections=[section],
            )
        )
    users = {}
    for name in ("ann", "ben"):
        user = User(email=f"{name}@vendor.example", password_hash="x", role="rep")
        session.add(user)
        await session.flush()
        users[name] = user.id
    await session.commit()
    return World(prospects[0], prospects[1], blocks, users)


async def test_a_second_rating_replaces_the_first(session: AsyncSession) -> None:
    world = await build(session)
    ann, used = world.users["ann"], world.blocks["used"]
    await rate_block(
        session, document_id="d1", block_id=used, user_id=ann, useful=False, comment="Too long"
    )
    await session.commit()
    await rate_block(
        session, document_id="d1", block_id=used, user_id=ann, useful=True, comment="Landed"
    )
    await session.commit()
    assert await session.scalar(select(func.count()).select_from(BlockRating)) == 1
    mine = await ratings_by_user(session, "d1", ann)
    assert list(mine) == [used]
    assert (mine[used].useful, mine[used].comment) == (True, "Landed")
    assert await ratings_by_user(session, "d1", world.users["ben"]) == {}


async def test_each_rep_keeps_a_rating_of_their_own(session: AsyncSession) -> None:
    world = await build(session)
    used = world.blocks["used"]
    for name, useful in (("ann", True), ("ben", False)):
        await rate_block(
            session,
            document_id="d1",
            block_id=used,
            user_id=world.users[name],
            useful=useful,
            comment=f"said {name}",
        )
        await session.commit()
    ratings = await block_ratings(session, used)
    assert sorted((r.user_email, r.useful, r.comment) for r in ratings) == [
        ("ann@vendor.example", True, "said ann"),
        ("ben@vendor.example", False, "said ben"),
    ]
    assert await block_ratings(session, world.blocks["elsewhere"]) == []


async def test_needs_are_found_by_prospect_and_by_the_blocks_of_their_document(
    session: AsyncSession,
) -> None:
    world = await build(session)
    ann = world.users["ann"]
    await report_need(
        session,
        prospect_id=world.prospect,
        document_id="d1",
        user_id=ann,
        slot="proof",
        text="SOC 2",
    )
    await report_need(
        session,
        prospect_id=world.other_prospect,
        document_id="d2",
        user_id=ann,
        slot=None,
        text="Offline mode",
    )
    await session.commit()
    [need] = await prospect_needs(session, world.prospect)
    assert (need.text, need.slot, need.document_title, need.user_email) == (
        "SOC 2",
        "proof",
        "Pitch d1",
        "ann@vendor.example",
    )
    assert [n.text for n in await block_needs(session, world.blocks["used"])] == ["SOC 2"]
    assert [n.text for n in await block_needs(session, world.blocks["elsewhere"])] == [
        "Offline mode"
    ]
