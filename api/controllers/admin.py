"""Administration over the API: keys (admin) and a recipient's right to erasure."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Controller, delete, get, post
from litestar.di import NamedDependency
from litestar.exceptions import NotFoundException
from litestar.params import FromPath, JSONBody

from api import fields
from api.auth import Action, permit
from api.errors import bad_field
from api.runtime import Runtime
from tracker.errors import UnknownKeyError
from tracker.keys import KeyInfo, check_role, create_key, list_keys, revoke_key
from tracker.models import ROLES
from tracker.privacy import erase_recipient


def key_view(key: KeyInfo) -> dict[str, Any]:
    return {
        "id": key.id,
        "name": key.name,
        "role": key.role,
        "created_at": key.created_at.isoformat(),
        "last_used_at": key.last_used_at.isoformat() if key.last_used_at else None,
        "revoked_at": key.revoked_at.isoformat() if key.revoked_at else None,
    }


class KeyController(Controller):
    path = "/api/keys"
    tags = ("admin",)

    @post("/", status_code=201, summary="Make an API key (shown once)")
    async def create(
        self,
        data: JSONBody[dict[str, Any]],
        runtime: NamedDependency[Runtime],
        caller: NamedDependency[KeyInfo],
    ) -> dict[str, Any]:
        """Body: {"role": "rep"|"marketing"|"admin", "name": str?}."""
        permit(caller, Action.MANAGE_KEYS)
        body = fields.body_object(data)
        fields.only(body, ("role", "name"))
        role = fields.text(body, "role", required=True) or ""
        if role not in ROLES:
            raise bad_field("role", f"{role!r} is not one of {', '.join(ROLES)}")
        async with runtime.session() as session:
            key_id, key = await create_key(
                session, check_role(role), fields.text(body, "name") or ""
            )
            await session.commit()
        return {"id": key_id, "key": key, "role": role}

    @get("/", summary="Every key: id, name, role, created, last used; never a key")
    async def index(
        self, runtime: NamedDependency[Runtime], caller: NamedDependency[KeyInfo]
    ) -> dict[str, Any]:
        permit(caller, Action.MANAGE_KEYS)
        async with runtime.session() as session:
            return {"keys": [key_view(k) for k in await list_keys(session)]}

    @delete("/{key_id:int}", status_code=204, summary="Revoke a key; it stops working at once")
    async def revoke(
        self,
        key_id: FromPath[int],
        runtime: NamedDependency[Runtime],
        caller: NamedDependency[KeyInfo],
    ) -> None:
        permit(caller, Action.MANAGE_KEYS)
        async with runtime.session() as session:
            try:
                await revoke_key(session, key_id)
            except UnknownKeyError as exc:
                raise NotFoundException(str(exc)) from None
            await session.commit()


class ErasureController(Controller):
    path = "/api/erasure"
    tags = ("privacy",)

    @post("/", status_code=200, summary="Erase every visit of a recipient, on their request")
    async def erase(
        self,
        data: JSONBody[dict[str, Any]],
        runtime: NamedDependency[Runtime],
        caller: NamedDependency[KeyInfo],
    ) -> dict[str, Any]:
        """Body: {"email": str}. Deletes the visits (with their section time and events) of the
        recipient's links and of visits made under that verified address, the address's
        one-time codes, grants, queued webhooks and outbox mails, and removes it from links."""
        permit(caller, Action.ERASE_DATA)
        body = fields.body_object(data)
        fields.only(body, ("email",))
        address = _recorded_address(fields.text(body, "email", required=True))
        async with runtime.session() as session:
            erased = await erase_recipient(session, address)
            await session.commit()
        mails = await asyncio.to_thread(runtime.mailer.erase, address) if runtime.mailer else 0
        return {
            "email": address,
            "visits_erased": erased.visits,
            "links_unnamed": erased.links,
            "codes_erased": erased.codes,
            "grants_erased": erased.grants,
            "webhooks_erased": erased.webhooks,
            "mails_erased": mails,
        }


def _recorded_address(value: str | None) -> str:
    """Any address pitchmap may hold, not only one it can mail today: addresses stored before
    the mailable rule tightened (e.g. non-ASCII ones) must still be erasable on request."""
    if value is None or "@" not in value:
        raise bad_field("email", f"{value!r} is not an email address")
    return value.strip().lower()
