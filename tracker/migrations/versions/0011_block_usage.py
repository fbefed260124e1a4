"""Per block and slot, the documents using it and their rolled-up sessions, with the mark of
the document sections counted so far (tracker/rollup.py); an index giving each block's latest
slot without reading the versions' bodies.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_block_versions_latest_slot",
        "block_versions",
        ["block_id", "number", "slot"],
        unique=False,
    )
    op.create_table(
        "rollup_block_usage",
        sa.Column("block_id", sa.Integer(), nullable=False),
        sa.Column("slot", sa.String(length=200), nullable=False),
        sa.Column("documents", sa.Integer(), nullable=False),
        sa.Column("sessions", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("block_id", "slot", name=op.f("pk_rollup_block_usage")),
    )
    with op.batch_alter_table("rollup_state", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("section_id", sa.Integer(), server_default="0", nullable=False)
        )
    # Every section so far is counted here; the sessions are those already in the roll-ups.
    op.execute(
        """
        INSERT INTO rollup_block_usage (block_id, slot, documents, sessions)
        SELECT used.block_id, used.slot, count(*), coalesce(sum(rolled.sessions), 0)
        FROM (
          SELECT DISTINCT bv.block_id, ds.slot, ds.document_id
          FROM document_sections ds JOIN block_versions bv ON bv.id = ds.block_version_id
        ) used
        LEFT JOIN (
          SELECT document_id, sum(sessions) AS sessions
          FROM rollup_document_sessions GROUP BY document_id
        ) rolled ON rolled.document_id = used.document_id
        GROUP BY used.block_id, used.slot
        """
    )
    op.execute(
        """
        INSERT INTO rollup_state (id, visit_id, section_id)
        SELECT 1, 0, 0 WHERE NOT EXISTS (SELECT 1 FROM rollup_state)
        """
    )
    op.execute(
        "UPDATE rollup_state SET section_id = (SELECT coalesce(max(id), 0) FROM document_sections)"
    )


def downgrade() -> None:
    with op.batch_alter_table("rollup_state", schema=None) as batch_op:
        batch_op.drop_column("section_id")
    op.drop_table("rollup_block_usage")
    op.drop_index("ix_block_versions_latest_slot", table_name="block_versions")
