"""People who sign in to the pages: accounts, passwords, sessions and the limit on guessing.

A password is something a person chose, so it is stored with argon2, which takes tens of
milliseconds by design: hashing and checking run on a worker thread so the event loop keeps
serving meanwhile. A session token is 32 random bytes from `secrets`, stored only as its
SHA-256 (like a key: there is nothing to brute-force). Sessions live in the database, so any
worker can check any browser's cookie and a sign-out takes effect everywhere at once.

Failed sign-ins are counted per email (whether or not it has an account) and per client
(its address hashed with the day's salt): an account cannot be guessed at faster than a few
tries per quarter hour, nor many accounts from one address. The functions here flush but never
commit: the caller owns the transaction.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from engine import InputError, Problem
from tracker.keys import Role, check_role
from tracker.mail import UNMAILABLE, is_mailable
from tracker.models import ROLES, SignInAttempt, User, UserSession

MAX_EMAIL = 320  # the column's width; `is_mailable` allows fewer still (64 + 1 + 253)
MIN_PASSWORD = 12  # ASVS 2.1.1
MAX_PASSWORD = 1_000
SESSION_IDLE = dt.timedelta(hours=12)
SESSION_LIFETIME = dt.timedelta(days=7)
# Writing last_seen_at on every page would turn each read into a write; a minute is enough.
LAST_SEEN_RESOLUTION = dt.timedelta(minutes=1)
ATTEMPT_WINDOW = dt.timedelta(minutes=15)
FAILURES_PER_EMAIL = 5
FAILURES_PER_CLIENT = 20
DEMO_USERS: tuple[tuple[str, Role], ...] = (
    ("rep@demo.pitchmap.local", "rep"),
    ("marketing@demo.pitchmap.local", "marketing"),
)

_passwords = PasswordHasher()


@dataclass(frozen=True)
class UserInfo:
    """What may be shown about a user: never the password's hash."""

    id: int
    email: str
    role: Role
    created_at: dt.datetime
    time_zone: str = "UTC"


def normalise_email(value: str) -> str:
    return value.strip().lower()


def user_problems(
    email: str, role: str, password: str | None = None, where: str = "user"
) -> list[Problem]:
    """Every problem with a new user's fields (the password only when given). The email must
    be one pitchmap can mail: a marketing user's weekly digest goes to it."""
    problems = email_problems(email, where)
    if role not in ROLES:
        problems.append(Problem(where, "role", f"{role!r} is not one of {', '.join(ROLES)}"))
    if password is not None:
        problems.extend(password_problems(password, where))
    return problems


def email_problems(email: str, where: str = "user", field: str = "email") -> list[Problem]:
    """What is wrong with a user's email: it must be one pitchmap can mail (`is_mailable`,
    once normalised). One far too long is refused without being quoted back."""
    if len(email) > MAX_EMAIL:
        return [Problem(where, field, f"must be at most {MAX_EMAIL} characters long")]
    if not is_mailable(normalise_email(email)):
        return [Problem(where, field, f"{email!r} {UNMAILABLE}")]
    return []


def password_problems(password: str, where: str = "user", field: str = "password") -> list[Problem]:
    """What is wrong with a password someone chose (its length only: a passphrase of common
    words is a good password)."""
    if len(password) < MIN_PASSWORD:
        return [Problem(where, field, f"must be at least {MIN_PASSWORD} characters long")]
    if len(password) > MAX_PASSWORD:
        return [Problem(where, field, f"must be at most {MAX_PASSWORD} characters long")]
    return []


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_passwords.hash, password)


async def verify_password(stored: str | None, password: str) -> bool:
    """Whether `password` matches `stored`. With no stored hash (an unknown email) a decoy is
    checked instead, so the answer takes as long as for a real account, and is False."""
    decoy = stored is None
    target = await decoy_hash() if stored is None else stored
    try:
        matches = await asyncio.to_thread(_passwords.verify, target, password)
    except (VerificationError, InvalidHashError):
        return False
    return matches and not decoy


async def decoy_hash() -> str:
    """A hash of a random password, made once per process (call it at start to warm it)."""
    return await asyncio.to_thread(_decoy)


@cache
def _decoy() -> str:
    return _passwords.hash(secrets.token_urlsafe(32))


