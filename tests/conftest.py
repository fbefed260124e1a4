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
from typing import Any

import pytest

from api.settings import Settings
from bench import postgres
from bench.postgres import PG_BIN
from engine import Embedder
from tracker.database import database_url


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One ONNX export of the model for the whole run: each data folder making its own would
    cost 88 MB and seconds apiece."""
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="session", autouse=True)
def shared_model_cache(model_cache: Path) -> Iterator[None]:
    """The servers and commands the tests start use the run's export too."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PITCHMAP_MODEL_CACHE", str(model_cache))
        yield


@pytest.fixture(scope="session")
def embedder(model_cache: Path) -> Iterator[Embedder]:
    """The product's embedder: the packaged model through ONNX, exported once per session."""
    model = Embedder(cache_dir=model_cache)
    model.encode_queries(["warm up"])
    yield model


def make_settings(data_dir: Path, **options: Any) -> Settings:
    """The app's settings as a test wants them, on the run's one ONNX export of the model
    (where `shared_model_cache` put it: only inside a test run)."""
    return Settings(data_dir, model_cache=Path(os.environ["PITCHMAP_MODEL_CACHE"]), **options)


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
    client = ["-h", "127.0.0.1", "-p", port, "-U", "postgres", name]
    subprocess.run([str(PG_BIN / "createdb"), *client], check=True, capture_output=True)
    # Hundreds of databases left behind would fill a small CI disk before the run ends.
    drop = [str(PG_BIN / "dropdb"), "--force", "--if-exists", *client]
    request.addfinalizer(lambda: subprocess.run(drop, check=True, capture_output=True))
    return f"{server}/{name}"
