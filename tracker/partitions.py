"""PostgreSQL's monthly partitions of the raw event tables, `section_time` and `view_events`.

Every row lands in the partition of its visit's start month (the `month` column), so the
retention purge drops a whole month at once (tracker/purge.py) instead of deleting millions of
rows one by one, and a month's rows sit together on disk. Partitions are made ahead of need:
the migration makes one for every month with visits and the next few, and each server makes
the coming months once a day (`Partitioner`). A row for a month without a partition (a clock set
wrong, a tool loading old visits) goes to the table's default partition instead of failing;
making that month later moves those rows into it in the same transaction, so nothing is refused
or lost. On SQLite the tables are not partitioned and everything here does nothing.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from typing import Final

from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from tracker.months import month_of, months_from, next_month
from tracker.periodic import Periodic

TABLES: Final = ("section_time", "view_events")
AHEAD: Final = 3  # months made beyond the current one
# pg_advisory_xact_lock's key for making partitions: workers doing it at once take turns.
_LOCK: Final = 0x7069_7463_6870_6D01
_NAME: Final = re.compile(rf"^(?:{'|'.join(TABLES)})_(?:default|p(\d{{4}})(\d{{2}}))$")


def partition_name(table: str, month: dt.date) -> str:
    return f"{table}_p{month:%Y%m}"


def default_name(table: str) -> str:
    return f"{table}_default"


def is_partition(name: str) -> bool:
    return _NAME.match(name) is not None


def reflected(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic's `include_name`: partitions are made at run time, not described by the models,
    so comparing the database with the models leaves them out."""
    return not (type_ == "table" and name is not None and is_partition(name))


def months(connection: Connection, table: str) -> list[dt.date]:
    """The months `table` has a partition for, oldest first (the default one aside)."""
    names = connection.scalars(
        text(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = CAST(:table AS regclass)"
        ),
        {"table": table},
    )
    found = [_NAME.match(name) for name in names]
    return sorted(dt.date(int(m[1]), int(m[2]), 1) for m in found if m and m[1])


def make_months(connection: Connection, wanted: Iterable[dt.date]) -> list[dt.date]:
    """Make the partitions `wanted` months lack, in the caller's transaction; returns the
    months that got one. Nothing on SQLite."""
    if connection.dialect.name != "postgresql":
        return []
    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK})
    firsts = {month.replace(day=1) for month in wanted}
    made: set[dt.date] = set()
    for table in TABLES:
        for month in sorted(firsts - set(months(connection, table))):
            _make(connection, table, month)
            made.add(month)
    return sorted(made)


def _make(connection: Connection, table: str, month: dt.date) -> None:
    name = partition_name(table, month)
    bounds = f"FOR VALUES FROM ('{month.isoformat()}') TO ('{next_month(month).isoformat()}')"
    in_month = {"first": month, "end": next_month(month)}
    waiting = connection.scalar(
        text(
            f"SELECT EXISTS (SELECT 1 FROM {default_name(table)} "
            "WHERE month >= :first AND month < :end)"
        ),
        in_month,
    )
    if not waiting:
        connection.execute(text(f"CREATE TABLE {name} PARTITION OF {table} {bounds}"))
        return
    # PostgreSQL refuses a partition whose rows sit in the default one: move them in first.
    connection.execute(text(f"CREATE TABLE {name} (LIKE {table} INCLUDING DEFAULTS)"))
    connection.execute(
        text(
            f"WITH moved AS (DELETE FROM {default_name(table)} "
            "WHERE month >= :first AND month < :end RETURNING *) "
            f"INSERT INTO {name} SELECT * FROM moved"
        ),
        in_month,
    )
    connection.execute(text(f"ALTER TABLE {table} ATTACH PARTITION {name} {bounds}"))


def coming_months(now: dt.datetime) -> list[dt.date]:
    """The current month and the `AHEAD` after it: what a server keeps ready."""
    first = month_of(now)
    last = first
    for _ in range(AHEAD):
        last = next_month(last)
    return list(months_from(first, last))


class Partitioner(Periodic):
    """Keeps the coming months' partitions made, once a day, in every worker (they take turns
    under an advisory lock; a month already made is left alone). Only on PostgreSQL."""

    FIRST: Final = dt.timedelta(minutes=1)
    INTERVAL: Final = dt.timedelta(days=1)

    def __init__(self, engine: AsyncEngine) -> None:
        super().__init__("partitions", self.FIRST, self.INTERVAL)
        self._engine = engine

    async def start(self) -> None:
        if self._engine.dialect.name == "postgresql":
            await super().start()

    async def run_once(self) -> None:
        wanted = coming_months(dt.datetime.now(dt.UTC))
        async with self._engine.begin() as connection:
            await connection.run_sync(make_months, wanted)
