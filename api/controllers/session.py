"""Signing in and out of the pages. The sign-in form itself is `/` for a visitor."""

from __future__ import annotations

from typing import Any

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import URLEncodedBody

from api.runtime import Runtime
from api.web_auth import (
    CSRF_COOKIE,
    PAGE_HEADERS,
    SESSION_COOKIE,
    expired_cookie,
    render_page,
    see_other,
    session_cookie,
    sign_in,
    sign_out,
)
from tracker.users import ATTEMPT_WINDOW

WRONG = "That email and password do not match an account."
LIMITED = "Too many sign-in attempts. Wait a quarter of an hour, then try again."


def sign_in_page(
    request: Request[Any, Any, Any],
    *,
    email: str = "",
    message: str | None = None,
    status_code: int = 200,
) -> Response[str]:
    return render_page(
        request, "sign_in.html", user=None, status_code=status_code, email=email, message=message
    )


class SessionController(Controller):
    include_in_schema = False

    @get("/sign-in", status_code=303)
    async def sign_in_form(self) -> Response[Any]:
        """The form lives at `/`; this address only sends there."""
        return see_other("/")

    @post("/sign-in", media_type=MediaType.HTML)
    async def sign_in(
        self,
        data: URLEncodedBody[dict[str, str]],
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
    ) -> Response[Any]:
        email = (data.get("email") or "").strip()[:320]
        password = data.get("password") or ""
        if not email or not password:
            message = "Enter your email and your password."
            return sign_in_page(request, email=email, message=message, status_code=400)
        outcome = await sign_in(request, runtime, email, password)
        if outcome.limited:
            response = sign_in_page(request, email=email, message=LIMITED, status_code=429)
            response.headers["Retry-After"] = str(int(ATTEMPT_WINDOW.total_seconds()))
            return response
        if outcome.token is None:
            return sign_in_page(request, email=email, message=WRONG, status_code=400)
        cookies = [
            expired_cookie(CSRF_COOKIE, request, runtime.settings),  # a fresh token from now on
            session_cookie(outcome.token, request, runtime.settings),
        ]
        return Response(
            None, status_code=303, headers={"Location": "/", **PAGE_HEADERS}, cookies=cookies
        )

    @post("/sign-out", status_code=303)
    async def sign_out(
        self, request: Request[Any, Any, Any], runtime: NamedDependency[Runtime]
    ) -> Response[None]:
        await sign_out(request, runtime)
        return Response(
            None,
            status_code=303,
            headers={"Location": "/", **PAGE_HEADERS},
            cookies=[
                expired_cookie(SESSION_COOKIE, request, runtime.settings),
                expired_cookie(CSRF_COOKIE, request, runtime.settings),
            ],
        )
