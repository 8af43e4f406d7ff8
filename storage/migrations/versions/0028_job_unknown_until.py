"""scheduledjob.unknown_until: for a job whose outcome is unknown, by when its lost attempt
began, so a lookup reads only the messages between the job's planning and a pass's span after
it (a non-Marketplace app reads 15 messages a page, once a minute)

Revision ID: 0028
Revises: 0022
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0028"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("scheduledjob", schema=None) as batch_op:
        batch_op.add_column(sa.Column("unknown_until", storage.types.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("scheduledjob", schema=None) as batch_op:
        batch_op.drop_column("unknown_until")
