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
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench import postgres
from bench.postgres import PG_BIN
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


_database_names = itertools.count(1)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The URL of a running throwaway PostgreSQL server (no database part)."""
    if not postgres.installed():
        message = f"PostgreSQL 15 is not installed ({postgres.PG_BIN / 'initdb'} is missing)"
        if os.environ.get("CI") == "true":
            pytest.fail(message + ": CI must test PostgreSQL too")
        pytest.skip(message)
    with postgres.throwaway_postgres() as url:
        yield url.removesuffix("/postgres")


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
