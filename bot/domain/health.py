"""What an engagement's health card shows besides its figures: the next check-in, the last
update and who sent it, and who may see the card.

The numbers (RAG, KPIs, concern counts and the worst concerns, feedback, the scorecard) come
from `figures.py` and only from there. This module reads the rest, set-based like the figures' loader: a fixed
number of SELECTs whatever the number of engagements, so the digest can reuse it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func
from sqlmodel import Session, col, select

from bot.domain.cadences import ACTIVE
from bot.domain.concerns import members
from bot.domain.engagements import EngagementDetails
from bot.domain.figures import latest_update_ids
from storage.models import Cadence, Engagement, StatusUpdate


@dataclass(frozen=True)
class NextCheckIn:
    """The soonest planned occurrence of the engagement's active cadences."""

    cadence_id: int
    kind: str  # CheckInKind
    at: datetime  # UTC; for a cadence at each person's local time, when it first happens
    timezone: str
    local_time: str
    each_local_time: bool  # at `local_time` in each recipient's own zone


@dataclass(frozen=True)
class LastUpdate:
    update_id: int
    author_user_id: str
    rag: str
    submitted_at: datetime
    late: bool
    summary: str


@dataclass(frozen=True)
class Health:
    engagement_id: int
    vendor: str
    timezone: str
    channel_id: str
    archived: bool
    next_checkin: NextCheckIn | None = None
    last_update: LastUpdate | None = None


def load(
    session: Session,
    *,
    team_id: str,
    engagement_ids: Sequence[int],
    now: datetime,
) -> dict[int, Health]:
    """The card's other facts for each engagement named (archived ones included): three
    SELECTs whatever the number of engagements."""
    ids = list(engagement_ids)
    if not ids:
        return {}
    rows = session.exec(
        select(
            Engagement.id,
            Engagement.vendor,
            Engagement.timezone,
            Engagement.channel_id,
            Engagement.archived_at,
        )
        .where(Engagement.team_id == team_id)
        .where(col(Engagement.id).in_(ids))
    ).all()

    # The soonest next run of each engagement's active cadences.
    soonest = (
        select(
            Cadence.id,
            func.row_number()
            .over(
                partition_by=col(Cadence.engagement_id),
                order_by=(col(Cadence.next_run_at), col(Cadence.id)),
            )
            .label("rank"),
        )
        .where(Cadence.team_id == team_id)
        .where(col(Cadence.engagement_id).in_(ids))
        .where(Cadence.status == ACTIVE)
        .where(col(Cadence.next_run_at).is_not(None))
        .subquery()
    )
    nexts = {
        c.engagement_id: NextCheckIn(
            c.id or 0, c.kind, c.next_run_at, c.timezone, c.local_time, c.recipient_local_time
        )
        for c in session.exec(
            select(Cadence)
            .join(soonest, soonest.c.id == col(Cadence.id))
            .where(soonest.c.rank == 1)
        ).all()
        if c.next_run_at is not None
    }

    # The latest update submitted by `now`.
    latest = latest_update_ids(team_id, ids, by=now)
    lasts = {
        u.engagement_id: LastUpdate(
            u.id or 0, u.author_user_id, u.rag, u.submitted_at, u.late, u.summary
        )
        for u in session.exec(select(StatusUpdate).where(col(StatusUpdate.id).in_(latest))).all()
    }

    return {
        eid: Health(
            engagement_id=eid,
            vendor=vendor,
            timezone=tz,
            channel_id=channel,
            archived=archived_at is not None,
            next_checkin=nexts.get(eid),
            last_update=lasts.get(eid),
        )
        for eid, vendor, tz, channel, archived_at in rows
        if eid is not None
    }


# --- who may see a card ------------------------------------------------------------------------


def may_see(
    details: EngagementDetails,
    user_id: str,
    admins: Iterable[str],
    *,
    channel_id: str | None = None,
    digest_channel_id: str | None = None,
) -> bool:
    """The people of the engagement (any role, Slack Connect people included) and Cadence
    admins; and, for a click in the engagement's digest channel, anyone reading it there (an
    archived engagement is in no digest any more)."""
    if user_id in members(details) or user_id in set(admins):
        return True
    return (
        details.engagement.archived_at is None
        and channel_id is not None
        and channel_id == digest_channel_id
    )
