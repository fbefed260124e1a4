"""The median of each block total's dwell histogram, kept beside it (tracker/rollup.py).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-24
"""

from __future__ import annotations

import json
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rollup_block_totals", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("median_ms", sa.Integer(), server_default="0", nullable=False)
        )
    connection = op.get_bind()
    totals = sa.table(
        "rollup_block_totals",
        sa.column("block_id", sa.Integer()),
        sa.column("slot", sa.String()),
        sa.column("dwell", sa.JSON()),
        sa.column("median_ms", sa.Integer()),
    )
    rows = connection.execute(sa.select(totals.c.block_id, totals.c.slot, totals.c.dwell)).all()
    for block_id, slot, dwell in rows:
        connection.execute(
            totals.update()
            .where(totals.c.block_id == block_id, totals.c.slot == slot)
            .values(median_ms=_median(dwell))
        )


def _median(dwell: Any) -> int:
    """The rounded-half-up median of sorted [value, count] pairs (as tracker.rollup's)."""
    pairs = json.loads(dwell) if isinstance(dwell, str) else dwell
    total = sum(count for _, count in pairs)
    if not total:
        return 0
    wanted = ((total - 1) // 2, total // 2)
    middle: list[int] = []
    passed = 0
    for value, count in sorted(pairs):
        middle.extend(value for rank in wanted if passed <= rank < passed + count)
        passed += count
    return (middle[0] + middle[1] + 1) // 2


def downgrade() -> None:
    with op.batch_alter_table("rollup_block_totals", schema=None) as batch_op:
        batch_op.drop_column("median_ms")
