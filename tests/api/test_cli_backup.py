"""`pitchmap backup DEST` as an operator runs it: a copy of the live SQLite database that,
restored as another data folder's database, reads back the same reports; never an overwrite,
never half a file, and for PostgreSQL a pointer to pg_dump."""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
from pathlib import Path

from sqlalchemy import func, select

from tests.cli_runner import pitchmap
from tests.tracker.test_reports import build, sha
from tracker.database import DATABASE_FILE, create_engine, create_sessions, database_url, migrate
from tracker.models import Visit
from tracker.reports import EngagementFilter, block_engagement, document_report, link_report
from tracker.rollup import roll_up


async def _seed(url: str) -> None:
    """test_reports' world (March 2024), its first two visits rolled up: the backup must carry
    the roll-ups and their mark as well as the raw rows."""
    engine = create_engine(url)
    try:
        async with create_sessions(engine)() as session:
            await build(session)
            await roll_up(session, dt.datetime(2024, 3, 6, tzinfo=dt.UTC))
    finally:
        await engine.dispose()


def _reports(url: str) -> list[object]:
    """Every link's report, every document's report and the block leaderboard."""

    async def read() -> list[object]:
        engine = create_engine(url)
        try:
            async with create_sessions(engine)() as session:
                found: list[object] = [await block_engagement(session, EngagementFilter())]
                await session.commit()
                for link_id in range(1, 5):
                    found.append(await link_report(session, link_id))
                for document_id in ("d1", "d2", "d3"):
                    found.append(await document_report(session, document_id))
                found.append(await session.scalar(select(func.count()).select_from(Visit)))
                return found
        finally:
            await engine.dispose()

    return asyncio.run(read())


def _live_database(folder: Path) -> str:
    url = database_url(folder / "data")
    migrate(url)
    asyncio.run(_seed(url))
    return url


def test_a_backup_taken_while_the_server_writes_restores_to_the_same_reports(
    tmp_path: Path,
) -> None:
    url = _live_database(tmp_path)
    original = _reports(url)
    # A heartbeat writer in the middle of its transaction, as the server may be at any time.
    writer = sqlite3.connect(tmp_path / "data" / DATABASE_FILE, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")
    writer.execute(
        "INSERT INTO visits (link_id, created_at, month, secret_hash, user_agent_kind, last_seq) "
        "VALUES (1, '2024-03-20 10:00:00.000000', '2024-03-01', ?, 'browser', 0)",
        (sha("a visit being written"),),
    )

    done = pitchmap(tmp_path, "backup", "pitchmap-backup.db")
    writer.execute("COMMIT")
    writer.close()

    assert done.code == 0, done.stderr
    backup = tmp_path / "pitchmap-backup.db"
    assert done.stdout.strip() == str(backup)
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []
    restored = tmp_path / "restored"
    (restored / "data").mkdir(parents=True)
    (restored / "data" / DATABASE_FILE).write_bytes(backup.read_bytes())
    restored_url = database_url(restored / "data")
    migrate(restored_url)  # what `pitchmap serve` does first: nothing to do
    assert _reports(restored_url) == original
    assert _reports(url) != original  # the visit committed after the snapshot is not in it


def test_a_backup_never_overwrites_a_file(tmp_path: Path) -> None:
    _live_database(tmp_path)
    existing = tmp_path / "old.db"
    existing.write_bytes(b"yesterday's backup")

    done = pitchmap(tmp_path, "backup", existing)

    assert done.code == 1
    assert done.stdout == ""
    assert "exists already" in done.stderr
    assert existing.read_bytes() == b"yesterday's backup"


def test_a_failed_backup_leaves_nothing_behind(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / DATABASE_FILE).write_bytes(b"not a database" * 1000)
    out = tmp_path / "backups"
    out.mkdir()

    done = pitchmap(tmp_path, "backup", out / "b.db")

    assert done.code == 1
    assert "backing up to" in done.stderr
    assert list(out.iterdir()) == []


def test_postgresql_is_pointed_at_pg_dump(tmp_path: Path) -> None:
    url = "postgresql+asyncpg://pitchmap@127.0.0.1:1/pitchmap"

    done = pitchmap(tmp_path, "backup", "b.db", PITCHMAP_DATABASE_URL=url)

    assert done.code == 1
    assert "pg_dump" in done.stderr
    assert not (tmp_path / "b.db").exists()
