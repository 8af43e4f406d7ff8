"""Notification preferences (issue 22, item 3): person.notify, how a person wants to hear of
answers that need a lead (NULL: the default, a daily round-up), and roundupitem, the notices
held for a person's round-up until it carries them. Additive: the previous release ignores both
(it DMs each notice, as before).

Revision ID: 0031
Revises: 0030
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0031"
down_revision: str | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("notify", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True)
        )
    op.create_table(
        "roundupitem",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("engagement_id", sa.Integer(), nullable=True),
        sa.Column("line", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("roundup_key", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.ForeignKeyConstraint(
            ["engagement_id"],
            ["engagement.id"],
            name=op.f("fk_roundupitem_engagement_id_engagement"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_roundupitem")),
        sa.UniqueConstraint("key", name="uq_roundupitem_key"),
    )
    with op.batch_alter_table("roundupitem", schema=None) as batch_op:
        batch_op.create_index(
            "ix_roundupitem_person_pending", ["team_id", "user_id", "roundup_key"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_roundupitem_engagement_id"), ["engagement_id"], unique=False
        )


def downgrade() -> None:
    """Held notices not yet carried by a round-up go with the table: the previous release
    would not send them (its leads read the same news in the channel's summaries)."""
    with op.batch_alter_table("roundupitem", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_roundupitem_engagement_id"))
        batch_op.drop_index("ix_roundupitem_person_pending")
    op.drop_table("roundupitem")
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.drop_column("notify")
