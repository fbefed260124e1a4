"""Documents as sent: the profile, the rep, the exact block versions and the rendered files,
stored together once so every later view and report refers to what the prospect received."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from engine import UnansweredNeed
from engine.assemble import AssembledDocument
from tracker.models import Document, DocumentFile, DocumentSection, Prospect, utcnow

FORMATS = ("pptx", "docx", "html", "viewer")


async def store_document(
    session: AsyncSession,
    document: AssembledDocument,
    library_id: int,
    versions: Mapping[str, int],
    files: Mapping[str, bytes],
    key_id: int | None,
    unanswered: Sequence[UnansweredNeed] = (),
) -> Document:
    """Store an assembled document with its rendered `files` (one per format in FORMATS).

    `versions` maps each block id to its stored version; `unanswered` are the needs no
    eligible block answered well, kept for marketing's content gaps. Flushes but never commits.
    """
    unknown = set(files) - set(FORMATS)
    if unknown:
        raise ValueError(f"unknown document formats: {sorted(unknown)}")
    prospect = await _remember_prospect(session, document)
    row = Document(
        id=secrets.token_hex(12),
        library_id=library_id,
        prospect_id=prospect.id,
        title=document.title,
        as_of=document.as_of,
        profile=dict(document.prospect.fields),
        rep={k: v for k, v in vars(document.rep).items() if v is not None},
        created_by_key_id=key_id,
        unanswered=[{"need": u.need, "best_score": u.best_score} for u in unanswered],
        sections=[
            DocumentSection(
                position=position,
                slot=s.slot,
                block_version_id=versions[s.block_id],
                title=s.title,
                why=s.why,
                reading_ms=s.reading_ms,
            )
            for position, s in enumerate(document.sections)
        ],
    )
    session.add(row)
    await session.flush()
    session.add_all(
        DocumentFile(document_id=row.id, format=f, content=content) for f, content in files.items()
    )
    await session.flush()
    return row


async def document_file(session: AsyncSession, document_id: str, format: str) -> bytes | None:
    content: bytes | None = await session.scalar(
        select(DocumentFile.content).where(
            DocumentFile.document_id == document_id, DocumentFile.format == format
        )
    )
    return content


async def _remember_prospect(session: AsyncSession, document: AssembledDocument) -> Prospect:
    """The prospect's row, updated to the latest profile (documents keep their own snapshot)."""
    profile = document.prospect
    row = await session.scalar(select(Prospect).where(Prospect.key == profile.id))
    if row is None:
        row = Prospect(key=profile.id, company=profile.company)
        session.add(row)
    row.company = profile.company
    row.profile = dict(profile.fields)
    row.updated_at = utcnow()
    await session.flush()
    return row
