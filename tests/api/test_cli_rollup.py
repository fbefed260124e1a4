"""`pitchmap rollup` as an operator runs it: it rolls the finished visits of the data folder's
database into marketing's roll-ups, says how many on stdout, and a second run adds none."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from sqlalchemy import Select, func, select

from tests.cli_runner import pitchmap
from tests.tracker.test_reports import build
from tracker.database import create_engine, create_sessions, database_url, migrate
from tracker.models import RollupBlockTotal, RollupState, Visit


async def _seed(url: str) -> None:
    """A world of finished visits (March 2024)."""
    engine = create_engine(url)
    try:
        async with create_sessions(engine)() as session:
            await build(session)
            await session.commit()
    finally:
        await engine.dispose()


def _scalar(url: str, query: Select[Any]) -> int:
    async def read() -> int:
        engine = create_engine(url)
        try:
            async with create_sessions(engine)() as session:
                return int(await session.scalar(query) or 0)
        finally:
            await engine.dispose()

    return asyncio.run(read())


def test_rollup_adds_every_finished_visit_once(tmp_path: Path) -> None:
    url = database_url(tmp_path / "data")
    migrate(url)
    asyncio.run(_seed(url))
    visits = _scalar(url, select(func.count()).select_from(Visit))
    totals = select(func.count()).select_from(RollupBlockTotal)
    assert visits > 0

    first = pitchmap(tmp_path, "rollup")
    assert first.code == 0, first.stderr
    assert first.stdout.strip() == str(visits)
    assert _scalar(url, select(RollupState.visit_id)) == _scalar(url, select(func.max(Visit.id)))
    rolled = _scalar(url, totals)
    assert rolled > 0

    again = pitchmap(tmp_path, "rollup")
    assert again.code == 0, again.stderr
    assert again.stdout.strip() == "0"
    assert _scalar(url, totals) == rolled
