"""A generated document on the pages: its web preview, the downloads, its share links (made
per recipient, revoked), the rep's feedback from the field (a verdict per block, the needs
the prospect raised that no block answered), and, while it is live with blocks gone out of
date, the flag and the button that regenerates it, for the signed-in user who may see it."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, URLEncodedBody
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from api import fields
from api.auth import permit_owner
from api.clock import LocalTime, zone
from api.controllers.admin_users import field_errors
from api.controllers.documents import DOWNLOADS, attachment, load_document
from api.controllers.links import MAX_PASSCODE, share_url
from api.controllers.regenerate import regenerate_document
from api.errors import bad_field
from api.fields import is_email
from api.runtime import Runtime
from api.web_auth import PAGE_HEADERS, render_page, see_other
from engine import InputError
from tracker.documents import document_file
from tracker.feedback import (
    MAX_COMMENT,
    MAX_NEED,
    prospect_needs,
    rate_block,
    ratings_by_user,
    report_need,
)
from tracker.links import LinkOptions, create_link, link_state, revoke_link
from tracker.models import Document, ShareLink, Slot, utcnow
from tracker.regenerate import RegenerationError, out_of_date_sections
from tracker.users import UserInfo

PREVIEW = "page.html"  # the stand-alone page, framed by the document page
_DOCUMENT_ID = re.compile(r"[0-9a-f]{24}")  # tracker.documents makes 12 random bytes in hex
# What a pasted NUL (never typed, but sent by scripts) gets on the forms: PostgreSQL stores none.
NUL_TYPED = "Remove the NUL (\\x00) character: it cannot be stored."


async def user_document(
    session: AsyncSession, document_id: str, user: UserInfo, change: bool = False
) -> Document:
    """The document, if the signed-in user may see it (or, with `change`, share it)."""
    document = await load_document(session, document_id)
    permit_owner(user, document.created_by_user_id, change)
    return document


def link_form(form: dict[str, str], zone_name: str) -> tuple[LinkOptions | None, dict[str, str]]:
    """The new-link form as link options, or what is wrong with each field. The expiry date is
    a day of the user's calendar (`zone_name`)."""
    errors: dict[str, str] = {}
    recipient = form.get("recipient", "").strip().lower()
    if not is_email(recipient):
        errors["recipient"] = "Enter the recipient's email address."
    expires_at = None
    try:
        expires_at = link_expiry(form.get("expires", ""), zone_name)
    except InputError as exc:
        errors.update(field_errors(exc.problems))
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


def link_expiry(value: str, zone_name: str) -> dt.datetime | None:
    """When a link expiring on the day `value` stops working: the end of that day where the
    user is (`zone_name`), in UTC; None for no day. InputError on `expires` for a day that is
    not one, has passed, or ends beyond the calendar in UTC (31 December 9999 west of UTC),
    refused as the API refuses such an `expires_at`."""
    day = fields.typed_day("expires", value, "Enter a date as YYYY-MM-DD.")
    if day is None:
        return None
    end = fields.utc(dt.datetime.combine(day, dt.time(23, 59, 59), zone(zone_name)), "expires")
    if end <= utcnow():
        raise bad_field("expires", "Choose today or a later date.")
    return end


@dataclass(frozen=True)
class RatingInput:
    block_id: int  # the block's row id
    useful: bool
    comment: str


def rating_form(
    form: dict[str, str], document: Document
) -> tuple[RatingInput | None, dict[str, str]]:
    """A verdict on one of the document's own blocks, or what is wrong with each field."""
    errors: dict[str, str] = {}
    blocks = {s.block_version.block.key: s.block_version.block_id for s in document.sections}
    block_id = blocks.get(form.get("block", ""))
    if block_id is None:
        errors["block"] = "Rate one of this document's blocks."
    useful = {"yes": True, "no": False}.get(form.get("useful", ""))
    if useful is None:
        errors["useful"] = "Choose useful or not useful."
    comment = form.get("comment", "").strip()
    if len(comment) > MAX_COMMENT:
        errors["comment"] = f"A comment has at most {MAX_COMMENT:,} characters."
    elif "\x00" in comment:
        errors["comment"] = NUL_TYPED
    if block_id is None or useful is None or errors:
        return None, errors
    return RatingInput(block_id, useful, comment), {}


def need_form(form: dict[str, str], slots: list[str]) -> tuple[dict[str, str], dict[str, str]]:
    """The reported need's text and slot (or '' for none), or what is wrong with each field."""
    errors: dict[str, str] = {}
    text = form.get("need", "").strip()
    if not text:
        errors["need"] = "Say what the prospect asked for."
    elif len(text) > MAX_NEED:
        errors["need"] = f"A need has at most {MAX_NEED:,} characters."
    elif "\x00" in text:
        errors["need"] = NUL_TYPED
    slot = form.get("slot", "").strip()
    if slot and slot not in slots:
        errors["slot"] = "Choose one of the message map's slots, or none."
    return {"need": text, "slot": slot}, errors


