"""engagement settings for deliverables' clocks: the owner's due-soon reminder (working days
before the due date, default 3) and the acceptance window (working days a submission waits
before the acceptors are reminded, default 5)

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("engagement", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("deliverable_due_soon_days", sa.Integer(), nullable=False, server_default="3")
        )
        batch_op.add_column(
            sa.Column(
                "deliverable_acceptance_days", sa.Integer(), nullable=False, server_default="5"
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("engagement", schema=None) as batch_op:
        batch_op.drop_column("deliverable_acceptance_days")
        batch_op.drop_column("deliverable_due_soon_days")
