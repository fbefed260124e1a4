"""View webhooks: queued with the visit, sent signed to a real local receiver, retried, given up."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import logging
import socket
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

import pytest
import pytest_asyncio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from tracker.database import create_engine, create_sessions
from tracker.models import Document, Library, Prospect, ShareLink, Visit, WebhookDelivery
from tracker.webhooks import (
    FIRST_VISIT,
    IDLE_BEFORE_NEW_VISIT,
    RETURN_VISIT,
    Deliverer,
    notify_visit,
    sign,
    verify,
)

pytestmark = pytest.mark.asyncio

URLS = ("https://crm.example/hooks/pitchmap", "https://chat.example/T0/B1/secret-part")
SECRET = "whsec-test-0123456789"
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


# --- a link to visit -------------------------------------------------------------------------


async def _link(session: AsyncSession, recipient: str = "dana@northwind.example") -> ShareLink:
    library = Library(name="bastion", root="/libraries/bastion")
    prospect = Prospect(key="p-northwind", company="Northwind Bank")
    session.add_all([library, prospect])
    await session.flush()
    document = Document(
        id="doc-0001",
        library_id=library.id,
        prospect_id=prospect.id,
        title="Northwind Bank",
        as_of=T0.date(),
    )
    session.add(document)
    await session.flush()
    link = ShareLink(document_id=document.id, token_hash="a" * 64, recipient_email=recipient)
    session.add(link)
    await session.flush()
    return link


async def _visit(
    session: AsyncSession, link: ShareLink, at: dt.datetime, seen_for: dt.timedelta | None = None
) -> Visit:
    visit = Visit(
        link_id=link.id,
        created_at=at,
        secret_hash="b" * 64,
        user_agent_kind="browser",
        last_seen_at=None if seen_for is None else at + seen_for,
    )
    session.add(visit)
    await session.flush()
    return visit


async def _queued(session: AsyncSession) -> list[WebhookDelivery]:
    fresh = select(WebhookDelivery).order_by(WebhookDelivery.id)
    return list((await session.scalars(fresh.execution_options(populate_existing=True))).all())


# --- queuing -----------------------------------------------------------------------------------


async def test_a_links_first_visit_queues_one_delivery_per_url(session) -> None:
    link = await _link(session)
    visit = await _visit(session, link, T0)
    assert await notify_visit(session, link, visit, URLS, T0) == 2
    await session.commit()
    rows = await _queued(session)
    assert [(r.url, r.event) for r in rows] == [(u, FIRST_VISIT) for u in URLS]
    assert {r.body for r in rows} == {rows[0].body}
    assert json.loads(rows[0].body) == {
        "event": "link.first_visit",
        "link_id": link.id,
        "document_id": "doc-0001",
        "recipient": "dana@northwind.example",
        "visit_id": visit.id,
        "visited_at": "2026-03-02T09:00:00Z",
    }
    assert " " not in rows[0].body  # compact
    assert all(r.next_attempt_at == T0 and r.attempts == 0 for r in rows)
    assert all(r.delivered_at is None and r.failed_at is None for r in rows)


async def test_a_visit_soon_after_another_queues_nothing(session) -> None:
    link = await _link(session)
    first = await _visit(session, link, T0, seen_for=dt.timedelta(minutes=2))
    await notify_visit(session, link, first, URLS, T0)
    later = T0 + dt.timedelta(minutes=5)
    second = await _visit(session, link, later)
    assert await notify_visit(session, link, second, URLS, later) == 0
    await session.commit()
    assert [r.event for r in await _queued(session)] == [FIRST_VISIT, FIRST_VISIT]


async def test_a_visit_after_thirty_idle_minutes_is_a_return_visit(session) -> None:
    link = await _link(session)
    first = await _visit(session, link, T0, seen_for=dt.timedelta(minutes=4))
    await notify_visit(session, link, first, URLS[:1], T0)
    later = T0 + dt.timedelta(minutes=4 + 31)
    second = await _visit(session, link, later)
    assert await notify_visit(session, link, second, URLS[:1], later) == 1
    await session.commit()
    rows = await _queued(session)
    assert [r.event for r in rows] == [FIRST_VISIT, RETURN_VISIT]
    body = json.loads(rows[1].body)
    assert (body["event"], body["visit_id"]) == ("link.return_visit", second.id)
    assert body["visited_at"] == "2026-03-02T09:35:00Z"


async def test_idle_time_counts_from_the_last_heartbeat_not_the_start(session) -> None:
    """A reader who kept a tab open for 40 minutes and opens it again is still reading."""
    link = await _link(session)
    await _visit(session, link, T0, seen_for=dt.timedelta(minutes=40))
    later = T0 + dt.timedelta(minutes=45)
    assert dt.timedelta(minutes=30) == IDLE_BEFORE_NEW_VISIT
    visit = await _visit(session, link, later)
    assert await notify_visit(session, link, visit, URLS, later) == 0
    assert await _queued(session) == []


async def test_no_urls_queue_nothing(session) -> None:
    link = await _link(session)
    visit = await _visit(session, link, T0)
    assert await notify_visit(session, link, visit, (), T0) == 0
    assert await _queued(session) == []


async def test_queuing_is_part_of_the_callers_transaction(session) -> None:
    link = await _link(session)
    await session.commit()
    visit = await _visit(session, link, T0)
    await notify_visit(session, link, visit, URLS, T0)
    await session.rollback()
    assert await _queued(session) == []


async def test_two_visits_opening_a_link_at_once_notify_once(migrated_url) -> None:
    engine = create_engine(migrated_url)
    sessions = create_sessions(engine)
    try:
        async with sessions() as setup:
            link_id = (await _link(setup)).id
            await setup.commit()
        async with sessions() as first, sessions() as second:
            link_a = await first.get_one(ShareLink, link_id)
            link_b = await second.get_one(ShareLink, link_id)
            visit_a = await _visit(first, link_a, T0)
            assert await notify_visit(first, link_a, visit_a, URLS, T0) == 2

            async def second_visit() -> int:
                visit_b = await _visit(second, link_b, T0)
                added = await notify_visit(second, link_b, visit_b, URLS, T0)
                await second.commit()
                return added

            racing = asyncio.create_task(second_visit())
            await asyncio.sleep(0.3)
            assert not racing.done()  # waits for the first visit's transaction
            await first.commit()
            assert await asyncio.wait_for(racing, 15) == 0
            assert len(await _queued(first)) == 2
    finally:
        await engine.dispose()


# --- signatures ----------------------------------------------------------------------------------


async def test_a_signature_is_hmac_sha256_over_the_timestamp_and_the_body() -> None:
    import hashlib
    import hmac

    body = b'{"event":"link.first_visit"}'
    expected = hmac.new(b"s3cret", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert sign("s3cret", 1700000000, body) == expected


async def test_verify_accepts_a_fresh_signature_with_or_without_its_prefix() -> None:
    body = b'{"a":1}'
    stamp = int(T0.timestamp())
    signature = sign(SECRET, stamp, body)
    assert verify(SECRET, stamp, body, signature, T0)
    assert verify(SECRET, str(stamp), body, "sha256=" + signature, T0 + dt.timedelta(seconds=299))


async def test_verify_rejects_a_wrong_secret_a_changed_body_and_a_stale_timestamp() -> None:
    body = b'{"a":1}'
    stamp = int(T0.timestamp())
    signature = "sha256=" + sign(SECRET, stamp, body)
    assert not verify("another-secret", stamp, body, signature, T0)
    assert not verify(SECRET, stamp, b'{"a":2}', signature, T0)
    assert not verify(SECRET, stamp, body, signature, T0 + dt.timedelta(seconds=301))
    assert not verify(SECRET, stamp, body, signature, T0 - dt.timedelta(seconds=301))
    assert not verify(SECRET, stamp + 1, body, signature, T0)  # the timestamp is signed too
    assert not verify(SECRET, "soon", body, signature, T0)
    assert not verify(SECRET, stamp, body, "sha256=", T0)
    assert verify(SECRET, stamp, body, signature, T0 + dt.timedelta(seconds=50), tolerance=60)
    assert not verify(SECRET, stamp, body, signature, T0 + dt.timedelta(seconds=61), tolerance=60)


# --- a real receiver -------------------------------------------------------------------------


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: dt.datetime


@dataclass
class Receiver:
    """A tiny HTTP/1.1 server on 127.0.0.1 answering each POST with the next scripted status."""

    statuses: list[int]
    requests: list[Received] = field(default_factory=list)
    url: str = ""
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
            request_line, *lines = head.split("\r\n")
            headers = {}
            for line in lines:
                if line:
                    name, value = line.split(":", 1)
                    headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            path = request_line.split(" ")[1]
            self.requests.append(Received(path, headers, body, dt.datetime.now(dt.UTC)))
            status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
            answer = (
                f"HTTP/1.1 {status} Scripted\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
            )
            writer.write(answer.encode())
            await writer.drain()
            self.arrived.set()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()
            await writer.wait_closed()


async def _serve(statuses: Sequence[int]) -> AsyncIterator[Receiver]:
    receiver = Receiver(list(statuses))
    server = await asyncio.start_server(receiver.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    receiver.url = f"http://127.0.0.1:{port}/hooks/pitchmap"
    try:
        yield receiver
    finally:
        server.close()
        await server.wait_closed()


@pytest_asyncio.fixture
async def receiver() -> AsyncIterator[Receiver]:
    async for served in _serve([200]):
        yield served


@pytest_asyncio.fixture
async def engine(migrated_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(migrated_url)
    try:
        yield engine
    finally:
        await engine.dispose()


async def _enqueue(engine: AsyncEngine, urls: Sequence[str], at: dt.datetime) -> list[int]:
    async with create_sessions(engine)() as session:
        link = await _link(session)
        visit = await _visit(session, link, at)
        await notify_visit(session, link, visit, urls, at)
        await session.commit()
        return [r.id for r in await _queued(session)]


async def _rows(engine: AsyncEngine) -> list[WebhookDelivery]:
    async with create_sessions(engine)() as session:
        return await _queued(session)


async def test_a_delivery_reaches_the_receiver_signed_with_the_stored_body(
    engine, receiver
) -> None:
    now = dt.datetime.now(dt.UTC)
    [row_id] = await _enqueue(engine, [receiver.url], now)
    deliverer = Deliverer(engine, SECRET)
    try:
        assert await deliverer.deliver_due(now) == 1
    finally:
        await deliverer.stop()
    [request] = receiver.requests
    [row] = await _rows(engine)
    assert request.path == "/hooks/pitchmap"
    assert request.body == row.body.encode()
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-pitchmap-event"] == "link.first_visit"
    assert request.headers["x-pitchmap-delivery"] == str(row_id)
    signature = request.headers["x-pitchmap-signature"]
    assert signature.startswith("sha256=")
    stamp = request.headers["x-pitchmap-timestamp"]
    assert verify(SECRET, stamp, request.body, signature, request.at)
    assert not verify("wrong", stamp, request.body, signature, request.at)
    assert "sent_at" not in json.loads(request.body)
    assert (row.delivered_at, row.attempts, row.last_error) == (now, 1, None)
    # Delivered rows are not sent again.
    deliverer = Deliverer(engine, SECRET)
    try:
        assert await deliverer.deliver_due(now + dt.timedelta(hours=2)) == 0
    finally:
        await deliverer.stop()
    assert len(receiver.requests) == 1


async def test_without_a_secret_deliveries_go_unsigned(engine, receiver) -> None:
    now = dt.datetime.now(dt.UTC)
    await _enqueue(engine, [receiver.url], now)
    deliverer = Deliverer(engine, None)
    try:
        assert await deliverer.deliver_due(now) == 1
    finally:
        await deliverer.stop()
    [request] = receiver.requests
    assert "x-pitchmap-signature" not in request.headers
    assert request.headers["x-pitchmap-timestamp"].isdigit()


async def test_failures_are_retried_with_growing_backoff_until_delivered(engine) -> None:
    async for receiver in _serve([500, 503, 200]):
        [row_id] = await _enqueue(engine, [receiver.url], T0)
        deliverer = Deliverer(engine, SECRET, backoff_base=2.0)
        try:
            assert await deliverer.deliver_due(T0) == 0
            [row] = await _rows(engine)
            assert (row.attempts, row.last_error) == (1, "HTTP 500")
            assert row.next_attempt_at == T0 + dt.timedelta(seconds=2)
            assert row.delivered_at is None and row.failed_at is None

            assert await deliverer.deliver_due(T0 + dt.timedelta(seconds=1)) == 0
            assert len(receiver.requests) == 1  # not due yet

            second = T0 + dt.timedelta(seconds=2)
            assert await deliverer.deliver_due(second) == 0
            [row] = await _rows(engine)
            assert (row.attempts, row.last_error) == (2, "HTTP 503")
            assert row.next_attempt_at == second + dt.timedelta(seconds=4)

            third = second + dt.timedelta(seconds=4)
            assert await deliverer.deliver_due(third) == 1
        finally:
            await deliverer.stop()
        [row] = await _rows(engine)
        assert (row.delivered_at, row.attempts, row.failed_at) == (third, 3, None)
        assert [r.headers["x-pitchmap-delivery"] for r in receiver.requests] == [str(row_id)] * 3


async def test_backoff_is_capped_at_an_hour(engine) -> None:
    async for receiver in _serve([500]):
        await _enqueue(engine, [receiver.url], T0)
        deliverer = Deliverer(engine, SECRET, backoff_base=100.0, max_attempts=5)
        try:
            await deliverer.deliver_due(T0)
            [row] = await _rows(engine)
            assert row.next_attempt_at == T0 + dt.timedelta(seconds=100)
            at = row.next_attempt_at
            await deliverer.deliver_due(at)
            [row] = await _rows(engine)
            assert row.next_attempt_at == at + dt.timedelta(hours=1)
        finally:
            await deliverer.stop()


async def test_a_delivery_is_given_up_after_max_attempts(engine, caplog) -> None:
    async for receiver in _serve([500]):
        await _enqueue(engine, [receiver.url], T0)
        deliverer = Deliverer(engine, SECRET, max_attempts=3, backoff_base=2.0)
        now = T0
        try:
            with caplog.at_level(logging.WARNING, logger="tracker.webhooks"):
                for _ in range(3):
                    assert await deliverer.deliver_due(now) == 0
                    now += dt.timedelta(hours=2)
                assert await deliverer.deliver_due(now + dt.timedelta(days=1)) == 0
        finally:
            await deliverer.stop()
        [row] = await _rows(engine)
        assert row.attempts == 3 and row.failed_at is not None and row.delivered_at is None
        assert row.last_error == "HTTP 500"
        assert len(receiver.requests) == 3
        assert any("given up after 3 attempts" in r.getMessage() for r in caplog.records)


async def test_a_receiver_that_is_down_does_not_break_the_pass(engine, receiver, caplog) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{probe.getsockname()[1]}/secret-token-in-path"
    await _enqueue(engine, [closed, receiver.url, "not a url"], T0)
    deliverer = Deliverer(engine, SECRET)
    try:
        with caplog.at_level(logging.WARNING, logger="tracker.webhooks"):
            assert await deliverer.deliver_due(T0) == 1
    finally:
        await deliverer.stop()
    down, up, bad = await _rows(engine)
    assert up.delivered_at == T0
    for failed in (down, bad):
        assert failed.attempts == 1 and failed.delivered_at is None and failed.last_error
        assert failed.next_attempt_at == T0 + dt.timedelta(seconds=2)
    assert "ConnectError" in (down.last_error or "")
    logged = " ".join(r.getMessage() for r in caplog.records)
    assert "127.0.0.1" in logged and "secret-token-in-path" not in logged


async def test_a_slow_receiver_times_out(engine) -> None:
    async def stall(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.read(65536)
            await reader.read()  # never answers; returns when the client gives up and closes
        finally:
            writer.close()

    server = await asyncio.start_server(stall, "127.0.0.1", 0)
    try:
        url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/"
        await _enqueue(engine, [url], T0)
        deliverer = Deliverer(engine, SECRET, timeout=0.3)
        try:
            assert await deliverer.deliver_due(T0) == 0
        finally:
            await deliverer.stop()
        [row] = await _rows(engine)
        assert row.attempts == 1 and row.last_error
    finally:
        server.close()
        await server.wait_closed()


async def test_two_deliverers_never_send_one_row_twice(engine, receiver, migrated_url) -> None:
    now = dt.datetime.now(dt.UTC)
    await _enqueue(engine, [receiver.url] * 6, now)
    other_engine = create_engine(migrated_url)
    deliverers = [Deliverer(engine, SECRET, batch_size=4), Deliverer(other_engine, SECRET)]
    try:
        counts = await asyncio.gather(*(d.deliver_due(now) for d in deliverers))
        counts += await asyncio.gather(*(d.deliver_due(now) for d in deliverers))
    finally:
        for deliverer in deliverers:
            await deliverer.stop()
        await other_engine.dispose()
    assert sum(counts) == 6
    ids = [r.headers["x-pitchmap-delivery"] for r in receiver.requests]
    assert len(ids) == 6 and len(set(ids)) == 6
    assert all(r.delivered_at == now for r in await _rows(engine))


async def test_the_background_task_delivers_at_once_when_poked(engine, receiver) -> None:
    deliverer = Deliverer(engine, SECRET, poll_interval=60)
    await deliverer.start()
    try:
        await asyncio.sleep(0.1)  # the first pass found nothing; the next poll is a minute away
        await _enqueue(engine, [receiver.url], dt.datetime.now(dt.UTC))
        deliverer.poke()
        await asyncio.wait_for(receiver.arrived.wait(), 10)
        for _ in range(100):
            [row] = await _rows(engine)
            if row.delivered_at is not None:
                break
            await asyncio.sleep(0.05)
    finally:
        await deliverer.stop()
    [request] = receiver.requests
    assert request.headers["x-pitchmap-event"] == "link.first_visit"
    assert row.delivered_at is not None


async def test_stop_without_start_is_harmless(engine) -> None:
    deliverer = Deliverer(engine, SECRET)
    await deliverer.stop()
    await deliverer.stop()
