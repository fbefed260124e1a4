"""Engagement reports: what each link, document and block was read, from the recorded visits.

A session is one visit (one page load whose script reported in). `section_time` has at most one
row per (visit, section); a section a visit never had on screen has no row and counts as unseen
with no dwell. Per-visit figures are summed, counted and grouped in SQL on both backends; medians
are taken in Python over the per-session rows, since SQLite has no percentile function.

Definitions shared by every report:
- *seen* in a session: the session's row for the section says so.
- *read* in a session: its dwell on the section reached the section's `reading_ms` (and is more
  than zero), which is the time a reader needs for the section.
- *median_dwell_ms*: the median dwell over the sessions in which the section was seen; for an
  even count the mean of the two middle values, rounded half up; 0 when there are none.
- rates are shares of all sessions (0.0 when there are none).

Block engagement and its breakdowns read finished visits from the roll-ups (tracker/rollup.py)
over the whole UTC months inside the date range, and the rest (the range's partial months, the
visits not rolled up yet) from the raw rows, so the figures are the same either way except that
a rolled-up dwell is rounded down to two significant digits before the median is taken. A block
used in two slots of one document is folded per slot in the roll-ups, so a session that saw it
under both counts once per slot there. With no date range and no facet (the leaderboard as it
opens, the engagement API without parameters) the report reads one row per block from the
all-time totals, keeps that base until a roll-up or an import changes it, and adds the sections
and visits after the marks on every ask. The link and document reports read the raw rows: they
cover one document.

Prospect facets (industry, persona, stage) are matched and grouped the way selection reads a
profile: a value or a list of values, trimmed and lower-cased. That is done in Python, over the
documents' profile snapshots, because a portable SQL form of it does not exist (list values,
SQLite's ASCII-only `lower`).

Everything here only reads; nothing flushes or commits.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, OrderedDict, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal, NamedTuple, cast, get_args

from sqlalchemy import ColumnElement, Select, Subquery, and_, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tracker.errors import TrackerError
from tracker.models import (
    Block,
    BlockVersion,
    Document,
    DocumentSection,
    RollupBlockDwell,
    RollupBlockTotal,
    RollupBlockUsage,
    RollupDocumentSessions,
    RollupProfile,
    SectionTime,
    ShareLink,
    Visit,
    visit_of_section_time,
)
from tracker.rollup import PROFILE_FACETS as PROFILE_FACETS  # part of this module's API
from tracker.rollup import (
    Split,
    documents_per_block,
    facet_values,
    merged_median,
    pairs,
    sessions_per_block,
    split,
    weighted_median,
)

Dimension = Literal["slot", "industry", "persona", "stage"]
DIMENSIONS: tuple[Dimension, ...] = get_args(Dimension)


class UnknownLinkError(TrackerError, LookupError):
    """No share link has this id."""

    def __init__(self, link_id: int) -> None:
        self.link_id = link_id
        super().__init__(f"no share link with id {link_id}")


class UnknownDocumentError(TrackerError, LookupError):
    """No document has this id."""

    def __init__(self, document_id: str) -> None:
        self.document_id = document_id
        super().__init__(f"no document with id {document_id!r}")


class UnknownBlockError(TrackerError, LookupError):
    """No block with a stored version has this id (in the library asked about)."""

    def __init__(self, block_key: str) -> None:
        self.block_key = block_key
        super().__init__(f"no block with id {block_key!r}")


# ---------------------------------------------------------------------------------------------
# Result shapes


@dataclass(frozen=True)
class LinkSection:
    """One section of a link's document, over that link's sessions."""

    block_id: str
    position: int
    slot: str
    title: str
    reading_ms: int
    seen: bool  # seen in at least one session
    dwell_ms: int  # total over the sessions
    sessions_seen: int
    read: bool  # some session's dwell reached reading_ms

    def to_dict(self) -> dict[str, Any]:
        return {
            "block_id": self.block_id,
            "seen": self.seen,
            "dwell_ms": self.dwell_ms,
            "position": self.position,
            "slot": self.slot,
            "title": self.title,
            "reading_ms": self.reading_ms,
            "sessions_seen": self.sessions_seen,
            "read": self.read,
        }


@dataclass(frozen=True)
class LinkReport:
    """`GET /api/links/{token}/report`: every section of the document, in order."""

    sessions: int
    sections: tuple[LinkSection, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"sessions": self.sessions, "sections": [s.to_dict() for s in self.sections]}


@dataclass(frozen=True)
class LinkSummary:
    """One share link of a document and how often it was opened."""

    id: int
    recipient_email: str | None
    sessions: int
    created_at: dt.datetime
    revoked_at: dt.datetime | None
    expires_at: dt.datetime | None
    last_visit_at: dt.datetime | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "recipient_email": self.recipient_email,
            "sessions": self.sessions,
            "created_at": _iso(self.created_at),
            "revoked_at": _iso(self.revoked_at),
            "expires_at": _iso(self.expires_at),
            "last_visit_at": _iso(self.last_visit_at),
        }


@dataclass(frozen=True)
class DocumentSectionStats:
    """One section of a document, over the sessions of all its links."""

    block_id: str
    position: int
    slot: str
    title: str
    reading_ms: int
    sessions_seen: int
    seen_rate: float
    dwell_ms: int  # total over all sessions
    median_dwell_ms: int  # over the sessions in which it was seen
    read_rate: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "block_id": self.block_id,
            "position": self.position,
            "slot": self.slot,
            "title": self.title,
            "reading_ms": self.reading_ms,
            "sessions_seen": self.sessions_seen,
            "seen_rate": self.seen_rate,
            "dwell_ms": self.dwell_ms,
            "median_dwell_ms": self.median_dwell_ms,
            "read_rate": self.read_rate,
        }


@dataclass(frozen=True)
class DocumentReport:
    """A document's links (oldest first) and its sections (in order) over all its sessions."""

    document_id: str
    title: str
    sessions: int
    links: tuple[LinkSummary, ...]
    sections: tuple[DocumentSectionStats, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "document_id": self.document_id,
            "title": self.title,
            "sessions": self.sessions,
            "links": [link.to_dict() for link in self.links],
            "sections": [s.to_dict() for s in self.sections],
        }


