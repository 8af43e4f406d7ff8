"""a job's failed lookups get a column; job and check-in statuses are checked by the database

scheduledjob.lookups_failed counts the lookups in a row that Slack did not answer for a job
whose outcome is unknown; it was read back from the job's error text ("outcome unknown: lookup
3 failed: …"), and existing counts are moved from there (the text stays as it was, for people).
scheduledjob.status, checkin.status and checkinrecipient.status accept only their statuses
(CHECK constraints; on SQLite, batch mode rebuilds the three tables, with foreign keys off, see
env.py). The statuses are written out here so that this migration does not change when the
code's do.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-08
"""

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATUSES = {
    "scheduledjob": ("pending", "claimed", "sent", "done", "failed", "cancelled"),
    "checkin": ("open", "overdue", "closed", "missed", "skipped", "holiday", "excused"),
    "checkinrecipient": ("pending", "answered", "away"),
}
LOOKUP_FAILED = re.compile(r"^outcome unknown: (?:lookup (\d+) failed|gave up after (\d+) failed)")

job = sa.table(
    "scheduledjob",
    sa.column("id", sa.Integer),
    sa.column("error", sa.String),
    sa.column("lookups_failed", sa.Integer),
)


def _check(table: str) -> str:
    return "status IN (" + ", ".join(f"'{s}'" for s in STATUSES[table]) + ")"


def upgrade() -> None:
    with op.batch_alter_table("scheduledjob", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("lookups_failed", sa.Integer(), nullable=False, server_default="0")
        )
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(job.c.id, job.c.error).where(job.c.error.like("outcome unknown: %"))
    ).all()
    for job_id, error in rows:
        found = LOOKUP_FAILED.match(error)
        if found:
            count = int(found.group(1) or found.group(2))
            bind.execute(job.update().where(job.c.id == job_id).values(lookups_failed=count))
    for table in STATUSES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_check_constraint(op.f(f"ck_{table}_status"), _check(table))


def downgrade() -> None:
    for table in reversed(STATUSES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(op.f(f"ck_{table}_status"), type_="check")
    with op.batch_alter_table("scheduledjob", schema=None) as batch_op:
        batch_op.drop_column("lookups_failed")
