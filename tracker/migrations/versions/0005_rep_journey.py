"""The rep's journey on the pages: who owns a prospect, who generated a document or made a
link when it was a signed-in user, and the blocks a rep swapped in.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# table -> the column naming the user
_OWNERS = {
    "prospects": "owner_user_id",
    "documents": "created_by_user_id",
    "share_links": "created_by_user_id",
}


def upgrade() -> None:
    for table, column in _OWNERS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column(column, sa.Integer(), nullable=True))
            if table == "documents":
                batch_op.add_column(sa.Column("swaps", sa.JSON(), nullable=True))
            batch_op.create_index(batch_op.f(f"ix_{table}_{column}"), [column], unique=False)
            batch_op.create_foreign_key(
                batch_op.f(f"fk_{table}_{column}_users"),
                "users",
                [column],
                ["id"],
                ondelete="SET NULL",
            )


def downgrade() -> None:
    for table, column in _OWNERS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f(f"fk_{table}_{column}_users"), type_="foreignkey")
            batch_op.drop_index(batch_op.f(f"ix_{table}_{column}"))
            if table == "documents":
                batch_op.drop_column("swaps")
            batch_op.drop_column(column)