@dataclass(frozen=True)
class EngagementFilter:
    """Which documents and sessions a block engagement report looks at; None means any.

    `slot` is the slot the block filled in the document; `industry`, `persona` and `stage` match
    the document's prospect profile (case-insensitively, any of its values when it lists
    several); `since` (inclusive) and `until` (exclusive) bound the sessions' start times and
    must be timezone-aware.
    """

    library_id: int | None = None
    slot: str | None = None
    industry: str | None = None
    persona: str | None = None
    stage: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


class BlockEngagement(NamedTuple):
    """`GET /api/blocks/engagement`: one block (all its versions) over the documents using it.

    `slot` is the slot of the block's latest version. A named tuple rather than a dataclass:
    a library of 100,000 blocks makes as many, and a tuple is made three times faster.
    """

    block_id: str
    library_id: int
    slot: str
    documents: int
    sessions: int
    seen_rate: float
    median_dwell_ms: int
    read_rate: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "block_id": self.block_id,
            "documents": self.documents,
            "sessions": self.sessions,
            "seen_rate": self.seen_rate,
            "median_dwell_ms": self.median_dwell_ms,
            "read_rate": self.read_rate,
            "slot": self.slot,
            "library_id": self.library_id,
        }


@dataclass(frozen=True)
class BlockBreakdown:
    """A block's engagement figures within one value of a dimension (`value` None: unstated)."""

    block_id: str
    by: Dimension
    value: str | None
    documents: int
    sessions: int
    seen_rate: float
    median_dwell_ms: int
    read_rate: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "block_id": self.block_id,
            "by": self.by,
            "value": self.value,
            "documents": self.documents,
            "sessions": self.sessions,
            "seen_rate": self.seen_rate,
            "median_dwell_ms": self.median_dwell_ms,
            "read_rate": self.read_rate,
        }


def engagement_to_dict(rows: Iterable[BlockEngagement]) -> dict[str, Any]:
    """The body of `GET /api/blocks/engagement`."""
    return {"blocks": [row.to_dict() for row in rows]}


# ---------------------------------------------------------------------------------------------
# Link and document reports


def seen_flag() -> ColumnElement[int]:
    """1 for a section-time row whose section was on screen (every report's "seen")."""
    return case((SectionTime.seen, 1), else_=0)


def read_flag() -> ColumnElement[int]:
    """1 for a row whose dwell reached its section's reading time (every report's "read")."""
    reached = and_(SectionTime.dwell_ms > 0, SectionTime.dwell_ms >= DocumentSection.reading_ms)
    return case((reached, 1), else_=0)


async def link_report(session: AsyncSession, link_id: int) -> LinkReport:
    """Every section of the link's document in order, over the link's sessions."""
    document_id = await session.scalar(select(ShareLink.document_id).where(ShareLink.id == link_id))
    if document_id is None:
        raise UnknownLinkError(link_id)
    sessions = await session.scalar(
        select(func.count()).select_from(Visit).where(Visit.link_id == link_id)
    )
    per_section = (
        select(
            SectionTime.section_id.label("section_id"),
            func.max(seen_flag()).label("seen"),
            func.sum(SectionTime.dwell_ms).label("dwell_ms"),
            func.sum(seen_flag()).label("sessions_seen"),
            func.max(read_flag()).label("read"),
        )
        .join(Visit, visit_of_section_time())
        .join(DocumentSection, DocumentSection.id == SectionTime.section_id)
        .where(Visit.link_id == link_id, DocumentSection.document_id == document_id)
        .group_by(SectionTime.section_id)
        .subquery()
    )
    rows = await session.execute(
        _sections_with(
            document_id,
            per_section,
            per_section.c.seen,
            per_section.c.dwell_ms,
            per_section.c.sessions_seen,
            per_section.c.read,
        )
    )
    sections = tuple(
        LinkSection(
            block_id=key,
            position=position,
            slot=slot,
            title=title,
            reading_ms=reading_ms,
            seen=bool(seen),
            dwell_ms=int(dwell or 0),
            sessions_seen=int(sessions_seen or 0),
            read=bool(read),
        )
        for _, key, position, slot, title, reading_ms, seen, dwell, sessions_seen, read in rows
    )
    return LinkReport(sessions=int(sessions or 0), sections=sections)


