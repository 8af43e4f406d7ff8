"""Reading the assurance register: one page of items worst first, each engagement's due
diligence (required items accepted and valid, of those required), and what waits on one
person (evidence they owe, evidence they review) for the Home tab. Set-based, paged in the
query: a register of thousands of items costs the same few SELECTs as one of three.

Who reads: an engagement's people and Cadence admins (`register.require_reader`); a list over
every engagement shows a person only the engagements they are on, all of them to an admin.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from typing import NamedTuple

from sqlalchemy import Select, String, and_, bindparam, case, cast, func, or_
from sqlmodel import Session, col, select

from storage.assurance_statuses import OWED, AssuranceStatus
from storage.models import AssuranceItem, Engagement, EngagementMember

EXPIRING_WITHIN = timedelta(days=30)  # an accepted item valid until within this is "expiring"


@dataclass(frozen=True)
class DueDiligence:
    """Required items accepted and valid today, of the required ones (waived ones aside)."""

    valid: int
    required: int


@dataclass(frozen=True)
class RegisterPage:
    rows: tuple[tuple[AssuranceItem, Engagement], ...]
    total: int
    offset: int
    diligence: dict[int, DueDiligence]  # per engagement on the page


def _rank(today: date):
    """Worst first: expired, rejected, requested, received, expiring soon, accepted, waived."""
    soon = today + EXPIRING_WITHIN
    status = col(AssuranceItem.status)
    return case(
        (status == AssuranceStatus.EXPIRED, 0),
        (status == AssuranceStatus.REJECTED, 1),
        (status == AssuranceStatus.REQUESTED, 2),
        (status == AssuranceStatus.RECEIVED, 3),
        (
            and_(
                status == AssuranceStatus.ACCEPTED,
                col(AssuranceItem.valid_until).is_not(None),
                col(AssuranceItem.valid_until) <= soon,
            ),
            4,
        ),
        (status == AssuranceStatus.ACCEPTED, 5),
        else_=6,
    )


def expiring_soon(item: AssuranceItem, today: date) -> bool:
    return (
        item.status == AssuranceStatus.ACCEPTED
        and item.valid_until is not None
        and item.valid_until <= today + EXPIRING_WITHIN
    )


def list_page(
    *,
    session: Session,
    team_id: str,
    today: date,
    viewer: str,
    everything: bool,
    engagement_id: int | None = None,
    offset: int = 0,
    limit: int = 20,
) -> RegisterPage:
    """Items of live engagements, worst first, one page; `everything` (a Cadence admin) reads
    every engagement's, anyone else only those of engagements they are on."""
    query = (
        select(AssuranceItem, Engagement)
        .join(Engagement, col(Engagement.id) == col(AssuranceItem.engagement_id))
        .where(AssuranceItem.team_id == team_id)
        .where(col(Engagement.archived_at).is_(None))
    )
    if engagement_id is not None:
        query = query.where(AssuranceItem.engagement_id == engagement_id)
    if not everything:
        theirs = select(EngagementMember.engagement_id).where(EngagementMember.user_id == viewer)
        query = query.where(col(AssuranceItem.engagement_id).in_(theirs))
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(
        query.order_by(
            _rank(today),
            case((col(AssuranceItem.valid_until).is_(None), 1), else_=0),  # NULLs last, anywhere
            col(AssuranceItem.valid_until),
            col(Engagement.name),
            col(AssuranceItem.id),
        )
        .offset(offset)
        .limit(limit)
    ).all()
    ids = sorted({e.id for _, e in rows if e.id is not None})
    return RegisterPage(
        tuple((i, e) for i, e in rows),
        int(total),
        offset,
        due_diligence(session=session, engagement_ids=ids, today=today),
    )


