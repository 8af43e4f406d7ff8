"""finished jobs by kind and finish, for pruning; check-ins by cadence and moment (issue 23)

The engine prunes finished jobs a month old each pass (storage/pruning.py). A partial index on
the finished ones, by kind and `updated_at` (when they finished), lets that pass read only the
rows it deletes: with nothing old enough, one index probe per kind, however many jobs a year
left. The claim's partial indexes (0012) leave finished jobs out, so they cannot serve it.

The planner reads each due cadence's check-ins of the last hour (`planner.last_opened`): with
only the cadence's index it read all of them, a year of weeks each after a year; by cadence and
`scheduled_for` it reads the recent ones. Both additive: the previous release only writes them.

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0032"
down_revision: str | None = "0031"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# storage.statuses.FINISHED_JOBS as it is today (a migration never imports what may change).
FINISHED = sa.text("status IN ('sent', 'done', 'failed', 'cancelled')")


def upgrade() -> None:
    op.create_index(
        "ix_scheduledjob_finished",
        "scheduledjob",
        ["kind", "updated_at"],
        postgresql_where=FINISHED,
        sqlite_where=FINISHED,
    )
    op.create_index("ix_checkin_cadence_scheduled", "checkin", ["cadence_id", "scheduled_for"])


def downgrade() -> None:
    op.drop_index("ix_checkin_cadence_scheduled", table_name="checkin")
    op.drop_index("ix_scheduledjob_finished", table_name="scheduledjob")