def _sections_with(
    document_id: str, per_section: Subquery, *figures: ColumnElement[Any]
) -> Select[Any]:
    """Every section of the document in order (id, block key, position, slot, title, reading
    time), then `figures` from `per_section`, null for a section nobody has seen: one list for
    the link and the document reports, so the two cannot drift apart."""
    return (
        select(
            DocumentSection.id,
            Block.key,
            DocumentSection.position,
            DocumentSection.slot,
            DocumentSection.title,
            DocumentSection.reading_ms,
            *figures,
        )
        .join(BlockVersion, BlockVersion.id == DocumentSection.block_version_id)
        .join(Block, Block.id == BlockVersion.block_id)
        .outerjoin(per_section, per_section.c.section_id == DocumentSection.id)
        .where(DocumentSection.document_id == document_id)
        .order_by(DocumentSection.position)
    )


async def document_report(session: AsyncSession, document_id: str) -> DocumentReport:
    """The document's links and its sections, over the sessions of all its links."""
    document = await session.get(Document, document_id)
    if document is None:
        raise UnknownDocumentError(document_id)

    per_link = (
        select(
            Visit.link_id.label("link_id"),
            func.count(Visit.id).label("sessions"),
            func.max(Visit.created_at).label("last_visit_at"),
        )
        .join(ShareLink, ShareLink.id == Visit.link_id)
        .where(ShareLink.document_id == document_id)
        .group_by(Visit.link_id)
        .subquery()
    )
    link_rows = await session.execute(
        select(
            ShareLink.id,
            ShareLink.recipient_email,
            per_link.c.sessions,
            ShareLink.created_at,
            ShareLink.revoked_at,
            ShareLink.expires_at,
            per_link.c.last_visit_at,
        )
        .outerjoin(per_link, per_link.c.link_id == ShareLink.id)
        .where(ShareLink.document_id == document_id)
        .order_by(ShareLink.created_at, ShareLink.id)
    )
    links = tuple(
        LinkSummary(
            id=link_id,
            recipient_email=email,
            sessions=int(count or 0),
            created_at=created_at,
            revoked_at=revoked_at,
            expires_at=expires_at,
            last_visit_at=last_visit_at,
        )
        for link_id, email, count, created_at, revoked_at, expires_at, last_visit_at in link_rows
    )
    sessions = sum(link.sessions for link in links)

    of_document = and_(ShareLink.id == Visit.link_id, ShareLink.document_id == document_id)
    per_section = (
        select(
            SectionTime.section_id.label("section_id"),
            func.sum(seen_flag()).label("sessions_seen"),
            func.sum(SectionTime.dwell_ms).label("dwell_ms"),
            func.sum(read_flag()).label("sessions_read"),
        )
        .join(DocumentSection, DocumentSection.id == SectionTime.section_id)
        .join(Visit, visit_of_section_time())
        .join(ShareLink, of_document)
        .group_by(SectionTime.section_id)
        .subquery()
    )
    seen_dwell = await session.execute(
        select(SectionTime.section_id, SectionTime.dwell_ms)
        .join(Visit, visit_of_section_time())
        .join(ShareLink, of_document)
        .where(SectionTime.seen)
    )
    dwell_by_section: dict[int, list[int]] = defaultdict(list)
    for section_id, dwell in seen_dwell:
        dwell_by_section[section_id].append(dwell)

    rows = await session.execute(
        _sections_with(
            document_id,
            per_section,
            per_section.c.sessions_seen,
            per_section.c.dwell_ms,
            per_section.c.sessions_read,
        )
    )
    sections = tuple(
        DocumentSectionStats(
            block_id=key,
            position=position,
            slot=slot,
            title=title,
            reading_ms=reading_ms,
            sessions_seen=int(seen or 0),
            seen_rate=_rate(int(seen or 0), sessions),
            dwell_ms=int(dwell or 0),
            median_dwell_ms=_median(dwell_by_section.get(section_id, [])),
            read_rate=_rate(int(read or 0), sessions),
        )
        for section_id, key, position, slot, title, reading_ms, seen, dwell, read in rows
    )
    return DocumentReport(
        document_id=document.id,
        title=document.title,
        sessions=sessions,
        links=links,
        sections=sections,
    )


