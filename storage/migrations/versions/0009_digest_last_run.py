"""the digest's last run (what changed since), and a workspace row for every team with engagements

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("workspace", schema=None) as batch_op:
        batch_op.add_column(sa.Column("digest_last_run_at", UTCDateTime(), nullable=True))
    # Workspaces served before the digest existed get their row (the planner sets the first run).
    connection = op.get_bind()
    teams = connection.execute(
        sa.text(
            "SELECT DISTINCT team_id FROM engagement "
            "WHERE team_id NOT IN (SELECT team_id FROM workspace)"
        )
    ).scalars()
    now = datetime.now(UTC)
    workspace = sa.table(
        "workspace",
        sa.column("team_id", sa.String),
        sa.column("name", sa.String),
        sa.column("digest_rule", sa.String),
        sa.column("digest_local_time", sa.String),
        sa.column("digest_timezone", sa.String),
        sa.column("created_at", UTCDateTime()),
    )
    rows = [
        {
            "team_id": team,
            "name": "",
            "digest_rule": "FREQ=WEEKLY;BYDAY=MO",
            "digest_local_time": "09:00",
            "digest_timezone": "UTC",
            "created_at": now,
        }
        for team in teams
    ]
    if rows:
        op.bulk_insert(workspace, rows)


def downgrade() -> None:
    with op.batch_alter_table("workspace", schema=None) as batch_op:
        batch_op.drop_column("digest_last_run_at")
