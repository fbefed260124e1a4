"""Blocks as the database keeps them: one row per block id, one immutable row per content.

A re-import that leaves a block unchanged finds its existing version by content hash; a changed
block gets the next version number. Documents point at versions, so what a prospect was sent
never changes under them.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from engine.library import Block as LibraryBlock
from tracker.models import Block, BlockVersion


async def store_block_version(
    session: AsyncSession, library_id: int, block: LibraryBlock
) -> BlockVersion:
    """The stored version of `block` in library `library_id`, created if its content is new."""
    row = await session.scalar(
        select(Block).where(Block.library_id == library_id, Block.key == block.id)
    )
    if row is None:
        row = Block(library_id=library_id, key=block.id)
        session.add(row)
        await session.flush()
    version = await session.scalar(
        select(BlockVersion).where(
            BlockVersion.block_id == row.id, BlockVersion.content_hash == block.content_hash
        )
    )
    if version is not None:
        return version
    latest = await session.scalar(
        select(func.max(BlockVersion.number)).where(BlockVersion.block_id == row.id)
    )
    version = BlockVersion(
        block_id=row.id,
        number=(latest or 0) + 1,
        content_hash=block.content_hash,
        slot=block.slot,
        title=block.title,
        body=block.body,
        status=block.status,
        expires=block.expires,
        tags=_tags(block),
        source=block.source,
    )
    session.add(version)
    await session.flush()
    return version


def _tags(block: LibraryBlock) -> dict[str, Any]:
    return {facet: list(values) for facet, values in block.tags.items()}