# ---------------------------------------------------------------------------------------------
# Block engagement


@dataclass(frozen=True)
class _Usage:
    """A block in a document, in one slot."""

    block_id: int
    document_id: str
    slot: str


@dataclass(frozen=True)
class _SessionRow:
    """One session's figures for one block in one slot of its document."""

    usage: _Usage
    visit_id: int
    seen: bool
    dwell_ms: int
    read: bool


@dataclass
class _Tally:
    documents: int = 0
    sessions: int = 0
    seen: int = 0
    read: int = 0
    seen_dwell: Counter[int] = field(default_factory=Counter)
    # Sorted (dwell, sessions) histograms of rolled-up sessions, each as stored.
    rolled_dwell: list[list[list[int]]] = field(default_factory=list)


@dataclass(frozen=True)
class _Figures:
    documents: int
    sessions: int
    seen_rate: float
    median_dwell_ms: int
    read_rate: float


_NO_FIGURES = _Figures(documents=0, sessions=0, seen_rate=0.0, median_dwell_ms=0, read_rate=0.0)
# A group of the figures: (block row id, value of the dimension); see `_figures`.
_Group = tuple[int, str | None]


async def block_engagement(
    session: AsyncSession, filters: EngagementFilter | None = None
) -> list[BlockEngagement]:
    """Every block that has a version (of `filters.library_id`, or of every library), used or
    not, sorted by block id (then library), with its figures over the documents using it.

    Blocks are rows of a library: with no library given, two libraries' blocks of the same id
    are two entries (told apart by `library_id`).
    """
    filters = filters or EngagementFilter()
    cut = await split(session, filters.since, filters.until)
    if cut.unbounded and not profile_filters(filters):
        return await _all_time_engagement(session, filters, cut)
    blocks = await _blocks(session, filters.library_id, None)
    figures = await _figures(session, filters, cut, _block_ids(filters.library_id, None), None)
    result = []
    for block_id, key, library_id, slot in blocks:
        f = figures.get((block_id, None), _NO_FIGURES)
        result.append(
            BlockEngagement(
                block_id=key,
                library_id=library_id,
                slot=slot,
                documents=f.documents,
                sessions=f.sessions,
                seen_rate=f.seen_rate,
                median_dwell_ms=f.median_dwell_ms,
                read_rate=f.read_rate,
            )
        )
    return result


async def block_breakdown(
    session: AsyncSession,
    block_key: str,
    by: Dimension,
    filters: EngagementFilter | None = None,
) -> list[BlockBreakdown]:
    """The block's engagement figures grouped by the section's slot or a prospect facet.

    Only values the block was used under appear, sorted, with None (the profile does not say)
    last. A document whose profile lists several values of the facet counts under each. With no
    `filters.library_id`, every library's block of that id counts, as one block.
    """
    if by not in DIMENSIONS:
        raise ValueError(f"by: {by!r} is not one of {', '.join(DIMENSIONS)}")
    filters = filters or EngagementFilter()
    cut = await split(session, filters.since, filters.until)
    if not await _blocks(session, filters.library_id, block_key):
        raise UnknownBlockError(block_key)
    block_ids = _block_ids(filters.library_id, block_key)
    figures = await _figures(session, filters, cut, block_ids, by)
    ordered = sorted(figures.items(), key=lambda item: (item[0][1] is None, item[0][1] or ""))
    return [
        BlockBreakdown(
            block_id=block_key,
            by=by,
            value=value,
            documents=f.documents,
            sessions=f.sessions,
            seen_rate=f.seen_rate,
            median_dwell_ms=f.median_dwell_ms,
            read_rate=f.read_rate,
        )
        for (_, value), f in ordered
    ]


def _block_ids(library_id: int | None, key: str | None) -> Select[int]:
    query = select(Block.id)
    if library_id is not None:
        query = query.where(Block.library_id == library_id)
    if key is not None:
        query = query.where(Block.key == key)
    return query


async def _blocks(
    session: AsyncSession, library_id: int | None, key: str | None
) -> list[tuple[int, str, int, str]]:
    """(id, key, library id, latest version's slot) of the blocks that have a version."""
    query = (
        select(Block.id, Block.key, Block.library_id, _latest_slot())
        .where(Block.id.in_(_block_ids(library_id, key)))
        .order_by(Block.key, Block.library_id)
    )
    # Through the connection (Core) rather than the ORM session: ten thousand plain rows come
    # back several times faster without the ORM's per-row loading.
    rows = await (await session.connection()).execute(query)
    return [(block_id, key_, lib, slot) for block_id, key_, lib, slot in rows if slot is not None]


