"""risk reviews: what a reviewer said of each open concern of an engagement, and the concern
they raised

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "riskreview",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("engagement_id", sa.Integer(), nullable=False),
        sa.Column("checkin_id", sa.Integer(), nullable=True),
        sa.Column("author", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("late", sa.Boolean(), nullable=False),
        sa.Column("submitted_at", storage.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["checkin_id"],
            ["checkin.id"],
            name=op.f("fk_riskreview_checkin_id_checkin"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["engagement_id"],
            ["engagement.id"],
            name=op.f("fk_riskreview_engagement_id_engagement"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_riskreview")),
    )
    with op.batch_alter_table("riskreview", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_riskreview_checkin_id"), ["checkin_id"])
        batch_op.create_index(batch_op.f("ix_riskreview_engagement_id"), ["engagement_id"])
        batch_op.create_index(batch_op.f("ix_riskreview_submitted_at"), ["submitted_at"])
        batch_op.create_index(batch_op.f("ix_riskreview_team_id"), ["team_id"])


def downgrade() -> None:
    op.drop_table("riskreview")
