"""a Home tab's reads by person: check-ins waiting on them, concerns they own or raised (issue 23)

Every Home tab asks which check-ins still wait for its person's answer
(`checkins.waiting_on`) and which open concerns they own or raised
(`concerns.open_of_person`). With no index by person, SQLite read every check-in of the
database and PostgreSQL every one of the workspace, and both every concern of the workspace:
a Home cost more with each week of history (2.1 and 0.7 ms of a 16 ms Home at 1,000
engagements and nine weeks). A partial index on the recipients still pending, by workspace and
person, reads only the few rows that person has waiting; the concerns by workspace and owner,
and by workspace and who raised them (one index each side of the OR). Additive: the previous
release only writes them.

Revision ID: 0037
Revises: 0036
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0037"
down_revision: str | None = "0036"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# storage.statuses.RecipientStatus.PENDING as it is today (a migration never imports what may
# change).
PENDING = sa.text("status = 'pending'")


def upgrade() -> None:
    op.create_index(
        "ix_checkinrecipient_pending_user",
        "checkinrecipient",
        ["team_id", "user_id"],
        postgresql_where=PENDING,
        sqlite_where=PENDING,
    )
    op.create_index("ix_concern_team_owner", "concern", ["team_id", "owner_user_id"])
    op.create_index("ix_concern_team_raised_by", "concern", ["team_id", "raised_by"])


def downgrade() -> None:
    op.drop_index("ix_concern_team_raised_by", table_name="concern")
    op.drop_index("ix_concern_team_owner", table_name="concern")
    op.drop_index("ix_checkinrecipient_pending_user", table_name="checkinrecipient")
