"""slack requests acted on (retried requests act once)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "slackrequest",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("at", storage.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slackrequest")),
        sa.UniqueConstraint("key", name="uq_slackrequest_key"),
    )
    with op.batch_alter_table("slackrequest", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_slackrequest_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_slackrequest_team_id"), ["team_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("slackrequest", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_slackrequest_team_id"))
        batch_op.drop_index(batch_op.f("ix_slackrequest_at"))
    op.drop_table("slackrequest")
