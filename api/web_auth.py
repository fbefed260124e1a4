"""Who is signed in to the pages, and the protections around the forms they post.

A signed-in browser holds `pitchmap_session`: a random token whose SHA-256 is a row of
`user_sessions`, looked up on every page (no worker keeps state in memory). Every form is
protected by Litestar's CSRF middleware; its secret is derived from `<data_dir>/secret`,
made once with 0600 permissions, so every worker of one installation checks the same tokens.
The API under `/api/` (bearer keys, no cookies), the viewer under `/d/` (its own gates) and
the static files are outside it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import os
import secrets
from pathlib import Path
from typing import Any

from litestar import Request, Response
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import Cookie
from litestar.di import NamedDependency
from litestar.template.base import csrf_token as _template_csrf_token

from api.auth import Action, permit
from api.clients import client_address
from api.clock import LocalTime
from api.pages import render
from api.runtime import Runtime
from api.security_headers import over_https
from api.settings import Settings
from engine import PitchmapError
from tracker.models import utcnow
from tracker.users import (
    SESSION_LIFETIME,
    UserInfo,
    clear_failures,
    end_session,
    find_credentials,
    forget_attempt,
    record_attempt,
    refresh_hash,
    session_user,
    start_session,
    too_many_attempts,
    verify_password,
)
from tracker.visits import client_hash

SESSION_COOKIE = "pitchmap_session"
CSRF_COOKIE = "pitchmap_csrf"
CSRF_FIELD = "_csrf_token"  # the form field Litestar's middleware reads
SECRET_FILE = "secret"
# Forms live on pages; the API takes keys, the viewer has its own gates, and probes and the
# schema post nothing (and should not be handed a CSRF cookie on every call).
CSRF_EXCLUDE = ["^/api/", "^/d/", "^/static/", "^/health$", "^/ready$", "^/metrics$", "^/schema"]
# Pages are personal: never cached. The security headers are added to every response in
# api/security_headers.py.
PAGE_HEADERS = {"Cache-Control": "private, no-store"}


class SecretError(PitchmapError):
    """The data folder's secret cannot be used; the message names the file."""


def load_secret(data_dir: Path) -> str:
    """The installation's secret: read from `<data_dir>/secret`, made there first when missing.

    Several workers starting at once agree on one secret: each writes a candidate to a file of
    its own (0600 from the start) and links it into place, which only the first one manages.
    """
    path = data_dir / SECRET_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        candidate = data_dir / f".{SECRET_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        descriptor = os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "w") as file:
                file.write(secrets.token_hex(32) + "\n")
            with contextlib.suppress(FileExistsError):
                os.link(candidate, path)
        finally:
            candidate.unlink(missing_ok=True)
    if path.stat().st_mode & 0o077:
        path.chmod(0o600)
    secret = path.read_text(encoding="ascii").strip()
    if len(secret) < 32:
        raise SecretError(f"{path}: the secret is missing or too short; delete the file")
    return secret


def csrf_config(settings: Settings, secret: str) -> CSRFConfig:
    return CSRFConfig(
        # A key of its own, derived from the installation's secret.
        secret=hmac.new(secret.encode(), b"pitchmap csrf", hashlib.sha256).hexdigest(),
        cookie_name=CSRF_COOKIE,
        cookie_httponly=True,  # the token reaches the page in its forms, never through script
        cookie_samesite="lax",
        cookie_secure=(settings.base_url or "").startswith("https"),
        exclude=CSRF_EXCLUDE,
    )


def csrf_token(request: Request[Any, Any, Any]) -> str:
    """The token this request's forms must carry (the CSRF cookie's, or a new one that the
    middleware sets as a cookie on the response)."""
    return _template_csrf_token({"request": request})


def secure(request: Request[Any, Any, Any], settings: Settings) -> bool:
    return over_https(request.url.scheme, settings)


