"""The audit chain keyed: auditevent.key_id names the audit key whose HMAC a link's hash is
(NULL: a plain sha256 link, as every link before this revision), and the chain head carries a
seal (an HMAC of where its chain begins and ends) and its key's id. Additive: the previous
release keeps writing plain links, which still verify before the first keyed one.

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0030"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("auditevent", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("key_id", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True)
        )
    with op.batch_alter_table("auditchainhead", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("key_id", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=True)
        )
        batch_op.add_column(
            sa.Column("seal", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )


def downgrade() -> None:
    """Keyed links cannot be verified by the previous release (it knows only sha256): they stay,
    and its `audit verify` reports the first as edited until this revision is back."""
    with op.batch_alter_table("auditchainhead", schema=None) as batch_op:
        batch_op.drop_column("seal")
        batch_op.drop_column("key_id")
    with op.batch_alter_table("auditevent", schema=None) as batch_op:
        batch_op.drop_column("key_id")
