"""Tracker tests get a migrated database and a session on it, on each backend (the database
fixtures themselves live in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncSession

from tracker.database import create_engine, create_sessions, migrate


@pytest.fixture
def migrated_url(db_url: str) -> str:
    migrate(db_url)
    return db_url


@pytest_asyncio.fixture
async def session(migrated_url: str) -> AsyncIterator[AsyncSession]:
    engine = create_engine(migrated_url)
    try:
        async with create_sessions(engine)() as session:
            yield session
    finally:
        await engine.dispose()
