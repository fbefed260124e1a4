"""What engagement-informed selection learns from: per block and slot, the sessions of documents
that carried it and how many of them read it, overall and per prospect industry.

The figures are the block report's (tracker.reports.block_engagement), so selection learns from
exactly the numbers marketing sees: rolled-up months from the roll-ups, recent visits from the
raw rows, each session once. A block is keyed by its id in the library and the slot of its
latest version, as the engine knows it. Nothing here writes.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from engine.learning import Counts, Observations
from tracker.models import Library
from tracker.reports import EngagementFilter, block_engagement


async def read_counts(
    session: AsyncSession, library_name: str, industries: Iterable[str]
) -> Observations:
    """Observations of the stored library named `library_name` (none when it was never
    stored): every block's totals, and its figures within each of `industries`."""
    library_id = await session.scalar(select(Library.id).where(Library.name == library_name))
    observations = Observations()
    if library_id is None:
        return observations
    for industry in [None, *sorted(set(industries))]:
        wanted = EngagementFilter(library_id=library_id, industry=industry)
        for row in await block_engagement(session, wanted):
            if row.sessions:
                # read_rate is reads / sessions unrounded: this gives the count back exactly.
                reads = round(row.read_rate * row.sessions)
                observations.add(row.block_id, row.slot, industry, Counts(row.sessions, reads))
    return observations
