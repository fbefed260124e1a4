"""View notifications: a signed JSON POST when a link is first opened, or opened again after a
pause, queued in the database and sent in the background so a slow receiver never slows a visit.

The queue is the `webhook_deliveries` table. `notify_visit` adds rows inside the transaction
that records the visit (so a visit that rolls back notifies nobody), and a `Deliverer` running
in each server process sends the due rows, retrying failures with exponential backoff. Delivery
is at least once: a process that dies between sending and recording sends that row again later,
so every request names its row in `X-Pitchmap-Delivery` for the receiver to deduplicate on.

Each request carries:

    Content-Type: application/json
    X-Pitchmap-Event: link.first_visit | link.return_visit
    X-Pitchmap-Delivery: <row id>
    X-Pitchmap-Timestamp: <unix seconds when sent>
    X-Pitchmap-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>." + body>   (secret set only)

and the body `{"event", "link_id", "document_id", "recipient", "visit_id", "visited_at"}`.
Receivers check it with `verify`, which also refuses a timestamp more than five minutes off, so
a captured request cannot be replayed later.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import hmac
import json
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from tracker.models import ShareLink, Visit, WebhookDelivery

FIRST_VISIT = "link.first_visit"
RETURN_VISIT = "link.return_visit"
IDLE_BEFORE_NEW_VISIT = dt.timedelta(minutes=30)
MAX_BACKOFF = dt.timedelta(hours=1)
SIGNATURE_TOLERANCE = 300  # seconds a signed timestamp may be off from the receiver's clock
USER_AGENT = "pitchmap-webhooks/1"

logger = logging.getLogger(__name__)


async def notify_visit(
    session: AsyncSession,
    link: ShareLink,
    visit: Visit,
    urls: Sequence[str],
    now: dt.datetime,
) -> int:
    """Queue one delivery per URL when `visit` opens `link` for the first time, or for the first
    time after every earlier visit of the link has been idle for `IDLE_BEFORE_NEW_VISIT`.

    Call it in the transaction that created `visit` (already flushed). Returns the number of
    rows added; flushes but never commits. On PostgreSQL the link's row is locked (FOR NO KEY
    UPDATE, which does not block the visit inserts' foreign-key checks) until the caller's
    commit, so two visits opening a link at the same moment notify once, not twice; SQLite
    serialises writers anyway.
    """
    if not urls:
        return 0
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(
            select(ShareLink.id).where(ShareLink.id == link.id).with_for_update(key_share=True)
        )
    created, seen = (
        await session.execute(
            select(func.max(Visit.created_at), func.max(Visit.last_seen_at)).where(
                Visit.link_id == link.id, Visit.id != visit.id
            )
        )
    ).one()
    latest = max((t for t in (created, seen) if t is not None), default=None)
    if latest is None:
        event = FIRST_VISIT
    elif latest <= now - IDLE_BEFORE_NEW_VISIT:
        event = RETURN_VISIT
    else:
        return 0
    body = _body(event, link, visit)
    session.add_all(
        WebhookDelivery(event=event, url=url, body=body, created_at=now, next_attempt_at=now)
        for url in urls
    )
    await session.flush()
    return len(urls)


def _body(event: str, link: ShareLink, visit: Visit) -> str:
    payload: dict[str, Any] = {
        "event": event,
        "link_id": link.id,
        "document_id": link.document_id,
        "recipient": link.recipient_email,
        "visit_id": visit.id,
        "visited_at": _iso_utc(visit.created_at),
    }
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)


def _iso_utc(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The hex HMAC-SHA256 of `"<timestamp>." + body` under `secret`."""
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def verify(
    secret: str,
    timestamp: int | str,
    body: bytes,
    signature: str,
    now: dt.datetime,
    tolerance: int = SIGNATURE_TOLERANCE,
) -> bool:
    """Whether `signature` (hex, with or without the `sha256=` prefix) signs `body` at
    `timestamp` under `secret`, and `timestamp` is within `tolerance` seconds of `now`.

    `timestamp` may be the header's text. The comparison takes constant time.
    """
    try:
        stamp = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs(now.timestamp() - stamp) > tolerance:
        return False
    given = signature.strip().removeprefix("sha256=")
    return hmac.compare_digest(given.encode(), sign(secret, stamp, body).encode())


