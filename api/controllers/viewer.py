"""The prospect's side: `/d/{token}` and what its script sends. No API key here; the token is
the credential, and nothing a prospect sends is trusted before it is checked.

The page GET records nothing (mail scanners and link previews fetch pages); a visit exists only
once the page's script POSTs, and heartbeats count only with that visit's own secret.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Annotated, Any

import msgspec
from litestar import Controller, MediaType, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.exceptions import (
    ClientException,
    HTTPException,
    NotFoundException,
    PermissionDeniedException,
)
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, JSONBody, URLEncodedBody
from litestar.response import Redirect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

from api.clients import client_address
from api.controllers.documents import DOWNLOADS, attachment
from api.fields import MAX_ID, is_email
from api.openapi_media import also_sent
from api.pages import render
from api.runtime import Runtime
from engine.assemble.html import VIEWER_SLOT
from tracker.documents import document_file
from tracker.ingest import Heartbeat, Outcome
from tracker.links import (
    GRANT_LIFETIME,
    LinkState,
    check_passcode,
    find_grant,
    find_link,
    grant,
    issue_code,
    link_state,
    passcode_blocked,
    record_passcode_failure,
    redeem_code,
    token_hash,
)
from tracker.mail import MailError
from tracker.models import ShareLink, ViewerGrant, utcnow
from tracker.visits import client_hash, is_preview_bot, start_visit
from tracker.webhooks import notify_visit

logger = logging.getLogger(__name__)

GRANT_COOKIE = "pitchmap_grant"
HEARTBEAT_MS = 2_000
IDLE_MS = 120_000
MAX_SEQ = 2**31 - 1
MAX_SECTIONS = 1_000
# Stricter than the app's (api/security_headers.py adds the other headers): nothing but the
# viewer's own script and its beacon; the document's styles are inline, its script is not.
_VIEWER_CSP = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
VIEWER_HEADERS = {
    "X-Robots-Tag": "noindex, nofollow",
    "Cache-Control": "private, no-store",
    "Content-Security-Policy": _VIEWER_CSP,
}

Position = Annotated[int, msgspec.Meta(ge=0, lt=MAX_SECTIONS)]
Millis = Annotated[int, msgspec.Meta(ge=0, le=24 * 3600 * 1000)]


class HeartbeatBody(msgspec.Struct, forbid_unknown_fields=True):
    """One heartbeat as the script sends it (docs/tracking.md)."""

    visit: Annotated[int, msgspec.Meta(ge=1, le=MAX_ID)]
    secret: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    seq: Annotated[int, msgspec.Meta(ge=1, le=MAX_SEQ)]
    dwell: Annotated[dict[Position, Millis], msgspec.Meta(max_length=MAX_SECTIONS)] = {}
    seen: Annotated[list[Position], msgspec.Meta(max_length=MAX_SECTIONS)] = []


class GoneException(HTTPException):
    status_code = 410


_OUTCOME_ERRORS: dict[Outcome, type[HTTPException]] = {
    Outcome.FORBIDDEN: PermissionDeniedException,
    Outcome.UNKNOWN: NotFoundException,
    Outcome.GONE: GoneException,
    Outcome.BAD_SECTION: ClientException,
}


class ServiceUnavailableException(HTTPException):
    status_code = 503


def _pages(described: dict[int, str]) -> dict[int, ResponseSpec]:
    """HTML pages the reader's browser gets, for the schema."""
    return {
        status: ResponseSpec(
            str, media_type=MediaType.HTML, description=text, generate_examples=False
        )
        for status, text in described.items()
    }


# Where nothing is (or is left) to unlock, the browser is sent to the document.
_OPEN_ANYWAY = {302: ResponseSpec(None, description="To the document")}


