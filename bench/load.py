"""Many prospects reading at once: 200 simulated viewers against 2 workers on PostgreSQL.

Starts a throwaway PostgreSQL and `pitchmap serve --workers 2` on the bastion fixtures library,
makes DOCUMENTS documents with LINKS_PER_DOCUMENT links each through the API, then runs
VIEWERS viewers at once for SECONDS, each on a keep-alive connection of its own as a browser
is: each opens a visit on its link (as the viewer's script does on page load) and sends a
heartbeat every 2 s, the viewer's real rate while a section is on screen, each with the next
sequence number and a little time on the section in view, moving on through the document.
Every answer is timed; an answer that is not 2xx, or no answer within 5 s, is an error. Before
that, the same viewers ask `/health` (the app's hello-world route) at the same rate for a
baseline measured in the same run. Afterwards the stored heartbeats are counted in the
database: every acknowledged one must be there, and none twice (a (visit, seq) is stored once).

Last line: `load viewers=<n> seconds=<s> errors=<e> p99_ms=<p> acknowledged=<a> stored=<b>`.

Usage: python bench/load.py [--viewers 200] [--seconds 60] [--workers 2]
"""

from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this folder would come first on sys.path and bench/select.py would shadow
# the standard library's `select` (which subprocess and socket import): put the root first.
sys.path[0] = str(Path(__file__).resolve().parent.parent)

import argparse
import asyncio
import contextlib
import os
import ssl
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable
from dataclasses import dataclass, field

import asyncpg
import httpx

from bench.common import FIXTURES, free_port
from bench.ingest import BROWSER, PITCHMAP, rep_key, start_server, wait_healthy
from bench.postgres import throwaway_postgres

BEAT_EVERY = 2.0  # seconds: the viewer reports at least this often while a section is on screen
TIMEOUT = 5.0
DOCUMENTS = 4
LINKS_PER_DOCUMENT = 5
SECTIONS = 9  # of a bastion document; a viewer moves on one section every few beats
SLOW_MS = 100.0  # the target p99: slower answers are reported by when they were asked
LAG_TICK = 0.01  # seconds: how often the client checks its own event loop


@dataclass
class Tally:
    began: float = field(default_factory=time.monotonic)  # the phase's start
    latencies_ms: list[float] = field(default_factory=list)
    slow_at: list[float] = field(default_factory=list)  # seconds into the phase, one a request
    acknowledged: int = 0
    errors: int = 0

    def p99(self) -> float:
        if len(self.latencies_ms) < 2:
            return float("nan")
        return statistics.quantiles(self.latencies_ms, n=100)[98]


async def timed(tally: Tally, request: Awaitable[httpx.Response]) -> None:
    """Await `request`, counting its latency and whether it was acknowledged."""
    started = time.monotonic()
    try:
        response = await request
    except httpx.HTTPError:
        tally.errors += 1
        return
    tally.latencies_ms.append((time.monotonic() - started) * 1000)
    if tally.latencies_ms[-1] > SLOW_MS:
        tally.slow_at.append(started - tally.began)
    if 200 <= response.status_code < 300:
        tally.acknowledged += 1
    else:
        tally.errors += 1


async def hello_viewer(
    client: httpx.AsyncClient, tally: Tally, until: float, offset: float
) -> None:
    await asyncio.sleep(offset)  # viewers start spread over the first interval
    while time.monotonic() < until:
        beat = time.monotonic()
        await timed(tally, client.get("/health"))
        await asyncio.sleep(max(0.0, BEAT_EVERY - (time.monotonic() - beat)))


