"""Block versions: unchanged content keeps its version, changed content gets a new one."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.library import Block as LibraryBlock
from tracker.blocks import store_block_version
from tracker.models import BlockVersion, Library

pytestmark = pytest.mark.asyncio


def _block(source: str, block_id: str = "roi-bank") -> LibraryBlock:
    return LibraryBlock(
        id=block_id,
        slot="proof",
        title="ROI at a bank",
        body=source,
        status="approved",
        tags={"industry": ("banking",)},
        source=source,
    )


async def _library(session) -> int:
    library = Library(name="bastion", root="/libraries/bastion")
    session.add(library)
    await session.flush()
    return library.id


async def test_reimporting_an_unchanged_block_keeps_its_version(session) -> None:
    library_id = await _library(session)
    first = await store_block_version(session, library_id, _block("Cut fraud losses 40%."))
    again = await store_block_version(session, library_id, _block("Cut fraud losses 40%."))
    await session.commit()
    assert again.id == first.id
    assert (await session.scalars(select(BlockVersion))).all() == [first]


async def test_a_changed_block_gets_a_new_version_and_the_old_one_stays(session) -> None:
    library_id = await _library(session)
    old = await store_block_version(session, library_id, _block("Cut fraud losses 40%."))
    new = await store_block_version(session, library_id, _block("Cut fraud losses 45%."))
    await session.commit()
    assert new.id != old.id
    assert (old.number, new.number) == (1, 2)
    assert old.block_id == new.block_id
    assert old.body == "Cut fraud losses 40%."
    assert new.content_hash == _block("Cut fraud losses 45%.").content_hash
    assert new.tags == {"industry": ["banking"]}


async def test_versions_are_counted_per_block(session) -> None:
    library_id = await _library(session)
    one = await store_block_version(session, library_id, _block("A", block_id="one"))
    two = await store_block_version(session, library_id, _block("A", block_id="two"))
    assert (one.number, two.number) == (1, 1)
    assert one.block_id != two.block_id
