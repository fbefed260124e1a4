"""A generated document on the pages: its web preview, the downloads, and its share links
(made per recipient, revoked) for the signed-in user who made it."""

from __future__ import annotations

import datetime as dt
from typing import Any

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, URLEncodedBody
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth import permit_owner
from api.controllers.documents import DOWNLOADS, attachment, load_document
from api.controllers.links import MAX_PASSCODE, share_url
from api.fields import is_email
from api.runtime import Runtime
from api.web_auth import PAGE_HEADERS, render_page, see_other
from tracker.documents import document_file
from tracker.links import LinkOptions, create_link, link_state, revoke_link
from tracker.models import Document, ShareLink, utcnow
from tracker.users import UserInfo

PREVIEW = "page.html"  # the stand-alone page, framed by the document page


async def user_document(
    session: AsyncSession, document_id: str, user: UserInfo, change: bool = False
) -> Document:
    """The document, if the signed-in user may see it (or, with `change`, share it)."""
    document = await load_document(session, document_id)
    permit_owner(user, document.created_by_user_id, change)
    return document


def link_form(form: dict[str, str]) -> tuple[LinkOptions | None, dict[str, str]]:
    """The new-link form as link options, or what is wrong with each field."""
    errors: dict[str, str] = {}
    recipient = form.get("recipient", "").strip().lower()
    if not is_email(recipient):
        errors["recipient"] = "Enter the recipient's email address."
    expires_at = None
    expires = form.get("expires", "").strip()
    if expires:
        try:
            day = dt.date.fromisoformat(expires)
        except ValueError:
            errors["expires"] = "Enter a date as YYYY-MM-DD."
        else:
            # The link works until the end of that day (UTC).
            expires_at = dt.datetime.combine(day, dt.time(23, 59, 59), dt.UTC)
            if expires_at <= utcnow():
                errors["expires"] = "Choose today or a later date."
    passcode = form.get("passcode", "") or None
    if passcode is not None and not 4 <= len(passcode) <= MAX_PASSCODE:
        errors["passcode"] = f"A passcode has 4 to {MAX_PASSCODE} characters."
    if errors:
        return None, errors
    return LinkOptions(
        recipient=recipient,
        expires_at=expires_at,
        allow_download=bool(form.get("allow_download")),
        require_email=bool(form.get("require_email")),
        passcode=passcode,
    ), {}


class RepDocumentController(Controller):
    path = "/documents/{document_id:str}"
    include_in_schema = False

    @get("/", media_type=MediaType.HTML)
    async def show(
        self,
        document_id: FromPath[str],
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        user: NamedDependency[UserInfo],
    ) -> Response[str]:
        return await self._page(request, runtime, user, document_id)

    @get("/{name:str}", media_type="application/octet-stream")
    async def file(
        self,
        document_id: FromPath[str],
        name: FromPath[str],
        runtime: NamedDependency[Runtime],
        user: NamedDependency[UserInfo],
    ) -> Response[bytes]:
        """deck.pptx and proposal.docx as downloads; page.html as the framed preview."""
        if name == PREVIEW:
            file_format, media_type = "html", "text/html"  # Litestar adds the charset
        elif name in DOWNLOADS:
            file_format, media_type = DOWNLOADS[name]
        else:
            raise NotFoundException(f"no file {name!r}")
        async with runtime.session() as session:
            await user_document(session, document_id, user)
            content = await document_file(session, document_id, file_format)
        if content is None:
            raise NotFoundException(f"document {document_id!r} has no {name}")
        if name != PREVIEW:
            return attachment(content, name, media_type)
        return Response(
            content,
            media_type=media_type,
            headers={
                **PAGE_HEADERS,
                "X-Frame-Options": "SAMEORIGIN",
                # Shown inside the document page only, and without running anything.
                "Content-Security-Policy": "sandbox; frame-ancestors 'self'",
            },
        )

    @post("/links", media_type=MediaType.HTML)
    async def create_link(
        self,
        document_id: FromPath[str],
        data: URLEncodedBody[dict[str, str]],
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        user: NamedDependency[UserInfo],
    ) -> Response[str]:
        form = {k: v for k, v in data.items() if isinstance(v, str)}
        options, errors = link_form(form)
        if options is None:
            return await self._page(
                request, runtime, user, document_id, values=form, errors=errors, status_code=400
            )
        async with runtime.session() as session:
            await user_document(session, document_id, user, change=True)
            link, token = await create_link(session, document_id, options, None)
            link.created_by_user_id = user.id
            await session.commit()
        created = {"id": link.id, "url": share_url(runtime, request, token)}
        return await self._page(request, runtime, user, document_id, created=created)

    @post("/links/{link_id:int}/revoke", media_type=MediaType.HTML)
    async def revoke(
        self,
        document_id: FromPath[str],
        link_id: FromPath[int],
        runtime: NamedDependency[Runtime],
        user: NamedDependency[UserInfo],
    ) -> Response[str]:
        async with runtime.session() as session:
            link = await session.get(ShareLink, link_id)
            if link is None or link.document_id != document_id:
                raise NotFoundException("no such link")
            await user_document(session, document_id, user)
            permit_owner(user, link.created_by_user_id, change=True)
            await revoke_link(session, link)
            await session.commit()
        return see_other(f"/documents/{document_id}#links")

    async def _page(
        self,
        request: Request[Any, Any, Any],
        runtime: Runtime,
        user: UserInfo,
        document_id: str,
        *,
        values: dict[str, str] | None = None,
        errors: dict[str, str] | None = None,
        created: dict[str, Any] | None = None,
        status_code: int = 200,
    ) -> Response[str]:
        async with runtime.session() as session:
            document = await user_document(session, document_id, user)
            links = (
                await session.scalars(
                    select(ShareLink)
                    .where(ShareLink.document_id == document_id)
                    .order_by(ShareLink.id.desc())
                )
            ).all()
        now = utcnow()
        selector = runtime.workspace.selector
        return render_page(
            request,
            "document.html",
            user=user,
            library=selector.indexed.library if selector else None,
            document=document,
            swaps=document.swaps or [],
            links=[(link, link_state(link, now).value) for link in links],
            values=values or {},
            errors=errors or {},
            created=created,
            today=now.date().isoformat(),
            status_code=status_code,
        )
