"""Shared fixtures: the real embedding model, loaded once per test session, and real
databases: a SQLite file and a throwaway PostgreSQL 15 server.

The PostgreSQL server is started once per session (initdb into a temporary folder, trust auth,
loopback only); each test gets a database of its own. Where PostgreSQL is not installed the
PostgreSQL half is skipped on a workstation but fails in CI, so CI can never quietly test
SQLite alone.
"""

from __future__ import annotations

import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine import Embedder
from tracker.database import database_url


@pytest.fixture(scope="session")
def embedder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Embedder]:
    """The product's embedder: the packaged model through ONNX, exported once per session."""
    model = Embedder(cache_dir=tmp_path_factory.mktemp("models"))
    model.encode_queries(["warm up"])
    yield model


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


PG_BIN = Path("/usr/lib/postgresql/15/bin")
_database_names = itertools.count(1)


def _as_postgres(command: list[str]) -> list[str]:
    # initdb and the server refuse to run as root.
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The URL of a running throwaway PostgreSQL server (no database part)."""
    if not (PG_BIN / "initdb").exists():
        message = f"PostgreSQL 15 is not installed ({PG_BIN / 'initdb'} is missing)"
        if os.environ.get("CI") == "true":
            pytest.fail(message + ": CI must test PostgreSQL too")
        pytest.skip(message)
    root = Path(tempfile.mkdtemp(prefix="pitchmap-pg-"))
    root.chmod(0o755)
    data = root / "data"
    data.mkdir(mode=0o700)
    if os.geteuid() == 0:
        shutil.chown(data, "postgres", "postgres")
    port = _free_port()
    initdb = [str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust"]
    initdb += ["-E", "UTF8", "--locale=C.UTF-8", "--no-sync"]
    subprocess.run(_as_postgres(initdb), check=True, capture_output=True)
    options = (
        f"-p {port} -c listen_addresses=127.0.0.1 -k {data} "
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    )
    pg_ctl = str(PG_BIN / "pg_ctl")
    start = [pg_ctl, "-D", str(data), "-l", str(data / "server.log"), "-w", "-o", options, "start"]
    subprocess.run(_as_postgres(start), check=True, capture_output=True)
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:{port}"
    finally:
        subprocess.run(
            _as_postgres([pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"]),
            check=False,
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)


BACKENDS = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database on each backend: a fresh SQLite file, or a fresh PostgreSQL database."""
    return new_database(request, str(request.param), tmp_path / "data")


def new_database(request: pytest.FixtureRequest, backend: str, folder: Path) -> str:
    """The URL of a new empty database: an SQLite file in `folder`, or a PostgreSQL database."""
    if backend == "sqlite":
        return database_url(folder)
    server: str = request.getfixturevalue("postgres_server")
    name = f"test_{os.getpid()}_{next(_database_names)}"
    port = server.rsplit(":", 1)[1]
    subprocess.run(
        [str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", port, "-U", "postgres", name],
        check=True,
        capture_output=True,
    )
    return f"{server}/{name}"
