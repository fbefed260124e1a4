"""`pitchmap serve --workers 2` as an operator runs it, on SQLite and on PostgreSQL: both
workers answer and are ready, the database was migrated and the library stored once, /metrics
adds up both workers' requests, visits and heartbeats, and stderr holds JSON lines that name
routes, never tokens or keys."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar.testing import TestClient
from sqlalchemy import text

from api.app import create_app
from bench.common import free_port
from bench.postgres import PG_BIN
from engine import Embedder
from tests.cli_runner import PITCHMAP
from tests.conftest import BACKENDS, make_settings, new_database
from tests.factories import write_library
from tracker.database import create_engine, create_sessions
from tracker.keys import create_key

BLOCKS = [
    {"id": "open-fuel", "slot": "opening", "body": "Diesel prices doubled since last year."},
    {"id": "val-fuel", "slot": "value", "body": "Cut fuel spend with smoother routes."},
    {"id": "val-brakes", "slot": "value", "body": "Coach drivers who brake too hard."},
    {"id": "proof-acme", "slot": "proof", "body": "Acme Haulage saved 9% in a quarter."},
]
PROSPECT = {"id": "p-northwind", "company": "Northwind Freight", "industry": "logistics"}
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/156.0 Safari/537.36"
START_S = 60
JSON_FIELDS = {"time", "level", "logger", "message", "pid"}
REQUEST_FIELDS = {"method", "route", "status", "duration_ms", "request_id"}


@dataclass(frozen=True)
class Server:
    base: str
    url: str  # the database's
    log: Path  # the server's stderr
    admin: dict[str, str]  # the headers of an admin key


@pytest.fixture(scope="module", params=BACKENDS)
def server(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    embedder: Embedder,  # the model exported once, before the workers start
) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("workers")
    url = new_database(request, str(request.param), folder / "data")
    env = {**os.environ, "PITCHMAP_DATA_DIR": str(folder / "data"), "PITCHMAP_DATABASE_URL": url}
    library = write_library(folder / "library", BLOCKS)
    port = free_port()
    log = folder / "stderr.log"
    command = [str(PITCHMAP), "serve", "--library", str(library), "--workers", "2"]
    with log.open("wb") as stderr:
        process = subprocess.Popen(
            [*command, "--port", str(port)],
            env=env,
            cwd=folder,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_ready(base, process, log)
        key = asyncio.run(_admin_key(url))
        yield Server(base, url, log, {"Authorization": f"Bearer {key}"})
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=30)


def _wait_ready(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"pitchmap serve exited with {process.returncode}:\n{log.read_text()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base}/ready", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    pytest.fail(f"pitchmap serve was not ready in {START_S} s:\n{log.read_text()}")


@pytest.mark.slow
def test_both_workers_answer_ready(server: Server) -> None:
    """Each request on a new connection goes to whichever worker accepts it first; the second
    worker may still be starting when the first answers."""
    workers: set[int] = set()
    deadline = time.monotonic() + START_S
    while len(workers) < 2 and time.monotonic() < deadline:
        workers.add(_ready(server))
        time.sleep(0.05)
    assert len(workers) == 2
    assert {_ready(server) for _ in range(20)} <= workers
    started = _samples(_metrics(server), "pitchmap_worker_started_seconds")
    assert {int(labels["pid"]) for labels, _ in started} == workers


def _ready(server: Server) -> int:
    answer = httpx.get(f"{server.base}/ready")  # a new connection every time
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "ready"
    assert answer.json()["library"] == "Test pitch"
    worker: int = answer.json()["worker"]
    return worker


@pytest.mark.slow
def test_migrations_ran_once_and_the_library_was_stored_once(server: Server) -> None:
    counts = asyncio.run(
        _scalars(
            server.url,
            "SELECT count(*) FROM alembic_version",
            "SELECT count(*) FROM libraries",
            "SELECT count(*) FROM blocks",
            "SELECT count(*) FROM block_versions",
        )
    )
    assert counts == [1, 1, len(BLOCKS), len(BLOCKS)]
    assert [line for line in _log_lines(server) if line["level"] in ("error", "critical")] == []


@pytest.mark.slow
def test_metrics_add_up_every_workers_requests_visits_and_heartbeats(server: Server) -> None:
    before = _metrics(server)
    for _ in range(10):
        assert httpx.get(f"{server.base}/health").status_code == 200
    with httpx.Client(base_url=server.base, headers=server.admin, timeout=60) as client:
        token = _share(client)
        started = client.post(f"/d/{token}/visits", json={}, headers={"User-Agent": BROWSER})
        assert started.status_code == 201, started.text
        visit = started.json()
        for seq in (1, 2):
            beat = {"visit": visit["visit"], "secret": visit["secret"], "seq": seq, "seen": [0]}
            assert client.post(f"/d/{token}/events", json=beat).status_code == 204
    after = _metrics(server)

    def grew(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    assert grew("pitchmap_requests_total", route="/health", method="GET", status="200") == 10
    latency = "pitchmap_request_duration_seconds_count"
    assert grew(latency, route="/health", method="GET", status="200") == 10
    assert grew(latency, route="/d/{token}/events", method="POST", status="204") == 2
    assert grew("pitchmap_visits_started_total") == 1
    assert grew("pitchmap_heartbeats_acknowledged_total") == 2
    assert httpx.get(f"{server.base}/metrics").status_code == 401


@pytest.mark.slow
def test_log_lines_are_json_with_the_request_fields_and_no_token(server: Server) -> None:
    with httpx.Client(base_url=server.base, headers=server.admin, timeout=60) as client:
        token = _share(client)
        opened = client.get(f"/d/{token}")
        assert opened.status_code == 200
    request_id = opened.headers["x-request-id"]
    time.sleep(0.5)  # the log's writer thread
    lines = _log_lines(server)
    assert all(set(line) >= JSON_FIELDS for line in lines)
    viewer = [line for line in lines if line.get("request_id") == request_id]
    assert len(viewer) == 1
    assert set(viewer[0]) >= REQUEST_FIELDS
    assert viewer[0]["route"] == "/d/{token}"
    assert viewer[0]["method"] == "GET"
    assert viewer[0]["status"] == 200
    assert viewer[0]["duration_ms"] > 0
    written = server.log.read_text()
    assert token not in written
    assert server.admin["Authorization"].split()[1] not in written


@pytest.mark.postgres
def test_ready_answers_503_with_the_reason_once_the_database_is_gone(
    request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    url = new_database(request, "postgres", tmp_path)
    app = create_app(make_settings(tmp_path / "data", database=url))
    with TestClient(app) as client:
        ready = client.get("/ready")
        assert ready.status_code == 200, ready.text
        assert ready.json() == {"status": "ready", "worker": os.getpid()}  # no library given
        server, name = url.rsplit("/", 1)
        port = server.rsplit(":", 1)[1]
        dropdb = [str(PG_BIN / "dropdb"), "-h", "127.0.0.1", "-p", port, "-U", "postgres"]
        subprocess.run([*dropdb, "--force", name], check=True, capture_output=True)
        gone = client.get("/ready")
    assert gone.status_code == 503
    assert gone.json()["status"] == "unavailable"
    assert gone.json()["reason"].startswith("the database does not answer")


def _share(client: httpx.Client) -> str:
    made = client.post("/api/documents", json={"prospect": PROSPECT, "as_of": "2026-11-24"})
    assert made.status_code == 201, made.text
    link = client.post(
        f"/api/documents/{made.json()['id']}/links", json={"recipient": "dana@northwind.example"}
    )
    assert link.status_code == 201, link.text
    token: str = link.json()["token"]
    return token


def _log_lines(server: Server) -> list[dict[str, Any]]:
    """Every log line; the only other lines on stderr are the start's progress bar."""
    lines = [line for line in server.log.read_text().splitlines() if line.strip()]
    logged = [line for line in lines if not line.startswith("embedding ")]
    return [json.loads(line) for line in logged]


