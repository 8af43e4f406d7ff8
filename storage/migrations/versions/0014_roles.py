"""who steers a workspace: a person's Slack role, and the manual digest's limit

person.slack_role and slack_role_checked_at keep what users.info last said of a person's
standing (owner, admin, member, guest), so workspace admins and owners can steer Cadence's
workspace settings without a Slack call on every request. workspace.digest_manual_sent_at
limits `/cadence digest send` to one per workspace per interval.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.add_column(sa.Column("slack_role", sa.String(16), nullable=True))
        batch_op.add_column(sa.Column("slack_role_checked_at", UTCDateTime(), nullable=True))
    with op.batch_alter_table("workspace", schema=None) as batch_op:
        batch_op.add_column(sa.Column("digest_manual_sent_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("workspace", schema=None) as batch_op:
        batch_op.drop_column("digest_manual_sent_at")
    with op.batch_alter_table("person", schema=None) as batch_op:
        batch_op.drop_column("slack_role_checked_at")
        batch_op.drop_column("slack_role")
