"""`pitchmap purge` as an operator runs it, on both backends: the rows removed on stdout, what
they were on stderr, nothing the second time, and a bad period refused naming its option."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest

from tests.cli_runner import pitchmap
from tests.conftest import BACKENDS, new_database
from tests.tracker.test_purge import SECTION_ROWS
from tests.tracker.test_reports import build
from tracker.database import create_engine, create_sessions, migrate
from tracker.rollup import roll_up


async def _seed(url: str) -> None:
    """test_reports' world: five visits in March 2024, all rolled up."""
    engine = create_engine(url)
    try:
        async with create_sessions(engine)() as session:
            await build(session)
            await roll_up(session, dt.datetime.now(dt.UTC))
    finally:
        await engine.dispose()


@pytest.fixture(params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, str]:
    """The environment of a data folder whose database (on each backend) holds the world."""
    url = new_database(request, str(request.param), tmp_path / "data")
    migrate(url)
    asyncio.run(_seed(url))
    return {"PITCHMAP_DATABASE_URL": url}


def test_purge_prints_the_rows_removed_and_then_nothing(
    tmp_path: Path, database: dict[str, str]
) -> None:
    first = pitchmap(tmp_path, "purge", "--older-than", "30", **database)
    assert first.code == 0, first.stderr
    assert first.stdout.strip() == str(5 + SECTION_ROWS)
    assert f"removed 5 visits started more than 30 days ago, {SECTION_ROWS}" in first.stderr

    again = pitchmap(tmp_path, "purge", "--older-than", "30", **database)
    assert again.code == 0, again.stderr
    assert again.stdout.strip() == "0"


def test_the_retention_setting_is_the_default_period(
    tmp_path: Path, database: dict[str, str]
) -> None:
    kept = pitchmap(tmp_path, "purge", **database, PITCHMAP_RETENTION_DAYS="36500")
    assert kept.code == 0, kept.stderr
    assert kept.stdout.strip() == "0"

    done = pitchmap(tmp_path, "purge", **database, PITCHMAP_RETENTION_DAYS="30")
    assert done.code == 0, done.stderr
    assert done.stdout.strip() == str(5 + SECTION_ROWS)


@pytest.mark.parametrize("days", ["-3", "0", "thirty"])
def test_a_bad_period_is_refused_naming_the_option(
    tmp_path: Path, database: dict[str, str], days: str
) -> None:
    done = pitchmap(tmp_path, "purge", "--older-than", days, **database)
    assert done.code == 2
    assert "--older-than" in done.stderr
    assert done.stdout == ""


def test_no_period_at_all_is_refused(tmp_path: Path) -> None:
    done = pitchmap(tmp_path, "purge")
    assert done.code == 2
    assert "--older-than" in done.stderr
    assert "PITCHMAP_RETENTION_DAYS" in done.stderr


def test_a_bad_retention_setting_is_refused_naming_it(tmp_path: Path) -> None:
    done = pitchmap(tmp_path, "purge", PITCHMAP_RETENTION_DAYS="a month")
    assert done.code == 1
    assert "PITCHMAP_RETENTION_DAYS" in done.stderr
