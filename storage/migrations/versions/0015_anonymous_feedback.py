"""anonymous feedback keeps no author, and no moment that ties it to one

feedback.author_user_id becomes nullable and is blanked for anonymous answers. Anonymous
answers' submitted_at is coarsened to the moment they count from (their survey's opening when
given within its window; else the first of their month, or just after their survey's close when
that is later), and survey recipients' answered_at is dropped: an exact second shared by an
answer and a recipient row (or their order) would tie the answer to its author.
The same rules as bot.domain.feedback.counted_at, written out here so that this migration does
not change when the domain does.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07
"""

from collections.abc import Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa
from alembic import op

from storage.types import UTCDateTime

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SURVEY_KINDS = ("feedback_survey",)
# The existing values this migration changes on purpose (tests/test_migrations.py checks that
# every other value survives it): anonymous answers lose their author and their exact moment.
REWRITES = {"feedback": ("author_user_id", "submitted_at"), "checkinrecipient": ("answered_at",)}

feedback = sa.table(
    "feedback",
    sa.column("id", sa.Integer),
    sa.column("checkin_id", sa.Integer),
    sa.column("author_user_id", sa.String),
    sa.column("anonymous", sa.Boolean),
    sa.column("submitted_at", UTCDateTime()),
)
checkin = sa.table(
    "checkin",
    sa.column("id", sa.Integer),
    sa.column("cadence_id", sa.Integer),
    sa.column("created_at", UTCDateTime()),
    sa.column("window_closes_at", UTCDateTime()),
)
cadence = sa.table("cadence", sa.column("id", sa.Integer), sa.column("kind", sa.String))
recipient = sa.table(
    "checkinrecipient",
    sa.column("checkin_id", sa.Integer),
    sa.column("answered_at", UTCDateTime()),
)


def _counted_at(at: datetime, opened: datetime | None, closes: datetime | None) -> datetime:
    if opened is not None and closes is not None and at <= closes:
        return min(opened, at)
    month = at.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if closes is not None:
        return max(month, closes + timedelta(seconds=1))
    return month


def upgrade() -> None:
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.alter_column("author_user_id", existing_type=sa.String(32), nullable=True)
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(
            feedback.c.id, feedback.c.submitted_at, checkin.c.created_at, checkin.c.window_closes_at
        )
        .select_from(feedback.outerjoin(checkin, checkin.c.id == feedback.c.checkin_id))
        .where(feedback.c.anonymous == sa.true())
    ).all()
    for feedback_id, at, opened, closes in rows:
        bind.execute(
            feedback.update()
            .where(feedback.c.id == feedback_id)
            .values(author_user_id=None, submitted_at=_counted_at(at, opened, closes))
        )
    surveys = (
        sa.select(checkin.c.id)
        .join(cadence, cadence.c.id == checkin.c.cadence_id)
        .where(cadence.c.kind.in_(SURVEY_KINDS))
    )
    bind.execute(
        recipient.update().where(recipient.c.checkin_id.in_(surveys)).values(answered_at=None)
    )


def downgrade() -> None:
    # The authors of anonymous answers are gone for good; the column takes an empty one.
    op.get_bind().execute(
        feedback.update().where(feedback.c.author_user_id.is_(None)).values(author_user_id="")
    )
    with op.batch_alter_table("feedback", schema=None) as batch_op:
        batch_op.alter_column("author_user_id", existing_type=sa.String(32), nullable=False)