async def create_user(
    session: AsyncSession, email: str, role: str, password: str, where: str = "user"
) -> UserInfo:
    """A new user; InputError naming the field for a bad email, role, password or an email
    that already has an account."""
    problems = user_problems(email, role, password, where)
    if problems:
        raise InputError(problems)
    address = normalise_email(email)
    if await _user_by_email(session, address) is not None:
        raise InputError([Problem(where, "email", f"{address} already has an account")])
    user = User(email=address, role=check_role(role), password_hash=await hash_password(password))
    session.add(user)
    try:
        await session.flush()
    except IntegrityError:  # created by someone else meanwhile
        raise InputError([Problem(where, "email", f"{address} already has an account")]) from None
    return _info(user)


async def set_user(session: AsyncSession, email: str, role: str, password: str) -> UserInfo:
    """Create the user, or give the existing one this role and password; a new password ends
    the user's sessions."""
    problems = user_problems(email, role, password)
    if problems:
        raise InputError(problems)
    address = normalise_email(email)
    user = await _user_by_email(session, address)
    if user is None:
        return await create_user(session, address, role, password)
    user.role = check_role(role)
    user.password_hash = await hash_password(password)
    await session.execute(delete(UserSession).where(UserSession.user_id == user.id))
    await session.flush()
    return _info(user)


async def ensure_demo_users(session: AsyncSession) -> list[tuple[str, str]]:
    """The demo rep and marketing user with fresh one-time passwords: (email, password) each."""
    accounts: list[tuple[str, str]] = []
    for email, role in DEMO_USERS:
        password = secrets.token_urlsafe(12)
        await set_user(session, email, role, password)
        accounts.append((email, password))
    return accounts


async def list_users(session: AsyncSession) -> list[UserInfo]:
    """Every user, oldest first."""
    return [_info(user) for user in await session.scalars(select(User).order_by(User.id))]


async def find_user(session: AsyncSession, user_id: int) -> UserInfo | None:
    user = await session.get(User, user_id)
    return None if user is None else _info(user)


async def set_role(session: AsyncSession, user_id: int, role: str) -> UserInfo | None:
    """Give the user `role` (InputError naming `role` for an unknown one); None when there is
    no such user. Sessions stay: every page reads the role afresh."""
    if role not in ROLES:
        raise InputError([Problem("user", "role", f"{role!r} is not one of {', '.join(ROLES)}")])
    user = await session.get(User, user_id)
    if user is None:
        return None
    user.role = check_role(role)
    await session.flush()
    return _info(user)


async def set_email(
    session: AsyncSession, user_id: int, email: str, where: str = "user", field: str = "email"
) -> UserInfo | None:
    """Give the user a new email, normalised (InputError naming `field` for one pitchmap cannot
    mail or that another user has); None when there is no such user. They sign in with it from
    now on; their sessions, role, time zone and password stay."""
    problems = email_problems(email, where, field)
    if problems:
        raise InputError(problems)
    address = normalise_email(email)
    user = await session.get(User, user_id)
    if user is None:
        return None
    holder = await _user_by_email(session, address)
    taken = InputError([Problem(where, field, f"{address} already has an account")])
    if holder is not None and holder.id != user.id:
        raise taken
    user.email = address
    try:
        await session.flush()
    except IntegrityError:  # taken by someone else meanwhile
        raise taken from None
    return _info(user)


async def set_time_zone(session: AsyncSession, user_id: int, zone_name: str) -> None:
    """Store the user's IANA zone; the caller has checked the name against the zone list."""
    user = await session.get(User, user_id)
    if user is not None:
        user.time_zone = zone_name
        await session.flush()


async def change_password(
    session: AsyncSession, user_id: int, current: str, new: str, keep_token: str | None
) -> None:
    """Replace the user's password once the current one is proven; InputError naming
    `current_password` or `new_password`. Every other session of the user ends: whoever
    knew the old password is signed out, the browser that changed it stays signed in."""
    problems = password_problems(new, field="new_password")
    if problems:
        raise InputError(problems)
    user = await session.get(User, user_id)
    if user is None or not await verify_password(user.password_hash, current):
        raise InputError([Problem("user", "current_password", "is not your current password")])
    user.password_hash = await hash_password(new)
    others = delete(UserSession).where(UserSession.user_id == user_id)
    if keep_token is not None:
        others = others.where(UserSession.token_hash != session_hash(keep_token))
    await session.execute(others)
    await session.flush()


async def delete_user(session: AsyncSession, user_id: int) -> bool:
    """Delete the user, False when there was none. The database ends their sessions (and
    ratings) by cascade; their prospects and documents stay, owned by no one."""
    if await session.get(User, user_id) is None:
        return False
    await session.execute(delete(User).where(User.id == user_id))
    return True


