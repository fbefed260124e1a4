"""The admin's page of the people who sign in: the list, a new user, a role or an email
changed, a user deleted. The rules are `pitchmap users create`'s and `users set-email`'s
(tracker.users), so the page and the command line can never disagree about what a valid user
is."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from functools import partial
from typing import Any
from urllib.parse import quote

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, FromQuery, URLEncodedBody
from sqlalchemy.ext.asyncio import AsyncSession

from api import fields
from api.auth import Action
from api.runtime import Runtime
from api.web_auth import permit_user, render_page, see_other
from engine import InputError, Problem
from tracker.models import ROLES
from tracker.users import (
    MIN_PASSWORD,
    UserInfo,
    create_user,
    delete_user,
    find_user,
    list_users,
    set_email,
    set_role,
    user_problems,
)

MAX_NOTICE = 320
# What the list says after a form has done its work (`?done=created&email=...`).
NOTICES = {
    "created": "Created {}.",
    "changed": "Changed the role of {}.",
    "readdressed": "Changed the email to {}; they sign in with it from now on.",
    "deleted": "Deleted {}; their sessions have ended.",
}
NOT_YOURSELF = "You cannot {} yourself: ask another admin."
MISMATCH = "The two passwords differ; type the same password twice."


def field_errors(problems: Iterable[Problem]) -> dict[str, str]:
    """A refused form's problems as one message per field (its first), shown beside it."""
    errors: dict[str, str] = {}
    for problem in problems:
        errors.setdefault(problem.field, problem.message)
    return errors


def _admin(user: UserInfo) -> None:
    """403 unless an admin: the contract gives users, like keys, to admins alone."""
    permit_user(user, Action.MANAGE_USERS)


def _done(what: str, whom: UserInfo) -> Response[Any]:
    return see_other(f"/admin/users?done={what}&email={quote(whom.email)}")


class AdminUserController(Controller):
    path = "/admin/users"
    include_in_schema = False

    @get("/", media_type=MediaType.HTML)
    async def index(
        self,
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        user: NamedDependency[UserInfo],
        done: FromQuery[str] = "",
        email: FromQuery[str] = "",
    ) -> Response[str]:
        _admin(user)
        notice = NOTICES[done].format(email[:MAX_NOTICE]) if done in NOTICES and email else ""
        return await self._page(request, runtime, user, notice=notice)

    @post("/", media_type=MediaType.HTML)
    async def create(
        self,
        data: URLEncodedBody[dict[str, str]],
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        user: NamedDependency[UserInfo],
    ) -> Response[str]:
        _admin(user)
        form = fields.form_text(data)
        email, role = form.get("email", "").strip(), form.get("role", "")
        password = form.get("password", "")
        errors = field_errors(user_problems(email, role, password))
        if password != form.get("password_again", ""):
            errors.setdefault("password_again", MISMATCH)
        if not errors:
            try:
                async with runtime.session() as session:
                    made = await create_user(session, email, role, password)
                    await session.commit()
            except InputError as exc:  # the email has an account already
                errors = field_errors(exc.problems)
            else:
                return _done("created", made)
        values = {"email": email, "role": role}
        return await self._page(request, runtime, user, values=values, errors=errors, status=400)

    @post("/{user_id:int}/role", media_type=MediaType.HTML)
    async def change_role(
        self,
        user_id: FromPath[int],
        data: URLEncodedBody[dict[str, str]],
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        user: NamedDependency[UserInfo],
    ) -> Response[str]:
        _admin(user)
        fields.known_id(user_id, "user")
        role = fields.form_text(data).get("role", "")
        if user_id == user.id and role != user.role:
            message = NOT_YOURSELF.format("demote")
            return await self._page(request, runtime, user, message=message, status=400)
        change = partial(set_role, user_id=user_id, role=role)
        return await self._change(request, runtime, user, user_id, "role", change, "changed")

    @post("/{user_id:int}/email", media_type=MediaType.HTML)
    async def change_email(
        self,
        user_id: FromPath[int],
        data: URLEncodedBody[dict[str, str]],
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        user: NamedDependency[UserInfo],
    ) -> Response[str]:
        _admin(user)
        fields.known_id(user_id, "user")
        email = fields.form_text(data).get("email", "")
        change = partial(set_email, user_id=user_id, email=email)
        # Refused when unmailable, too long, or another user's; that row's field is marked.
        return await self._change(
            request, runtime, user, user_id, "email", change, "readdressed", refused=user_id
        )

    @post("/{user_id:int}/delete", media_type=MediaType.HTML)
    async def delete(
        self,
        user_id: FromPath[int],
        request: Request[Any, Any, Any],
        runtime: NamedDependency[Runtime],
        user: NamedDependency[UserInfo],
    ) -> Response[str]:
        _admin(user)
        fields.known_id(user_id, "user")
        if user_id == user.id:
            message = NOT_YOURSELF.format("delete")
            return await self._page(request, runtime, user, message=message, status=400)
        async with runtime.session() as session:
            gone = await find_user(session, user_id)
            if gone is None or not await delete_user(session, user_id):
                raise NotFoundException(f"no user {user_id}")
            await session.commit()
        return _done("deleted", gone)

    async def _change(
        self,
        request: Request[Any, Any, Any],
        runtime: Runtime,
        user: UserInfo,
        user_id: int,
        field: str,
        change: Callable[[AsyncSession], Awaitable[UserInfo | None]],
        notice: str,
        refused: int | None = None,
    ) -> Response[str]:
        """One field of one user changed by `change` (None: no such user, a 404); a refusal
        shows the page again with the problem, nothing written, so every change form behaves
        alike."""
        try:
            async with runtime.session() as session:
                changed = await change(session)
                await session.commit()
        except InputError as exc:
            message = f"{field}: {field_errors(exc.problems)[field]}"
            return await self._page(
                request, runtime, user, message=message, refused=refused, status=400
            )
        if changed is None:
            raise NotFoundException(f"no user {user_id}")
        return _done(notice, changed)

    async def _page(
        self,
        request: Request[Any, Any, Any],
        runtime: Runtime,
        user: UserInfo,
        *,
        values: dict[str, str] | None = None,
        errors: dict[str, str] | None = None,
        message: str = "",
        notice: str = "",
        refused: int | None = None,
        status: int = 200,
    ) -> Response[str]:
        """The page; `refused` is the user whose email form was refused (`message` says why):
        that form's field is marked invalid and described by the message."""
        async with runtime.session() as session:
            users = await list_users(session)
        return render_page(
            request,
            "admin_users.html",
            user=user,
            users=users,
            roles=ROLES,
            min_password=MIN_PASSWORD,
            values=values or {},
            errors=errors or {},
            message=message,
            notice=notice,
            refused=refused,
            status_code=status,
        )
