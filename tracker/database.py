"""Where the database is, how to connect to it, and bringing its schema up to date.

SQLite in the data folder needs no setup; PostgreSQL is one URL away. Both go through the same
async engine, and migrations run through that same async driver (Alembic's connection-sharing
recipe), so no second, synchronous PostgreSQL driver has to be installed.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import importlib.resources
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import Any

import sqlalchemy
from alembic import command
from alembic.config import Config
from sqlalchemy import event, text
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

DATABASE_FILE = "pitchmap.db"
# Any constant works; it only has to be the same in every process that migrates.
_MIGRATION_LOCK_KEY = 0x70_69_74_63_68  # "pitch"
_SQLITE_BUSY_TIMEOUT_MS = 10_000


def affected_rows(result: object) -> int:
    """Rows an UPDATE or DELETE touched: SQLAlchemy's `rowcount`, which its result types do not
    all declare."""
    return int(getattr(result, "rowcount", 0) or 0)


def database_url(data_dir: Path, env_url: str | None = None) -> str:
    """`PITCHMAP_DATABASE_URL` when given, else SQLite `pitchmap.db` in the data folder."""
    if env_url:
        return env_url
    return f"sqlite+aiosqlite:///{(data_dir / DATABASE_FILE).resolve()}"


def create_engine(url: str, **options: Any) -> AsyncEngine:
    """An async engine; SQLite connections get WAL and enforced foreign keys on connect,
    PostgreSQL's run without JIT compilation.

    WAL lets the viewer's heartbeats be written while reports read; SQLite leaves foreign keys
    off unless asked on every connection. The busy timeout makes concurrent writers wait for the
    lock rather than fail at once. Statement parameters stay out of error messages: they hold
    emails and tokens, and errors end up in logs.
    """
    if make_url(url).get_backend_name() == "postgresql":
        # No JIT: its compilation took 300 ms of a 100,000-block report whose plan merely
        # looked costly (an index probe per block); no query here runs long enough to repay it.
        options = {"connect_args": {"server_settings": {"jit": "off"}}, **options}
    engine = create_async_engine(url, **{"hide_parameters": True, **options})
    if engine.dialect.name == "sqlite":
        event.listen(engine.sync_engine, "connect", _sqlite_on_connect)
    return engine


def create_sync_engine(url: str | URL) -> Engine:
    """A synchronous engine on the same SQLite file (the standard library's driver), for work
    that must not leave the event loop's thread (the ingestor).

    It never waits for a lock: SQLite's busy handler would sleep on the event loop's thread,
    while the connection holding the lock may need that very loop to finish. A locked database
    raises at once, and the caller waits asynchronously and tries again.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        raise ValueError(f"a synchronous engine is only made for SQLite, not {parsed.drivername}")
    engine = sqlalchemy.create_engine(parsed.set(drivername="sqlite+pysqlite"))
    event.listen(engine, "connect", partial(_sqlite_on_connect, busy_timeout_ms=0))
    return engine


def create_sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions whose objects stay readable after commit, as request handlers expect."""
    return async_sessionmaker(engine, expire_on_commit=False)


def _sqlite_on_connect(
    dbapi_connection: Any, _record: Any, busy_timeout_ms: int = _SQLITE_BUSY_TIMEOUT_MS
) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {busy_timeout_ms}")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.close()


def migrate(url: str) -> None:
    """Bring the database at `url` to the latest schema; a no-op when it is already there.

    Safe when several workers start at once: PostgreSQL serialises them with an advisory lock
    held for the migration's transaction, SQLite with an exclusive lock on `<db>.lock`. The
    second worker then finds the schema current and does nothing. Callable from a running event
    loop too (it then migrates on a worker thread and waits).
    """
    with _sqlite_file_lock(url):
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            asyncio.run(_migrate(url))
            return
        with ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(asyncio.run, _migrate(url)).result()


async def _migrate(url: str) -> None:
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            if engine.dialect.name == "postgresql":
                await connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK_KEY}
                )
            await connection.run_sync(_upgrade_to_head)
    finally:
        await engine.dispose()


def _upgrade_to_head(connection: Connection) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def alembic_config(url: str | None = None) -> Config:
    """Alembic's configuration, pointing at the migrations shipped inside the package."""
    config = Config()
    location = importlib.resources.files("tracker") / "migrations"
    config.set_main_option("script_location", str(location))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url)
    return config


@contextlib.contextmanager
def _sqlite_file_lock(url: str) -> Iterator[None]:
    parsed = make_url(url)
    database = parsed.database
    if parsed.get_backend_name() != "sqlite" or not database or database == ":memory:":
        yield
        return
    lock_path = Path(database).with_name(Path(database).name + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path.open("a") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)
