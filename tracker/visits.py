"""Visits: one page load whose script reported in, and what is (not) kept about the reader.

A visit is created only by the viewer script's POST, never by fetching the page, so mail
scanners and link previews record nothing. Link-preview bots that do run scripts announce
themselves in their user agent and are dropped here. Of the reader's address only a hash is
kept, salted with a random value that is replaced every day and then forgotten.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from tracker.models import DailySalt, ShareLink, Visit

# Self-declared link-preview and unfurl agents. Headless browsers in general are not dropped:
# a person may read through one, and the contract counts them.
_PREVIEW_BOTS = re.compile(
    r"slackbot|slack-imgproxy|linkedinbot|facebookexternalhit|facebookcatalog|whatsapp|"
    r"twitterbot|discordbot|telegrambot|skypeuripreview|microsoftpreview|bingpreview|"
    r"google-pagerenderer|googlebot|applebot|embedly|iframely|redditbot|pinterestbot|"
    r"mattermost|zoominfobot|vkshare|w3c_validator|outlook-ios-linkpreview|bitlybot",
    re.IGNORECASE,
)
_SALT_DAYS_KEPT = 1  # today's salt only: yesterday's hashes can no longer be recomputed


def is_preview_bot(user_agent: str) -> bool:
    return bool(_PREVIEW_BOTS.search(user_agent))


def agent_kind(user_agent: str) -> str:
    """A coarse class of the reader's browser, enough for reports and nothing more."""
    lowered = user_agent.lower()
    if "headless" in lowered:
        return "headless"
    if "mobile" in lowered or "android" in lowered or "iphone" in lowered:
        return "mobile"
    return "browser" if lowered else "unknown"


async def start_visit(
    session: AsyncSession,
    link: ShareLink,
    user_agent: str,
    client_ip: str | None,
    email: str | None,
    now: dt.datetime,
) -> tuple[Visit, str]:
    """A new visit of `link` and its secret (returned once; stored as a hash). Flushes only."""
    secret = secrets.token_urlsafe(24)
    visit = Visit(
        link_id=link.id,
        created_at=now,
        secret_hash=hashlib.sha256(secret.encode()).hexdigest(),
        user_agent_kind=agent_kind(user_agent),
        email=email,
        client_hash=await client_hash(session, client_ip, now) if client_ip else None,
    )
    session.add(visit)
    await session.flush()
    return visit, secret


async def client_hash(session: AsyncSession, address: str, now: dt.datetime) -> str:
    """The address hashed with today's salt: same reader, same day, same hash; nothing more."""
    salt = await _todays_salt(session, now.date())
    return hashlib.sha256(f"{salt}:{address}".encode()).hexdigest()


async def _todays_salt(session: AsyncSession, day: dt.date) -> str:
    await session.execute(
        delete(DailySalt).where(DailySalt.day < day - dt.timedelta(days=_SALT_DAYS_KEPT - 1))
    )
    values = {"day": day, "salt": secrets.token_hex(32)}
    # Two workers creating the day's salt at once: the first one wins and both use it.
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    await session.execute(insert(DailySalt).values(**values).on_conflict_do_nothing())
    salt: str = (await session.scalar(select(DailySalt.salt).where(DailySalt.day == day))) or ""
    return salt
