"""The slot funnel: the share of sessions that reached each slot of the message map, so
marketing sees where readers drop off.

A session is one visit, as in every report (tracker/reports.py), whether or not its script
reported a section: a visit that left before any section came on screen dropped off before
the first slot, and the funnel should show that. A session *reached* a slot when it saw at
least one section of that slot in its document.

The counts are one aggregate statement (a UNION ALL of the sessions and the sessions per slot,
each from the roll-ups over the window's whole months and from the raw rows for the rest, see
tracker/rollup.py), so no visit or section-time row is loaded into Python and the raw rows read
are only the recent and edge-of-window ones: it has to answer within a page's time budget with
a hundred thousand visits in SQLite. Prospect facets are matched in Python over the documents'
profile snapshots (and the roll-ups' profiles), as in the block reports, and only when a facet
is asked for.

Everything here only reads; nothing flushes or commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, CompoundSelect, Select, func, null, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

from tracker.models import (
    Document,
    DocumentSection,
    RollupDocumentSessions,
    RollupProfile,
    RollupSlotReach,
    SectionTime,
    ShareLink,
    Visit,
)
from tracker.reports import EngagementFilter, profile_admitted, profile_filters
from tracker.rollup import Split, split


@dataclass(frozen=True)
class FunnelStep:
    """One slot: how many sessions reached it, their share, and the share lost since the slot
    before it (negative when readers skipped ahead to it)."""

    slot: str
    sessions_reached: int
    share: float
    drop: float

    @property
    def lost(self) -> float:
        """The drop as a share of those who reached the slot before (0.0 for the first)."""
        before = self.share + self.drop
        return self.drop / before if before else 0.0


@dataclass(frozen=True)
class Funnel:
    """Every slot of the message map, in its order, over `sessions` sessions."""

    sessions: int
    steps: tuple[FunnelStep, ...]


async def slot_funnel(
    session: AsyncSession, slots: Sequence[str], filters: EngagementFilter | None = None
) -> Funnel:
    """The funnel over `slots` (message-map order) for the documents and sessions `filters`
    admits; `filters.slot` does not apply (every slot is a step)."""
    filters = filters or EngagementFilter()
    cut = await split(session, filters.since, filters.until)
    documents = await _admitted_documents(session, filters)
    profiles = await _admitted_profiles(session, filters)
    reached: dict[str | None, int] = {}
    for slot, count in await session.execute(_counts(filters, documents, profiles, cut)):
        reached[slot] = reached.get(slot, 0) + int(count or 0)
    sessions = reached.pop(None, 0)
    return Funnel(sessions=sessions, steps=_steps(slots, reached, sessions))


def _steps(
    slots: Sequence[str], reached: dict[str | None, int], sessions: int
) -> tuple[FunnelStep, ...]:
    steps = []
    previous: float | None = None
    for slot in slots:
        count = reached.get(slot, 0)
        share = count / sessions if sessions else 0.0
        drop = 0.0 if previous is None else previous - share
        steps.append(FunnelStep(slot=slot, sessions_reached=count, share=share, drop=drop))
        previous = share
    return tuple(steps)


async def _admitted_documents(session: AsyncSession, filters: EngagementFilter) -> list[str] | None:
    """The documents whose prospect matches the filters' facets; None when none is asked."""
    wanted = profile_filters(filters)
    if not wanted:
        return None
    query = select(Document.id, Document.profile)
    if filters.library_id is not None:
        query = query.where(Document.library_id == filters.library_id)
    rows = await session.execute(query)
    return [doc_id for doc_id, profile in rows if profile_admitted(profile or {}, wanted)]


async def _admitted_profiles(session: AsyncSession, filters: EngagementFilter) -> list[str] | None:
    """The roll-ups' profiles that match the filters' facets; None when none is asked."""
    wanted = profile_filters(filters)
    if not wanted:
        return None
    rows = await session.execute(select(RollupProfile.hash, RollupProfile.facets))
    return [key for key, values in rows if profile_admitted(values, wanted)]


def _counts(
    filters: EngagementFilter, documents: list[str] | None, profiles: list[str] | None, cut: Split
) -> CompoundSelect[str | None, int]:
    """(None, sessions) and (slot, sessions that saw a section of it) for each slot seen, in
    several rows each (raw and rolled up) to be added."""
    scope = _document_scope(filters, documents)
    window = cut.raw()
    sessions = (
        select(null().label("slot"), func.count(Visit.id).label("sessions"))
        .join(ShareLink, ShareLink.id == Visit.link_id)
        .join(Document, Document.id == ShareLink.document_id)
        .where(*scope, *window)
    )
    per_slot = (
        select(DocumentSection.slot, func.count(SectionTime.visit_id.distinct()))
        .select_from(SectionTime)
        # `+ 0`: one pass over section_time with a primary-key probe per row is several times
        # faster in SQLite than walking it through an index and fetching each row at random.
        .join(DocumentSection, DocumentSection.id == SectionTime.section_id + 0)
        .join(Document, Document.id == DocumentSection.document_id)
        # A visit's sections are its link's document's (ingest accepts no other), so the
        # visit is joined only for its start time and id.
        .join(Visit, Visit.id == SectionTime.visit_id + 0)
        .where(SectionTime.seen, *scope, *window, *cut.raw_ids(SectionTime.visit_id))
        .group_by(DocumentSection.slot)
    )
    return union_all(sessions, per_slot, *_rolled_counts(filters, documents, profiles, cut))


def _rolled_counts(
    filters: EngagementFilter, documents: list[str] | None, profiles: list[str] | None, cut: Split
) -> tuple[Select[None, int], Select[str, int]]:
    """The same counts over the window's whole months, from the roll-ups."""
    table = RollupDocumentSessions
    sessions = (
        select(null().label("slot"), func.sum(table.sessions))
        .join(Document, Document.id == table.document_id)
        .where(*_document_scope(filters, documents), *cut.rolled(table.month))
    )
    reach = RollupSlotReach
    per_slot = (
        select(reach.slot, func.sum(reach.sessions))
        .where(*cut.rolled(reach.month))
        .group_by(reach.slot)
    )
    if filters.library_id is not None:
        per_slot = per_slot.where(reach.library_id == filters.library_id)
    if profiles is not None:
        per_slot = per_slot.where(reach.profile_hash.in_(profiles))
    return sessions, per_slot


def _document_scope(
    filters: EngagementFilter, documents: list[str] | None
) -> list[ColumnElement[bool]]:
    scope: list[ColumnElement[bool]] = []
    if filters.library_id is not None:
        scope.append(Document.library_id == filters.library_id)
    if documents is not None:
        scope.append(Document.id.in_(documents))
    return scope