async def _figures(
    session: AsyncSession,
    filters: EngagementFilter,
    cut: Split,
    block_ids: Select[int],
    by: Dimension | None,
) -> dict[_Group, _Figures]:
    """Figures of the blocks `block_ids` selects, per group, for groups with a document.

    Without `by` a group is (block row id, None). With `by` the blocks are taken as one
    (block id 0) and a group is (0, the slot or the prospect's facet value, or None). Sessions
    come from the roll-ups where they cover the window and from the raw rows elsewhere (see
    tracker/rollup.py), each session from exactly one of them.
    """
    wanted = profile_filters(filters)
    needs_profiles = bool(wanted) or by in PROFILE_FACETS
    profiles = await _profiles(session, block_ids) if needs_profiles else {}

    def groups(block_id: int, slot: str, profile: Mapping[str, Any]) -> list[_Group]:
        if by is None:
            return [(block_id, None)]
        if by == "slot":
            return [(0, slot)]
        values = facet_values(profile, by)
        return [(0, v) for v in values] or [(0, None)]

    def profile_of(document_id: str) -> Mapping[str, Any]:
        return profiles.get(document_id, {})

    documents: dict[_Group, set[str]] = defaultdict(set)
    for usage in await _usages(session, filters, block_ids):
        profile = profile_of(usage.document_id)
        if profile_admitted(profile, wanted):
            for group in groups(usage.block_id, usage.slot, profile):
                documents[group].add(usage.document_id)
    tallies = await _usage_tallies(session, cut, block_ids, documents)

    folded = _Folded()
    for row in await _session_rows(session, filters, cut, block_ids):
        profile = profile_of(row.usage.document_id)
        if profile_admitted(profile, wanted):
            for group in groups(row.usage.block_id, row.usage.slot, profile):
                folded.add(group, row)
    folded.count_into(tallies)
    for rolled in await _rolled_rows(session, filters, cut, block_ids, needs_profiles):
        if profile_admitted(rolled.profile, wanted):
            for group in groups(rolled.block_id, rolled.slot, rolled.profile):
                _count(tallies[group], rolled.seen, rolled.read, rolled.dwell_ms, rolled.sessions)

    return {
        group: _Figures(
            documents=t.documents,
            sessions=t.sessions,
            seen_rate=_rate(t.seen, t.sessions),
            median_dwell_ms=_tally_median(t),
            read_rate=_rate(t.read, t.sessions),
        )
        for group, t in tallies.items()
        if t.documents
    }


async def _usage_tallies(
    session: AsyncSession,
    cut: Split,
    block_ids: Select[int],
    documents: Mapping[_Group, set[str]],
) -> dict[_Group, _Tally]:
    """Tallies of each group's documents and their sessions in the window."""
    visits = await _visits_per_document(session, cut, block_ids)
    tallies: dict[_Group, _Tally] = defaultdict(_Tally)
    for group, used in documents.items():
        tallies[group].documents = len(used)
        tallies[group].sessions = sum(visits.get(d, 0) for d in used)
    return tallies


def _tally_median(tally: _Tally) -> int:
    return merged_median([pairs(tally.seen_dwell), *tally.rolled_dwell])


def _count(tally: _Tally, seen: bool, read: bool, dwell_ms: int, sessions: int) -> None:
    if seen:
        tally.seen += sessions
        tally.seen_dwell[dwell_ms] += sessions
    if read:
        tally.read += sessions


class _Folded:
    """Per (group, session), the session's figures over the group's sections in it: a session
    may show a block in several sections of its document, which count as one session that saw
    it if it saw any, read it if it read any, for the sum of their dwell."""

    def __init__(self) -> None:
        self._sessions: dict[tuple[Any, int], tuple[bool, int, bool]] = {}

    def add(self, group: Any, row: _SessionRow) -> None:
        seen, dwell, read = self._sessions.get((group, row.visit_id), (False, 0, False))
        self._sessions[group, row.visit_id] = (
            seen or row.seen,
            dwell + row.dwell_ms,
            read or row.read,
        )

    def count_into(self, tallies: Mapping[Any, _Tally]) -> None:
        for (group, _), (seen, dwell, read) in self._sessions.items():
            _count(tallies[group], seen, read, dwell, 1)


@dataclass(frozen=True)
class _AllTime:
    """Every block's all-time figures as of the roll-ups' marks, without the visits and sections
    after them: the rows as the report gives them and, per block row id, its index among them
    and its (documents, sessions, seen, read, median) as counted."""

    rows: list[BlockEngagement]
    counts: dict[int, tuple[int, int, int, int, int, int]]


# The last few all-time bases, by database, filters, marks and block versions. A base changes
# only when a roll-up moves a mark or a library import adds versions, while making one for
# 100,000 blocks takes most of a second (reading and building 100,000 rows); the leaderboard
# and the engagement API are asked far more often than that.
_BASES: OrderedDict[tuple[Any, ...], _AllTime] = OrderedDict()
_BASES_KEPT: Final = 4


