"""engagement settings: concern clocks that pause on weekends and holidays; update summaries in
the check-in's thread (or in the channel), and where a check-in's thread starts

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("engagement", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "concern_clock_pauses", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
        batch_op.add_column(
            sa.Column(
                "summaries_in_channel", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
    with op.batch_alter_table("checkin", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("thread_ts", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("checkin", schema=None) as batch_op:
        batch_op.drop_column("thread_ts")
    with op.batch_alter_table("engagement", schema=None) as batch_op:
        batch_op.drop_column("summaries_in_channel")
        batch_op.drop_column("concern_clock_pauses")
