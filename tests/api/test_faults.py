"""Faults during ingestion, against a real `pitchmap serve --workers 2` on loopback: a worker
killed, the whole server killed, PostgreSQL stopped for a few seconds, SQLite's disk full.

Viewers behave as the viewer script does: a heartbeat that is not acknowledged (an error, or
no answer at all) is sent again with the same `seq` until it is. The server acknowledges a
heartbeat (204) only once its batch has committed (tracker/ingest.py), and stores a
(visit, seq) once however often it arrives. So after each fault every acknowledged heartbeat
is stored, none twice, and the time on screen is not counted twice: each heartbeat carries
1 ms, so each visit's section time equals its number of stored heartbeats.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shlex
import signal
import sqlite3
import subprocess
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from bench.common import free_port
from bench.postgres import PG_BIN, _as_postgres, throwaway_postgres
from tests.api.test_workers import (
    BLOCKS,
    BROWSER,
    START_S,
    Server,
    _admin_key,
    _ready,
    _share,
    _wait_ready,
)
from tests.cli_runner import PITCHMAP
from tests.conftest import BACKENDS, new_database
from tests.factories import write_library
from tracker.database import create_engine

pytestmark = pytest.mark.slow

VIEWERS = 8
TIMEOUT_S = 5.0  # a request not answered in this time is "no answer", as for the browser
RESEND_S = 0.05  # how long a viewer waits before sending a refused heartbeat again


@dataclass
class Launch:
    """How to start the server again exactly as before: same port, data and database."""

    folder: Path
    url: str
    port: int
    process: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.folder / "stderr.log"

    def start(self) -> None:
        """Its own process group, so that the supervisor and its workers die together."""
        env = {
            **os.environ,
            "PITCHMAP_DATA_DIR": str(self.folder / "data"),
            "PITCHMAP_DATABASE_URL": self.url,
        }
        command = [str(PITCHMAP), "serve", "--library", str(self.folder / "library")]
        with self.log.open("ab") as stderr:
            self.process = subprocess.Popen(
                [*command, "--workers", "2", "--port", str(self.port)],
                env=env,
                cwd=self.folder,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                start_new_session=True,
            )
        _wait_ready(self.base, self.process, self.log)

    def kill(self) -> None:
        """`kill -9` of the supervisor and every worker at once."""
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()

    def errors(self) -> list[str]:
        lines = (line for line in self.log.read_text().splitlines() if line.startswith("{"))
        logged = [json.loads(line) for line in lines]
        return [line["message"] for line in logged if line["level"] == "error"]


@contextlib.contextmanager
def serving(folder: Path, url: str) -> Iterator[tuple[Launch, Server, str]]:
    """The server started on the database at `url`, an admin key and a share link's token."""
    folder.mkdir(exist_ok=True)
    write_library(folder / "library", BLOCKS)
    launch = Launch(folder, url, free_port())
    try:
        launch.start()
        key = asyncio.run(_admin_key(url))
        server = Server(launch.base, url, launch.log, {"Authorization": f"Bearer {key}"})
        with httpx.Client(base_url=launch.base, headers=server.admin, timeout=60) as client:
            token = _share(client)
        yield launch, server, token
    finally:
        launch.stop()


@dataclass
class Viewer:
    """One reader's page: a visit, and the heartbeats the server acknowledged."""

    visit: int
    secret: str
    acknowledged: list[int] = field(default_factory=list)
    answers: dict[int, int] = field(default_factory=dict)  # status -> how many
    unanswered: int = 0
    retry_after: set[str] = field(default_factory=set)  # the Retry-After of each 503

    async def read(self, client: httpx.AsyncClient, token: str, until: asyncio.Event) -> None:
        """Heartbeats one after another, each sent again until acknowledged; stops after the
        first acknowledgement once `until` is set."""
        seq = 1
        while True:
            body = {
                "visit": self.visit,
                "secret": self.secret,
                "seq": seq,
                "dwell": {"0": 1},
                "seen": [0],
            }
            try:
                answer = await client.post(f"/d/{token}/events", json=body)
            except httpx.HTTPError:
                self.unanswered += 1
            else:
                self.answers[answer.status_code] = self.answers.get(answer.status_code, 0) + 1
                if answer.status_code == 503:
                    self.retry_after.add(answer.headers.get("retry-after", ""))
                if answer.status_code == 204:
                    self.acknowledged.append(seq)
                    seq += 1
                    if until.is_set():
                        # As if the answer had been lost: the same heartbeat again, stored once.
                        replay = await client.post(f"/d/{token}/events", json=body)
                        assert replay.status_code == 204, replay.text
                        return
                    continue
            await asyncio.sleep(RESEND_S)


