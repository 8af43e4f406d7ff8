"""What deliverables wait on a person: theirs to submit (they own it, not submitted yet) and
theirs to accept (submitted, and they are among its acceptors: named, or a lead of its
engagement when none are named). The Home tab shows it; read in one page in the query.

Its own module (not `deliverables.py`) because only the Home tab reads it, and the register's
module is busy with the lifecycle.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import NamedTuple

from sqlalchemy import Select, String, bindparam, case, cast, func, or_
from sqlmodel import Session, col, select

from storage.deliverable_statuses import DeliverableStatus
from storage.models import Deliverable, Engagement, EngagementMember

SUBMIT = "submit"
ACCEPT = "accept"
_NOT_SUBMITTED = (DeliverableStatus.PLANNED, DeliverableStatus.IN_PROGRESS)


class WaitingDeliverable(NamedTuple):
    """What the Home tab shows of a deliverable waiting on someone, and what they must do."""

    id: int
    title: str
    due_on: date
    due_at: datetime
    engagement_name: str
    what: str  # SUBMIT or ACCEPT


@dataclass(frozen=True)
class Waiting:
    """One page of what waits on the person, those to accept first, then soonest due, and
    how many in all."""

    rows: tuple[WaitingDeliverable, ...]
    total: int


def waiting_on(*, session: Session, team_id: str, user_id: str, limit: int) -> Waiting:
    """The deliverables of live engagements the person must submit or accept: two SELECTs (the
    page and the count), whatever their number, of plain columns, built once per process
    (building them cost more than running them, and every Home tab runs them)."""
    values = {"team_id": team_id, "user_id": user_id, "named": f'%"{user_id}"%', "limit": limit}
    page, count = _statements()
    total = session.exec(count, params=values).one()
    if not total:
        return Waiting((), 0)
    rows = tuple(
        WaitingDeliverable(
            i,
            title,
            due_on,
            due_at,
            name,
            ACCEPT if status == DeliverableStatus.SUBMITTED else SUBMIT,
        )
        for i, title, due_on, due_at, name, status in session.exec(page, params=values)
    )
    return Waiting(rows, int(total))


@cache
def _statements() -> tuple[Select, Select]:
    """`waiting_on`'s page and count (their parameters bound at execution)."""
    user_id = bindparam("user_id")
    leading = (
        select(EngagementMember.engagement_id)
        .where(col(EngagementMember.user_id) == user_id)
        .where(EngagementMember.role == "lead")
    )
    named = cast(col(Deliverable.acceptors), String)
    to_submit = (col(Deliverable.owner_user_id) == user_id) & col(Deliverable.status).in_(
        _NOT_SUBMITTED
    )
    to_accept = (col(Deliverable.status) == DeliverableStatus.SUBMITTED) & or_(
        named.like(bindparam("named")),
        (named == "[]") & col(Deliverable.engagement_id).in_(leading),
    )
    query = (
        select(
            Deliverable.id,
            Deliverable.title,
            Deliverable.due_on,
            Deliverable.due_at,
            Engagement.name,
            Deliverable.status,
        )
        .join(Engagement, col(Engagement.id) == col(Deliverable.engagement_id))
        .where(col(Deliverable.team_id) == bindparam("team_id"))
        .where(col(Engagement.archived_at).is_(None))
        .where(or_(to_submit, to_accept))
    )
    page = query.order_by(
        case((to_accept, 0), else_=1), col(Deliverable.due_at), col(Deliverable.id)
    ).limit(bindparam("limit"))
    return page, select(func.count()).select_from(query.subquery())
