"""scheduledjob.secret: a short-lived credential a job's call needs (a Workflow Builder step's
execution token, for functions.completeSuccess / completeError), cleared when the job ends;
and an index on engagement.channel_id: which workspace's engagement a channel is, for a
command a Slack Connect person sends from a workspace without Cadence

Revision ID: 0029
Revises: 0023
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0029"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("scheduledjob", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("secret", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True)
        )
    with op.batch_alter_table("engagement", schema=None) as batch_op:
        batch_op.create_index("ix_engagement_channel_id", ["channel_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("engagement", schema=None) as batch_op:
        batch_op.drop_index("ix_engagement_channel_id")
    with op.batch_alter_table("scheduledjob", schema=None) as batch_op:
        batch_op.drop_column("secret")
