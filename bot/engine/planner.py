"""Planning: turn due cadence occurrences into check-ins and the jobs that will carry them.

One short transaction per cadence, which holds the cadence row (PostgreSQL: FOR NO KEY UPDATE
SKIP LOCKED, so other processes plan other cadences; SQLite: BEGIN IMMEDIATE). The check-in's
unique (cadence, local slot) and each job's unique key make planning twice a no-op. After downtime,
occurrences whose window already closed are recorded as missed (not prompted late), and the
leads get one summary; occurrences still inside their window are prompted at once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import and_, case, func, literal
from sqlmodel import Session, col, select

from bot.domain import cadences, checkins
from bot.domain.cadences import CadenceStatus
from bot.platform.rate_limits import RateBudgets
from storage import job_keys, jobs
from storage.db import Database
from storage.installations import installed
from storage.models import (
    AwayPeriod,
    Cadence,
    CheckIn,
    Engagement,
    EngagementMember,
    Person,
)

log = logging.getLogger(__name__)
MAX_CATCH_UP = 500
RETRY_BROKEN = timedelta(hours=1)
# Zones are learned for cadences planned within the next hour (a pass every minute has sixty
# chances to reach Slack before planning needs them); a zone learned in the last day is kept.
REFRESH_AHEAD = timedelta(hours=1)
PERSON_FRESH_FOR = timedelta(days=1)
PLAN_BATCH = 25  # occurrences planned for one cadence in one pass
EPSILON = timedelta(microseconds=1)  # "from" a moment, for a search that starts after it


class AwayBook:
    """Who is away when, read once per planning batch (not once per occurrence)."""

    def __init__(self, periods: Sequence[tuple[str, str, date, date]]):
        self._by_person: dict[tuple[str, str], list[tuple[date, date]]] = {}
        for team_id, user_id, starts, ends in periods:
            self._by_person.setdefault((team_id, user_id), []).append((starts, ends))

    @classmethod
    def load(cls, session: Session, since: date) -> AwayBook:
        rows = session.exec(
            select(
                AwayPeriod.team_id, AwayPeriod.user_id, AwayPeriod.starts_on, AwayPeriod.ends_on
            ).where(AwayPeriod.ends_on >= since)
        ).all()
        return cls([tuple(r) for r in rows])

    @classmethod
    def for_batch(cls, session: Session, due: Sequence[Cadence]) -> AwayBook:
        moments = [c.next_run_at for c in due if c.next_run_at is not None]
        if not moments:
            return cls([])
        return cls.load(session, (min(moments) - timedelta(days=2)).date())

    def away(self, team_id: str, user_ids: Sequence[str], day: date) -> set[str]:
        return {
            u
            for u in user_ids
            if any(s <= day <= e for s, e in self._by_person.get((team_id, u), ()))
        }


class Batch:
    """What planning a batch of due cadences reads, read once for the batch (a fixed number of
    queries whatever its size): the engagements, who is away, each cadence's audience, the
    zones of people asked at their local time. With `collect`, the jobs its occurrences plan
    are gathered in `job_rows` and planned together at the end of the batch."""

    def __init__(self, session: Session, due: Sequence[Cadence], *, collect: bool = False):
        self.job_rows: list[dict] | None = [] if collect else None
        self.away = AwayBook.for_batch(session, due)
        engagement_ids = sorted({c.engagement_id for c in due})
        self.engagements = {
            e.id: e
            for e in session.exec(select(Engagement).where(col(Engagement.id).in_(engagement_ids)))
        }
        members: dict[tuple[int, str], list[str]] = {}
        on_engagement: dict[int, set[str]] = {}
        rows = session.exec(
            select(EngagementMember.engagement_id, EngagementMember.role, EngagementMember.user_id)
            .where(col(EngagementMember.engagement_id).in_(engagement_ids))
            .order_by(col(EngagementMember.id))
        ).all()
        for engagement_id, role, user_id in rows:
            members.setdefault((engagement_id, role), []).append(user_id)
            on_engagement.setdefault(engagement_id, set()).add(user_id)
        self.people: dict[int | None, list[str]] = {}
        for c in due:
            if c.audience == "chosen":  # only those still on the engagement are asked
                self.people[c.id] = cadences.chosen_members(
                    c.audience_user_ids, on_engagement.get(c.engagement_id, set())
                )
            else:
                role = cadences.AUDIENCE_ROLES.get(c.audience, "vendor")
                self.people[c.id] = list(members.get((c.engagement_id, role), ()))
        self.zones: dict[tuple[str, str], str] = {}
        local = [c for c in due if c.recipient_local_time]
        for team_id in sorted({c.team_id for c in local}):
            asked = sorted({u for c in local if c.team_id == team_id for u in self.people[c.id]})
            for user_id, tz in person_zones(session, team_id, asked).items():
                self.zones[(team_id, user_id)] = tz

        self.last_opened = last_opened(session, due)

    def audience(self, cadence: Cadence) -> list[str]:
        return self.people[cadence.id]

    def zones_of(self, cadence: Cadence, people: Sequence[str]) -> dict[str, str]:
        found = (self.zones.get((cadence.team_id, u)) for u in people)
        return {u: tz for u, tz in zip(people, found, strict=True) if tz}


def last_opened(session: Session, due: Sequence[Cadence]) -> dict[int, datetime]:
    """When each cadence's latest check-in was due, among those within `MIN_INTERVAL` of its
    next run (skipped ones aside: they send nothing): one query for the batch."""
    moments = [c.next_run_at for c in due if c.next_run_at is not None]
    if not moments:
        return {}
    rows = session.exec(
        select(CheckIn.cadence_id, func.max(CheckIn.scheduled_for))
        .where(col(CheckIn.cadence_id).in_(sorted(c.id for c in due if c.id is not None)))
        .where(col(CheckIn.scheduled_for) > min(moments) - cadences.MIN_INTERVAL)
        .where(CheckIn.status != checkins.SKIPPED)
        .group_by(col(CheckIn.cadence_id))
    ).all()
    return {cadence_id: at for cadence_id, at in rows if at is not None}


def person_zones(session: Session, team_id: str, user_ids: Sequence[str]) -> dict[str, str]:
    if not user_ids:
        return {}
    rows = session.exec(
        select(Person).where(Person.team_id == team_id).where(col(Person.user_id).in_(user_ids))
    ).all()
    return {p.user_id: p.tz for p in rows if p.tz}


def plan_due(db: Database, now: datetime, *, stopping: threading.Event | None = None) -> list[str]:
    """Plan every cadence whose next occurrence is due; returns one line per thing done.

    Cadences are taken in small batches per transaction (PostgreSQL: FOR NO KEY UPDATE SKIP
    LOCKED, so other processes take other cadences). Should one of a batch fail, the batch is
    rolled back and planned again with a savepoint per cadence: the one that cannot be planned
    is put off for an hour without holding up the rest.

    Once `stopping` is set (SIGTERM, or a pass abandoned as hung), no further batch is taken:
    the batches committed stay planned, the cadences not reached stay due for the next pass, so
    a long planning phase does not outlast the ticker's grace period.
    """
    report: list[str] = []
    while stopping is None or not stopping.is_set():
        lines: list[str] = []
        try:
            with db.session() as session:
                due = _claim_due(session, now)
                if not due:
                    return report
                batch = Batch(session, due, collect=True)
                # The batch's jobs are planned together, and the cadences' next occurrences
                # written together at commit (one executemany each), not one occurrence at a
                # time (nothing in between reads them).
                with session.no_autoflush:
                    for cadence in due:
                        plan_cadence(session, cadence, now, lines, batch)
                    jobs.plan_many(session, batch.job_rows or [])
        except Exception:
            log.warning("a planning batch failed; planning it one cadence at a time")
            lines = []
            _plan_carefully(db, now, lines)
        report.extend(lines)
    log.info("stopping: planning left what is still due for the next pass")
    return report


def _claim_due(session: Session, now: datetime) -> list[Cadence]:
    """The next PLAN_BATCH due cadences, in turn by workspace as the job claim takes its jobs
    (storage/jobs.py `_fair_choice`): sending starts while planning goes on, so a workspace
    whose cadences were all planned after another's 100 would wait for them at 09:00. Each due
    cadence is numbered within its workspace in an inner subquery (PostgreSQL refuses FOR
    UPDATE beside a window function), and the outer one locks the cadences only (OF), the due
    condition repeated there so that one planned meanwhile by another process is dropped."""

    def due():
        return and_(
            col(Cadence.status) == CadenceStatus.ACTIVE,
            col(Cadence.next_run_at) <= now,
            installed(col(Cadence.team_id)),  # not a workspace that uninstalled Cadence
        )

    turn = (
        func.row_number()
        .over(
            partition_by=col(Cadence.team_id),
            order_by=(col(Cadence.next_run_at), col(Cadence.id)),
        )
        .label("turn")
    )
    ranked = (
        select(col(Cadence.id).label("id"), col(Cadence.next_run_at).label("at"), turn)
        .where(due())
        .subquery("ranked")
    )
    return list(
        session.exec(
            select(Cadence)
            .join(ranked, ranked.c.id == col(Cadence.id))
            .where(due())
            .order_by(ranked.c.turn, ranked.c.at, ranked.c.id)
            .limit(PLAN_BATCH)
            # NO KEY UPDATE: planning changes no key, and FOR UPDATE would also conflict with
            # the KEY SHARE lock that inserting a row pointing at the cadence takes (a job
            # planned by a job being sent meanwhile): the cadence would be skipped for the
            # pass (tests/test_planner_locks.py).
            .with_for_update(of=Cadence.__table__, skip_locked=True, key_share=True)
        ).all()
    )


def _plan_carefully(db: Database, now: datetime, report: list[str]) -> int:
    planned = 0
    with db.session() as session:
        due = _claim_due(session, now)
        batch = Batch(session, due)
        for cadence in due:
            try:
                with session.begin_nested():
                    planned += plan_cadence(session, cadence, now, report, batch)
            except Exception:
                log.exception("planning cadence %s failed; retried in an hour", cadence.id)
                report.append(
                    f"{now.isoformat()} cadence {cadence.id} could not be planned; retry in 1 h"
                )
                session.refresh(cadence)
                cadence.next_run_at = now + RETRY_BROKEN
                session.add(cadence)
    return planned


def plan_cadence(
    session: Session, cadence: Cadence, now: datetime, report: list[str], batch: Batch
) -> int:
    engagement = batch.engagements.get(cadence.engagement_id)
    assert engagement is not None and cadence.id is not None
    if engagement.archived_at is not None:
        cadence.status, cadence.next_run_at, cadence.next_slot = CadenceStatus.ENDED, None, None
        session.add(cadence)
        report.append(f"cadence {cadence.id} ended: {engagement.handle} is archived")
        return 0
    missed: list[str] = []
    count = 0
    while (
        count < MAX_CATCH_UP
        and cadence.next_run_at is not None
        and cadence.next_slot
        and cadence.next_run_at <= now
    ):
        at = cadence.next_run_at
        previous = batch.last_opened.get(cadence.id)
        if previous is not None and at < previous + cadences.MIN_INTERVAL:
            # Never two occurrences of one cadence within the minimum interval, whatever its
            # rule (one stored before the limit, a resume just after a run): this one is
            # dropped unsent, and the next looked for from an hour after the last.
            report.append(
                f"{now.isoformat()} cadence {cadence.id} {cadence.next_slot} not opened: "
                "less than an hour after its last check-in"
            )
            outcome: str | None = None
        else:
            slot = datetime.fromisoformat(cadence.next_slot)
            outcome = plan_occurrence(session, cadence, engagement, slot, at, now, batch)
            previous = batch.last_opened[cadence.id] = at  # by this pass or another process
        if outcome == checkins.MISSED:
            missed.append(cadence.next_slot)
        elif outcome:
            report.append(
                f"{now.isoformat()} check-in {engagement.handle} {cadence.kind} "
                f"{cadence.next_slot}: {outcome}"
            )
        cadences.set_next(cadence, max(at, previous + cadences.MIN_INTERVAL - EPSILON))
        count += 1
    session.add(cadence)
    if missed:
        jobs.plan(
            session,
            team_id=cadence.team_id,
            key=job_keys.missed(cadence.id, missed[-1]),
            kind="missed_summary",
            due_at=now,
            now=now,
            payload={"slots": missed},
            cadence_id=cadence.id,
        )
        report.append(
            f"{now.isoformat()} {len(missed)} missed {engagement.handle} {cadence.kind} "
            f"occurrence(s) recorded (engine was down)"
        )
    return count


def plan_occurrence(
    session: Session,
    cadence: Cadence,
    engagement: Engagement,
    slot: datetime,
    at: datetime,
    now: datetime,
    batch: Batch,
) -> str | None:
    """Open the check-in for one slot (who is asked, who is away and each person's zone come
    from the batch, read once for it); its status, or None if another process had already
    planned it."""
    people = batch.audience(cadence)
    zones = batch.zones_of(cadence, people) if cadence.recipient_local_time else {}
    return checkins.open_occurrence(
        session,
        cadence=cadence,
        engagement=engagement,
        slot=slot,
        at=at,
        now=now,
        people=people,
        away=batch.away.away(cadence.team_id, people, slot.date()),
        zones=zones,
        job_rows=batch.job_rows,
    )


def refresh_people(
    db: Database,
    client_for: Callable[[str], WebClient],
    now: datetime,
    *,
    stopping: threading.Event | None = None,
    budgets: RateBudgets | None = None,
) -> None:
    """Learn the time zones of people asked at their own local time, before planning needs
    them (Slack is called outside any transaction). Once `stopping` is set, nobody more is
    asked (each call may take the Slack client's whole timeout): the next pass asks the rest.

    users.info is paced by its tier per workspace (`budgets`, bot/platform/rate_limits.py): a
    workspace whose minute is spent, or that Slack answered 429, is asked no more this pass
    (the next pass asks the rest; its people are asked an hour ahead of their prompt) while
    the other workspaces go on.

    Who needs asking is read in two set-based queries whatever the number of cadences (the
    role-based audiences joined to their members, fresh people left out in SQL; the chosen
    audiences' lists), and only for cadences planned within `REFRESH_AHEAD`: an idle pass
    reads a handful of rows, not every local-time cadence's audience.
    """
    with db.read_session() as session:
        wanted = stale_audience(session, now)
    held_back: set[str] = set()
    for team_id, user_id in sorted(wanted):
        if stopping is not None and stopping.is_set():
            return
        if team_id in held_back:
            continue
        if budgets is not None and budgets.take(team_id, "users.info") > 0:
            held_back.add(team_id)
            log.info("users.info rate-limited in %s: the next pass asks the rest", team_id)
            continue
        try:
            user = client_for(team_id).users_info(user=user_id)["user"]
        except SlackApiError as e:
            log.info("users.info %s: %s", user_id, e.response.get("error"))
            continue
        with db.session() as session:
            row = session.exec(
                select(Person).where(Person.team_id == team_id).where(Person.user_id == user_id)
            ).first() or Person(team_id=team_id, user_id=user_id, refreshed_at=now)
            row.tz = user.get("tz")
            row.status_emoji = (user.get("profile") or {}).get("status_emoji", "")
            row.external = bool(user.get("team_id") and user.get("team_id") != team_id)
            row.refreshed_at = now
            session.add(row)


def stale_audience(session: Session, now: datetime) -> set[tuple[str, str]]:
    """(team, user) of everyone a local-time cadence planned by `now + REFRESH_AHEAD` asks
    whose zone was not learned in the last day."""
    stale = now - PERSON_FRESH_FOR
    planned_soon = and_(
        Cadence.status == CadenceStatus.ACTIVE,
        col(Cadence.recipient_local_time) == True,  # noqa: E712 (indexable, unlike IS)
        col(Cadence.next_run_at) <= now + REFRESH_AHEAD,
        installed(col(Cadence.team_id)),  # nobody of a workspace that uninstalled Cadence
    )
    role = case(
        *((Cadence.audience == name, literal(r)) for name, r in cadences.AUDIENCE_ROLES.items()),
        else_=literal("vendor"),
    )
    fresh = (
        select(Person.id)
        .where(Person.team_id == Cadence.team_id)
        .where(Person.user_id == EngagementMember.user_id)
        .where(col(Person.refreshed_at) >= stale)
        .exists()
    )
    by_role = session.exec(
        select(Cadence.team_id, EngagementMember.user_id)
        .distinct()
        .join(
            EngagementMember,
            and_(
                col(EngagementMember.engagement_id) == col(Cadence.engagement_id),
                col(EngagementMember.role) == role,
            ),
        )
        .where(planned_soon)
        .where(Cadence.audience != "chosen")
        .where(~fresh)
    ).all()
    wanted = {(team_id, user_id) for team_id, user_id in by_role}
    chosen = {
        (team_id, user_id)
        for team_id, user_ids in session.exec(
            select(Cadence.team_id, Cadence.audience_user_ids)
            .where(planned_soon)
            .where(Cadence.audience == "chosen")
        ).all()
        for user_id in user_ids or ()
    }
    if chosen:
        known = {
            (p.team_id, p.user_id)
            for p in session.exec(
                select(Person)
                .where(col(Person.user_id).in_(sorted({u for _, u in chosen})))
                .where(col(Person.refreshed_at) >= stale)
            ).all()
        }
        wanted |= chosen - known
    return wanted
