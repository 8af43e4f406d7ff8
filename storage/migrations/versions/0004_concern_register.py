"""the concern register: deadlines to acknowledge and resolve, the card in the channel, the quoted
message, reopenings, resolve-within per severity, and what each event did

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _text(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    with op.batch_alter_table("concern", schema=None) as batch_op:
        batch_op.add_column(sa.Column("raised_side", _text(16), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("quote", _text(3000), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("due_on", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("round", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(
            sa.Column("resolution_note", _text(3000), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("acknowledge_due_at", storage.types.UTCDateTime(), nullable=True)
        )
        batch_op.add_column(sa.Column("resolve_due_at", storage.types.UTCDateTime(), nullable=True))
        batch_op.add_column(sa.Column("channel_id", _text(32), nullable=True))
        batch_op.add_column(sa.Column("message_ts", _text(32), nullable=True))
    with op.batch_alter_table("concernevent", schema=None) as batch_op:
        batch_op.add_column(sa.Column("action", _text(16), nullable=False, server_default=""))
    with op.batch_alter_table("concernsla", schema=None) as batch_op:
        batch_op.add_column(sa.Column("resolve_hours", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("concernsla", schema=None) as batch_op:
        batch_op.drop_column("resolve_hours")
    with op.batch_alter_table("concernevent", schema=None) as batch_op:
        batch_op.drop_column("action")
    with op.batch_alter_table("concern", schema=None) as batch_op:
        for column in ("message_ts", "channel_id", "resolve_due_at", "acknowledge_due_at",
                       "resolution_note", "round", "due_on", "quote", "raised_side"):  # fmt: skip
            batch_op.drop_column(column)
