"""the audit chain (each event's place in its workspace's chain, the previous link's hash and
its own; the head each writer locks, and where retention makes the chain begin); existing events
are chained in id order. The workspace's retention settings (empty: kept forever).

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types
from storage.audit_chain import content, digest

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

auditevent = sa.table(
    "auditevent",
    sa.column("id", sa.Integer),
    sa.column("team_id", sa.String),
    sa.column("actor_user_id", sa.String),
    sa.column("entity_type", sa.String),
    sa.column("entity_id", sa.Integer),
    sa.column("action", sa.String),
    sa.column("before", sa.JSON),
    sa.column("after", sa.JSON),
    sa.column("at", storage.types.UTCDateTime),
    sa.column("seq", sa.Integer),
    sa.column("prev_hash", sa.String),
    sa.column("hash", sa.String),
)
head = sa.table(
    "auditchainhead",
    sa.column("team_id", sa.String),
    sa.column("last_seq", sa.Integer),
    sa.column("last_hash", sa.String),
    sa.column("first_seq", sa.Integer),
    sa.column("start_hash", sa.String),
)


def upgrade() -> None:
    op.create_table(
        "auditchainhead",
        sa.Column("team_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("last_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("first_seq", sa.Integer(), nullable=False),
        sa.Column("start_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("trimmed_at", storage.types.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("team_id", name=op.f("pk_auditchainhead")),
    )
    with op.batch_alter_table("auditevent", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("prev_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch_op.add_column(
            sa.Column("hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch_op.create_unique_constraint("uq_auditevent_team_seq", ["team_id", "seq"])
    with op.batch_alter_table("workspace", schema=None) as batch_op:
        batch_op.add_column(sa.Column("retention_days", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("audit_retention_days", sa.Integer(), nullable=True))
    _chain_existing()


def _chain_existing() -> None:
    """Link every existing event, per workspace in id order (the order they were recorded)."""
    bind = op.get_bind()
    ends: dict[str, tuple[int, str]] = {}
    last_id = 0
    while True:
        rows = bind.execute(
            sa.select(auditevent).where(auditevent.c.id > last_id).order_by(auditevent.c.id)
            .limit(1000)
        ).all()  # fmt: skip
        if not rows:
            break
        for row in rows:
            seq, prev = ends.get(row.team_id, (0, ""))
            seq += 1
            text = content(
                team_id=row.team_id, seq=seq, actor=row.actor_user_id,
                entity_type=row.entity_type, entity_id=row.entity_id, action=row.action,
                before=row.before, after=row.after, at=row.at, prev_hash=prev,
            )  # fmt: skip
            own = digest(text)
            bind.execute(
                sa.update(auditevent).where(auditevent.c.id == row.id)
                .values(seq=seq, prev_hash=prev, hash=own)
            )  # fmt: skip
            ends[row.team_id] = (seq, own)
        last_id = rows[-1].id
    for team_id, (seq, own) in ends.items():
        bind.execute(
            sa.insert(head).values(
                team_id=team_id, last_seq=seq, last_hash=own, first_seq=1, start_hash=""
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("workspace", schema=None) as batch_op:
        batch_op.drop_column("audit_retention_days")
        batch_op.drop_column("retention_days")
    with op.batch_alter_table("auditevent", schema=None) as batch_op:
        batch_op.drop_constraint("uq_auditevent_team_seq", type_="unique")
        batch_op.drop_column("hash")
        batch_op.drop_column("prev_hash")
        batch_op.drop_column("seq")
    op.drop_table("auditchainhead")
