"""API keys: shown once, stored as a hash, listed without secrets, dead the moment revoked."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest
from sqlalchemy import select

from tracker.errors import UnknownKeyError, UnknownRoleError
from tracker.keys import create_key, hash_key, list_keys, lookup_key, revoke_key
from tracker.models import ApiKey

pytestmark = pytest.mark.asyncio


async def test_a_new_key_is_found_by_its_plaintext_with_its_role(session) -> None:
    key_id, plaintext = await create_key(session, "marketing", "campaigns")
    await session.commit()
    found = await lookup_key(session, plaintext)
    assert found is not None
    assert (found.id, found.role, found.name) == (key_id, "marketing", "campaigns")
    assert len(plaintext) >= 43  # 32 random bytes


async def test_the_database_holds_only_the_keys_hash(session) -> None:
    _, plaintext = await create_key(session, "rep")
    await session.commit()
    stored = (await session.scalars(select(ApiKey))).one()
    assert stored.key_hash == hash_key(plaintext)
    assert plaintext not in repr([getattr(stored, c.key) for c in ApiKey.__table__.columns])


async def test_listing_keys_never_shows_a_key(session) -> None:
    _, first = await create_key(session, "rep", "alice")
    _, second = await create_key(session, "admin", "ops")
    await session.commit()
    keys = await list_keys(session)
    assert [(k.name, k.role) for k in keys] == [("alice", "rep"), ("ops", "admin")]
    shown = repr(keys) + repr([dataclasses.asdict(k) for k in keys])
    assert first not in shown and second not in shown
    assert hash_key(first) not in shown


async def test_a_revoked_key_is_no_longer_found(session) -> None:
    key_id, plaintext = await create_key(session, "rep")
    await session.commit()
    revoked = await revoke_key(session, key_id)
    await session.commit()
    assert revoked.revoked_at is not None
    assert await lookup_key(session, plaintext) is None
    assert [k.revoked_at for k in await list_keys(session)] == [revoked.revoked_at]


async def test_revoking_an_unknown_key_says_so(session) -> None:
    with pytest.raises(UnknownKeyError, match="42"):
        await revoke_key(session, 42)


async def test_a_wrong_key_is_not_found(session) -> None:
    await create_key(session, "admin")
    await session.commit()
    assert await lookup_key(session, "not-a-key") is None


async def test_an_unknown_role_is_refused_with_the_valid_ones_named(session) -> None:
    with pytest.raises(UnknownRoleError, match="rep, marketing, admin"):
        await create_key(session, "owner")
    assert await list_keys(session) == []


async def test_using_a_key_records_when_it_was_last_used(session) -> None:
    _, plaintext = await create_key(session, "rep")
    await session.commit()
    before = dt.datetime.now(dt.UTC)
    found = await lookup_key(session, plaintext)
    await session.commit()
    assert found is not None and found.last_used_at is not None
    assert found.last_used_at >= before - dt.timedelta(seconds=1)
    [listed] = await list_keys(session)
    assert listed.last_used_at == found.last_used_at