async def find_user_by_email(session: AsyncSession, email: str) -> UserInfo | None:
    """The user with this email (normalised, never checked against the rules: an address
    stored before they were stricter must still be found)."""
    user = await _user_by_email(session, normalise_email(email))
    return None if user is None else _info(user)


async def find_credentials(session: AsyncSession, email: str) -> tuple[UserInfo, str] | None:
    """The user with this email and their password's hash, for checking a sign-in."""
    user = await _user_by_email(session, normalise_email(email))
    return None if user is None else (_info(user), user.password_hash)


async def refresh_hash(session: AsyncSession, user_id: int, stored: str, password: str) -> None:
    """Re-hash a just-verified password when the hasher's parameters have changed since."""
    if not _passwords.check_needs_rehash(stored):
        return
    user = await session.get(User, user_id)
    if user is not None:
        user.password_hash = await hash_password(password)
        await session.flush()


# --- attempts -------------------------------------------------------------------------------


async def record_attempt(
    session: AsyncSession, email: str, client: str | None, now: dt.datetime
) -> int:
    """Count a sign-in attempt before its password is checked (so parallel guesses count
    too); `forget_attempt` takes it back when it was refused or succeeded."""
    await session.execute(
        delete(SignInAttempt).where(SignInAttempt.created_at <= now - ATTEMPT_WINDOW)
    )
    attempt = SignInAttempt(email=normalise_email(email), client_hash=client, created_at=now)
    session.add(attempt)
    await session.flush()
    return attempt.id


async def too_many_attempts(
    session: AsyncSession, email: str, client: str | None, now: dt.datetime
) -> bool:
    """Whether the attempts in the window, the caller's own included, exceed a limit."""
    recent = (
        select(func.count())
        .select_from(SignInAttempt)
        .where(SignInAttempt.created_at > now - ATTEMPT_WINDOW)
    )
    for_email = await session.scalar(recent.where(SignInAttempt.email == normalise_email(email)))
    if (for_email or 0) > FAILURES_PER_EMAIL:
        return True
    if client is None:
        return False
    for_client = await session.scalar(recent.where(SignInAttempt.client_hash == client))
    return (for_client or 0) > FAILURES_PER_CLIENT


async def forget_attempt(session: AsyncSession, attempt_id: int) -> None:
    await session.execute(delete(SignInAttempt).where(SignInAttempt.id == attempt_id))


async def clear_failures(session: AsyncSession, email: str) -> None:
    """After a successful sign-in the email's earlier failures no longer count against it (the
    client's do: an attacker's own account must not reset its address's count)."""
    await session.execute(
        delete(SignInAttempt).where(SignInAttempt.email == normalise_email(email))
    )


# --- sessions -------------------------------------------------------------------------------


def session_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def start_session(session: AsyncSession, user_id: int, now: dt.datetime) -> str:
    """A new session for the user and its cookie token, returned here once and stored only
    as a hash. Ended sessions of every user are deleted on the way."""
    await session.execute(
        delete(UserSession).where(
            or_(UserSession.expires_at <= now, UserSession.last_seen_at <= now - SESSION_IDLE)
        )
    )
    token = secrets.token_urlsafe(32)
    session.add(
        UserSession(
            token_hash=session_hash(token),
            user_id=user_id,
            created_at=now,
            last_seen_at=now,
            expires_at=now + SESSION_LIFETIME,
        )
    )
    await session.flush()
    return token


async def session_user(session: AsyncSession, token: str, now: dt.datetime) -> UserInfo | None:
    """The user whose live session this cookie token holds, else None; marks it as used."""
    row = (
        await session.execute(
            select(UserSession, User)
            .join(User, User.id == UserSession.user_id)
            .where(
                UserSession.token_hash == session_hash(token),
                UserSession.expires_at > now,
                UserSession.last_seen_at > now - SESSION_IDLE,
            )
        )
    ).one_or_none()
    if row is None:
        return None
    live, user = row
    if now - live.last_seen_at >= LAST_SEEN_RESOLUTION:
        live.last_seen_at = now
        await session.flush()
    return _info(user)


async def end_session(session: AsyncSession, token: str) -> None:
    await session.execute(delete(UserSession).where(UserSession.token_hash == session_hash(token)))


async def _user_by_email(session: AsyncSession, address: str) -> User | None:
    user: User | None = await session.scalar(select(User).where(User.email == address))
    return user


def _info(user: User) -> UserInfo:
    return UserInfo(
        id=user.id,
        email=user.email,
        role=check_role(user.role),
        created_at=user.created_at,
        time_zone=user.time_zone,
    )
