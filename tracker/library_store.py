"""A content library as the database keeps it: the message map as of the latest import, and
every block content ever imported as an immutable version."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from engine.library import Library as LoadedLibrary
from tracker.blocks import store_block_version
from tracker.models import Library, Slot, utcnow


@dataclass(frozen=True)
class StoredLibrary:
    """The library's row and, per block id, the version its current content is stored as."""

    id: int
    versions: dict[str, int]


async def import_library(session: AsyncSession, library: LoadedLibrary) -> StoredLibrary:
    """Store `library` (found again by its name), keeping the versions of earlier imports.

    Flushes but never commits: the caller's transaction makes the import all or nothing.
    """
    row = await session.scalar(select(Library).where(Library.name == library.name))
    if row is None:
        row = Library(name=library.name, root=str(library.root))
        session.add(row)
    row.root = str(library.root)
    row.imported_at = utcnow()
    await session.flush()
    await session.execute(delete(Slot).where(Slot.library_id == row.id))
    session.add_all(
        Slot(library_id=row.id, key=s.id, title=s.title, count=s.count, position=i)
        for i, s in enumerate(library.slots)
    )
    versions = {b.id: (await store_block_version(session, row.id, b)).id for b in library.blocks}
    await session.flush()
    return StoredLibrary(row.id, versions)
