"""Prospects made by signed-in people on the pages: their unique ids, who owns them, search,
edits, and the documents made for them."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from tracker.models import Document, Prospect

MAX_KEY = 60  # room for a "-<n>" suffix within the profile id's 100 characters
LIST_LIMIT = 200


def slug(company: str) -> str:
    """`Northwind Bank & Co.` -> `northwind-bank-co`; never empty."""
    ascii_text = unicodedata.normalize("NFKD", company).encode("ascii", "ignore").decode()
    text = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:MAX_KEY].strip("-")
    return text or "prospect"


async def unique_key(session: AsyncSession, company: str) -> str:
    """The company's slug, with `-2`, `-3`, ... when another prospect holds it already."""
    base = slug(company)
    taken = set(
        await session.scalars(
            select(Prospect.key).where(or_(Prospect.key == base, Prospect.key.like(f"{base}-%")))
        )
    )
    if base not in taken:
        return base
    number = 2
    while f"{base}-{number}" in taken:
        number += 1
    return f"{base}-{number}"


async def create_prospect(
    session: AsyncSession, profile: Mapping[str, Any], owner_user_id: int
) -> Prospect:
    """Store a profile (contract §2) under a new unique id made from its company; the
    profile's `id` is set to that key. Flushes but never commits."""
    key = await unique_key(session, str(profile["company"]))
    row = Prospect(
        key=key,
        company=str(profile["company"]),
        profile={**profile, "id": key},
        owner_user_id=owner_user_id,
    )
    session.add(row)
    await session.flush()
    return row


async def list_prospects(
    session: AsyncSession, owner_user_id: int | None, search: str = ""
) -> Sequence[Prospect]:
    """Newest first; only `owner_user_id`'s when given; `search` matches the company or the
    id anywhere, ignoring case."""
    query = select(Prospect).order_by(Prospect.updated_at.desc(), Prospect.id.desc())
    if owner_user_id is not None:
        query = query.where(Prospect.owner_user_id == owner_user_id)
    needle = search.strip().lower()
    if needle:
        query = query.where(
            or_(
                func.lower(Prospect.company).contains(needle, autoescape=True),
                func.lower(Prospect.key).contains(needle, autoescape=True),
            )
        )
    return (await session.scalars(query.limit(LIST_LIMIT))).all()


async def find_prospect(session: AsyncSession, key: str) -> Prospect | None:
    row: Prospect | None = await session.scalar(select(Prospect).where(Prospect.key == key))
    return row


async def update_prospect(session: AsyncSession, row: Prospect, profile: Mapping[str, Any]) -> None:
    """Replace the prospect's profile, keeping its key (its links and documents point at it).
    Documents made earlier keep the snapshot they were assembled from. Flushes, never commits."""
    row.company = str(profile["company"])
    row.profile = {**profile, "id": row.key}
    await session.flush()


async def prospect_documents(
    session: AsyncSession, prospect_id: int, created_by_user_id: int | None
) -> Sequence[Document]:
    """The prospect's documents, newest first; only `created_by_user_id`'s when given."""
    query = (
        select(Document)
        .where(Document.prospect_id == prospect_id)
        .order_by(Document.created_at.desc(), Document.id.desc())
    )
    if created_by_user_id is not None:
        query = query.where(Document.created_by_user_id == created_by_user_id)
    return (await session.scalars(query)).all()
