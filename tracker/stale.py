"""Stale content: the blocks of a library that need marketing's attention, in five sections.

A block is judged by its latest version (the highest number), which is what selection uses
today:
- *expired*: its `expires` is before today;
- *expiring*: it expires today or within `EXPIRING_WITHIN`;
- *in live documents*: a document that a prospect can still open (a link neither revoked nor
  past its `expires_at`, as tracker.links.is_live says) shows a version of it that is retired
  or expired, or the block has been retired, sent back to draft or has expired since (its
  latest version is): what prospects read is out of date. The rep's regeneration
  (tracker/regenerate.py) asks the same question;
- *never selected*: approved, yet no document uses any of its versions;
- *rarely seen*: in at least `RARELY_SEEN_DOCUMENTS` documents with visits, yet seen in fewer
  than `RARELY_SEEN_RATE` of their sessions (seen rate as in tracker.reports).

"Today" is the reader's calendar day, passed in. Everything is filtered and counted in SQL;
nothing here writes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from tracker.links import is_live
from tracker.models import (
    Block,
    BlockVersion,
    Document,
    DocumentSection,
    Prospect,
    SectionTime,
    ShareLink,
    Visit,
)

EXPIRING_WITHIN = dt.timedelta(days=30)
# A block placed in a few documents that are opened but scrolled past is the signal; with fewer
# documents a low rate is chance.
RARELY_SEEN_DOCUMENTS = 3
RARELY_SEEN_RATE = 0.25

_Latest = aliased(BlockVersion, name="latest")
_Used = aliased(BlockVersion, name="used")


@dataclass(frozen=True)
class StaleBlock:
    """A block as its latest version stands."""

    key: str
    number: int
    title: str
    slot: str
    status: str
    expires: dt.date | None


@dataclass(frozen=True)
class LiveUse:
    """A live document showing a block that is out of date, and who can open it."""

    block: StaleBlock
    document_id: str
    document_title: str
    prospect: str  # the company the document was made for
    used_number: int  # the version the document shows
    reason: str
    recipients: tuple[str, ...]  # of its live links (a link without one shows as "anyone")


@dataclass(frozen=True)
class RarelySeen:
    block: StaleBlock
    documents: int  # with visits
    sessions: int
    seen_rate: float


@dataclass(frozen=True)
class StaleContent:
    expired: tuple[StaleBlock, ...]  # longest expired first
    expiring: tuple[StaleBlock, ...]  # soonest first
    in_live_documents: tuple[LiveUse, ...]
    never_selected: tuple[StaleBlock, ...]
    rarely_seen: tuple[RarelySeen, ...]  # least seen first


async def stale_content(
    session: AsyncSession, library_id: int, today: dt.date, now: dt.datetime
) -> StaleContent:
    """The five sections for library `library_id`; `now` decides which links are live."""
    return StaleContent(
        expired=await _blocks(session, library_id, _Latest.expires < today),
        expiring=await _blocks(
            session,
            library_id,
            _Latest.expires >= today,
            _Latest.expires <= today + EXPIRING_WITHIN,
        ),
        in_live_documents=await live_uses(session, library_id, today, now),
        never_selected=await _blocks(
            session, library_id, _Latest.status == "approved", ~exists(_uses_of_block())
        ),
        rarely_seen=await _rarely_seen(session, library_id),
    )


def _latest_blocks(library_id: int) -> Select[str, int, str, str, str, dt.date | None]:
    """Each block of the library with its latest version's fields."""
    latest_number = (
        select(func.max(BlockVersion.number))
        .where(BlockVersion.block_id == Block.id)
        .correlate(Block)
        .scalar_subquery()
    )
    return (
        select(
            Block.key,
            _Latest.number,
            _Latest.title,
            _Latest.slot,
            _Latest.status,
            _Latest.expires,
        )
        .select_from(Block)
        .join(_Latest, and_(_Latest.block_id == Block.id, _Latest.number == latest_number))
        .where(Block.library_id == library_id)
    )


def _uses_of_block() -> Select[int]:
    return (
        select(DocumentSection.id)
        .join(BlockVersion, BlockVersion.id == DocumentSection.block_version_id)
        .where(BlockVersion.block_id == Block.id)
    )


async def _blocks(
    session: AsyncSession, library_id: int, *where: ColumnElement[bool]
) -> tuple[StaleBlock, ...]:
    """The library's blocks matching `where`, soonest expiry first, then by id."""
    query = _latest_blocks(library_id).where(*where)
    query = query.order_by(_Latest.expires.asc().nulls_last(), Block.key)
    return tuple(_stale_block(row) for row in await session.execute(query))


def _stale_block(row: Any) -> StaleBlock:
    """The block of a row that starts with `_latest_blocks`' columns."""
    return StaleBlock(*row[:6])


def _live_links(now: dt.datetime) -> Select[str, str | None]:
    return select(ShareLink.document_id, ShareLink.recipient_email).where(is_live(now))


