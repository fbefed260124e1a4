"""Helpers the page tests share for reaching a served site's database directly: to arrange
rows the pages then count, and to check what a request wrote."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from tests.api.test_journey import Site
from tracker.database import create_engine, create_sessions

T = TypeVar("T")


def in_database(site: Site, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in a committed transaction of the site's database."""

    async def run() -> T:
        engine = create_engine(site.settings.database_url)
        try:
            async with create_sessions(engine).begin() as session:
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(run())
