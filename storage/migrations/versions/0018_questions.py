"""custom questions: each version of a question (never rewritten once asked), the answers
that point at the version they answered, and one row per rule that fired (unique per check-in
and question, so a rule raises one concern however often the form is submitted)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "question",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("engagement_id", sa.Integer(), nullable=False),
        sa.Column("cadence_id", sa.Integer(), nullable=True),
        sa.Column("key", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("text", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("help", sqlmodel.sql.sqltypes.AutoString(length=300), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("unit", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("target", sa.Float(), nullable=True),
        sa.Column("tolerance", sa.Float(), nullable=True),
        sa.Column("higher_is_better", sa.Boolean(), nullable=False),
        sa.Column("rule", sa.JSON(), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(), nullable=False),
        sa.Column("retired_at", storage.types.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["cadence_id"],
            ["cadence.id"],
            name=op.f("fk_question_cadence_id_cadence"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["engagement_id"],
            ["engagement.id"],
            name=op.f("fk_question_engagement_id_engagement"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_question")),
    )
    with op.batch_alter_table("question", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_question_cadence_id"), ["cadence_id"], unique=False)
        batch_op.create_index(
            "ix_question_current", ["engagement_id", "cadence_id", "retired_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_question_engagement_id"), ["engagement_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_question_team_id"), ["team_id"], unique=False)

    op.create_table(
        "questionanswer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("engagement_id", sa.Integer(), nullable=False),
        sa.Column("question_id", sa.Integer(), nullable=False),
        sa.Column("question_key", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("checkin_id", sa.Integer(), nullable=True),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("author_user_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("value", sa.JSON(), nullable=True),
        sa.Column("number", sa.Float(), nullable=True),
        sa.Column("answered_at", storage.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["checkin_id"],
            ["checkin.id"],
            name=op.f("fk_questionanswer_checkin_id_checkin"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["engagement_id"],
            ["engagement.id"],
            name=op.f("fk_questionanswer_engagement_id_engagement"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["question_id"],
            ["question.id"],
            name=op.f("fk_questionanswer_question_id_question"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_questionanswer")),
        sa.UniqueConstraint("source", "source_id", "question_id", name="uq_questionanswer_source"),
    )
    with op.batch_alter_table("questionanswer", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_questionanswer_checkin_id"), ["checkin_id"], unique=False
        )
        batch_op.create_index(
            "ix_questionanswer_engagement_answered", ["engagement_id", "answered_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_questionanswer_engagement_id"), ["engagement_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_questionanswer_question_id"), ["question_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_questionanswer_team_id"), ["team_id"], unique=False)

    op.create_table(
        "questionrulefired",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("engagement_id", sa.Integer(), nullable=False),
        sa.Column("scope", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("question_key", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("answer_id", sa.Integer(), nullable=True),
        sa.Column("action", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("concern_id", sa.Integer(), nullable=True),
        sa.Column("fired_at", storage.types.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["answer_id"],
            ["questionanswer.id"],
            name=op.f("fk_questionrulefired_answer_id_questionanswer"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["concern_id"],
            ["concern.id"],
            name=op.f("fk_questionrulefired_concern_id_concern"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["engagement_id"],
            ["engagement.id"],
            name=op.f("fk_questionrulefired_engagement_id_engagement"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_questionrulefired")),
        sa.UniqueConstraint("scope", "question_key", name="uq_questionrulefired_scope_key"),
    )
    with op.batch_alter_table("questionrulefired", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_questionrulefired_answer_id"), ["answer_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_questionrulefired_concern_id"), ["concern_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_questionrulefired_engagement_id"), ["engagement_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_questionrulefired_team_id"), ["team_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("questionrulefired", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_questionrulefired_team_id"))
        batch_op.drop_index(batch_op.f("ix_questionrulefired_engagement_id"))
        batch_op.drop_index(batch_op.f("ix_questionrulefired_concern_id"))
        batch_op.drop_index(batch_op.f("ix_questionrulefired_answer_id"))

    op.drop_table("questionrulefired")
    with op.batch_alter_table("questionanswer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_questionanswer_team_id"))
        batch_op.drop_index(batch_op.f("ix_questionanswer_question_id"))
        batch_op.drop_index(batch_op.f("ix_questionanswer_engagement_id"))
        batch_op.drop_index("ix_questionanswer_engagement_answered")
        batch_op.drop_index(batch_op.f("ix_questionanswer_checkin_id"))

    op.drop_table("questionanswer")
    with op.batch_alter_table("question", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_question_team_id"))
        batch_op.drop_index(batch_op.f("ix_question_engagement_id"))
        batch_op.drop_index("ix_question_current")
        batch_op.drop_index(batch_op.f("ix_question_cadence_id"))

    op.drop_table("question")
