"""Close the check-ins a pause left open for ever: until 7f9cc94, pausing or deleting a cadence
cancelled the job that closes its open check-in's window, so that check-in stayed open, waiting
on the Home of everyone it had asked. Each open check-in whose window has closed and that no
pending job will close is closed now, as its window's end would have: overdue while someone it
asked has not answered, else closed. Nobody is alerted (the pause meant that). Data only.

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-07
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision: str = "0036"
down_revision: str | None = "0035"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REWRITES = {"checkin": ("status",)}  # tests/test_migrations.py: the values it changes on purpose


def upgrade() -> None:
    checkin = sa.table(
        "checkin",
        sa.column("id", sa.Integer),
        sa.column("status", sa.String),
        sa.column("window_closes_at", sa.DateTime),
    )
    recipient = sa.table(
        "checkinrecipient", sa.column("checkin_id", sa.Integer), sa.column("status", sa.String)
    )
    job = sa.table(
        "scheduledjob",
        sa.column("checkin_id", sa.Integer),
        sa.column("kind", sa.String),
        sa.column("status", sa.String),
    )
    now = datetime.now(UTC).replace(tzinfo=None)  # stored as naive UTC (storage/types.py)
    someone_missing = sa.exists().where(
        recipient.c.checkin_id == checkin.c.id, recipient.c.status == "pending"
    )
    will_close = sa.exists().where(
        job.c.checkin_id == checkin.c.id,
        job.c.kind == "overdue",
        job.c.status.in_(("pending", "claimed")),
    )
    op.execute(
        sa.update(checkin)
        .where(checkin.c.status == "open", checkin.c.window_closes_at < now, ~will_close)
        .values(status=sa.case((someone_missing, "overdue"), else_="closed"))
    )


def downgrade() -> None:
    """Nothing to undo: the check-ins it closed had their windows closed already."""