def session_cookie(token: str, request: Request[Any, Any, Any], settings: Settings) -> Cookie:
    return Cookie(
        key=SESSION_COOKIE,
        value=token,
        path="/",
        max_age=int(SESSION_LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=secure(request, settings),
    )


def expired_cookie(name: str, request: Request[Any, Any, Any], settings: Settings) -> Cookie:
    """A cookie that deletes `name` (the session's, or the CSRF token's so that the next page
    starts a fresh one)."""
    return Cookie(
        key=name,
        value="",
        path="/",
        max_age=0,
        expires=0,
        httponly=True,
        samesite="lax",
        secure=secure(request, settings),
    )


# --- dependencies ---------------------------------------------------------------------------


async def signed_in(
    request: Request[Any, Any, Any], runtime: NamedDependency[Runtime]
) -> UserInfo | None:
    """The user whose live session the request's cookie holds, else None."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    async with runtime.session() as session:
        user = await session_user(session, token, utcnow())
        await session.commit()
    return user


class SignInRequired(Exception):  # noqa: N818 - a refusal that answers a redirect, not an error
    """A page that needs a signed-in user was asked for without one."""


async def require_user(signed_in: NamedDependency[UserInfo | None]) -> UserInfo:
    """The signed-in user; without one, the page answers 303 to `/` (the sign-in form)."""
    if signed_in is None:
        raise SignInRequired
    return signed_in


def see_other(location: str) -> Response[Any]:
    """After a form post: go to `location` with a GET (303), so a reload posts nothing."""
    return Response(None, status_code=303, headers={"Location": location, **PAGE_HEADERS})


def to_sign_in(_request: Request[Any, Any, Any], _exc: SignInRequired) -> Response[Any]:
    return see_other("/")


def permit_user(user: UserInfo, action: Action) -> None:
    """403 unless the user's role may do `action`: the same rules as the API's keys."""
    permit(user, action)


def render_page(
    request: Request[Any, Any, Any],
    template: str,
    *,
    user: UserInfo | None,
    status_code: int = 200,
    **context: Any,
) -> Response[str]:
    """A page with what base.html needs: who is signed in, the forms' CSRF token, and
    `local`, which shows a moment in the user's time zone."""
    local = LocalTime(user.time_zone if user is not None else "UTC")
    response = render(
        template,
        status_code=status_code,
        user=user,
        csrf_token=csrf_token(request),
        local=local,
        **context,
    )
    response.headers.update(PAGE_HEADERS)
    return response


# --- signing in -----------------------------------------------------------------------------


class SignInOutcome:
    """What a sign-in came to: a session token, a refusal, or too many attempts."""

    def __init__(self, token: str | None = None, *, limited: bool = False) -> None:
        self.token = token
        self.limited = limited


async def sign_in(
    request: Request[Any, Any, Any], runtime: Runtime, email: str, password: str
) -> SignInOutcome:
    """Check the email and password, counting the attempt first. An unknown email takes the
    same path, and as long, as a wrong password; only the outcome's token tells them apart
    from a success. The password is checked outside any transaction (it takes a while)."""
    now = utcnow()
    address = client_address(request, runtime.settings.trusted_proxies)
    async with runtime.session() as session:
        client = await client_hash(session, address, now) if address else None
        await session.commit()  # the day's salt, when this made it
    attempt = await counted_attempt(runtime, email, client, now)
    if attempt is None:
        return SignInOutcome(limited=True)
    async with runtime.session() as session:
        found = await find_credentials(session, email)
        await session.commit()
    stored = found[1] if found is not None else None
    if not await verify_password(stored, password) or found is None:
        return SignInOutcome()
    user, _ = found
    async with runtime.session() as session:
        await clear_failures(session, user.email)
        await forget_attempt(session, attempt)
        old = request.cookies.get(SESSION_COOKIE)
        if old:  # a new session id at every sign-in: a planted cookie is never adopted
            await end_session(session, old)
        await refresh_hash(session, user.id, found[1], password)
        token = await start_session(session, user.id, utcnow())
        await session.commit()
    return SignInOutcome(token)


async def counted_attempt(
    runtime: Runtime, email: str, client: str | None, now: dt.datetime
) -> int | None:
    """Count a password guess for `email` (and the client) before it is checked, so parallel
    guesses count too; None, and nothing counted, when the window's limit is reached. Signing
    in and changing a password share the count: a stolen session cookie cannot be used to
    guess the password faster than the sign-in form allows. `forget_attempt` takes the attempt
    back once the password proved right."""
    async with runtime.session() as session:
        attempt = await record_attempt(session, email, client, now)
        await session.commit()
        if await too_many_attempts(session, email, client, now):
            await forget_attempt(session, attempt)
            await session.commit()
            return None
    return attempt


async def sign_out(request: Request[Any, Any, Any], runtime: Runtime) -> None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return
    async with runtime.session() as session:
        await end_session(session, token)
        await session.commit()
