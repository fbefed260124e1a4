"""API keys: created once and shown once, then known to the database only by their SHA-256.

A key is 32 random bytes from `secrets`, so a fast hash is enough: there is nothing to
brute-force, unlike a password. Every request looks its key up again, which is what makes a
revoke take effect at once, even in a server that is already running. The functions here
flush but never commit: the caller owns the transaction.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Literal, cast

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tracker.errors import UnknownKeyError, UnknownRoleError
from tracker.models import MAX_ID, ROLES, ApiKey, utcnow

Role = Literal["rep", "marketing", "admin"]
# Writing last_used_at on every request would turn each read into a write; a minute is precise
# enough for "when was this key last used".
LAST_USED_RESOLUTION = dt.timedelta(minutes=1)


@dataclass(frozen=True)
class KeyInfo:
    """What may be shown about a key: never the key, nor its hash."""

    id: int
    name: str
    role: Role
    created_at: dt.datetime
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None


def check_role(role: str) -> Role:
    """The role itself when it is one pitchmap knows, else `UnknownRoleError`."""
    if role not in ROLES:
        raise UnknownRoleError(role)
    return cast(Role, role)


def hash_key(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


async def create_key(session: AsyncSession, role: str, name: str = "") -> tuple[int, str]:
    """A new key's id and its plaintext, which is returned here once and stored nowhere."""
    plaintext = secrets.token_urlsafe(32)
    key = ApiKey(name=name, role=check_role(role), key_hash=hash_key(plaintext))
    session.add(key)
    await session.flush()
    return key.id, plaintext


async def list_keys(session: AsyncSession) -> list[KeyInfo]:
    """Every key, revoked ones included, oldest first."""
    keys = await session.scalars(select(ApiKey).order_by(ApiKey.id))
    return [_info(key) for key in keys]


async def revoke_key(session: AsyncSession, key_id: int) -> KeyInfo:
    """Stop a key from working; revoking it again keeps the first revocation time.

    An id outside the id column's range is no key's, and is refused as unknown before it
    reaches the database, which would fail on it instead (SQLite cannot bind past 64 bits,
    PostgreSQL's INTEGER stops at 32)."""
    if not 0 < key_id <= MAX_ID:
        raise UnknownKeyError(key_id)
    key = await session.get(ApiKey, key_id)
    if key is None:
        raise UnknownKeyError(key_id)
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        await session.flush()
    return _info(key)


async def lookup_key(session: AsyncSession, plaintext: str) -> KeyInfo | None:
    """The live key with this plaintext, or None for an unknown or revoked one."""
    key = await session.scalar(
        select(ApiKey).where(ApiKey.key_hash == hash_key(plaintext), ApiKey.revoked_at.is_(None))
    )
    if key is None:
        return None
    now = utcnow()
    if key.last_used_at is None or now - key.last_used_at >= LAST_USED_RESOLUTION:
        key.last_used_at = now
        await session.flush()
    return _info(key)


def _info(key: ApiKey) -> KeyInfo:
    return KeyInfo(
        id=key.id,
        name=key.name,
        role=check_role(key.role),
        created_at=key.created_at,
        last_used_at=key.last_used_at,
        revoked_at=key.revoked_at,
    )
