"""indexes for the figures' reads: an engagement's check-ins and updates by time

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-25
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_checkin_engagement_scheduled", "checkin", ["engagement_id", "scheduled_for"]
    )
    op.create_index(
        "ix_statusupdate_engagement_submitted", "statusupdate", ["engagement_id", "submitted_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_statusupdate_engagement_submitted", table_name="statusupdate")
    op.drop_index("ix_checkin_engagement_scheduled", table_name="checkin")
