"""Where the database lives, and that its schema is built the same way everywhere, once."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from tracker.database import alembic_config, create_engine, database_url, migrate
from tracker.models import ApiKey, Base, DocumentSection
from tracker.partitions import reflected

HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()


async def _scalar(url: str, sql: str) -> object:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return (await connection.execute(text(sql))).scalar_one()
    finally:
        await engine.dispose()


async def _table_names(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            names = await connection.run_sync(lambda c: inspect(c).get_table_names())
    finally:
        await engine.dispose()
    return set(names)


def test_the_default_database_is_sqlite_in_the_data_folder(tmp_path: Path) -> None:
    url = database_url(tmp_path / "data")
    assert url == f"sqlite+aiosqlite:///{tmp_path / 'data' / 'pitchmap.db'}"


def test_pitchmap_database_url_wins_over_the_data_folder(tmp_path: Path) -> None:
    url = "postgresql+asyncpg://pm@db.example/pitchmap"
    assert database_url(tmp_path, url) == url


@pytest.mark.asyncio
async def test_migrations_build_every_table_from_an_empty_database(db_url: str) -> None:
    migrate(db_url)
    assert set(Base.metadata.tables) <= await _table_names(db_url)
    assert await _scalar(db_url, "SELECT version_num FROM alembic_version") == HEAD


@pytest.mark.asyncio
async def test_migrating_twice_changes_nothing(db_url: str) -> None:
    migrate(db_url)
    migrate(db_url)
    assert await _scalar(db_url, "SELECT count(*) FROM alembic_version") == 1


@pytest.mark.asyncio
async def test_migrate_works_from_inside_a_running_event_loop(db_url: str) -> None:
    migrate(db_url)  # the test itself runs in an event loop, as a server's start-up would
    assert await _scalar(db_url, "SELECT version_num FROM alembic_version") == HEAD


@pytest.mark.asyncio
async def test_workers_starting_at_once_all_migrate_successfully(db_url: str) -> None:
    code = "import sys; from tracker.database import migrate; migrate(sys.argv[1])"
    workers = [
        subprocess.Popen([sys.executable, "-c", code, db_url], stderr=subprocess.PIPE)
        for _ in range(3)
    ]
    errors: list[BaseException] = []

    def in_thread() -> None:
        try:
            migrate(db_url)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=in_thread) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    outcomes = [(w.communicate(timeout=60)[1], w.returncode) for w in workers]
    assert errors == []
    assert outcomes == [(b"", 0)] * 3
    assert await _scalar(db_url, "SELECT version_num FROM alembic_version") == HEAD


@pytest.mark.asyncio
async def test_the_migrations_build_exactly_what_the_models_describe(migrated_url: str) -> None:
    def differences(connection: Connection) -> list[object]:
        opts = {"compare_type": True, "include_name": reflected}
        context = MigrationContext.configure(connection, opts=opts)
        return list(compare_metadata(context, Base.metadata))

    engine = create_engine(migrated_url)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(differences) == []
    finally:
        await engine.dispose()


@pytest.mark.asyncio
async def test_foreign_keys_are_enforced(session) -> None:
    # Every column is filled: only the missing document and block version can be refused.
    session.add(
        DocumentSection(document_id="nope", position=0, slot="s", title="t", block_version_id=999)
    )
    with pytest.raises(IntegrityError):
        await session.flush()


@pytest.mark.asyncio
async def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    url = database_url(tmp_path)
    migrate(url)
    assert await _scalar(url, "PRAGMA journal_mode") == "wal"
    assert await _scalar(url, "PRAGMA foreign_keys") == 1


@pytest.mark.asyncio
@pytest.mark.postgres
async def test_postgresql_connections_run_without_jit(request: pytest.FixtureRequest) -> None:
    server: str = request.getfixturevalue("postgres_server")
    assert await _scalar(f"{server}/postgres", "SHOW jit") == "off"


@pytest.mark.asyncio
async def test_timestamps_come_back_as_aware_utc(session) -> None:
    paris = dt.timezone(dt.timedelta(hours=1))
    key = ApiKey(
        role="rep", key_hash="0" * 64, created_at=dt.datetime(2026, 3, 1, 13, tzinfo=paris)
    )
    session.add(key)
    await session.commit()
    session.expunge_all()
    stored = await session.get(ApiKey, key.id)
    assert stored is not None
    assert stored.created_at == dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC)
    assert stored.created_at.utcoffset() == dt.timedelta(0)
