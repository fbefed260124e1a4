"""Served apps for the API and page tests, each started once per module (starting one loads
the embedding model): `served` per backend with API keys; `site` on SQLite and `any_site` per
backend, signed in through the pages, on the library of `library_blocks`."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import TestClient

from api.app import create_app
from api.settings import Settings
from tests.api.test_journey import BLOCKS as JOURNEY_BLOCKS
from tests.api.test_journey import Site
from tests.conftest import BACKENDS, make_settings, new_database
from tests.factories import write_library
from tracker.database import create_engine, create_sessions
from tracker.keys import create_key

BLOCKS = [
    {
        "id": "o-now",
        "slot": "opening",
        "title": "Why {{ prospect.company }} should act now",
        "body": "Fuel prices rose 30% this year.\n\nEvery idle hour costs {{ prospect.company }}.",
    },
    {"id": "v-fuel", "slot": "value", "title": "Cut diesel spend", "body": "Idle alerts cut fuel."},
    {"id": "v-safety", "slot": "value", "title": "Safer drivers", "body": "Coach harsh braking."},
    {"id": "p-fleet", "slot": "proof", "title": "Acme saved 12%", "body": "12% less diesel."},
]


@dataclass
class Served:
    client: TestClient  # type: ignore[type-arg]
    settings: Settings

    def key(self, role: str, name: str = "") -> str:
        return asyncio.run(new_key(self.settings.database_url, role, name))

    def auth(self, role: str, name: str = "") -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key(role, name)}"}


async def new_key(url: str, role: str, name: str) -> str:
    engine = create_engine(url)
    try:
        async with create_sessions(engine)() as session:
            _id, key = await create_key(session, role, name)
            await session.commit()
            return key
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def shared_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One data folder per test module, shared by its apps."""
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="module")
def library_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_library(tmp_path_factory.mktemp("lib") / "library", BLOCKS)


@pytest.fixture(scope="module", params=BACKENDS)
def served(
    request: pytest.FixtureRequest, shared_data: Path, library_dir: Path
) -> Iterator[Served]:
    url = new_database(request, str(request.param), shared_data)
    settings = make_settings(
        shared_data,
        database=url,
        rep_email="rep@vendor.example",
        base_url="https://share.example.com",
    )
    # https, as in production: the viewer's grant cookie is Secure there.
    with TestClient(
        create_app(settings, library_dir), base_url="https://testserver.local"
    ) as client:
        yield Served(client, settings)


@pytest.fixture(scope="module")
def library_blocks() -> list[dict[str, Any]] | None:
    """The blocks `site` and `any_site` serve; a module overrides this fixture to serve its own
    library, or none (None)."""
    return JOURNEY_BLOCKS


@pytest.fixture(scope="module")
def site_library(
    tmp_path_factory: pytest.TempPathFactory, library_blocks: list[dict[str, Any]] | None
) -> Path | None:
    if library_blocks is None:
        return None
    return write_library(tmp_path_factory.mktemp("lib") / "library", library_blocks)


@pytest.fixture(scope="module")
def site(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    site_library: Path | None,
) -> Iterator[Site]:
    with serve_site(request, "sqlite", tmp_path_factory.mktemp("data"), site_library) as site:
        yield site


@pytest.fixture(scope="module", params=BACKENDS)
def any_site(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    site_library: Path | None,
) -> Iterator[Site]:
    backend = str(request.param)
    with serve_site(request, backend, tmp_path_factory.mktemp("data"), site_library) as site:
        yield site


@contextmanager
def serve_site(
    request: pytest.FixtureRequest, backend: str, data: Path, library: Path | None
) -> Iterator[Site]:
    """The app on a new database of `backend`, reached over https as in production (the
    viewer's grant cookie is Secure there), its share links on a base URL of their own."""
    url = new_database(request, backend, data)
    settings = make_settings(data, database=url, base_url="https://s.example")
    with TestClient(create_app(settings, library), base_url="https://testserver.local") as client:
        yield Site(client, settings)
