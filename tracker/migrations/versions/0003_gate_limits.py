"""Limits at the link gates: who asked for a one-time code, and wrong passcodes.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "gate_failures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("link_id", sa.Integer(), nullable=False),
        sa.Column("client_hash", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["link_id"],
            ["share_links.id"],
            name=op.f("fk_gate_failures_link_id_share_links"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gate_failures")),
    )
    with op.batch_alter_table("gate_failures", schema=None) as batch_op:
        batch_op.create_index(
            "ix_gate_failures_link_id_created_at", ["link_id", "created_at"], unique=False
        )

    with op.batch_alter_table("email_codes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("client_hash", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("email_codes", schema=None) as batch_op:
        batch_op.drop_column("client_hash")

    with op.batch_alter_table("gate_failures", schema=None) as batch_op:
        batch_op.drop_index("ix_gate_failures_link_id_created_at")

    op.drop_table("gate_failures")
