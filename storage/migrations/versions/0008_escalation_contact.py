"""an engagement's escalation contact: who hears of a concern still unresolved past its deadline

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("engagement", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "escalation_user_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("engagement", schema=None) as batch_op:
        batch_op.drop_column("escalation_user_id")
