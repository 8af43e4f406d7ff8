"""scheduledjob.lookup_below: for a job whose outcome is unknown, the ts of the oldest message a
lookup has read so far without reaching the window's start, so the next lookup goes on below it
instead of from the newest message (outside the Marketplace a page of 15 is a minute)

Revision ID: 0035
Revises: 0032
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0035"
down_revision: str | None = "0032"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("scheduledjob", schema=None) as batch_op:
        batch_op.add_column(sa.Column("lookup_below", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("scheduledjob", schema=None) as batch_op:
        batch_op.drop_column("lookup_below")
