"""The weekly digest's record of weeks sent, and per section the rolled-up sessions that saw
and read it (so deal influence outlives a purge of raw rows).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "digest_runs",
        sa.Column("week", sa.Date(), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("week", name=op.f("pk_digest_runs")),
    )
    with op.batch_alter_table("document_sections", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("rolled_seen", sa.Integer(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("rolled_read", sa.Integer(), server_default="0", nullable=False)
        )
    # The visits rolled up before this revision count too.
    op.execute(
        """
        UPDATE document_sections SET
          rolled_seen = (
            SELECT count(*) FROM section_time st
            WHERE st.section_id = document_sections.id AND st.seen
              AND st.visit_id <= (SELECT coalesce(max(visit_id), 0) FROM rollup_state)),
          rolled_read = (
            SELECT count(*) FROM section_time st
            WHERE st.section_id = document_sections.id
              AND st.dwell_ms > 0 AND st.dwell_ms >= document_sections.reading_ms
              AND st.visit_id <= (SELECT coalesce(max(visit_id), 0) FROM rollup_state))
        """
    )


def downgrade() -> None:
    with op.batch_alter_table("document_sections", schema=None) as batch_op:
        batch_op.drop_column("rolled_read")
        batch_op.drop_column("rolled_seen")
    op.drop_table("digest_runs")
