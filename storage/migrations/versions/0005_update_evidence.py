"""status updates carry evidence: the reason an amber or red is not green, the blocker lines
(with the date each was first reported and how often it was carried over), and a KPI's amber
tolerance beside its target

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("statusupdate", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "reason",
                sqlmodel.sql.sqltypes.AutoString(length=3000),
                nullable=False,
                server_default="",
            )
        )
        batch_op.add_column(
            sa.Column("blocker_lines", sa.JSON(), nullable=False, server_default="[]")
        )
    with op.batch_alter_table("kpidefinition", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tolerance", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("kpidefinition", schema=None) as batch_op:
        batch_op.drop_column("tolerance")
    with op.batch_alter_table("statusupdate", schema=None) as batch_op:
        batch_op.drop_column("blocker_lines")
        batch_op.drop_column("reason")