class ViewerController(Controller):
    path = "/d/{token:str}"
    tags = ("viewer",)

    @get(
        "/",
        summary="The document as its recipient reads it",
        media_type=MediaType.HTML,
        responses=_pages({404: "No link at this address", 410: "The link is closed"}),
    )
    async def page(
        self,
        token: FromPath[str],
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
    ) -> Response[Any]:
        now = utcnow()
        async with runtime.session() as session:
            link = await find_link(session, token)
            closed = _closed_page(link, now)
            if closed is not None:
                return closed
            assert link is not None
            if await _grant(session, link, request, now) is None:
                return _gate_page(link, token)
            page = await document_file(session, link.document_id, "viewer")
        if page is None:
            raise NotFoundException("this link opens nothing")
        html = page.decode("utf-8").replace(VIEWER_SLOT, _downloads(link, token), 1)
        return Response(html, media_type="text/html; charset=utf-8", headers=VIEWER_HEADERS)

    @get(
        "/{name:str}",
        summary="The original deck or proposal, when the link allows downloads",
        media_type=DOWNLOADS["deck.pptx"][1],
        operation_class=also_sent(
            200, "The deck or the proposal, as a file", DOWNLOADS["proposal.docx"][1]
        ),
        raises=[PermissionDeniedException, GoneException],
    )
    async def download(
        self,
        token: FromPath[str],
        name: FromPath[str],
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
    ) -> Response[bytes]:
        now = utcnow()
        async with runtime.session() as session:
            link = await _live_link(session, token, now)
            if name not in ("deck.pptx", "proposal.docx"):
                raise NotFoundException("no such file")
            if not link.allow_download or await _grant(session, link, request, now) is None:
                raise PermissionDeniedException("this link does not allow downloads")
            file_format, media_type = DOWNLOADS[name]
            content = await document_file(session, link.document_id, file_format)
        if content is None:
            raise NotFoundException("no such file")
        return attachment(content, name, media_type)

    @post(
        "/visits",
        summary="The viewer script reports in: one visit per page load",
        raises=[PermissionDeniedException, GoneException],
    )
    async def visit(
        self,
        token: FromPath[str],
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
    ) -> Response[Any]:
        now = utcnow()
        user_agent = request.headers.get("user-agent", "")[:500]
        address = client_address(request, runtime.settings.trusted_proxies)
        async with runtime.session() as session:
            link = await _live_link(session, token, now)
            passed = await _grant(session, link, request, now)
            if passed is None:
                raise PermissionDeniedException("open the link first")
            if is_preview_bot(user_agent):
                return Response(None, status_code=204)
            email = passed.email if isinstance(passed, ViewerGrant) else None
            visit, secret = await start_visit(session, link, user_agent, address, email, now)
            queued = await notify_visit(session, link, visit, runtime.settings.webhook_urls, now)
            await session.commit()
        if queued and runtime.deliverer is not None:
            runtime.deliverer.poke()
        body = {
            "visit": visit.id,
            "secret": secret,
            "heartbeat_ms": HEARTBEAT_MS,
            "idle_ms": IDLE_MS,
        }
        return Response(body, status_code=201, headers={"Cache-Control": "no-store"})

    @post(
        "/events",
        status_code=204,
        summary="A heartbeat: per-section time since the last one",
        raises=[PermissionDeniedException, GoneException, ServiceUnavailableException],
    )
    async def events(
        self, token: FromPath[str], data: JSONBody[HeartbeatBody], runtime: NamedDependency[Runtime]
    ) -> None:
        received = utcnow()
        if runtime.ingestor is None:
            raise ServiceUnavailableException("not ready")
        beat = Heartbeat(data.visit, data.secret, data.seq, data.dwell, data.seen)
        try:
            outcome = await runtime.ingestor.submit(token_hash(token), beat, received)
        except (DBAPIError, OSError) as exc:
            raise ServiceUnavailableException(
                "the event could not be stored; send it again"
            ) from exc
        error = _OUTCOME_ERRORS.get(outcome)
        if error is not None:
            raise error(_OUTCOME_MESSAGES[outcome])

    @post(
        "/code",
        summary="Email gate: mail a one-time code to the address given",
        status_code=200,
        media_type=MediaType.HTML,
        responses=_pages(
            {
                429: "The gate again: too many codes asked for",
                503: "The gate again: the code could not be mailed",
            }
        )
        | _OPEN_ANYWAY,
        operation_class=also_sent(
            400,
            "The gate again: not an email address; or, as JSON, a malformed request",
            MediaType.HTML,
        ),
        raises=[GoneException],
    )
    async def send_code(
        self,
        token: FromPath[str],
        data: URLEncodedBody[dict[str, Any]],
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
    ) -> Response[Any]:
        now = utcnow()
        address = _answers(data).get("email", "").strip().lower()
        async with runtime.session() as session:
            link = await _live_link(session, token, now)
            if not link.require_email:
                return Redirect(f"/d/{token}")
            if not is_email(address):
                return _gate_page(link, token, message="Enter a valid email address.", status=400)
            client = await _client(session, runtime, request, now)
            code = await issue_code(session, link, address, client, now)
            await session.commit()
        if code is None:
            return _gate_page(
                link, token, message="Too many codes were asked for; try later.", status=429
            )
        assert runtime.mailer is not None
        try:
            await runtime.mailer.send(
                address,
                "Your code to open the document",
                f"Your code is {code}. It is valid for 10 minutes.",
            )
        except MailError as exc:
            logger.error("a one-time code for link %s could not be mailed: %s", link.id, exc.kind)
            message = "We could not send the code just now; please try again in a minute."
            return _gate_page(link, token, message=message, status=503)
        return _gate_page(link, token, email=address, code_sent=True)

    @post(
        "/unlock",
        summary="Email gate and passcode: check the code and/or passcode",
        status_code=200,
        media_type=MediaType.HTML,
        responses=_pages(
            {
                403: "The gate again: a wrong code or passcode",
                429: "The gate again: too many wrong passcodes",
            }
        )
        | _OPEN_ANYWAY,
        raises=[GoneException],
    )
    async def unlock(
        self,
        token: FromPath[str],
        data: URLEncodedBody[dict[str, Any]],
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
    ) -> Response[Any]:
        now = utcnow()
        form = _answers(data)
        address = form.get("email", "").strip().lower() or None
        async with runtime.session() as session:
            link = await _live_link(session, token, now)
            if not link.require_email and link.passcode_hash is None:
                return Redirect(f"/d/{token}")  # nothing to unlock
            refusal = await _refuse_unlock(session, runtime, request, link, form, address, now)
            if refusal is not None:
                await session.commit()  # failed attempts count
                return _gate_page(
                    link,
                    token,
                    email=address,
                    code_sent=address is not None,
                    message=refusal[0],
                    status=refusal[1],
                )
            grant_token = await grant(session, link, address if link.require_email else None)
            await session.commit()
        secure = request.url.scheme == "https" or (runtime.settings.base_url or "").startswith(
            "https"
        )
        cookie = Cookie(
            key=GRANT_COOKIE,
            value=grant_token,
            path=f"/d/{token}",
            max_age=int(GRANT_LIFETIME.total_seconds()),
            httponly=True,
            samesite="lax",
            secure=secure,
        )
        return Redirect(f"/d/{token}", cookies=[cookie])


