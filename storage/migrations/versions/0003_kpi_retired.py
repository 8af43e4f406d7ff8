"""kpi definitions are retired, not deleted (their reported values stay)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("kpidefinition", schema=None) as batch_op:
        batch_op.add_column(sa.Column("retired_at", storage.types.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("kpidefinition", schema=None) as batch_op:
        batch_op.drop_column("retired_at")
