"""assurance: the vendor's security evidence per engagement (its status checked by the database),
each change's event, the kinds of evidence a workspace adds, which kinds each criticality
requires at the start, and the engagement's criticality and evidence windows

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "assurancerequirement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("criticality", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("type_key", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assurancerequirement")),
        sa.UniqueConstraint(
            "team_id", "criticality", "type_key", name="uq_assurancerequirement_team_type"
        ),
    )
    with op.batch_alter_table("assurancerequirement", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_assurancerequirement_team_id"), ["team_id"], unique=False
        )

    op.create_table(
        "assurancetype",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=80), nullable=False),
        sa.Column("expires", sa.Boolean(), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assurancetype")),
        sa.UniqueConstraint("team_id", "key", name="uq_assurancetype_team_key"),
    )
    with op.batch_alter_table("assurancetype", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_assurancetype_team_id"), ["team_id"], unique=False)

    op.create_table(
        "assuranceitem",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("engagement_id", sa.Integer(), nullable=False),
        sa.Column("type_key", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=150), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("owner_user_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("reviewers", sa.JSON(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("evidence_link", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=False),
        sa.Column("evidence_note", sqlmodel.sql.sqltypes.AutoString(length=3000), nullable=False),
        sa.Column("evidence_file_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column(
            "evidence_file_permalink", sqlmodel.sql.sqltypes.AutoString(length=500), nullable=True
        ),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=3000), nullable=False),
        sa.Column("open_findings", sa.Integer(), nullable=True),
        sa.Column("rounds", sa.Integer(), nullable=False),
        sa.Column("concern_id", sa.Integer(), nullable=True),
        sa.Column("channel_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("message_ts", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("updated_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("requested_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("received_at", storage.types.UTCDateTime(), nullable=True),
        sa.Column("reviewed_at", storage.types.UTCDateTime(), nullable=True),
        sa.CheckConstraint(
            "status IN ('requested', 'received', 'accepted', 'rejected', 'expired', 'waived')",
            name=op.f("ck_assuranceitem_status"),
        ),
        sa.ForeignKeyConstraint(
            ["concern_id"],
            ["concern.id"],
            name=op.f("fk_assuranceitem_concern_id_concern"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["engagement_id"],
            ["engagement.id"],
            name=op.f("fk_assuranceitem_engagement_id_engagement"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assuranceitem")),
    )
    with op.batch_alter_table("assuranceitem", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_assuranceitem_concern_id"), ["concern_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_assuranceitem_engagement_id"), ["engagement_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_assuranceitem_owner_user_id"), ["owner_user_id"], unique=False
        )
        batch_op.create_index(
            "ix_assuranceitem_status_until", ["status", "valid_until"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_assuranceitem_team_id"), ["team_id"], unique=False)

    op.create_table(
        "assuranceevent",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("actor_user_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("from_status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True),
        sa.Column("to_status", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=3000), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("at", storage.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["assuranceitem.id"],
            name=op.f("fk_assuranceevent_item_id_assuranceitem"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assuranceevent")),
    )
    with op.batch_alter_table("assuranceevent", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_assuranceevent_item_id"), ["item_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_assuranceevent_team_id"), ["team_id"], unique=False)

    with op.batch_alter_table("engagement", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "criticality",
                sqlmodel.sql.sqltypes.AutoString(length=8),
                nullable=False,
                server_default="medium",
            )
        )
        batch_op.add_column(
            sa.Column("assurance_expiry_days", sa.JSON(), nullable=False, server_default="[30, 7]")
        )
        batch_op.add_column(
            sa.Column("assurance_window_days", sa.Integer(), nullable=False, server_default="10")
        )


def downgrade() -> None:
    with op.batch_alter_table("engagement", schema=None) as batch_op:
        batch_op.drop_column("assurance_window_days")
        batch_op.drop_column("assurance_expiry_days")
        batch_op.drop_column("criticality")

    with op.batch_alter_table("assuranceevent", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assuranceevent_team_id"))
        batch_op.drop_index(batch_op.f("ix_assuranceevent_item_id"))

    op.drop_table("assuranceevent")
    with op.batch_alter_table("assuranceitem", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assuranceitem_team_id"))
        batch_op.drop_index("ix_assuranceitem_status_until")
        batch_op.drop_index(batch_op.f("ix_assuranceitem_owner_user_id"))
        batch_op.drop_index(batch_op.f("ix_assuranceitem_engagement_id"))
        batch_op.drop_index(batch_op.f("ix_assuranceitem_concern_id"))

    op.drop_table("assuranceitem")
    with op.batch_alter_table("assurancetype", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assurancetype_team_id"))

    op.drop_table("assurancetype")
    with op.batch_alter_table("assurancerequirement", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_assurancerequirement_team_id"))

    op.drop_table("assurancerequirement")