def _metrics(server: Server) -> str:
    answer = httpx.get(f"{server.base}/metrics", headers=server.admin)
    assert answer.status_code == 200, answer.text
    # Prometheus' text format, its charset said once.
    assert answer.headers["content-type"] == "text/plain; version=1.0.0; charset=utf-8"
    return answer.text


_SAMPLE = re.compile(r"^(\w+)(?:\{(.*)\})? (\S+)$")
_LABEL = re.compile(r'(\w+)="([^"]*)"')


def _samples(exposition: str, name: str) -> list[tuple[dict[str, str], float]]:
    found = (_SAMPLE.match(line) for line in exposition.splitlines())
    return [
        (dict(_LABEL.findall(m.group(2) or "")), float(m.group(3)))
        for m in found
        if m and m.group(1) == name
    ]


def _value(exposition: str, name: str, **labels: str) -> float:
    return sum(v for found, v in _samples(exposition, name) if found == labels)


async def _admin_key(url: str) -> str:
    engine = create_engine(url)
    try:
        async with create_sessions(engine)() as session:
            _, key = await create_key(session, "admin", "scraper")
            await session.commit()
            return key
    finally:
        await engine.dispose()


async def _scalars(url: str, *queries: str) -> list[int]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return [int((await connection.execute(text(q))).scalar_one()) for q in queries]
    finally:
        await engine.dispose()