async def open_visits(base: str, token: str) -> list[Viewer]:
    async with httpx.AsyncClient(base_url=base, timeout=TIMEOUT_S) as client:
        viewers = []
        for _ in range(VIEWERS):
            opened = await client.post(
                f"/d/{token}/visits", json={}, headers={"User-Agent": BROWSER}
            )
            assert opened.status_code == 201, opened.text
            viewers.append(Viewer(opened.json()["visit"], opened.json()["secret"]))
        return viewers


async def read_through(
    launch: Launch, token: str, viewers: list[Viewer], fault: Callable[[], Awaitable[None]]
) -> None:
    """Run the viewers while `fault` happens, then until each has one more heartbeat
    acknowledged."""
    until = asyncio.Event()
    limits = httpx.Limits(max_connections=VIEWERS * 2)
    async with httpx.AsyncClient(base_url=launch.base, timeout=TIMEOUT_S, limits=limits) as client:
        reading = [asyncio.create_task(v.read(client, token, until)) for v in viewers]
        try:
            await fault()
        finally:
            until.set()
        async with asyncio.timeout(60):
            await asyncio.gather(*reading)


_EVENTS = text("SELECT seq, dwell_ms FROM view_events WHERE visit_id = :v ORDER BY seq")
_SECTION_TIME = text("SELECT coalesce(sum(dwell_ms), 0) FROM section_time WHERE visit_id = :v")


async def stored(url: str, viewers: list[Viewer]) -> dict[int, tuple[list[int], int, int]]:
    """Per visit: its stored seqs in order, their dwell summed, and its section time."""
    engine = create_engine(url)
    found: dict[int, tuple[list[int], int, int]] = {}
    try:
        async with engine.connect() as connection:
            for viewer in viewers:
                events = (await connection.execute(_EVENTS, {"v": viewer.visit})).all()
                section = await connection.execute(_SECTION_TIME, {"v": viewer.visit})
                dwell = sum(row.dwell_ms for row in events)
                found[viewer.visit] = ([row.seq for row in events], dwell, section.scalar_one())
    finally:
        await engine.dispose()
    return found


def assert_each_acknowledged_heartbeat_stored_once(url: str, viewers: list[Viewer]) -> None:
    found = asyncio.run(stored(url, viewers))
    for viewer in viewers:
        events, dwell, section = found[viewer.visit]
        # Each viewer moved on only once acknowledged, so it sent exactly 1..n.
        assert viewer.acknowledged == list(range(1, len(viewer.acknowledged) + 1))
        assert events == viewer.acknowledged
        assert dwell == section == len(events)  # 1 ms each, none counted twice


def two_workers(server: Server) -> set[int]:
    """The two workers answering once uvicorn's supervisor has replaced a killed one."""
    workers: set[int] = set()
    deadline = time.monotonic() + START_S
    while len(workers) < 2 and time.monotonic() < deadline:
        workers.add(_ready(server))
        time.sleep(0.05)
    return workers


@pytest.mark.usefixtures("embedder")  # the model exported once, before the workers start
@pytest.mark.parametrize("backend", BACKENDS)
def test_kill_9_of_a_worker_and_of_the_whole_server_loses_and_doubles_nothing(
    request: pytest.FixtureRequest, tmp_path: Path, backend: str
) -> None:
    url = new_database(request, backend, tmp_path / "data")
    with serving(tmp_path, url) as (launch, server, token):
        viewers = asyncio.run(open_visits(launch.base, token))
        killed: list[int] = []
        replaced: set[int] = set()

        async def faults() -> None:
            await asyncio.sleep(1.0)
            killed.append(await asyncio.to_thread(_ready, server))
            os.kill(killed[0], signal.SIGKILL)  # one worker; the other goes on answering
            replaced.update(await asyncio.to_thread(two_workers, server))
            await asyncio.to_thread(launch.kill)  # the supervisor and both workers
            await asyncio.sleep(0.5)
            await asyncio.to_thread(launch.start)
            await asyncio.sleep(1.0)

        asyncio.run(read_through(launch, token, viewers, faults))
    assert_each_acknowledged_heartbeat_stored_once(url, viewers)
    assert len(replaced) == 2 and killed[0] not in replaced  # the supervisor started another
    assert sum(v.unanswered for v in viewers) > 0  # the kills did cut requests off
    assert all(len(v.acknowledged) > 10 for v in viewers)


