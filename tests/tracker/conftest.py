"""Tracker tests get a migrated database and a session on it, on each backend (the database
fixtures themselves live in tests/conftest.py)."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncSession

from tests.conftest import new_database
from tracker.database import create_engine, create_sessions, migrate


@pytest.fixture
def migrated_url(db_url: str) -> str:
    migrate(db_url)
    return db_url


@contextlib.asynccontextmanager
async def session_on(url: str) -> AsyncIterator[AsyncSession]:
    engine = create_engine(url)
    try:
        async with create_sessions(engine)() as session:
            yield session
    finally:
        await engine.dispose()


@pytest_asyncio.fixture
async def session(migrated_url: str) -> AsyncIterator[AsyncSession]:
    async with session_on(migrated_url) as session:
        yield session


@pytest.fixture
def postgres_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated PostgreSQL database, for what only PostgreSQL has (partitions, locks)."""
    url = new_database(request, "postgres", tmp_path)
    migrate(url)
    return url


@pytest_asyncio.fixture
async def postgres_session(postgres_url: str) -> AsyncIterator[AsyncSession]:
    async with session_on(postgres_url) as session:
        yield session
