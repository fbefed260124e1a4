"""Who is calling the internal API, and what their role lets them do.

Every request looks its bearer key up again (`tracker.keys.lookup_key`), so a revoked key
stops working at once, also in a server that is already running. The viewer under `/d/`
takes no key: its unguessable token is the credential.
"""

from __future__ import annotations

from enum import Enum
from typing import Any, Protocol

from litestar import Request
from litestar.di import NamedDependency
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException

from api.runtime import Runtime
from tracker.keys import KeyInfo, Role, lookup_key


class Action(Enum):
    CREATE_DOCUMENTS = "create documents and links"
    READ_ALL_REPORTS = "read every report"
    READ_ENGAGEMENT = "read block engagement"
    MANAGE_BLOCKS = "manage blocks"
    ERASE_DATA = "erase a recipient's data"
    MANAGE_KEYS = "manage keys"
    MANAGE_USERS = "manage users"
    CHANGE_OTHERS = "share or revoke what another key made"
    RECORD_ALL_OUTCOMES = "record the outcome of any prospect's deal"
    READ_METRICS = "read the server's metrics"


_ALLOWED: dict[Action, frozenset[Role]] = {
    Action.CREATE_DOCUMENTS: frozenset({"rep", "marketing", "admin"}),
    Action.READ_ALL_REPORTS: frozenset({"marketing", "admin"}),
    Action.READ_ENGAGEMENT: frozenset({"marketing", "admin"}),
    Action.MANAGE_BLOCKS: frozenset({"marketing", "admin"}),
    Action.ERASE_DATA: frozenset({"marketing", "admin"}),
    Action.MANAGE_KEYS: frozenset({"admin"}),
    Action.MANAGE_USERS: frozenset({"admin"}),
    Action.CHANGE_OTHERS: frozenset({"admin"}),
    Action.RECORD_ALL_OUTCOMES: frozenset({"marketing", "admin"}),
    Action.READ_METRICS: frozenset({"admin"}),
}


class HasRole(Protocol):
    """A key or a signed-in user: the same role rules hold for both (contract §4)."""

    @property
    def role(self) -> Role: ...


def may(caller: HasRole, action: Action) -> bool:
    return caller.role in _ALLOWED[action]


def permit(caller: HasRole, action: Action) -> None:
    """403 unless the caller's role may do `action`; the message says what was refused."""
    if not may(caller, action):
        raise PermissionDeniedException(f"a {caller.role} may not {action.value}")


class Owner(HasRole, Protocol):
    """A key or a signed-in user, which can own documents, links and prospects."""

    @property
    def id(self) -> int: ...


def permit_owner(caller: Owner, owner_id: int | None, change: bool = False) -> None:
    """403 unless the caller made the thing, or its role reaches everyone's: marketing reads
    every document and link, only an admin shares or revokes what someone else made."""
    if owner_id == caller.id:
        return
    permit(caller, Action.CHANGE_OTHERS if change else Action.READ_ALL_REPORTS)


async def authenticate(
    request: Request[Any, Any, Any], runtime: NamedDependency[Runtime]
) -> KeyInfo:
    """The live key of `Authorization: Bearer <key>`, else 401."""
    scheme, _, key = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise _unauthorized("send an API key as `Authorization: Bearer <key>`")
    async with runtime.session() as session:
        caller = await lookup_key(session, key.strip())
        await session.commit()
    if caller is None:
        raise _unauthorized("the API key is unknown or revoked")
    return caller


def _unauthorized(detail: str) -> NotAuthorizedException:
    return NotAuthorizedException(detail, headers={"WWW-Authenticate": 'Bearer realm="pitchmap"'})
