"""deliverables: what the vendor agreed to deliver by when, who accepts it, its status (checked
by the database), its slips and rework, its evidence and its card; and each change's event

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out so that this migration does not change when the code's statuses do.
STATUSES = ("planned", "in_progress", "submitted", "accepted", "cancelled")


def _text(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def _moment(name: str, *, nullable: bool = False) -> sa.Column:
    return sa.Column(name, storage.types.UTCDateTime(), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "deliverable",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", _text(32), nullable=False),
        sa.Column("engagement_id", sa.Integer(), nullable=False),
        sa.Column("title", _text(150), nullable=False),
        sa.Column("description", _text(3000), nullable=False),
        sa.Column("acceptance_criteria", _text(3000), nullable=False),
        sa.Column("milestone", _text(80), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        _moment("due_at"),
        sa.Column("original_due_on", sa.Date(), nullable=False),
        sa.Column("owner_user_id", _text(32), nullable=False),
        sa.Column("acceptors", sa.JSON(), nullable=False),
        sa.Column("status", _text(16), nullable=False),
        sa.Column("rework_count", sa.Integer(), nullable=False),
        sa.Column("slip_count", sa.Integer(), nullable=False),
        sa.Column("days_slipped", sa.Integer(), nullable=False),
        sa.Column("evidence_link", _text(500), nullable=False),
        sa.Column("evidence_note", _text(3000), nullable=False),
        sa.Column("evidence_file_id", _text(32), nullable=True),
        sa.Column("evidence_file_permalink", _text(500), nullable=True),
        sa.Column("channel_id", _text(32), nullable=True),
        sa.Column("message_ts", _text(32), nullable=True),
        sa.Column("created_by", _text(32), nullable=False),
        _moment("created_at"),
        _moment("updated_at"),
        _moment("submitted_at", nullable=True),
        _moment("accepted_at", nullable=True),
        _moment("cancelled_at", nullable=True),
        sa.CheckConstraint(
            "status IN (" + ", ".join(f"'{s}'" for s in STATUSES) + ")",
            name=op.f("ck_deliverable_status"),
        ),
        sa.ForeignKeyConstraint(
            ["engagement_id"],
            ["engagement.id"],
            name=op.f("fk_deliverable_engagement_id_engagement"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliverable")),
    )
    with op.batch_alter_table("deliverable", schema=None) as batch_op:
        batch_op.create_index("ix_deliverable_status_due", ["status", "due_at"])
        batch_op.create_index(batch_op.f("ix_deliverable_engagement_id"), ["engagement_id"])
        batch_op.create_index(batch_op.f("ix_deliverable_owner_user_id"), ["owner_user_id"])
        batch_op.create_index(batch_op.f("ix_deliverable_team_id"), ["team_id"])

    op.create_table(
        "deliverableevent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", _text(32), nullable=False),
        sa.Column("deliverable_id", sa.Integer(), nullable=False),
        sa.Column("actor_user_id", _text(32), nullable=False),
        sa.Column("action", _text(16), nullable=False),
        sa.Column("from_status", _text(16), nullable=True),
        sa.Column("to_status", _text(16), nullable=False),
        sa.Column("note", _text(3000), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        _moment("at"),
        sa.ForeignKeyConstraint(
            ["deliverable_id"],
            ["deliverable.id"],
            name=op.f("fk_deliverableevent_deliverable_id_deliverable"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliverableevent")),
    )
    with op.batch_alter_table("deliverableevent", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_deliverableevent_deliverable_id"), ["deliverable_id"])
        batch_op.create_index(batch_op.f("ix_deliverableevent_team_id"), ["team_id"])


def downgrade() -> None:
    op.drop_table("deliverableevent")
    op.drop_table("deliverable")
