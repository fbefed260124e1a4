"""Share link liveness: the SQL condition the link lists use and the state the viewer checks
must name the same links live, on both backends, at the exact boundary."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tracker.links import LinkState, is_live, link_state
from tracker.models import Document, Library, Prospect, ShareLink

pytestmark = pytest.mark.asyncio

# Microseconds on purpose: the boundary must hold below the second, where SQLite compares text.
NOW = dt.datetime(2026, 6, 15, 12, 0, 0, 250_000, tzinfo=dt.UTC)
SECOND = dt.timedelta(seconds=1)

# recipient -> (revoked_at, expires_at, the state at NOW)
LINKS = {
    "revoked@example.com": (NOW - SECOND, NOW + SECOND, LinkState.REVOKED),
    "expires-now@example.com": (None, NOW, LinkState.EXPIRED),
    "expired-a-second-ago@example.com": (None, NOW - SECOND, LinkState.EXPIRED),
    "expires-a-second-later@example.com": (None, NOW + SECOND, LinkState.LIVE),
    "never-expires@example.com": (None, None, LinkState.LIVE),
}


async def _store_links(session: AsyncSession) -> None:
    library = Library(name="Enterprise", root="/lib/enterprise")
    prospect = Prospect(key="acme", company="Acme", profile={})
    session.add_all([library, prospect])
    await session.flush()
    session.add(
        Document(
            id="d1",
            library_id=library.id,
            prospect_id=prospect.id,
            title="Pitch",
            as_of=NOW.date(),
        )
    )
    await session.flush()
    session.add_all(
        ShareLink(
            document_id="d1",
            token_hash=hashlib.sha256(email.encode()).hexdigest(),
            recipient_email=email,
            revoked_at=revoked_at,
            expires_at=expires_at,
        )
        for email, (revoked_at, expires_at, _) in LINKS.items()
    )
    await session.flush()
    session.expire_all()  # link_state below reads the values back from the database


async def test_is_live_and_link_state_agree_on_revoked_expired_and_open_links(
    session: AsyncSession,
) -> None:
    await _store_links(session)
    links = (await session.scalars(select(ShareLink))).all()
    assert {link.recipient_email: link_state(link, NOW) for link in links} == {
        email: state for email, (_, _, state) in LINKS.items()
    }
    # The same instant written in another zone picks the same links.
    for now in (NOW, NOW.astimezone(dt.timezone(dt.timedelta(hours=2)))):
        live_in_sql = await session.scalars(select(ShareLink.recipient_email).where(is_live(now)))
        live_in_python = {
            link.recipient_email for link in links if link_state(link, now) is LinkState.LIVE
        }
        assert (
            set(live_in_sql)
            == live_in_python
            == {
                "expires-a-second-later@example.com",
                "never-expires@example.com",
            }
        )