def due_diligence(
    *, session: Session, engagement_ids: Sequence[int], today: date
) -> dict[int, DueDiligence]:
    """Per engagement: required items accepted and valid today, of the required ones that are
    not waived (one SELECT for any number of engagements)."""
    if not engagement_ids:
        return {}
    valid = and_(
        col(AssuranceItem.status) == AssuranceStatus.ACCEPTED,
        or_(col(AssuranceItem.valid_until).is_(None), col(AssuranceItem.valid_until) >= today),
    )
    rows = session.exec(
        select(
            AssuranceItem.engagement_id,
            func.sum(case((valid, 1), else_=0)),
            func.count(),
        )
        .where(col(AssuranceItem.engagement_id).in_(engagement_ids))
        .where(col(AssuranceItem.required).is_(True))
        .where(col(AssuranceItem.status) != AssuranceStatus.WAIVED)
        .group_by(col(AssuranceItem.engagement_id))
    ).all()
    return {int(e): DueDiligence(int(v or 0), int(n)) for e, v, n in rows}


OWE = "owe"
REVIEW = "review"


class WaitingItem(NamedTuple):
    """What the Home tab shows of an item waiting on someone (`bot/blocks/assurance.py`)."""

    id: int
    title: str
    required: bool
    status: str
    engagement_name: str


@dataclass(frozen=True)
class Waiting:
    """What waits on a person: items they owe, items they review (each one page), counted."""

    owe: tuple[WaitingItem, ...]
    owe_total: int
    review: tuple[WaitingItem, ...]
    review_total: int


def waiting_on(*, session: Session, team_id: str, user_id: str, limit: int) -> Waiting:
    """Evidence the person owes (owner, owed) and evidence they review (received, and they are
    a reviewer: named, or a lead when none are named), of live engagements: four SELECTs at
    most, of plain columns, built once per process (building them cost more than running
    them, and every Home tab runs them)."""
    values = {"team_id": team_id, "user_id": user_id, "named": f'%"{user_id}"%', "limit": limit}

    def page(statements: tuple[Select, Select]) -> tuple[tuple[WaitingItem, ...], int]:
        rows, count = statements
        total = session.exec(count, params=values).one()
        if not total:
            return (), 0
        return tuple(WaitingItem(*row) for row in session.exec(rows, params=values)), int(total)

    owe, review = _waiting_statements()
    owed, owed_total = page(owe)
    to_review, review_total = page(review)
    return Waiting(owed, owed_total, to_review, review_total)


@cache
def _waiting_statements() -> tuple[tuple[Select, Select], tuple[Select, Select]]:
    """`waiting_on`'s page and count of what is owed, and of what to review (their parameters
    bound at execution)."""
    user_id = bindparam("user_id")
    base = (
        select(
            AssuranceItem.id,
            AssuranceItem.title,
            AssuranceItem.required,
            AssuranceItem.status,
            Engagement.name,
        )
        .join(Engagement, col(Engagement.id) == col(AssuranceItem.engagement_id))
        .where(col(AssuranceItem.team_id) == bindparam("team_id"))
        .where(col(Engagement.archived_at).is_(None))
    )
    owe = base.where(col(AssuranceItem.owner_user_id) == user_id).where(
        col(AssuranceItem.status).in_(list(OWED))
    )
    leading = (
        select(EngagementMember.engagement_id)
        .where(col(EngagementMember.user_id) == user_id)
        .where(EngagementMember.role == "lead")
    )
    named = cast(col(AssuranceItem.reviewers), String)
    review = base.where(col(AssuranceItem.status) == AssuranceStatus.RECEIVED).where(
        or_(
            named.like(bindparam("named")),
            (named == "[]") & col(AssuranceItem.engagement_id).in_(leading),
        )
    )

    def paged(query: Select) -> tuple[Select, Select]:
        rows = query.order_by(col(AssuranceItem.requested_at), col(AssuranceItem.id))
        return rows.limit(bindparam("limit")), select(func.count()).select_from(query.subquery())

    return paged(owe), paged(review)