async def _all_time_engagement(
    session: AsyncSession, filters: EngagementFilter, cut: Split
) -> list[BlockEngagement]:
    """`block_engagement` with no date range or facet: the all-time base (one row per block
    from the totals the roll-up keeps, `rollup_block_usage` and `rollup_block_totals`) with the
    few sections and visits after the marks added to the blocks they touch."""
    base = await _all_time_base(session, filters, cut)
    recent = await _recent_tallies(session, filters, cut, _block_ids(filters.library_id, None))
    seen_recently = {block_id: t for block_id, t in recent.items() if t.seen}
    medians = await _medians(session, filters, set(seen_recently), seen_recently)
    result = list(base.rows)
    for block_id, tally in recent.items():
        counted = base.counts.get(block_id)
        if counted is None:
            continue  # not a block of this report's library
        index, documents, sessions, seen, read, median = counted
        row = result[index]
        result[index] = _engagement(
            row.block_id,
            row.library_id,
            row.slot,
            (documents + tally.documents, sessions + tally.sessions),
            (seen + tally.seen, read + tally.read),
            medians.get(block_id, median),
        )
    return result


async def _all_time_base(session: AsyncSession, filters: EngagementFilter, cut: Split) -> _AllTime:
    """The base for these filters as of `cut`'s marks, made once and kept (see _BASES)."""
    versions = (
        await session.execute(select(func.count(BlockVersion.id), func.max(BlockVersion.id)))
    ).one()
    connection = await session.connection()
    key = (
        connection.engine.url,
        filters.library_id,
        filters.slot,
        cut.watermark,
        cut.section_mark,
        *versions,
    )
    if (kept := _BASES.get(key)) is not None:
        _BASES.move_to_end(key)
        return kept
    rows = (await connection.execute(_all_time_rows(filters))).all()
    medians = await _medians(session, filters, _several_slots(filters), {})
    result: list[BlockEngagement] = []
    counts: dict[int, tuple[int, int, int, int, int, int]] = {}
    for block_id, block_key, library_id, slot, documents, sessions, seen, read, median in rows:
        if slot is None:
            continue  # a block with no version
        median = medians.get(block_id, median)
        counts[block_id] = (len(result), documents, sessions, seen, read, median)
        result.append(
            _engagement(block_key, library_id, slot, (documents, sessions), (seen, read), median)
        )
    base = _BASES[key] = _AllTime(result, counts)
    while len(_BASES) > _BASES_KEPT:
        _BASES.popitem(last=False)
    return base


def _engagement(
    key: str,
    library_id: int,
    slot: str,
    used: tuple[int, int],
    seen_read: tuple[int, int],
    median: int,
) -> BlockEngagement:
    """A block's row from its (documents, sessions), (seen, read) and median: all zero for a
    block no document uses."""
    documents, sessions = used
    seen, read = seen_read
    if not documents:
        return BlockEngagement(key, library_id, slot, 0, 0, 0.0, 0, 0.0)
    return BlockEngagement(
        key,
        library_id,
        slot,
        documents,
        sessions,
        _rate(seen, sessions),
        median,
        _rate(read, sessions),
    )


def _all_time_rows(filters: EngagementFilter) -> Select[Any]:
    """(id, key, library id, latest slot, documents, sessions, seen, read, stored median) per
    block, the figures summed over the block's slots (or only `filters.slot`'s)."""
    usage_table, totals_table = RollupBlockUsage, RollupBlockTotal
    usage = select(
        usage_table.block_id,
        func.sum(usage_table.documents).label("documents"),
        func.sum(usage_table.sessions).label("sessions"),
    ).group_by(usage_table.block_id)
    totals = select(
        totals_table.block_id,
        func.sum(totals_table.seen).label("seen"),
        func.sum(totals_table.read).label("read"),
        func.max(totals_table.median_ms).label("median_ms"),  # used only when it is the one row
    ).group_by(totals_table.block_id)
    if filters.slot is not None:
        usage = usage.where(usage_table.slot == filters.slot)
        totals = totals.where(totals_table.slot == filters.slot)
    used, rolled = usage.subquery(), totals.subquery()
    query = (
        select(
            Block.id,
            Block.key,
            Block.library_id,
            _latest_slot(),
            func.coalesce(used.c.documents, 0),
            func.coalesce(used.c.sessions, 0),
            func.coalesce(rolled.c.seen, 0),
            func.coalesce(rolled.c.read, 0),
            func.coalesce(rolled.c.median_ms, 0),
        )
        .outerjoin(used, used.c.block_id == Block.id)
        .outerjoin(rolled, rolled.c.block_id == Block.id)
        .order_by(Block.key, Block.library_id)
    )
    if filters.library_id is not None:
        query = query.where(Block.library_id == filters.library_id)
    return query


