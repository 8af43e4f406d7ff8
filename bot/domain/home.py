"""The Home tab's bookkeeping: who has opened it, and planning it again after a change.

A person's Home tab shows their pending check-ins, their engagements (with RAG and score) and
the concerns they own or raised. It is published when they open it, and again (a `HOME` job,
built from current state when it runs) after a change that shows there: a check-in opened for
them or answered by them, a concern of theirs changing, an engagement of theirs saved or
archived, an update changing its RAG. Only people who have opened the tab at least once are
republished, so a prompt to thousands of people plans no Home jobs for those who never look.

This module reads and writes storage only (no other domain module), so the modules whose
changes it follows (check-ins, concerns) can call it without an import cycle.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import update
from sqlmodel import Session, col, select

from storage import jobs
from storage.jobs import JobKind, insert_ignoring_conflict
from storage.models import EngagementMember, Person

# Up to this many Home jobs are planned one by one (their keys remembered, so the outbox sends
# them as soon as the change commits); more go in one statement and the next pass sends them.
PLAN_ONE_BY_ONE = 20
NEVER_REFRESHED = datetime(1970, 1, 1, tzinfo=UTC)  # a Person row the engine has not filled in
_REFRESHED = "cadence_home_refreshed"  # session.info: people already planned in this transaction


def has_opened(session: Session, *, team_id: str, user_id: str) -> bool:
    opened = session.exec(
        select(Person.home_opened_at)
        .where(Person.team_id == team_id)
        .where(Person.user_id == user_id)
    ).first()
    return opened is not None


def opened(session: Session, *, team_id: str, user_id: str, now: datetime) -> None:
    """Record that the person opened the Home tab (the first time counts; safe to repeat)."""
    insert_ignoring_conflict(
        session,
        Person,
        {
            "team_id": team_id,
            "user_id": user_id,
            "tz": None,
            "status_emoji": "",
            "external": False,
            # Not refreshed yet: the engine still learns their time zone when it needs it.
            "refreshed_at": NEVER_REFRESHED,
            "home_opened_at": now,
        },
        ["team_id", "user_id"],
    )
    session.execute(
        update(Person)
        .where(col(Person.team_id) == team_id)
        .where(col(Person.user_id) == user_id)
        .where(col(Person.home_opened_at).is_(None))
        .values(home_opened_at=now)
    )


def plan_refresh(
    session: Session,
    *,
    team_id: str,
    cause: str,
    now: datetime,
    user_ids: Iterable[str] = (),
    engagement_id: int | None = None,
) -> int:
    """Plan a `HOME` job (key `home:user=U:<cause>`) for each of `user_ids` and, with
    `engagement_id`, each member of that engagement, who has opened the Home tab; how many.

    One query finds them, whatever their number. Someone already planned for in this
    transaction is skipped: their job is built when it runs, after the commit, so it shows
    this change too.
    """
    wanted = {u for u in user_ids if u}
    query = (
        select(Person.user_id)
        .where(Person.team_id == team_id)
        .where(col(Person.home_opened_at).is_not(None))
    )
    if engagement_id is not None:
        members = select(EngagementMember.user_id).where(
            EngagementMember.engagement_id == engagement_id
        )
        query = query.where(col(Person.user_id).in_(members) | col(Person.user_id).in_(wanted))
    elif wanted:
        query = query.where(col(Person.user_id).in_(sorted(wanted)))
    else:
        return 0
    done: set[tuple[str, str]] = session.info.setdefault(_REFRESHED, set())
    people = sorted(u for u in set(session.exec(query).all()) if (team_id, u) not in done)
    planned = [
        {
            "team_id": team_id,
            "key": f"home:user={u}:{cause}"[:200],
            "kind": JobKind.HOME,
            "due_at": now,
            "now": now,
            "user_id": u,
        }
        for u in people
    ]
    if len(planned) <= PLAN_ONE_BY_ONE:
        for job in planned:
            jobs.plan(session, **job)
    else:
        jobs.plan_many(session, [jobs.job_row(**job) for job in planned])
    done.update((team_id, u) for u in people)
    return len(planned)