@contextlib.contextmanager
def own_postgres() -> Iterator[tuple[str, Path]]:
    """A PostgreSQL server of this test's own (stopping the shared one would fail other
    tests): its URL and its data folder."""
    with throwaway_postgres() as url:
        engine_url = url.replace("postgresql+asyncpg://", "postgresql://")
        folder = subprocess.run(
            [str(PG_BIN / "psql"), engine_url, "-Atc", "SHOW data_directory"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        yield url, Path(folder)


def pg_ctl(data: Path, *arguments: str) -> None:
    command = [str(PG_BIN / "pg_ctl"), "-D", str(data), "-w", *arguments]
    subprocess.run(_as_postgres(command), check=True, capture_output=True)


def restart_postgres(data: Path) -> None:
    """Start it again as it was started: `postmaster.opts` holds its last command line."""
    options = shlex.split((data / "postmaster.opts").read_text())[1:]
    pg_ctl(data, "-l", str(data / "server.log"), "-o", shlex.join(options), "start")


@pytest.mark.usefixtures("embedder")
@pytest.mark.postgres
def test_postgresql_stopped_for_seconds_answers_503_and_recovers_by_itself(tmp_path: Path) -> None:
    with own_postgres() as (url, data), serving(tmp_path, url) as (launch, _, token):
        viewers = asyncio.run(open_visits(launch.base, token))
        during: dict[str, int] = {}

        async def outage() -> None:
            await asyncio.sleep(1.0)
            await asyncio.to_thread(pg_ctl, data, "-m", "fast", "stop")
            async with httpx.AsyncClient(base_url=launch.base, timeout=TIMEOUT_S) as client:
                started = await client.post(
                    f"/d/{token}/visits", json={}, headers={"User-Agent": BROWSER}
                )
                during["visits"] = started.status_code
                during["retry_after"] = int(started.headers.get("retry-after", 0))
            await asyncio.sleep(3.0)
            await asyncio.to_thread(restart_postgres, data)
            await asyncio.sleep(1.5)

        asyncio.run(read_through(launch, token, viewers, outage))
        errors = launch.errors()
        assert_each_acknowledged_heartbeat_stored_once(url, viewers)
    assert during == {"visits": 503, "retry_after": 5}
    answers = {status for v in viewers for status in v.answers}
    assert answers == {204, 503}  # never a 500
    assert sum(v.unanswered for v in viewers) == 0  # never a hang
    assert {ra for v in viewers for ra in v.retry_after} == {"5"}
    assert any(m.startswith("the database is unavailable: ") for m in errors)


@contextlib.contextmanager
def small_disk(folder: Path, size: str = "16m") -> Iterator[Path]:
    """A tmpfs of `size` at `folder`: a disk that fills up for real (mounting needs root)."""
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "--lazy", str(folder)], check=True)


def fill(disk: Path) -> Path:
    """Write a file on `disk` until no byte is left, after emptying the SQLite WAL (it would
    otherwise take new frames into space it already holds)."""
    with contextlib.closing(sqlite3.connect(disk / "pitchmap.db", timeout=10)) as database:
        database.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    filler = disk / "filler"
    with filler.open("wb", buffering=0) as out:
        chunk = b"\0" * 65536
        with contextlib.suppress(OSError):
            while True:
                out.write(chunk)
        with contextlib.suppress(OSError):
            while True:
                out.write(b"\0")
    assert os.statvfs(disk).f_bavail == 0
    return filler


@pytest.mark.usefixtures("embedder")
def test_sqlite_disk_full_answers_503_corrupts_nothing_and_recovers_when_space_returns(
    tmp_path: Path,
) -> None:
    with small_disk(tmp_path / "disk") as disk:
        url = f"sqlite+aiosqlite:///{disk / 'pitchmap.db'}"
        with serving(tmp_path / "server", url) as (launch, _, token):
            viewers = asyncio.run(open_visits(launch.base, token))
            during: dict[str, int] = {}

            async def disk_full() -> None:
                await asyncio.sleep(1.0)
                filler = await asyncio.to_thread(fill, disk)
                await asyncio.sleep(1.0)
                async with httpx.AsyncClient(base_url=launch.base, timeout=TIMEOUT_S) as client:
                    started = await client.post(
                        f"/d/{token}/visits", json={}, headers={"User-Agent": BROWSER}
                    )
                during["visits"] = started.status_code
                await asyncio.sleep(1.0)
                filler.unlink()  # space returns; the server is not restarted
                await asyncio.sleep(1.5)

            asyncio.run(read_through(launch, token, viewers, disk_full))
            errors = launch.errors()
            assert_each_acknowledged_heartbeat_stored_once(url, viewers)
        with contextlib.closing(sqlite3.connect(disk / "pitchmap.db")) as database:
            checked = database.execute("PRAGMA integrity_check").fetchall()
    assert checked == [("ok",)]
    assert during == {"visits": 503}
    answers = {status for v in viewers for status in v.answers}
    assert answers == {204, 503}
    assert sum(v.unanswered for v in viewers) == 0
    full = "the database is unavailable: OperationalError: database or disk is full"
    assert full in errors
