"""room for encrypted secrets: the token columns of slack_sdk's installation tables widen from
200 to 1000 characters (a Fernet token of a 255-character secret is 420)

Additive: the previous release reads and writes the wider columns as before. The values are
encrypted by `python -m bot rotate-key`, not here (a migration has no business holding keys).
The downgrade narrows the columns again; it needs the values back in plain text first, since
the previous release cannot open them: with CADENCE_ENCRYPTION_KEYS set it decrypts them, and
without it (and an encrypted value stored) it stops, saying so, and changes nothing.

Revision ID: 0023
Revises: 0028
Create Date: 2026-12-07
"""

import os
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = {
    "slack_installations": (
        "bot_token",
        "bot_refresh_token",
        "user_token",
        "user_refresh_token",
        "incoming_webhook_url",
    ),
    "slack_bots": ("bot_token", "bot_refresh_token"),
}
FERNET_PREFIX = "gAAAAA"  # as storage/encryption.py: every Fernet token begins so


def upgrade() -> None:
    for table, columns in COLUMNS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.alter_column(
                    column, existing_type=sa.String(200), type_=sa.String(1000), nullable=True
                )


def downgrade() -> None:
    _open_every_secret()
    for table, columns in COLUMNS.items():
        with op.batch_alter_table(table, schema=None) as batch_op:
            for column in columns:
                batch_op.alter_column(
                    column, existing_type=sa.String(1000), type_=sa.String(200), nullable=True
                )


def _open_every_secret() -> None:
    """Write each encrypted value back in plain text, for the release before encryption."""
    bind = op.get_bind()
    keys = [k.strip() for k in os.environ.get("CADENCE_ENCRYPTION_KEYS", "").split(",")]
    keys = [k for k in keys if k]
    fernet = None
    if keys:
        from cryptography.fernet import Fernet, MultiFernet

        fernet = MultiFernet([Fernet(k.encode("ascii")) for k in keys])
    for name, columns in COLUMNS.items():
        table = sa.table(name, sa.column("id"), *(sa.column(c) for c in columns))
        for row in bind.execute(sa.select(table)).all():
            sealed = {
                c: v
                for c, v in zip(columns, row[1:], strict=True)
                if v is not None and v.startswith(FERNET_PREFIX)
            }
            if not sealed:
                continue
            if fernet is None:
                raise RuntimeError(
                    "downgrading below 0023 needs CADENCE_ENCRYPTION_KEYS to decrypt the stored "
                    "tokens for the previous release: set it and run the downgrade again"
                )
            plain = {c: fernet.decrypt(v.encode("ascii")).decode() for c, v in sealed.items()}
            bind.execute(sa.update(table).where(table.c.id == row[0]).values(**plain))
