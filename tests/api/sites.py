"""Helpers the page tests share for reaching a served site's database directly: to arrange
rows the pages then count, and to check what a request wrote."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

from api.settings import Settings
from tracker.database import create_engine, create_sessions

T = TypeVar("T")


class ServedApp(Protocol):
    """A served app whose database a test reaches: a page test's Site or an API test's Served."""

    settings: Settings


def in_database(site: ServedApp, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
    """Run `work` in a committed transaction of the site's database."""

    async def run() -> T:
        engine = create_engine(site.settings.database_url)
        try:
            async with create_sessions(engine).begin() as session:
                return await work(session)
        finally:
            await engine.dispose()

    return asyncio.run(run())
