"""Expiry propagation in the API: which blocks of a live document went out of date, and its
regeneration with those blocks swapped, the share links kept and moved to the new version.

The document's owner, marketing and admins may do both (marketing reads every document; a
regeneration changes what the owner's links show, never who owns them). The page's button
(RepDocumentController) goes through `regenerate_document` too.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.exceptions import ClientException
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_409_CONFLICT

from api import building, fields
from api.controllers.documents import load_document, owned_document, selector_of
from api.runtime import Runtime
from engine import parse_prospect
from engine.assemble import Rep
from tracker.keys import KeyInfo
from tracker.models import utcnow
from tracker.regenerate import (
    OutOfDate,
    RegenerationError,
    Replacement,
    live_links,
    move_live_links,
    out_of_date_sections,
    plan_regeneration,
    store_successor,
)


class ConflictException(ClientException):
    status_code = HTTP_409_CONFLICT


@dataclass(frozen=True)
class Regenerated:
    document_id: str
    replacements: tuple[Replacement, ...]
    links: tuple[int, ...]  # the ids of the links moved to it


async def regenerate_document(runtime: Runtime, document_id: str, as_of: dt.date) -> Regenerated:
    """Build and store the successor of a live document whose blocks went out of date as of
    `as_of`, then move its live links to it, in one transaction: on any refusal
    (RegenerationError) or failure nothing is stored. The caller checks permissions."""
    selector = selector_of(runtime)
    stored = runtime.library
    assert stored is not None  # selector_of checked it
    now = utcnow()
    async with runtime.session() as session:
        old = await load_document(session, document_id)
        stale = await out_of_date_sections(session, old, as_of, now)
    if old.library_id != stored.id:
        raise RegenerationError("the document was made from another library than the loaded one")
    if not stale:
        raise RegenerationError("no block of a live document is out of date; nothing to do")
    prospect = parse_prospect(old.profile, where="the document's profile")
    fresh = await building.select(selector, prospect, as_of)
    library = selector.indexed.library
    reasons = {s.block_id: s.reason for s in stale}
    plan = plan_regeneration(old, reasons, fresh, library, prospect, as_of)
    notice = runtime.settings.viewer_notice
    built = await building.render(selector, plan.selection, prospect, as_of, Rep(**old.rep), notice)
    async with runtime.session() as session:
        new = await store_successor(
            session, old, built.document, stored.versions, built.files, built.unanswered
        )
        moved = await move_live_links(session, old.id, new.id, utcnow())
        await session.commit()
    return Regenerated(new.id, plan.replacements, moved)


def out_of_date_view(
    document_id: str, live: bool, as_of: dt.date, sections: tuple[OutOfDate, ...]
) -> dict[str, Any]:
    return {
        "document_id": document_id,
        "live": live,
        "as_of": as_of.isoformat(),
        "sections": [
            {
                "position": s.position,
                "slot": s.slot,
                "block_id": s.block_id,
                "title": s.title,
                "reason": s.reason,
            }
            for s in sections
        ],
    }


class RegenerationController(Controller):
    path = "/api/documents/{document_id:str}"
    tags = ("documents",)

    @get(
        "/out-of-date",
        summary="The blocks of a live document that are retired, expired or no longer approved",
    )
    async def out_of_date(
        self,
        document_id: FromPath[str],
        runtime: NamedDependency[Runtime],
        caller: NamedDependency[KeyInfo],
        as_of: FromQuery[str] = "",
    ) -> dict[str, Any]:
        """`?as_of=YYYY-MM-DD` judges expiry on that day (default: today, UTC). A document
        none of whose links is live lists nothing: no prospect can read it."""
        day = fields.date({"as_of": as_of}, "as_of", utcnow().date())
        now = utcnow()
        async with runtime.session() as session:
            document = await owned_document(session, document_id, caller)
            sections = await out_of_date_sections(session, document, day, now)
            live = bool(await live_links(session, document_id, now))
        return out_of_date_view(document_id, live, day, sections)

    @post(
        "/regenerate",
        status_code=201,
        summary="Swap a live document's out-of-date blocks; its share links open the new version",
    )
    async def regenerate(
        self,
        document_id: FromPath[str],
        runtime: NamedDependency[Runtime],
        caller: NamedDependency[KeyInfo],
        data: JSONBody[dict[str, Any] | None] = None,
    ) -> dict[str, Any]:
        """Body (optional): {"as_of": "YYYY-MM-DD"} (default: today, UTC). Answers the new
        document; 409 with nothing changed when nothing is out of date, the document has no
        live link, or a slot has no eligible block left."""
        body = fields.body_object(data or {})
        fields.only(body, ("as_of",))
        as_of = fields.date(body, "as_of", utcnow().date())
        async with runtime.session() as session:
            await owned_document(session, document_id, caller)
        try:
            done = await regenerate_document(runtime, document_id, as_of)
        except RegenerationError as exc:
            raise ConflictException(str(exc)) from exc
        return {
            "id": done.document_id,
            "replaces": document_id,
            "replacements": [
                {
                    "position": r.position,
                    "slot": r.slot,
                    "replaced": r.replaced,
                    "block_id": r.block_id,
                    "reason": r.reason,
                }
                for r in done.replacements
            ],
            "links_moved": len(done.links),
            "url": f"/api/documents/{done.document_id}",
        }