async def live_uses(
    session: AsyncSession,
    library_id: int,
    today: dt.date,
    now: dt.datetime,
    document_ids: Collection[str] | None = None,
) -> tuple[LiveUse, ...]:
    """The out-of-date blocks of the library's live documents (of `document_ids` only, when
    given), by block, document title and document."""
    live = _live_links(now)
    if document_ids is not None:
        live = live.where(ShareLink.document_id.in_(document_ids))
    live_documents = live.subquery()
    out_of_date = or_(
        _Used.status == "retired",
        _Used.expires < today,
        _Latest.status != "approved",
        _Latest.expires < today,
    )
    query = (
        _latest_blocks(library_id)
        .add_columns(
            DocumentSection.document_id,
            Document.title,
            _Used.number,
            _Used.status,
            _Used.expires,
            Prospect.company,
        )
        .join(_Used, _Used.block_id == Block.id)
        .join(DocumentSection, DocumentSection.block_version_id == _Used.id)
        .join(Document, Document.id == DocumentSection.document_id)
        .join(Prospect, Prospect.id == Document.prospect_id)
        .where(DocumentSection.document_id.in_(select(live_documents.c.document_id)), out_of_date)
        .distinct()
        .order_by(Block.key, Document.title, DocumentSection.document_id)
    )
    rows = (await session.execute(query)).all()
    recipients = await _recipients(session, {row[6] for row in rows}, now)
    return tuple(
        LiveUse(
            block=_stale_block(row),
            document_id=row[6],
            document_title=row[7],
            prospect=row[11],
            used_number=row[8],
            reason=_reason(_stale_block(row), row[8], row[9], row[10], today),
            recipients=recipients.get(row[6], ()),
        )
        for row in rows
    )


def _reason(
    latest: StaleBlock,
    used_number: int,
    used_status: str,
    used_expires: dt.date | None,
    today: dt.date,
) -> str:
    """Why the use is out of date, in the words the page shows."""
    if used_status == "retired":
        return f"version {used_number} is retired"
    if used_expires is not None and used_expires < today:
        return f"version {used_number} expired on {used_expires.isoformat()}"
    if latest.status == "retired":
        return f"the block was retired since (version {latest.number})"
    if latest.status != "approved":
        return f"the block is a {latest.status} since (version {latest.number})"
    return f"the block expired since, on {latest.expires}"


async def _recipients(
    session: AsyncSession, document_ids: set[str], now: dt.datetime
) -> dict[str, tuple[str, ...]]:
    if not document_ids:
        return {}
    rows = await session.execute(
        _live_links(now).where(ShareLink.document_id.in_(document_ids)).distinct()
    )
    found: dict[str, set[str]] = {}
    for document_id, email in rows:
        found.setdefault(document_id, set()).add(email or "anyone with the link")
    return {document_id: tuple(sorted(emails)) for document_id, emails in found.items()}


async def _rarely_seen(session: AsyncSession, library_id: int) -> tuple[RarelySeen, ...]:
    """Documents with visits and their sessions, and the sessions that saw the block, per
    block; a block used twice in one document counts that document and its sessions once."""
    usage = (
        select(BlockVersion.block_id.label("block_id"), DocumentSection.document_id)
        .join(BlockVersion, BlockVersion.id == DocumentSection.block_version_id)
        .join(Block, Block.id == BlockVersion.block_id)
        .where(Block.library_id == library_id)
        .distinct()
        .subquery()
    )
    opened = (
        select(
            usage.c.block_id,
            func.count(func.distinct(usage.c.document_id)).label("documents"),
            func.count(Visit.id).label("sessions"),
        )
        .join(ShareLink, ShareLink.document_id == usage.c.document_id)
        .join(Visit, Visit.link_id == ShareLink.id)
        .group_by(usage.c.block_id)
        .subquery()
    )
    seen = (
        select(
            BlockVersion.block_id.label("block_id"),
            func.count(func.distinct(SectionTime.visit_id)).label("sessions"),
        )
        .join(DocumentSection, DocumentSection.id == SectionTime.section_id)
        .join(BlockVersion, BlockVersion.id == DocumentSection.block_version_id)
        .join(Block, Block.id == BlockVersion.block_id)
        .where(Block.library_id == library_id, SectionTime.seen)
        .group_by(BlockVersion.block_id)
        .subquery()
    )
    seen_sessions = func.coalesce(seen.c.sessions, 0)
    query = (
        _latest_blocks(library_id)
        .add_columns(opened.c.documents, opened.c.sessions, seen_sessions)
        .join(opened, opened.c.block_id == Block.id)
        .outerjoin(seen, seen.c.block_id == Block.id)
        .where(
            opened.c.documents >= RARELY_SEEN_DOCUMENTS,
            seen_sessions < RARELY_SEEN_RATE * opened.c.sessions,
        )
    )
    found = [
        RarelySeen(_stale_block(row), int(row[6]), int(row[7]), int(row[8]) / int(row[7]))
        for row in await session.execute(query)
    ]
    return tuple(sorted(found, key=lambda r: (r.seen_rate, r.block.key)))