async def _recent_tallies(
    session: AsyncSession, filters: EngagementFilter, cut: Split, block_ids: Select[int]
) -> dict[int, _Tally]:
    """Per block row id, what the all-time totals do not hold yet: the documents of the
    sections after the mark, and the sessions after the mark with their figures."""
    # `+ 0`: read the few sections and visits after the marks (by their keys), not every
    # section of the blocks by the block index (SQLite chose the latter: 450 ms at 10k blocks).
    wanted = (BlockVersion.block_id + 0).in_(block_ids)
    documents = documents_per_block([DocumentSection.id > cut.section_mark, wanted])
    sessions = sessions_per_block([*cut.raw(), wanted])
    if filters.slot is not None:
        documents = documents.where(DocumentSection.slot == filters.slot)
        sessions = sessions.where(DocumentSection.slot == filters.slot)
    tallies: dict[int, _Tally] = defaultdict(_Tally)
    for block_id, _, count in await session.execute(documents):
        tallies[block_id].documents += count
    for block_id, _, count in await session.execute(sessions):
        tallies[block_id].sessions += count
    folded = _Folded()
    for row in await _session_rows(session, filters, cut, block_ids):
        folded.add(row.usage.block_id, row)
    folded.count_into(tallies)
    return tallies


def _several_slots(filters: EngagementFilter) -> Select[int]:
    """The blocks rolled up under several slots: their stored medians are per slot, so theirs
    is merged from the histograms."""
    table = RollupBlockTotal
    query = select(table.block_id).group_by(table.block_id).having(func.count() > 1)
    if filters.slot is not None:
        query = query.where(table.slot == filters.slot)
    return query


async def _medians(
    session: AsyncSession,
    filters: EngagementFilter,
    blocks: Select[int] | set[int],
    recent: Mapping[int, _Tally],
) -> dict[int, int]:
    """The median dwell of `blocks` over their rolled-up histograms (every slot's, or only
    `filters.slot`'s) and the recent sessions in `recent`."""
    if isinstance(blocks, set) and not blocks:
        return {}
    table = RollupBlockTotal
    query = select(table.block_id, table.dwell).where(table.block_id.in_(blocks))
    if filters.slot is not None:
        query = query.where(table.slot == filters.slot)
    sources = {block_id: [pairs(tally.seen_dwell)] for block_id, tally in recent.items()}
    for block_id, dwell in await session.execute(query):
        sources.setdefault(block_id, []).append(dwell)
    return {block_id: merged_median(dwells) for block_id, dwells in sources.items()}


def _latest_slot() -> Any:
    """The slot of the block's latest version, as a column of a query over `Block` (None for a
    block with no version); read from an index, not from the versions' rows."""
    return (
        select(BlockVersion.slot)
        .where(BlockVersion.block_id == Block.id)
        .order_by(BlockVersion.number.desc())
        .limit(1)
        .scalar_subquery()
    )


@dataclass(frozen=True)
class _RolledRow:
    """Rolled-up sessions of a block in a slot with the same seen, read and (rounded) dwell."""

    block_id: int
    slot: str
    profile: Mapping[str, Any]  # empty when the report needs no profile
    seen: bool
    read: bool
    dwell_ms: int
    sessions: int


async def _rolled_rows(
    session: AsyncSession,
    filters: EngagementFilter,
    cut: Split,
    block_ids: Select[int],
    with_profiles: bool,
) -> list[_RolledRow]:
    """The roll-ups of the blocks over the window's whole months, summed in SQL."""
    table = RollupBlockDwell
    keys = [table.block_id, table.slot, table.seen, table.read, table.dwell_ms]
    if with_profiles:
        keys.append(table.profile_hash)
    query = (
        select(*keys, func.sum(table.sessions))
        .where(table.block_id.in_(block_ids), *cut.rolled(table.month))
        .group_by(*keys)
    )
    if filters.slot is not None:
        query = query.where(table.slot == filters.slot)
    profiles: dict[str, dict[str, Any]] = {}
    if with_profiles:
        found = await session.execute(select(RollupProfile.hash, RollupProfile.facets))
        profiles = {key: dict(values) for key, values in found}
    rows = [tuple(row) for row in await session.execute(query)]
    return [
        _RolledRow(
            block_id=row[0],
            slot=row[1],
            profile=profiles.get(row[5], {}) if with_profiles else {},
            seen=bool(row[2]),
            read=bool(row[3]),
            dwell_ms=int(row[4]),
            sessions=int(row[-1]),
        )
        for row in rows
    ]


def _documents_using(block_ids: Select[int]) -> Select[str]:
    return (
        select(DocumentSection.document_id)
        .join(BlockVersion, BlockVersion.id == DocumentSection.block_version_id)
        .where(BlockVersion.block_id.in_(block_ids))
    )


