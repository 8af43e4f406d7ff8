"""the contract's dates on the engagement: start, end, whether it renews by itself, and the
notice period (days before the end); empty for existing engagements (nothing is reminded until a
lead sets them)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("engagement", schema=None) as batch_op:
        batch_op.add_column(sa.Column("contract_start", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("contract_end", sa.Date(), nullable=True))
        batch_op.add_column(
            sa.Column("contract_renews", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("notice_days", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("engagement", schema=None) as batch_op:
        batch_op.drop_column("notice_days")
        batch_op.drop_column("contract_renews")
        batch_op.drop_column("contract_end")
        batch_op.drop_column("contract_start")
