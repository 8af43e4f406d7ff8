"""The Home tab's bookkeeping: who has opened it, and planning it again after a change.

A person's Home tab shows their pending check-ins, their engagements (with RAG and score) and
the concerns they own or raised. It is published when they open it, and again (a `HOME` job,
built from current state when it runs) after a change that shows there: a check-in opened for
them or answered by them, a concern of theirs changing, an engagement of theirs saved or
archived, an update changing its RAG. Only people who have opened the tab at least once are
republished, so a prompt to thousands of people plans no Home jobs for those who never look.

Refreshes are coalesced per person over windows of HOME_WINDOW: views.publish is a Tier 4
method (100+ a minute per workspace, https://docs.slack.dev/reference/methods/views.publish),
and a busy Monday changes the same Home many times a minute. A window's first change plans
a job sent at once (key `home:user=U:at=<window>`); every later change of that window is the
one job `…:then`, due at the window's end, built then from what the whole window changed. So
a burst gives a person at most two publishes per window, and a change is never left unshown:
a `then` job runs only once its window is over, after every change that names it. A batch
planned in one statement (more than PLAN_ONE_BY_ONE people) is sent by a pass anyway, so it
plans the `then` job only.

This module reads and writes storage only (no other domain module), so the modules whose
changes it follows (check-ins, concerns) can call it without an import cycle.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from storage import job_keys, jobs
from storage.jobs import JobKind, insert_ignoring_conflict
from storage.models import EngagementMember, Person

# Up to this many Home jobs are planned one by one (their keys remembered, so the outbox sends
# them as soon as the change commits); more go in one statement and the next pass sends them.
PLAN_ONE_BY_ONE = 20
HOME_WINDOW = timedelta(seconds=10)  # a person's Home is published at most twice per window
NEVER_REFRESHED = datetime(1970, 1, 1, tzinfo=UTC)  # a Person row the engine has not filled in
_REFRESHED = "cadence_home_refreshed"  # session.info: people already planned in this transaction
_ASKED = "cadence_home_asked"  # session.info: refreshes asked for, not planned yet


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
) -> None:
    """Plan a `HOME` job for each of `user_ids` and, with `engagement_id`, each member of that
    engagement, who has opened the Home tab: at once if it is their window's first, else the
    window's `then` job (see the module's docstring). `cause` is kept in its payload.

    Planned later in the transaction (`jobs.plan_later`: when its planned keys are read, or at
    its commit), together with every other refresh it asked for: one query finds the people of
    all of them, so planning a batch of occurrences costs one query, not one per occurrence.
    Someone already planned for in this transaction is skipped: their job is built when it
    runs, after the commit, so it shows every change of the transaction.
    """
    wanted = tuple(sorted({u for u in user_ids if u}))
    if engagement_id is None and not wanted:
        return
    session.info.setdefault(_ASKED, []).append(_Refresh(team_id, cause, now, wanted, engagement_id))
    jobs.plan_later(session, _ASKED, _plan_asked)


@dataclass(frozen=True)
class _Refresh:
    team_id: str
    cause: str
    now: datetime
    user_ids: tuple[str, ...]
    engagement_id: int | None


def _plan_asked(session: Session) -> None:
    """Plan the refreshes this transaction asked for, in the order asked (a person's first
    cause names their job): per workspace one query for who has opened Home among everyone
    named, and one for the members of the engagements named."""
    asked: list[_Refresh] = session.info.pop(_ASKED, [])
    if not asked:
        return
    opened_by_team: dict[str, set[str]] = {}
    members: dict[int, list[str]] = defaultdict(list)
    for team_id in sorted({a.team_id for a in asked}):
        mine = [a for a in asked if a.team_id == team_id]
        named = sorted({u for a in mine for u in a.user_ids})
        engagement_ids = sorted({a.engagement_id for a in mine if a.engagement_id is not None})
        query = (
            select(Person.user_id)
            .where(Person.team_id == team_id)
            .where(col(Person.home_opened_at).is_not(None))
        )
        if engagement_ids:
            on_them = select(EngagementMember.user_id).where(
                col(EngagementMember.engagement_id).in_(engagement_ids)
            )
            query = query.where(col(Person.user_id).in_(on_them) | col(Person.user_id).in_(named))
            for engagement_id, user_id in session.exec(
                select(EngagementMember.engagement_id, EngagementMember.user_id).where(
                    col(EngagementMember.engagement_id).in_(engagement_ids)
                )
            ):
                members[engagement_id].append(user_id)
        else:
            query = query.where(col(Person.user_id).in_(named))
        opened_by_team[team_id] = set(session.exec(query).all())
    done: set[tuple[str, str]] = session.info.setdefault(_REFRESHED, set())
    planned: list[tuple[_Refresh, str]] = []
    for a in asked:
        people = set(a.user_ids) | set(members.get(a.engagement_id or 0, ()))
        for u in sorted(people & opened_by_team[a.team_id]):
            if (a.team_id, u) in done:
                continue
            done.add((a.team_id, u))
            planned.append((a, u))
    # In one order whatever the order asked: two transactions planning Home jobs for the same
    # people would otherwise each wait on a key the other had just planned (a deadlock on
    # PostgreSQL, where planning a key waits on an uncommitted row of that key).
    planned.sort(key=lambda pair: (pair[0].team_id, pair[1]))
    if len(planned) <= PLAN_ONE_BY_ONE:
        for a, u in planned:
            # The window's first refresh goes at once; if it exists, the window's `then` job.
            if jobs.plan(session, **_home_job(a, u, then=False)) is None:
                jobs.plan(session, **_home_job(a, u, then=True))
    else:
        jobs.plan_many(session, [jobs.job_row(**_home_job(a, u, then=True)) for a, u in planned])


def window_of(now: datetime) -> datetime:
    """The start of the coalescing window `now` falls in (windows are aligned to the epoch,
    so every process agrees on them)."""
    step = HOME_WINDOW.total_seconds()
    return datetime.fromtimestamp(now.timestamp() // step * step, tz=UTC)


def _home_job(a: _Refresh, user_id: str, *, then: bool) -> dict:
    window = window_of(a.now)
    return {
        "team_id": a.team_id,
        "key": job_keys.home(user_id, window, then=then),
        "kind": JobKind.HOME,
        "due_at": window + HOME_WINDOW if then else a.now,
        "now": a.now,
        "user_id": user_id,
        "payload": {"cause": a.cause[:200]},
    }
