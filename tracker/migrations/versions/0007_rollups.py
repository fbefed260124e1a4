"""Roll-ups of finished visits for marketing's reports (tracker/rollup.py).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _count() -> sa.Column[int]:
    return sa.Column("sessions", sa.Integer(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "rollup_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rollup_state")),
    )
    op.create_table(
        "rollup_profiles",
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("facets", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("hash", name=op.f("pk_rollup_profiles")),
    )
    op.create_table(
        "rollup_document_sessions",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("document_id", sa.String(length=64), nullable=False),
        _count(),
        sa.PrimaryKeyConstraint("month", "document_id", name=op.f("pk_rollup_document_sessions")),
    )
    op.create_table(
        "rollup_slot_reach",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("library_id", sa.Integer(), nullable=False),
        sa.Column("profile_hash", sa.String(length=64), nullable=False),
        sa.Column("slot", sa.String(length=200), nullable=False),
        _count(),
        sa.PrimaryKeyConstraint(
            "month", "library_id", "profile_hash", "slot", name=op.f("pk_rollup_slot_reach")
        ),
    )
    op.create_table(
        "rollup_block_dwell",
        sa.Column("month", sa.Date(), nullable=False),
        sa.Column("block_id", sa.Integer(), nullable=False),
        sa.Column("profile_hash", sa.String(length=64), nullable=False),
        sa.Column("slot", sa.String(length=200), nullable=False),
        sa.Column("seen", sa.Boolean(), nullable=False),
        sa.Column("read", sa.Boolean(), nullable=False),
        sa.Column("dwell_ms", sa.Integer(), nullable=False),
        _count(),
        sa.PrimaryKeyConstraint(
            "month",
            "block_id",
            "profile_hash",
            "slot",
            "seen",
            "read",
            "dwell_ms",
            name=op.f("pk_rollup_block_dwell"),
        ),
    )
    op.create_table(
        "rollup_block_totals",
        sa.Column("block_id", sa.Integer(), nullable=False),
        sa.Column("slot", sa.String(length=200), nullable=False),
        sa.Column("seen", sa.Integer(), nullable=False),
        sa.Column("read", sa.Integer(), nullable=False),
        sa.Column("dwell", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("block_id", "slot", name=op.f("pk_rollup_block_totals")),
    )


def downgrade() -> None:
    for table in (
        "rollup_block_totals",
        "rollup_block_dwell",
        "rollup_slot_reach",
        "rollup_document_sessions",
        "rollup_profiles",
        "rollup_state",
    ):
        op.drop_table(table)
