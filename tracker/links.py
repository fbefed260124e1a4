"""Share links: one recipient's way into one document, and the gates in front of it.

The token is 32 bytes from `secrets` (256 bits) and only its SHA-256 is stored, like a key.
A passcode is a password a person chose, so it is stored with argon2. A link whose email gate
or passcode was passed gives the browser a grant: another random token, kept in a cookie.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from enum import Enum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from tracker.database import affected_rows
from tracker.models import EmailCode, GateFailure, ShareLink, ViewerGrant, utcnow

GRANT_LIFETIME = dt.timedelta(days=30)
CODE_LIFETIME = dt.timedelta(minutes=10)
CODE_ATTEMPTS = 5
# One address may ask for a few codes an hour, one link for a few more; a mailbox is not a
# cannon anybody holding the link can fire.
CODES_PER_ADDRESS_HOUR = 5
CODES_PER_CLIENT_HOUR = 10
CODES_PER_LINK_HOUR = 100
# Wrong passcodes: a reader who mistypes gets several tries; a guesser gets nowhere.
PASSCODE_FAILURES_PER_CLIENT = 10
PASSCODE_FAILURES_PER_LINK = 50
PASSCODE_WINDOW = dt.timedelta(minutes=15)

_passcodes = PasswordHasher()


class LinkState(Enum):
    LIVE = "live"
    REVOKED = "revoked"
    EXPIRED = "expired"


@dataclass(frozen=True)
class LinkOptions:
    recipient: str
    expires_at: dt.datetime | None = None
    allow_download: bool = False
    require_email: bool = False
    passcode: str | None = None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create_link(
    session: AsyncSession, document_id: str, options: LinkOptions, key_id: int | None
) -> tuple[ShareLink, str]:
    """A new link and its token, which is returned here once and stored only as a hash."""
    token = secrets.token_urlsafe(32)
    passcode = options.passcode
    link = ShareLink(
        document_id=document_id,
        token_hash=token_hash(token),
        recipient_email=options.recipient,
        expires_at=options.expires_at,
        allow_download=options.allow_download,
        require_email=options.require_email,
        # argon2 takes a tenth of a second on purpose: off the event loop.
        passcode_hash=await asyncio.to_thread(_passcodes.hash, passcode) if passcode else None,
        created_by_key_id=key_id,
    )
    session.add(link)
    await session.flush()
    return link, token


async def find_link(session: AsyncSession, token: str) -> ShareLink | None:
    link: ShareLink | None = await session.scalar(
        select(ShareLink).where(ShareLink.token_hash == token_hash(token))
    )
    return link


def link_state(link: ShareLink, now: dt.datetime) -> LinkState:
    """Whether a prospect can open `link` at `now`, and if not why."""
    return state_of(link.revoked_at is not None, link.expires_at, now)


def state_of(revoked: bool, expires_at: dt.datetime | None, now: dt.datetime) -> LinkState:
    """The rule behind `link_state`, for callers holding a link's columns rather than the
    link (the heartbeat writer). A link is expired from its `expires_at` on, so one expiring
    exactly at `now` is expired. `is_live` is the same rule for queries: change both together."""
    if revoked:
        return LinkState.REVOKED
    if expires_at is not None and expires_at <= now:
        return LinkState.EXPIRED
    return LinkState.LIVE


def is_live(now: dt.datetime) -> ColumnElement[bool]:
    """`link_state(link, now) is LinkState.LIVE` as a SQL condition on `ShareLink`, so a query
    picks the live links among many without loading the rest."""
    return and_(
        ShareLink.revoked_at.is_(None),
        or_(ShareLink.expires_at.is_(None), ShareLink.expires_at > now),
    )


async def revoke_link(session: AsyncSession, link: ShareLink) -> None:
    """Revoking twice keeps the first time: the report says when the link really stopped."""
    if link.revoked_at is None:
        link.revoked_at = utcnow()
        await session.flush()


async def check_passcode(link: ShareLink, passcode: str) -> bool:
    if link.passcode_hash is None:
        return True
    return await asyncio.to_thread(_verify_passcode, link.passcode_hash, passcode)


def _verify_passcode(hashed: str, passcode: str) -> bool:
    try:
        return _passcodes.verify(hashed, passcode)
    except (VerificationError, InvalidHashError):
        return False


async def passcode_blocked(
    session: AsyncSession, link: ShareLink, client: str | None, now: dt.datetime
) -> bool:
    """True when this client, or everyone together, got the passcode wrong too often lately."""
    recent = (
        select(func.count())
        .select_from(GateFailure)
        .where(GateFailure.link_id == link.id, GateFailure.created_at > now - PASSCODE_WINDOW)
    )
    if (await session.scalar(recent) or 0) >= PASSCODE_FAILURES_PER_LINK:
        return True
    mine = recent.where(GateFailure.client_hash == client)
    return client is not None and (await session.scalar(mine) or 0) >= PASSCODE_FAILURES_PER_CLIENT


async def record_passcode_failure(
    session: AsyncSession, link: ShareLink, client: str | None, now: dt.datetime
) -> None:
    session.add(GateFailure(link_id=link.id, client_hash=client, created_at=now))
    await session.flush()


async def grant(session: AsyncSession, link: ShareLink, email: str | None) -> str:
    """A new grant for `link` and its cookie token (stored only as a hash)."""
    token = secrets.token_urlsafe(32)
    expires = utcnow() + GRANT_LIFETIME
    if link.expires_at is not None:
        expires = min(expires, link.expires_at)
    session.add(
        ViewerGrant(link_id=link.id, token_hash=token_hash(token), email=email, expires_at=expires)
    )
    await session.flush()
    return token


async def find_grant(
    session: AsyncSession, link: ShareLink, token: str | None, now: dt.datetime
) -> ViewerGrant | None:
    """The live grant this cookie token holds for this link, if any."""
    if not token:
        return None
    row: ViewerGrant | None = await session.scalar(
        select(ViewerGrant).where(
            ViewerGrant.token_hash == token_hash(token),
            ViewerGrant.link_id == link.id,
            ViewerGrant.expires_at > now,
        )
    )
    return row


async def issue_code(
    session: AsyncSession, link: ShareLink, email: str, client: str | None, now: dt.datetime
) -> str | None:
    """A new six-digit one-time code for `email`, or None when too many were asked this hour.

    Counted per address, per client and per link, so someone holding the link cannot use up
    the recipient's own codes from one machine.
    """
    hour_ago = now - dt.timedelta(hours=1)
    recent = (
        select(func.count())
        .select_from(EmailCode)
        .where(EmailCode.link_id == link.id, EmailCode.created_at > hour_ago)
    )
    limits = [
        (recent, CODES_PER_LINK_HOUR),
        (recent.where(EmailCode.email == email), CODES_PER_ADDRESS_HOUR),
    ]
    if client is not None:
        limits.append((recent.where(EmailCode.client_hash == client), CODES_PER_CLIENT_HOUR))
    for query, limit in limits:
        if (await session.scalar(query) or 0) >= limit:
            return None
    code = f"{secrets.randbelow(1_000_000):06d}"
    session.add(
        EmailCode(
            link_id=link.id,
            email=email,
            code_hash=_code_hash(link, email, code),
            client_hash=client,
            created_at=now,
            expires_at=now + CODE_LIFETIME,
        )
    )
    await session.flush()
    return code


async def redeem_code(
    session: AsyncSession, link: ShareLink, email: str, code: str, now: dt.datetime
) -> bool:
    """True once for the latest live code of this address; each try uses up an attempt.

    The attempt and the use are counted by conditional UPDATEs, not read-then-write, so
    parallel guesses cannot share one attempt and one code cannot open two grants.
    """
    row = await session.scalar(
        select(EmailCode)
        .where(
            EmailCode.link_id == link.id,
            EmailCode.email == email,
            EmailCode.used_at.is_(None),
            EmailCode.expires_at > now,
        )
        .order_by(EmailCode.id.desc())
        .limit(1)
    )
    if row is None:
        return False
    live = (EmailCode.id == row.id) & EmailCode.used_at.is_(None)
    tried = await session.execute(
        update(EmailCode)
        .where(live, EmailCode.attempts < CODE_ATTEMPTS)
        .values(attempts=EmailCode.attempts + 1)
    )
    if affected_rows(tried) != 1:
        return False
    if not hmac.compare_digest(row.code_hash, _code_hash(link, email, code.strip())):
        return False
    used = await session.execute(update(EmailCode).where(live).values(used_at=now))
    return affected_rows(used) == 1


def _code_hash(link: ShareLink, email: str, code: str) -> str:
    return hashlib.sha256(f"{link.id}:{email}:{code}".encode()).hexdigest()
