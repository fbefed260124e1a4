"""Regenerating a live document whose blocks went out of date: which sections must change, the
selection that changes only those, and the move of the live links to the new version.

A document is frozen at the block versions it was sent with, so "out of date" is computed when
asked (marketing's stale query, tracker.stale.live_uses), never stored: a re-import or the date
passing flags it at once, and nothing can go stale in a flag column. Regeneration keeps every
other section's block (rendered at its current, approved version, which is what the loaded
library holds) and swaps each out-of-date one for the best eligible block of its slot that the
document does not already use. The live links move to the new document, so a token keeps
working and opens the new version; the visits made so far stay with the old document on a
frozen, revoked copy of their link, so both versions' reports stay apart and complete.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from engine import Library, Prospect, Selection, UnansweredNeed
from engine.assemble import AssembledDocument
from engine.eligibility import is_eligible
from engine.select import Alternative, Section
from tracker.database import affected_rows
from tracker.documents import store_document
from tracker.errors import TrackerError
from tracker.links import is_live
from tracker.models import Document, ShareLink, Visit
from tracker.models import Prospect as ProspectRow
from tracker.stale import LiveUse, live_uses


class RegenerationError(TrackerError):
    """Regeneration cannot go ahead; nothing was changed and the message says why."""


@dataclass(frozen=True)
class OutOfDate:
    """A section of a live document whose block is retired, expired or no longer approved."""

    position: int
    slot: str
    block_id: str
    title: str  # as the document shows it
    reason: str


@dataclass(frozen=True)
class Replacement:
    """One section regeneration changes: the out-of-date block and the one taking its place."""

    position: int
    slot: str
    replaced: str
    block_id: str
    reason: str


@dataclass(frozen=True)
class Plan:
    selection: Selection  # the sections in the old document's order, ready to assemble
    replacements: tuple[Replacement, ...]


async def flagged_uses(
    session: AsyncSession,
    library_id: int,
    document_ids: Sequence[str],
    today: dt.date,
    now: dt.datetime,
) -> dict[str, tuple[LiveUse, ...]]:
    """Per live document among `document_ids`, its out-of-date blocks (none: not listed)."""
    found: dict[str, list[LiveUse]] = {}
    if document_ids:
        for use in await live_uses(session, library_id, today, now, document_ids):
            found.setdefault(use.document_id, []).append(use)
    return {document_id: tuple(uses) for document_id, uses in found.items()}


async def flagged_documents_of(
    session: AsyncSession, library_id: int, user_id: int, today: dt.date, now: dt.datetime
) -> dict[str, tuple[LiveUse, ...]]:
    """The live documents `user_id` made in the library that show out-of-date blocks."""
    made = await session.scalars(
        select(Document.id).where(
            Document.library_id == library_id, Document.created_by_user_id == user_id
        )
    )
    return await flagged_uses(session, library_id, made.all(), today, now)


async def out_of_date_sections(
    session: AsyncSession, document: Document, today: dt.date, now: dt.datetime
) -> tuple[OutOfDate, ...]:
    """The document's out-of-date sections in order; none unless the document is live.

    `document` must have its sections with their block versions and blocks loaded.
    """
    uses = await flagged_uses(session, document.library_id, [document.id], today, now)
    reasons = {use.block.key: use.reason for use in uses.get(document.id, ())}
    return tuple(
        OutOfDate(s.position, s.slot, key, s.title, reasons[key])
        for s in document.sections
        if (key := s.block_version.block.key) in reasons
    )


def plan_regeneration(
    document: Document,
    stale: Mapping[str, str],
    fresh: Selection,
    library: Library,
    prospect: Prospect,
    as_of: dt.date,
) -> Plan:
    """The document's sections with each block in `stale` (block id -> why) replaced.

    A kept block must still be in the loaded library and eligible today, else it is replaced
    too: the loaded library is what gets rendered. A replacement is the first block of the slot
    in `fresh` (today's selection for the same profile: its picks, then its alternatives) that
    is not out of date and not used elsewhere in the document. A slot with no such block raises
    RegenerationError: a section silently dropped would change the pitch more than the rep
    asked, and the rep can still revoke the link.
    """
    reasons = dict(stale)
    for s in document.sections:
        key = s.block_version.block.key
        if key not in reasons:
            reasons.update(_not_renderable(library, s.slot, key, prospect, as_of))
    used = {s.block_version.block.key for s in document.sections} - reasons.keys()
    sections: list[Section] = []
    replacements: list[Replacement] = []
    for s in document.sections:
        key = s.block_version.block.key
        if key not in reasons:
            sections.append(Section(s.slot, key, _score(fresh, key), s.why))
            continue
        best = _best_candidate(fresh, s.slot, used | reasons.keys())
        if best is None:
            raise RegenerationError(
                f"no eligible block is left for the slot {s.slot!r} to replace {key!r} "
                f"({reasons[key]}); nothing was changed"
            )
        used.add(best.block_id)
        why = f"replaces {key} ({reasons[key]})"
        sections.append(Section(s.slot, best.block_id, best.score, why))
        replacements.append(Replacement(s.position, s.slot, key, best.block_id, reasons[key]))
    selection = dataclasses.replace(fresh, sections=tuple(sections))
    return Plan(selection, tuple(replacements))


def _not_renderable(
    library: Library, slot: str, key: str, prospect: Prospect, as_of: dt.date
) -> dict[str, str]:
    if all(s.id != slot for s in library.slots):
        return {key: "its slot left the message map"}
    if key not in library.titles:
        return {key: "no longer in the library"}
    if not is_eligible(library.block(key), prospect, as_of):
        return {key: "no longer eligible"}
    return {}


def _score(fresh: Selection, key: str) -> float:
    alternatives = (a for alts in fresh.alternatives.values() for a in alts)
    candidates: list[Section | Alternative] = [*fresh.sections, *alternatives]
    return next((c.score for c in candidates if c.block_id == key), 0.0)


def _best_candidate(fresh: Selection, slot: str, excluded: set[str]) -> Section | None:
    picks = [s for s in fresh.sections if s.slot == slot]
    alternatives = [
        Section(slot, a.block_id, a.score, "") for a in fresh.alternatives.get(slot, ())
    ]
    return next((c for c in [*picks, *alternatives] if c.block_id not in excluded), None)


async def store_successor(
    session: AsyncSession,
    old: Document,
    document: AssembledDocument,
    versions: Mapping[str, int],
    files: Mapping[str, bytes],
    unanswered: Sequence[UnansweredNeed],
) -> Document:
    """Store the regenerated `document` as made by whoever made `old`, with the rep's swaps
    that it still shows. Flushes, never commits."""
    prospect = await session.get(ProspectRow, old.prospect_id)
    assert prospect is not None  # documents keep their prospect
    latest = (prospect.company, dict(prospect.profile), prospect.updated_at)
    row = await store_document(
        session, document, old.library_id, versions, files, old.created_by_key_id, unanswered
    )
    # Storing a document records its profile as the prospect's latest; this one is the old
    # snapshot, and the prospect may have been edited since.
    prospect.company, prospect.profile, prospect.updated_at = latest
    shown = {s.block_id for s in document.sections}
    row.created_by_user_id = old.created_by_user_id
    row.swaps = [swap for swap in old.swaps or [] if swap.get("block_id") in shown]
    await session.flush()
    return row


async def live_links(session: AsyncSession, document_id: str, now: dt.datetime) -> list[ShareLink]:
    """The document's links a prospect can open at `now`, oldest first."""
    links = await session.scalars(
        select(ShareLink)
        .where(ShareLink.document_id == document_id, is_live(now))
        .order_by(ShareLink.id)
    )
    return list(links)


async def move_live_links(
    session: AsyncSession, old_id: str, new_id: str, now: dt.datetime
) -> tuple[int, ...]:
    """Point the old document's live links at the new one; returns the moved links' ids.

    Each moved link leaves behind a frozen copy (revoked now, with a token hash nobody holds)
    that takes over its visits, so the old document's reports keep them and the link's own
    report starts over with the new version. Revoked and expired links stay as they are.
    Raises RegenerationError when there is no live link left to move, or another request
    moved or revoked one meanwhile (the caller's transaction is then to be rolled back).
    Flushes, never commits.
    """
    live = await live_links(session, old_id, now)
    if not live:
        raise RegenerationError("the document has no live share link; nothing was changed")
    for link in live:
        frozen = _frozen_copy(link, now)
        session.add(frozen)
        await session.flush()
        await session.execute(
            update(Visit).where(Visit.link_id == link.id).values(link_id=frozen.id)
        )
        moved = await session.execute(
            update(ShareLink)
            .where(
                ShareLink.id == link.id,
                ShareLink.document_id == old_id,
                is_live(now),
            )
            .values(document_id=new_id)
        )
        if affected_rows(moved) != 1:
            raise RegenerationError("a link changed meanwhile; nothing was changed, try again")
    return tuple(link.id for link in live)


def _frozen_copy(link: ShareLink, now: dt.datetime) -> ShareLink:
    return ShareLink(
        document_id=link.document_id,
        token_hash=hashlib.sha256(secrets.token_bytes(32)).hexdigest(),
        recipient_email=link.recipient_email,
        expires_at=link.expires_at,
        revoked_at=now,
        allow_download=link.allow_download,
        require_email=link.require_email,
        passcode_hash=None,
        created_by_key_id=link.created_by_key_id,
        created_at=link.created_at,
        created_by_user_id=link.created_by_user_id,
    )
