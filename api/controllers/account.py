"""The signed-in user's own account: who they are, the time zone every page shows times in,
and their password."""

from __future__ import annotations

from typing import Any

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromQuery, URLEncodedBody

from api.clock import is_zone, zone_names
from api.controllers.admin_users import MISMATCH, field_errors
from api.runtime import Runtime
from api.web_auth import SESSION_COOKIE, counted_attempt, render_page, see_other
from engine import InputError
from tracker.models import utcnow
from tracker.users import MIN_PASSWORD, UserInfo, change_password, forget_attempt, set_time_zone

# What the page says after a form has done its work (`?saved=...`).
SAVED = {
    "time_zone": "Saved: times are now shown in your time zone.",
    "password": "Saved your new password; your other sessions have ended.",
}
TOO_MANY = "Too many wrong passwords: wait a few minutes and try again."


class AccountController(Controller):
    path = "/account"
    include_in_schema = False

    @get("/", media_type=MediaType.HTML)
    async def show(
        self,
        request: Request[Any, Any, Any],
        user: NamedDependency[UserInfo],
        saved: FromQuery[str] = "",
    ) -> Response[str]:
        return _page(request, user, notice=SAVED.get(saved, ""))

    @post("/time-zone", media_type=MediaType.HTML)
    async def time_zone(
        self,
        data: URLEncodedBody[dict[str, str]],
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        user: NamedDependency[UserInfo],
    ) -> Response[str]:
        chosen = str(data.get("time_zone") or "").strip()
        if not is_zone(chosen):
            message = f"{chosen[:64]!r} is not a time zone; choose one from the list."
            return _page(request, user, errors={"time_zone": message}, status_code=400)
        async with runtime.session() as session:
            await set_time_zone(session, user.id, chosen)
            await session.commit()
        return see_other("/account?saved=time_zone")

    @post("/password", media_type=MediaType.HTML)
    async def password(
        self,
        data: URLEncodedBody[dict[str, str]],
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        user: NamedDependency[UserInfo],
    ) -> Response[str]:
        current = str(data.get("current_password") or "")
        new = str(data.get("new_password") or "")
        if new != str(data.get("new_password_again") or ""):
            errors = {"new_password_again": MISMATCH}
            return _page(request, user, errors=errors, status_code=400)
        attempt = await counted_attempt(runtime, user.email, None, utcnow())
        if attempt is None:
            errors = {"current_password": TOO_MANY}
            return _page(request, user, errors=errors, status_code=429)
        try:
            async with runtime.session() as session:
                keep = request.cookies.get(SESSION_COOKIE)
                await change_password(session, user.id, current, new, keep)
                await forget_attempt(session, attempt)
                await session.commit()
        except InputError as exc:
            if all(p.field != "current_password" for p in exc.problems):
                async with runtime.session() as session:  # no guess was made: do not count it
                    await forget_attempt(session, attempt)
                    await session.commit()
            return _page(request, user, errors=field_errors(exc.problems), status_code=400)
        return see_other("/account?saved=password")


def _page(
    request: Request[Any, Any, Any],
    user: UserInfo,
    *,
    notice: str = "",
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response[str]:
    return render_page(
        request,
        "account.html",
        user=user,
        zones=zone_names(),
        min_password=MIN_PASSWORD,
        notice=notice,
        errors=errors or {},
        status_code=status_code,
    )
