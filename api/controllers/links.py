"""Share links: made per recipient for a document, revoked, and reported on by their token."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, delete, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, JSONBody
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api import fields
from api.auth import permit_owner
from api.controllers.documents import CSV, csv_response, owned_document
from api.errors import bad_field
from api.runtime import Runtime
from tracker.csv_export import link_report_csv
from tracker.keys import KeyInfo
from tracker.links import LinkOptions, create_link, find_link, revoke_link
from tracker.models import ShareLink, utcnow
from tracker.reports import link_report

MAX_PASSCODE = 200


def share_url(runtime: Runtime, request: Request[Any, Any, Any], token: str) -> str:
    """Absolute: on PITCHMAP_BASE_URL when set, else on the request's own scheme and host."""
    base = runtime.settings.base_url or str(request.base_url).rstrip("/")
    return f"{base}/d/{token}"


def link_view(link: ShareLink) -> dict[str, Any]:
    return {
        "id": link.id,
        "document_id": link.document_id,
        "recipient": link.recipient_email,
        "expires_at": link.expires_at.isoformat() if link.expires_at else None,
        "revoked_at": link.revoked_at.isoformat() if link.revoked_at else None,
        "allow_download": link.allow_download,
        "require_email": link.require_email,
        "passcode": link.passcode_hash is not None,
        "created_at": link.created_at.isoformat(),
    }


async def owned_link(
    session: AsyncSession, token: str, caller: KeyInfo, change: bool = False
) -> ShareLink:
    link = await find_link(session, token)
    if link is None:
        raise NotFoundException("no such link")
    permit_owner(caller, link.created_by_key_id, change)
    return link


def link_options(data: object) -> LinkOptions:
    body = fields.body_object(data)
    fields.only(body, ("recipient", "expires_at", "allow_download", "require_email", "passcode"))
    expires_at = fields.moment(body, "expires_at")
    if expires_at is not None and expires_at <= utcnow():
        raise bad_field("expires_at", "is in the past")
    passcode = body.get("passcode")
    if isinstance(passcode, str):
        fields.no_nul(passcode, "passcode")  # before the length, so the NUL is what is named
    if passcode is not None and (
        not isinstance(passcode, str) or not 4 <= len(passcode) <= MAX_PASSCODE
    ):
        raise bad_field("passcode", f"must be a string of 4 to {MAX_PASSCODE} characters")
    return LinkOptions(
        recipient=fields.email(fields.text(body, "recipient", required=True), "recipient"),
        expires_at=expires_at,
        allow_download=fields.flag(body, "allow_download"),
        require_email=fields.flag(body, "require_email"),
        passcode=passcode,
    )


class DocumentLinkController(Controller):
    path = "/api/documents/{document_id:str}/links"
    tags = ("links",)

    @post("/", status_code=201, summary="Make a share link for one recipient")
    async def create(
        self,
        document_id: FromPath[str],
        data: JSONBody[dict[str, Any]],
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        caller: NamedDependency[KeyInfo],
    ) -> dict[str, Any]:
        """Body: {"recipient": email, "expires_at": ISO datetime?, "allow_download": bool?,
        "require_email": bool?, "passcode": str?}. The token is shown here once only."""
        options = link_options(data)
        async with runtime.session() as session:
            await owned_document(session, document_id, caller, change=True)
            link, token = await create_link(session, document_id, options, caller.id)
            await session.commit()
        return {"token": token, "url": share_url(runtime, request, token), **link_view(link)}

    @get("/", summary="The document's links (never their tokens)")
    async def index(
        self,
        document_id: FromPath[str],
        runtime: NamedDependency[Runtime],
        caller: NamedDependency[KeyInfo],
    ) -> dict[str, Any]:
        async with runtime.session() as session:
            await owned_document(session, document_id, caller)
            links = await session.scalars(
                select(ShareLink).where(ShareLink.document_id == document_id).order_by(ShareLink.id)
            )
            return {"links": [link_view(link) for link in links]}


class LinkController(Controller):
    path = "/api/links/{token:str}"
    tags = ("links",)

    @delete("/", status_code=204, summary="Revoke a link: from then on /d/{token} answers 410")
    async def revoke(
        self,
        token: FromPath[str],
        runtime: NamedDependency[Runtime],
        caller: NamedDependency[KeyInfo],
    ) -> None:
        async with runtime.session() as session:
            await revoke_link(session, await owned_link(session, token, caller, change=True))
            await session.commit()

    @get("/report", summary="Engagement with one link: sessions and every section's time")
    async def report(
        self,
        token: FromPath[str],
        runtime: NamedDependency[Runtime],
        caller: NamedDependency[KeyInfo],
    ) -> dict[str, Any]:
        async with runtime.session() as session:
            link = await owned_link(session, token, caller)
            return (await link_report(session, link.id)).to_dict()

    @get("/report.csv", media_type=CSV, summary="The link report as CSV")
    async def report_csv(
        self,
        token: FromPath[str],
        runtime: NamedDependency[Runtime],
        caller: NamedDependency[KeyInfo],
    ) -> Response[str]:
        async with runtime.session() as session:
            link = await owned_link(session, token, caller)
            report = await link_report(session, link.id)
        return csv_response(link_report_csv(report), f"link-{link.id}.csv")
