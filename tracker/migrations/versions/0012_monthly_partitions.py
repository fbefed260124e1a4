"""Visits and the raw event tables carry the visit's UTC month; on PostgreSQL the raw event
tables are partitioned by it.

`visits` gets its `month` and a unique index on (id, month); `section_time` and `view_events`
are rebuilt with the month in their primary keys (on PostgreSQL a partition key must be part
of every unique key) and in their foreign keys to the visit (so deleting a visit looks in one
partition), and their rows copied over. On
PostgreSQL each table gets a default partition and one per month that has visits, plus the
current month and the next three; the server makes later months itself (tracker/partitions.py,
whose statements this restates: a migration must not change with the code).

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-25
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_AHEAD = 3
# Each table's primary key before this migration; `month` joins it.
_KEYS = {"section_time": ["visit_id", "section_id"], "view_events": ["visit_id", "seq"]}


def _own_columns(table: str) -> list[sa.Column[Any]]:
    """The table's columns besides visit_id and month, in order."""
    if table == "section_time":
        return [
            sa.Column("section_id", sa.Integer(), nullable=False),
            sa.Column("dwell_ms", sa.Integer(), nullable=False),
            sa.Column("seen", sa.Boolean(), nullable=False),
        ]
    return [
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("dwell_ms", sa.Integer(), nullable=False),
    ]


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    _add_visit_month(postgres)
    for table in _KEYS:
        _set_aside(table, postgres)
        _create(table, monthly=True, postgres=postgres)
        if postgres:
            _make_partitions(table)
        _copy(table, monthly=True)
        op.drop_table(f"{table}_old")


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table in _KEYS:
        _set_aside(table, postgres)
        _create(table, monthly=False, postgres=postgres)
        _copy(table, monthly=False)
        op.drop_table(f"{table}_old")
    op.drop_index("ix_visits_id_month", table_name="visits")
    op.drop_column("visits", "month")


def _add_visit_month(postgres: bool) -> None:
    if postgres:
        op.add_column("visits", sa.Column("month", sa.Date(), nullable=True))
        op.execute(
            "UPDATE visits SET month = "
            "CAST(date_trunc('month', created_at AT TIME ZONE 'UTC') AS date)"
        )
        op.alter_column("visits", "month", nullable=False)
    else:
        # SQLite adds a NOT NULL column only with a default; every writer sets the month.
        op.add_column(
            "visits", sa.Column("month", sa.Date(), nullable=False, server_default="1970-01-01")
        )
        # SQLite keeps UTC as 'YYYY-MM-DD hh:mm:ss'.
        op.execute("UPDATE visits SET month = substr(created_at, 1, 7) || '-01'")
    op.create_index("ix_visits_id_month", "visits", ["id", "month"], unique=True)


def _set_aside(table: str, postgres: bool) -> None:
    """Rename the table and the indexes whose names the new table takes (index names are
    unique per schema; on SQLite the indexes go with the table's copy)."""
    op.rename_table(table, f"{table}_old")
    if postgres:
        op.execute(f"ALTER INDEX pk_{table} RENAME TO pk_{table}_old")
    if table == "section_time":
        op.drop_index("ix_section_time_section_id", table_name="section_time_old")


def _create(table: str, monthly: bool, postgres: bool) -> None:
    key = _KEYS[table]
    month = [sa.Column("month", sa.Date(), nullable=False)] if monthly else []
    constraints: list[sa.Constraint] = [
        sa.ForeignKeyConstraint(
            ["visit_id", *(["month"] if monthly else [])],
            ["visits.id", *(["visits.month"] if monthly else [])],
            name=f"fk_{table}_visit_id_visits",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(*key, *(["month"] if monthly else []), name=f"pk_{table}"),
    ]
    if table == "section_time":
        constraints.append(
            sa.ForeignKeyConstraint(
                ["section_id"],
                ["document_sections.id"],
                name="fk_section_time_section_id_document_sections",
                ondelete="CASCADE",
            )
        )
    partitioned: dict[str, Any] = (
        {"postgresql_partition_by": "RANGE (month)"} if monthly and postgres else {}
    )
    op.create_table(
        table,
        sa.Column("visit_id", sa.Integer(), nullable=False),
        *_own_columns(table),
        *month,
        *constraints,
        **partitioned,
    )
    if table == "section_time":
        op.create_index("ix_section_time_section_id", "section_time", ["section_id"])


def _make_partitions(table: str) -> None:
    """The default partition, every month with visits, and the coming months."""
    op.execute(f"CREATE TABLE {table}_default PARTITION OF {table} DEFAULT")
    started = op.get_bind().scalars(sa.text("SELECT DISTINCT month FROM visits"))
    today = dt.datetime.now(dt.UTC).date().replace(day=1)
    coming = [today]
    for _ in range(_AHEAD):
        coming.append(_next(coming[-1]))
    for month in sorted(set(started) | set(coming)):
        op.execute(
            f"CREATE TABLE {table}_p{month:%Y%m} PARTITION OF {table} "
            f"FOR VALUES FROM ('{month.isoformat()}') TO ('{_next(month).isoformat()}')"
        )


def _next(month: dt.date) -> dt.date:
    return dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)


def _copy(table: str, monthly: bool) -> None:
    names = ["visit_id", *(column.name for column in _own_columns(table))]
    listed = ", ".join(names)
    if not monthly:
        op.execute(f"INSERT INTO {table} ({listed}) SELECT {listed} FROM {table}_old")
        return
    old = ", ".join(f"o.{name}" for name in names)
    op.execute(
        f"INSERT INTO {table} ({listed}, month) SELECT {old}, v.month "
        f"FROM {table}_old o JOIN visits v ON v.id = o.visit_id"
    )