@dataclass(frozen=True)
class _Claimed:
    id: int
    event: str
    url: str
    body: str
    attempts: int


@dataclass(frozen=True)
class _Outcome:
    claimed: _Claimed
    error: str | None  # None when the receiver answered 2xx


class Deliverer:
    """Sends the queued webhook deliveries: in a background task (`start`/`stop`), or one pass
    at a time with `deliver_due`.

    A pass claims the due rows in one short transaction by moving their `next_attempt_at` past
    the time a send may take (a lease), then sends without any transaction open, then records
    each result in a second transaction. On PostgreSQL the claim uses SELECT ... FOR UPDATE SKIP
    LOCKED, so several server processes never send one row twice; on SQLite the claim is one
    UPDATE under the database's single write lock, which serialises the workers' claims just as
    well, and the lease keeps overlapping passes apart. A row whose process died while
    sending becomes due again when its lease ends.

    A 2xx answer marks the row delivered. Anything else (another status, a refused connection,
    a timeout) counts an attempt, records `last_error` and waits `backoff_base ** attempts`
    seconds (at most an hour) before the next one; after `max_attempts` the row is marked
    failed and left alone. Redirects are not followed. Failures are logged with the receiver's
    host only, since webhook URLs often embed a secret.

    With `secret` set every request is signed (`X-Pitchmap-Signature`). Without one (None or
    empty) requests are sent unsigned and the first one logs a warning: receivers then cannot
    tell them from forgeries, so set `PITCHMAP_WEBHOOK_SECRET` whenever URLs are configured.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        secret: str | None,
        *,
        client: httpx.AsyncClient | None = None,
        poll_interval: float = 1.0,
        max_attempts: int = 8,
        backoff_base: float = 2.0,
        timeout: float = 5.0,
        batch_size: int = 50,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self._engine = engine
        self._secret = secret or None
        self._client = client
        self._own_client = client is None
        self._poll_interval = poll_interval
        self._max_attempts = max_attempts
        self._backoff_base = backoff_base
        self._timeout = timeout
        self._batch_size = batch_size
        # Long enough for every send of a batch (they run concurrently, each bounded by timeout).
        self._lease = dt.timedelta(seconds=max(60.0, 4 * timeout))
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._warned_unsigned = False

    async def start(self) -> None:
        """Start delivering in the background; a no-op when already started."""
        if self._task is not None:
            return
        self._stopping = False
        self._task = asyncio.create_task(self._run(), name="pitchmap-webhooks")

    async def stop(self) -> None:
        """Stop the background task (a send under way is cancelled and retried later) and close
        the HTTP client this deliverer created. Safe to call when never started."""
        self._stopping = True
        self._wake.set()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._own_client and self._client is not None:
            await self._client.aclose()
            self._client = None

    def poke(self) -> None:
        """Deliver now rather than at the next poll, e.g. after a transaction queued rows.

        Call it from the event loop's thread, after the queuing transaction committed."""
        self._wake.set()

    async def deliver_due(self, now: dt.datetime) -> int:
        """One pass over the rows due at `now`; returns how many were delivered. Never raises
        for a receiver's failure (database errors do propagate)."""
        _, delivered = await self._pass(now)
        return delivered

    async def _run(self) -> None:
        while not self._stopping:
            claimed = 0
            try:
                claimed, _ = await self._pass(dt.datetime.now(dt.UTC))
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("webhook delivery pass failed")
            if claimed >= self._batch_size:
                continue  # more may be due right now
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll_interval)
            self._wake.clear()

    async def _pass(self, now: dt.datetime) -> tuple[int, int]:
        claimed = await self._claim(now)
        if not claimed:
            return 0, 0
        outcomes = await asyncio.gather(*(self._send(row) for row in claimed))
        await self._record(outcomes, now)
        return len(claimed), sum(1 for o in outcomes if o.error is None)

    async def _claim(self, now: dt.datetime) -> list[_Claimed]:
        table = WebhookDelivery
        pending = select(table.id).where(
            table.delivered_at.is_(None),
            table.failed_at.is_(None),
            table.next_attempt_at <= now,
        )
        async with self._engine.connect() as connection:
            # A read first: the claim's UPDATE takes SQLite's write lock even when it matches
            # nothing, and a poll every second would keep stalling the heartbeat writer.
            if (await connection.execute(pending.limit(1))).first() is None:
                return []
        due = (
            pending.order_by(table.next_attempt_at, table.id)
            .limit(self._batch_size)
            .with_for_update(skip_locked=True)  # SQLite leaves the clause out
        )
        claim = (
            update(table)
            .where(table.id.in_(due))
            .values(next_attempt_at=now + self._lease)
            .returning(table.id, table.event, table.url, table.body, table.attempts)
        )
        async with self._engine.begin() as connection:
            rows = (await connection.execute(claim)).all()
        return sorted((_Claimed(*row) for row in rows), key=lambda c: c.id)

    async def _send(self, row: _Claimed) -> _Outcome:
        body = row.body.encode()
        timestamp = int(dt.datetime.now(dt.UTC).timestamp())
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-Pitchmap-Event": row.event,
            "X-Pitchmap-Delivery": str(row.id),
            "X-Pitchmap-Timestamp": str(timestamp),
        }
        if self._secret is not None:
            headers["X-Pitchmap-Signature"] = "sha256=" + sign(self._secret, timestamp, body)
        elif not self._warned_unsigned:
            self._warned_unsigned = True
            logger.warning("PITCHMAP_WEBHOOK_SECRET is not set: webhooks are sent unsigned")
        try:
            async with asyncio.timeout(self._timeout):
                request = self._http().stream(
                    "POST", row.url, content=body, headers=headers, timeout=self._timeout
                )
                async with request as response:
                    status = response.status_code  # the answer's body is never read
        except TimeoutError:
            error = f"no answer within {self._timeout:g} s"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        except Exception as exc:  # a bad URL, say: one row's trouble must not stop the pass
            error = f"{type(exc).__name__}: {exc}"
        else:
            if 200 <= status < 300:
                return _Outcome(row, None)
            error = f"HTTP {status}"
        logger.warning(
            "webhook delivery %d (%s) to %s failed on attempt %d: %s",
            row.id,
            row.event,
            _host(row.url),
            row.attempts + 1,
            error,
        )
        return _Outcome(row, error)

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(follow_redirects=False, trust_env=False)
        return self._client

    async def _record(self, outcomes: Sequence[_Outcome], now: dt.datetime) -> None:
        table = WebhookDelivery
        async with self._engine.begin() as connection:
            for outcome in outcomes:
                attempts = outcome.claimed.attempts + 1
                values: dict[str, Any] = {"attempts": attempts}
                if outcome.error is None:
                    values.update(delivered_at=now, next_attempt_at=now)
                elif attempts >= self._max_attempts:
                    values.update(failed_at=now, next_attempt_at=now, last_error=outcome.error)
                    logger.error(
                        "webhook delivery %d to %s given up after %d attempts",
                        outcome.claimed.id,
                        _host(outcome.claimed.url),
                        attempts,
                    )
                else:
                    values.update(
                        next_attempt_at=now + self._backoff(attempts), last_error=outcome.error
                    )
                await connection.execute(
                    update(table).where(table.id == outcome.claimed.id).values(**values)
                )

    def _backoff(self, attempts: int) -> dt.timedelta:
        cap = MAX_BACKOFF.total_seconds()
        try:
            seconds = float(self._backoff_base) ** attempts
        except OverflowError:
            seconds = cap
        if not math.isfinite(seconds):
            seconds = cap
        return dt.timedelta(seconds=min(max(seconds, 0.0), cap))


def _host(url: str) -> str:
    try:
        return urlsplit(url).hostname or "?"
    except ValueError:
        return "?"