async def document_slots(session: AsyncSession, document: Document) -> list[Slot]:
    """The message map's slots of the library the document was made from, in order."""
    rows = await session.scalars(
        select(Slot).where(Slot.library_id == document.library_id).order_by(Slot.position)
    )
    return list(rows)


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
        regenerated: FromQuery[str] = "",
    ) -> Response[str]:
        """`?regenerated=<id>`: the page says it replaces that earlier version."""
        previous = regenerated if _DOCUMENT_ID.fullmatch(regenerated) else None
        return await self._page(request, runtime, user, document_id, previous=previous)

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
        form = fields.form_text(data)
        options, errors = link_form(form, user.time_zone)
        if options is None:
            return await self._page(request, runtime, user, document_id, values=form, errors=errors)
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
            link = await session.get(ShareLink, fields.known_id(link_id, "link"))
            if link is None or link.document_id != document_id:
                raise NotFoundException("no such link")
            await user_document(session, document_id, user)
            permit_owner(user, link.created_by_user_id, change=True)
            await revoke_link(session, link)
            await session.commit()
        return see_other(f"/documents/{document_id}#links")

    @post("/regenerate", media_type=MediaType.HTML)
    async def regenerate(
        self,
        document_id: FromPath[str],
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        user: NamedDependency[UserInfo],
    ) -> Response[str]:
        """Swap the out-of-date blocks, as of the user's today (the day the flag was shown
        for); on a refusal the page answers 409 saying why, with nothing changed."""
        async with runtime.session() as session:
            await user_document(session, document_id, user)
        today = LocalTime(user.time_zone).date(utcnow())
        try:
            done = await regenerate_document(runtime, document_id, today)
        except RegenerationError as exc:
            return await self._page(request, runtime, user, document_id, refused=str(exc))
        return see_other(f"/documents/{done.document_id}?regenerated={document_id}")

    @post("/ratings", media_type=MediaType.HTML)
    async def rate(
        self,
        document_id: FromPath[str],
        data: URLEncodedBody[dict[str, str]],
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        user: NamedDependency[UserInfo],
    ) -> Response[str]:
        """The user's verdict on one block of the document (replacing their earlier one)."""
        form = fields.form_text(data)
        async with runtime.session() as session:
            document = await user_document(session, document_id, user)
            rating, errors = rating_form(form, document)
            if rating is not None:
                await rate_block(
                    session,
                    document_id=document_id,
                    block_id=rating.block_id,
                    user_id=user.id,
                    useful=rating.useful,
                    comment=rating.comment,
                )
                await session.commit()
        if rating is None:
            return await self._page(
                request, runtime, user, document_id, values=form, errors=errors, failed="rating"
            )
        return see_other(f"/documents/{document_id}#rate-{form['block']}")

    @post("/needs", media_type=MediaType.HTML)
    async def report(
        self,
        document_id: FromPath[str],
        data: URLEncodedBody[dict[str, str]],
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        user: NamedDependency[UserInfo],
    ) -> Response[str]:
        """A need the prospect raised that no block of the document answered."""
        form = fields.form_text(data)
        async with runtime.session() as session:
            document = await user_document(session, document_id, user)
            slots = await document_slots(session, document)
            need, errors = need_form(form, [slot.key for slot in slots])
            if not errors:
                await report_need(
                    session,
                    prospect_id=document.prospect_id,
                    document_id=document_id,
                    user_id=user.id,
                    slot=need["slot"] or None,
                    text=need["need"],
                )
                await session.commit()
        if errors:
            return await self._page(
                request, runtime, user, document_id, values=form, errors=errors, failed="need"
            )
        return see_other(f"/documents/{document_id}#needs")

    async def _page(
        self,
        request: Request[Any, Any, Any],
        runtime: Runtime,
        user: UserInfo,
        document_id: str,
        *,
        values: dict[str, str] | None = None,
        errors: dict[str, str] | None = None,
        failed: str = "link",
        created: dict[str, Any] | None = None,
        previous: str | None = None,
        refused: str = "",
    ) -> Response[str]:
        """The page; with `errors`, answered 400 with the `failed` form (link, rating or need)
        shown again with `values` and a message per field; with `refused`, 409 with why the
        regeneration was refused. `previous` is the version this one regenerated."""
        async with runtime.session() as session:
            document = await user_document(session, document_id, user)
            links = (
                await session.scalars(
                    select(ShareLink)
                    .where(ShareLink.document_id == document_id)
                    .order_by(ShareLink.id.desc())
                )
            ).all()
            ratings = await ratings_by_user(session, document_id, user.id)
            needs = await prospect_needs(session, document.prospect_id)
            slots = await document_slots(session, document)
            now = utcnow()
            today = LocalTime(user.time_zone).date(now)
            out_of_date = await out_of_date_sections(session, document, today, now)
        selector = runtime.workspace.selector
        return render_page(
            request,
            "document.html",
            user=user,
            library=selector.indexed.library if selector else None,
            document=document,
            swaps=document.swaps or [],
            links=[(link, link_state(link, now).value) for link in links],
            ratings=ratings,
            needs=needs,
            slots=slots,
            values=values or {},
            errors=errors or {},
            failed=failed,
            created=created,
            today=today.isoformat(),
            out_of_date=out_of_date,
            previous=previous,
            refused=refused,
            max_comment=MAX_COMMENT,
            max_need=MAX_NEED,
            status_code=409 if refused else 400 if errors else 200,
        )
