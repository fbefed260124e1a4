"""Feedback from the field: a rep's verdict on a block they sent, and the needs a prospect
raised that no block answered.

Both close the loop sales never closes by email: marketing reads them on the block page and
beside the content gaps. A rating is one per (document, block, user), so rating again replaces
the earlier verdict; it is written with the backend's own atomic upsert (`ON CONFLICT`, which
SQLite and PostgreSQL both have), so two quick submits never collide on the unique key.
The functions here flush but never commit: the caller owns the transaction.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import ColumnElement, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from engine.errors import NUL_REFUSED, InputError, Problem
from tracker.models import (
    BlockRating,
    BlockVersion,
    Document,
    DocumentSection,
    ReportedNeed,
    User,
    utcnow,
)

MAX_COMMENT = 2_000
MAX_NEED = 1_000


@dataclass(frozen=True)
class Rating:
    """One rep's verdict on one block in one document."""

    block_id: int
    document_id: str
    useful: bool
    comment: str
    user_email: str | None
    created_at: dt.datetime


@dataclass(frozen=True)
class FieldNeed:
    """A need a rep reported from a conversation with the prospect."""

    text: str
    slot: str | None
    document_id: str | None
    document_title: str | None
    user_email: str | None
    created_at: dt.datetime


async def rate_block(
    session: AsyncSession,
    *,
    document_id: str,
    block_id: int,
    user_id: int,
    useful: bool,
    comment: str,
) -> None:
    """Record the user's verdict on the block in the document, replacing an earlier one."""
    _storable("comment", comment)
    values = {
        "document_id": document_id,
        "block_id": block_id,
        "user_id": user_id,
        "useful": useful,
        "comment": comment,
        "created_at": utcnow(),
    }
    postgres = session.get_bind().dialect.name == "postgresql"
    statement = (pg_insert if postgres else sqlite_insert)(BlockRating).values(**values)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[BlockRating.document_id, BlockRating.block_id, BlockRating.user_id],
            set_={
                "useful": statement.excluded.useful,
                "comment": statement.excluded.comment,
                "created_at": statement.excluded.created_at,
            },
        )
    )


async def report_need(
    session: AsyncSession,
    *,
    prospect_id: int,
    document_id: str | None,
    user_id: int | None,
    slot: str | None,
    text: str,
) -> None:
    _storable("need", text)
    session.add(
        ReportedNeed(
            prospect_id=prospect_id,
            document_id=document_id,
            user_id=user_id,
            slot=slot,
            text=text,
        )
    )
    await session.flush()


async def ratings_by_user(
    session: AsyncSession, document_id: str, user_id: int
) -> dict[int, Rating]:
    """The user's current verdicts on the document's blocks, by block row id."""
    rows = await session.execute(
        select(BlockRating, User.email)
        .outerjoin(User, User.id == BlockRating.user_id)
        .where(BlockRating.document_id == document_id, BlockRating.user_id == user_id)
    )
    return {rating.block_id: _rating(rating, email) for rating, email in rows}


async def block_ratings(session: AsyncSession, block_id: int) -> list[Rating]:
    """Every verdict on the block, newest first."""
    rows = await session.execute(
        select(BlockRating, User.email)
        .outerjoin(User, User.id == BlockRating.user_id)
        .where(BlockRating.block_id == block_id)
        .order_by(BlockRating.created_at.desc(), BlockRating.id.desc())
    )
    return [_rating(rating, email) for rating, email in rows]


async def prospect_needs(session: AsyncSession, prospect_id: int) -> list[FieldNeed]:
    """The needs reported for the prospect, over all its documents, newest first."""
    return await _needs(session, ReportedNeed.prospect_id == prospect_id)


async def block_needs(session: AsyncSession, block_id: int) -> list[FieldNeed]:
    """The needs reported for documents that used any version of the block, newest first."""
    using = (
        select(DocumentSection.document_id)
        .join(BlockVersion, BlockVersion.id == DocumentSection.block_version_id)
        .where(BlockVersion.block_id == block_id)
    )
    return await _needs(session, ReportedNeed.document_id.in_(using))


async def _needs(session: AsyncSession, where: ColumnElement[bool]) -> list[FieldNeed]:
    rows = await session.execute(
        select(ReportedNeed, Document.title, User.email)
        .outerjoin(Document, Document.id == ReportedNeed.document_id)
        .outerjoin(User, User.id == ReportedNeed.user_id)
        .where(where)
        .order_by(ReportedNeed.created_at.desc(), ReportedNeed.id.desc())
    )
    return [
        FieldNeed(
            text=need.text,
            slot=need.slot,
            document_id=need.document_id,
            document_title=title,
            user_email=email,
            created_at=need.created_at,
        )
        for need, title, email in rows
    ]


def _storable(field: str, text: str) -> None:
    """Refuse, naming the form's field, a text PostgreSQL would refuse as a 500: the last check
    before the write, whichever form or command the text came from."""
    if "\x00" in text:
        raise InputError([Problem("request", field, NUL_REFUSED)])


def _rating(rating: BlockRating, email: str | None) -> Rating:
    return Rating(
        block_id=rating.block_id,
        document_id=rating.document_id,
        useful=rating.useful,
        comment=rating.comment,
        user_email=email,
        created_at=rating.created_at,
    )
