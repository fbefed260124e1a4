"""Share links: one recipient's way into one document, and the gates in front of it.

The token is 32 bytes from `secrets` (256 bits) and only its SHA-256 is stored, like a key.
A passcode is a password a person chose, so it is stored with argon2. A link whose email gate
or passcode was passed gives the browser a grant: another random token, kept in a cookie.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from enum import Enum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tracker.models import EmailCode, ShareLink, ViewerGrant, utcnow

GRANT_LIFETIME = dt.timedelta(days=30)
CODE_LIFETIME = dt.timedelta(minutes=10)
CODE_ATTEMPTS = 5
# One address may ask for a few codes an hour, one link for a few more; a mailbox is not a
# cannon anybody holding the link can fire.
CODES_PER_ADDRESS_HOUR = 5
CODES_PER_LINK_HOUR = 20

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
    link = ShareLink(
        document_id=document_id,
        token_hash=token_hash(token),
        recipient_email=options.recipient,
        expires_at=options.expires_at,
        allow_download=options.allow_download,
        require_email=options.require_email,
        passcode_hash=_passcodes.hash(options.passcode) if options.passcode else None,
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
    if link.revoked_at is not None:
        return LinkState.REVOKED
    if link.expires_at is not None and link.expires_at <= now:
        return LinkState.EXPIRED
    return LinkState.LIVE


async def revoke_link(session: AsyncSession, link: ShareLink) -> None:
    """Revoking twice keeps the first time: the report says when the link really stopped."""
    if link.revoked_at is None:
        link.revoked_at = utcnow()
        await session.flush()


def check_passcode(link: ShareLink, passcode: str) -> bool:
    if link.passcode_hash is None:
        return True
    try:
        return _passcodes.verify(link.passcode_hash, passcode)
    except (VerificationError, InvalidHashError):
        return False


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
    session: AsyncSession, link: ShareLink, email: str, now: dt.datetime
) -> str | None:
    """A new six-digit one-time code for `email`, or None when too many were asked this hour."""
    hour_ago = now - dt.timedelta(hours=1)
    recent = (
        select(func.count())
        .select_from(EmailCode)
        .where(EmailCode.link_id == link.id, EmailCode.created_at > hour_ago)
    )
    for_link = await session.scalar(recent) or 0
    for_address = await session.scalar(recent.where(EmailCode.email == email)) or 0
    if for_link >= CODES_PER_LINK_HOUR or for_address >= CODES_PER_ADDRESS_HOUR:
        return None
    code = f"{secrets.randbelow(1_000_000):06d}"
    session.add(
        EmailCode(
            link_id=link.id,
            email=email,
            code_hash=_code_hash(link, email, code),
            created_at=now,
            expires_at=now + CODE_LIFETIME,
        )
    )
    await session.flush()
    return code


async def redeem_code(
    session: AsyncSession, link: ShareLink, email: str, code: str, now: dt.datetime
) -> bool:
    """True once for the latest live code of this address; each try uses up an attempt."""
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
    if row is None or row.attempts >= CODE_ATTEMPTS:
        return False
    row.attempts += 1
    matches = hmac.compare_digest(row.code_hash, _code_hash(link, email, code.strip()))
    if matches:
        row.used_at = now
    await session.flush()
    return matches


def _code_hash(link: ShareLink, email: str, code: str) -> str:
    return hashlib.sha256(f"{link.id}:{email}:{code}".encode()).hexdigest()