async def reading_viewer(
    client: httpx.AsyncClient, token: str, tally: Tally, until: float, offset: float
) -> None:
    await asyncio.sleep(offset)
    try:
        opened = await client.post(f"/d/{token}/visits", json={}, headers={"User-Agent": BROWSER})
    except httpx.HTTPError:
        opened = None
    if opened is None or not opened.is_success:
        tally.errors += 1  # a viewer that could not even start counts as an error
        return
    visit, secret = opened.json()["visit"], opened.json()["secret"]
    seq = 0
    while time.monotonic() < until:
        beat = time.monotonic()
        seq += 1
        section = (seq // 3) % SECTIONS
        body = {
            "visit": visit,
            "secret": secret,
            "seq": seq,
            "dwell": {str(section): int(BEAT_EVERY * 1000)},
            "seen": [section],
        }
        await timed(tally, client.post(f"/d/{token}/events", json=body))
        await asyncio.sleep(max(0.0, BEAT_EVERY - (time.monotonic() - beat)))


async def loop_lag(lags_ms: list[float], until: float) -> None:
    """How late this process's own event loop wakes up: a latency is only the server's when
    the client was not itself behind."""
    while time.monotonic() < until:
        start = time.perf_counter()
        await asyncio.sleep(LAG_TICK)
        lags_ms.append((time.perf_counter() - start - LAG_TICK) * 1000)


async def crowd(
    base: str, tokens: list[str], viewers: int, seconds: float
) -> tuple[Tally, Tally, list[float]]:
    """Each viewer on a client and keep-alive connection of its own, as each prospect's browser
    is: a pool shared by all would open and close connections as the load shifts, a cost no
    real viewer pays."""
    verify = ssl.create_default_context()  # one for all: making 200 costs seconds of CPU
    async with contextlib.AsyncExitStack() as stack:
        clients = [
            await stack.enter_async_context(
                httpx.AsyncClient(base_url=base, timeout=TIMEOUT, verify=verify)
            )
            for _ in range(viewers)
        ]
        hello = Tally()
        until = time.monotonic() + min(seconds, 20.0)
        await asyncio.gather(
            *(
                hello_viewer(client, hello, until, BEAT_EVERY * i / viewers)
                for i, client in enumerate(clients)
            )
        )
        beats = Tally()
        lags: list[float] = []
        until = time.monotonic() + seconds
        await asyncio.gather(
            loop_lag(lags, until),
            *(
                reading_viewer(
                    client, tokens[i % len(tokens)], beats, until, BEAT_EVERY * i / viewers
                )
                for i, client in enumerate(clients)
            ),
        )
    return hello, beats, lags


def make_links(base: str, key: str) -> list[str]:
    auth = {"Authorization": f"Bearer {key}"}
    tokens = []
    with httpx.Client(base_url=base, timeout=120) as client:
        for n in range(DOCUMENTS):
            prospect = {"id": f"p-load-{n}", "company": f"Load {n}", "needs": "Stop phishing."}
            made = client.post("/api/documents", json={"prospect": prospect}, headers=auth)
            made.raise_for_status()
            for m in range(LINKS_PER_DOCUMENT):
                link = client.post(
                    f"/api/documents/{made.json()['id']}/links",
                    json={"recipient": f"reader{n}-{m}@example.com"},
                    headers=auth,
                )
                link.raise_for_status()
                tokens.append(link.json()["token"])
    return tokens


async def stored_beats(url: str) -> int:
    """Heartbeats in the database (a (visit, seq) is one row, so none can be there twice)."""
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        return int(await connection.fetchval("SELECT count(*) FROM view_events"))
    finally:
        await connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--viewers", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="pitchmap-load-"))
    with throwaway_postgres() as url:
        env = {
            **os.environ,
            "PITCHMAP_DATA_DIR": str(work / "data"),
            "PITCHMAP_DATABASE_URL": url,
            "PITCHMAP_REP_NAME": "Bench",
        }
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        library = FIXTURES / "bastion" / "library"
        serve = [str(PITCHMAP), "serve", "--library", str(library), "--port", str(port)]
        server = start_server([*serve, "--workers", str(args.workers)], env, work)
        try:
            wait_healthy(base, server, timeout=600)
            key = rep_key(env, work, "load")
            tokens = make_links(base, key)
            hello, beats, lags = asyncio.run(crowd(base, tokens, args.viewers, args.seconds))
        finally:
            server.terminate()
            server.wait(timeout=60)
        stored = asyncio.run(stored_beats(url))
    print(f"{'route':<22}{'requests':>10}{'errors':>8}{'p50 ms':>9}{'p99 ms':>9}{'p99/hello':>11}")
    for name, tally in (("hello (/health)", hello), ("heartbeats", beats)):
        p50 = statistics.median(tally.latencies_ms) if tally.latencies_ms else float("nan")
        requests = len(tally.latencies_ms)
        print(
            f"{name:<22}{requests:>10}{tally.errors:>8}{p50:>9.1f}{tally.p99():>9.1f}"
            f"{tally.p99() / hello.p99():>11.2f}"
        )
    lag_p99 = statistics.quantiles(lags, n=100)[98]
    print(f"client event loop late by p99 {lag_p99:.1f} ms, max {max(lags):.0f} ms")
    for name, tally in (("hello", hello), ("heartbeats", beats)):
        if tally.slow_at:
            when = Counter(int(t) for t in tally.slow_at)
            print(
                f"{name} over {SLOW_MS:g} ms, by second of the phase: "
                + ", ".join(f"{second} s: {count}" for second, count in sorted(when.items()))
            )
    print(f"server log: {work / 'server.log'}", file=sys.stderr)
    print(
        f"load viewers={args.viewers} seconds={args.seconds:g} errors={beats.errors} "
        f"p99_ms={beats.p99():.1f} acknowledged={beats.acknowledged} stored={stored}"
    )


if __name__ == "__main__":
    main()