async def _usages(
    session: AsyncSession, filters: EngagementFilter, block_ids: Select[int]
) -> list[_Usage]:
    """Each (block, document, slot) in which one of the blocks was used."""
    query = (
        select(BlockVersion.block_id, DocumentSection.document_id, DocumentSection.slot)
        .join(BlockVersion, BlockVersion.id == DocumentSection.block_version_id)
        .where(BlockVersion.block_id.in_(block_ids))
        .distinct()
    )
    if filters.slot is not None:
        query = query.where(DocumentSection.slot == filters.slot)
    rows = await session.execute(query)
    return [_Usage(block_id, document_id, slot) for block_id, document_id, slot in rows]


async def _visits_per_document(
    session: AsyncSession, cut: Split, block_ids: Select[int]
) -> dict[str, int]:
    """Sessions (in the window) of each document using one of the blocks."""
    using = _documents_using(block_ids)
    # `+ 0` when only recent visits are wanted, as in `_session_rows`: read visits from the
    # mark on instead of every visit of every link (measured 12.7 -> 4.9 ms at 100k visits).
    link_id = Visit.link_id + 0 if cut.raw_ids(Visit.id) else Visit.link_id
    raw = await session.execute(
        select(ShareLink.document_id, func.count(Visit.id))
        .join(Visit, link_id == ShareLink.id)
        .where(ShareLink.document_id.in_(using), *cut.raw())
        .group_by(ShareLink.document_id)
    )
    table = RollupDocumentSessions
    rolled = await session.execute(
        select(table.document_id, func.sum(table.sessions))
        .where(table.document_id.in_(using), *cut.rolled(table.month))
        .group_by(table.document_id)
    )
    counts: Counter[str] = Counter()
    for document_id, count in [*raw, *rolled]:
        counts[document_id] += int(count or 0)
    return dict(counts)


async def _session_rows(
    session: AsyncSession, filters: EngagementFilter, cut: Split, block_ids: Select[int]
) -> list[_SessionRow]:
    """Per session not in the roll-ups and (block, document, slot): seen, total dwell and read,
    summed in SQL."""
    recent = cut.raw_ids(SectionTime.visit_id)
    # `+ 0` when only recent visits are wanted: SQLite then reads section_time from the mark
    # on (by its key) instead of every visit of the blocks' sections (by their indexes).
    section_id = SectionTime.section_id + 0 if recent else SectionTime.section_id
    block_id = BlockVersion.block_id + 0 if recent else BlockVersion.block_id
    query = (
        select(
            BlockVersion.block_id,
            DocumentSection.document_id,
            DocumentSection.slot,
            SectionTime.visit_id,
            func.max(seen_flag()),
            func.sum(SectionTime.dwell_ms),
            func.max(read_flag()),
        )
        .join(DocumentSection, DocumentSection.id == section_id)
        .join(BlockVersion, BlockVersion.id == DocumentSection.block_version_id)
        .join(Visit, visit_of_section_time())
        .join(
            ShareLink,
            and_(
                ShareLink.id == Visit.link_id,
                ShareLink.document_id == DocumentSection.document_id,
            ),
        )
        .where(
            block_id.in_(block_ids),
            *cut.raw(),
            *recent,
        )
        .group_by(
            BlockVersion.block_id,
            DocumentSection.document_id,
            DocumentSection.slot,
            SectionTime.visit_id,
        )
    )
    if filters.slot is not None:
        query = query.where(DocumentSection.slot == filters.slot)
    rows = await session.execute(query)
    return [
        _SessionRow(
            usage=_Usage(block_id, document_id, slot),
            visit_id=visit_id,
            seen=bool(seen),
            dwell_ms=int(dwell or 0),
            read=bool(read),
        )
        for block_id, document_id, slot, visit_id, seen, dwell, read in rows
    ]


async def _profiles(session: AsyncSession, block_ids: Select[int]) -> dict[str, dict[str, Any]]:
    """The prospect profile snapshot of each document using one of the blocks."""
    rows = await session.execute(
        select(Document.id, Document.profile).where(Document.id.in_(_documents_using(block_ids)))
    )
    return {document_id: dict(profile or {}) for document_id, profile in rows}


# ---------------------------------------------------------------------------------------------
# Helpers


def profile_filters(filters: EngagementFilter) -> dict[str, str]:
    """The filters' prospect facets as profiles are matched against them: trimmed, lower-cased.

    Public so that every report over documents (blocks here, the slot funnel) admits the same
    documents for the same filters.
    """
    return {
        facet: value.strip().lower()
        for facet in PROFILE_FACETS
        if (value := cast("str | None", getattr(filters, facet))) is not None
    }


def profile_admitted(profile: Mapping[str, Any], wanted: Mapping[str, str]) -> bool:
    """Whether a document's profile snapshot names every wanted facet value."""
    return all(value in facet_values(profile, facet) for facet, value in wanted.items())


def _rate(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def _median(values: list[int]) -> int:
    """The median, as an int: for an even count the mean of the middle two, rounded half up."""
    return weighted_median(Counter(values))


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None