def _answers(data: dict[str, Any]) -> dict[str, str]:
    """The gate form's fields that hold one text each: a field sent twice (a list) is no
    answer, so a tampered form meets the gate page again rather than a JSON error."""
    return {name: value for name, value in data.items() if isinstance(value, str)}


async def _refuse_unlock(
    session: AsyncSession,
    runtime: Runtime,
    request: Request[Any, Any, Any],
    link: ShareLink,
    data: dict[str, str],
    address: str | None,
    now: dt.datetime,
) -> tuple[str, int] | None:
    """Why the gate stays shut (message, status), or None to let the reader in. The passcode
    is checked before the code, so a mistyped passcode does not use up the mailed code."""
    if link.passcode_hash is not None:
        client = await _client(session, runtime, request, now)
        if await passcode_blocked(session, link, client, now):
            return "Too many wrong passcodes; try again in 15 minutes.", 429
        if not await check_passcode(link, data.get("passcode") or ""):
            await record_passcode_failure(session, link, client, now)
            return "That passcode is not right.", 403
    if link.require_email:
        code = data.get("code") or ""
        if address is None or not await redeem_code(session, link, address, code, now):
            return "That code is not right, or it has expired.", 403
    return None


async def _client(
    session: AsyncSession, runtime: Runtime, request: Request[Any, Any, Any], now: dt.datetime
) -> str | None:
    address = client_address(request, runtime.settings.trusted_proxies)
    return await client_hash(session, address, now) if address else None


_OUTCOME_MESSAGES = {
    Outcome.FORBIDDEN: "the visit's secret does not match",
    Outcome.UNKNOWN: "no such visit",
    Outcome.GONE: "this link is no longer available",
    Outcome.BAD_SECTION: "dwell/seen: a section position beyond the document",
}


async def _live_link(session: AsyncSession, token: str, now: dt.datetime) -> ShareLink:
    link = await find_link(session, token)
    if link is None:
        raise NotFoundException("no such link")
    if link_state(link, now) is not LinkState.LIVE:
        raise GoneException("this link is no longer available")
    return link


async def _grant(
    session: AsyncSession, link: ShareLink, request: Request[Any, Any, Any], now: dt.datetime
) -> ViewerGrant | bool | None:
    """True for an ungated link, the browser's grant for a gated one, else None."""
    if not link.require_email and link.passcode_hash is None:
        return True
    return await find_grant(session, link, request.cookies.get(GRANT_COOKIE), now)


def _closed_page(link: ShareLink | None, now: dt.datetime) -> Response[Any] | None:
    if link is None:
        return _closed(404, "Not found", "There is no document at this address.")
    if link_state(link, now) is not LinkState.LIVE:
        return _closed(410, "No longer available", "This link has been closed by its sender.")
    return None


def _closed(status: int, heading: str, message: str) -> Response[Any]:
    response = render("viewer_closed.html", status_code=status, heading=heading, message=message)
    response.headers.update(VIEWER_HEADERS)
    return response


def _gate_page(
    link: ShareLink,
    token: str,
    *,
    email: str | None = None,
    code_sent: bool = False,
    message: str | None = None,
    status: int = 200,
) -> Response[Any]:
    response = render(
        "viewer_gate.html",
        status_code=status,
        base=f"/d/{token}",
        need_email=link.require_email,
        need_passcode=link.passcode_hash is not None,
        email=email,
        code_sent=code_sent,
        message=message,
    )
    response.headers.update(VIEWER_HEADERS)
    return response


def _downloads(link: ShareLink, token: str) -> str:
    if not link.allow_download:
        return ""
    return (
        f'<nav class="downloads"><a href="/d/{token}/deck.pptx">Download the deck</a>'
        f'<a href="/d/{token}/proposal.docx">Download the proposal</a></nav>'
    )
