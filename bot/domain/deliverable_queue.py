"""What deliverables wait on a person: theirs to submit (they own it, not submitted yet) and
theirs to accept (submitted, and they are among its acceptors: named, or a lead of its
engagement when none are named). The Home tab shows it; read in one page in the query.

Its own module (not `deliverables.py`) because only the Home tab reads it, and the register's
module is busy with the lifecycle.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import String, case, cast, func, or_
from sqlmodel import Session, col, select

from storage.deliverable_statuses import DeliverableStatus
from storage.models import Deliverable, Engagement, EngagementMember

SUBMIT = "submit"
ACCEPT = "accept"
_NOT_SUBMITTED = (DeliverableStatus.PLANNED, DeliverableStatus.IN_PROGRESS)


@dataclass(frozen=True)
class Waiting:
    """One page of what waits on the person (`rows`: the deliverable, its engagement and what
    they must do), soonest due first, and how many in all."""

    rows: tuple[tuple[Deliverable, Engagement, str], ...]
    total: int


def waiting_on(*, session: Session, team_id: str, user_id: str, limit: int) -> Waiting:
    """The deliverables of live engagements the person must submit or accept: two SELECTs (the
    page and the count), whatever their number."""
    leading = (
        select(EngagementMember.engagement_id)
        .where(EngagementMember.user_id == user_id)
        .where(EngagementMember.role == "lead")
    )
    named = cast(col(Deliverable.acceptors), String)
    to_submit = (col(Deliverable.owner_user_id) == user_id) & col(Deliverable.status).in_(
        _NOT_SUBMITTED
    )
    to_accept = (col(Deliverable.status) == DeliverableStatus.SUBMITTED) & or_(
        named.like(f'%"{user_id}"%'),
        (named == "[]") & col(Deliverable.engagement_id).in_(leading),
    )
    query = (
        select(Deliverable, Engagement)
        .join(Engagement, col(Engagement.id) == col(Deliverable.engagement_id))
        .where(Deliverable.team_id == team_id)
        .where(col(Engagement.archived_at).is_(None))
        .where(or_(to_submit, to_accept))
    )
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(
        query.order_by(
            case((to_accept, 0), else_=1), col(Deliverable.due_at), col(Deliverable.id)
        ).limit(limit)
    ).all()
    return Waiting(
        tuple(
            (d, e, ACCEPT if d.status == DeliverableStatus.SUBMITTED else SUBMIT) for d, e in rows
        ),
        int(total),
    )
