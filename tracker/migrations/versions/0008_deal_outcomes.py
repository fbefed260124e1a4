"""Deals' outcomes: one current outcome per prospect (won, lost, no decision), from the API, the
pages, a CRM's CSV export or a CRM's webhook (tracker/outcomes.py).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deal_outcomes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("prospect_id", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("closed_on", sa.Date(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("recorded_by_user_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "outcome IN ('won', 'lost', 'no_decision')", name=op.f("ck_deal_outcomes_outcome")
        ),
        sa.ForeignKeyConstraint(
            ["prospect_id"],
            ["prospects.id"],
            name=op.f("fk_deal_outcomes_prospect_id_prospects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_user_id"],
            ["users.id"],
            name=op.f("fk_deal_outcomes_recorded_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deal_outcomes")),
        sa.UniqueConstraint("prospect_id", name=op.f("uq_deal_outcomes_prospect_id")),
    )
    with op.batch_alter_table("deal_outcomes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_deal_outcomes_recorded_by_user_id"), ["recorded_by_user_id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("deal_outcomes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deal_outcomes_recorded_by_user_id"))
    op.drop_table("deal_outcomes")
