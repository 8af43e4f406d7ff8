"""Planning: turn due cadence occurrences into check-ins and the jobs that will carry them.

One short transaction per cadence, which holds the cadence row (PostgreSQL: FOR UPDATE SKIP
LOCKED, so other processes plan other cadences; SQLite: BEGIN IMMEDIATE). The check-in's unique
(cadence, local slot) and each job's unique key make planning twice a no-op. After downtime,
occurrences whose window already closed are recorded as missed (not prompted late), and the
leads get one summary; occurrences still inside their window are prompted at once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import date, datetime, timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import Session, col, select

from bot.domain import cadences, checkins
from bot.domain.cadences import CadenceStatus
from storage import jobs
from storage.db import Database
from storage.models import (
    AwayPeriod,
    Cadence,
    Engagement,
    Person,
)

log = logging.getLogger(__name__)
MAX_CATCH_UP = 500
RETRY_BROKEN = timedelta(hours=1)
PLAN_BATCH = 25  # occurrences planned for one cadence in one pass


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


def person_zones(session: Session, team_id: str, user_ids: Sequence[str]) -> dict[str, str]:
    if not user_ids:
        return {}
    rows = session.exec(
        select(Person).where(Person.team_id == team_id).where(col(Person.user_id).in_(user_ids))
    ).all()
    return {p.user_id: p.tz for p in rows if p.tz}


def plan_due(db: Database, now: datetime) -> list[str]:
    """Plan every cadence whose next occurrence is due; returns one line per thing done.

    Cadences are taken in small batches per transaction (PostgreSQL: FOR UPDATE SKIP LOCKED, so
    other processes take other cadences). Should one of a batch fail, the batch is rolled back
    and planned again with a savepoint per cadence: the one that cannot be planned is put off
    for an hour without holding up the rest.
    """
    report: list[str] = []
    while True:
        lines: list[str] = []
        try:
            with db.session() as session:
                due = _claim_due(session, now)
                if not due:
                    return report
                book = AwayBook.for_batch(session, due)
                for cadence in due:
                    plan_cadence(session, cadence, now, lines, book)
        except Exception:
            log.warning("a planning batch failed; planning it one cadence at a time")
            lines = []
            _plan_carefully(db, now, lines)
        report.extend(lines)


def _claim_due(session: Session, now: datetime) -> list[Cadence]:
    return list(
        session.exec(
            select(Cadence)
            .where(Cadence.status == CadenceStatus.ACTIVE)
            .where(col(Cadence.next_run_at) <= now)
            .order_by(col(Cadence.next_run_at), col(Cadence.id))
            .limit(PLAN_BATCH)
            .with_for_update(skip_locked=True)
        ).all()
    )


def _plan_carefully(db: Database, now: datetime, report: list[str]) -> int:
    planned = 0
    with db.session() as session:
        due = _claim_due(session, now)
        book = AwayBook.for_batch(session, due)
        for cadence in due:
            try:
                with session.begin_nested():
                    planned += plan_cadence(session, cadence, now, report, book)
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
    session: Session, cadence: Cadence, now: datetime, report: list[str], book: AwayBook
) -> int:
    engagement = session.get(Engagement, cadence.engagement_id)
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
        slot = datetime.fromisoformat(cadence.next_slot)
        outcome = plan_occurrence(
            session, cadence, engagement, slot, cadence.next_run_at, now, book
        )
        if outcome == checkins.MISSED:
            missed.append(cadence.next_slot)
        elif outcome:
            report.append(
                f"{now.isoformat()} check-in {engagement.handle} {cadence.kind} "
                f"{cadence.next_slot}: {outcome}"
            )
        cadences.set_next(cadence, cadence.next_run_at)
        count += 1
    session.add(cadence)
    if missed:
        jobs.plan(
            session,
            team_id=cadence.team_id,
            key=f"missed:cadence={cadence.id}:through={missed[-1]}",
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
    book: AwayBook,
) -> str | None:
    """Open the check-in for one slot (who is away and each person's zone read here, once per
    batch); its status, or None if another process had already planned it."""
    people = cadences.audience(cadence, session)
    zones = person_zones(session, cadence.team_id, people) if cadence.recipient_local_time else {}
    return checkins.open_occurrence(
        session,
        cadence=cadence,
        engagement=engagement,
        slot=slot,
        at=at,
        now=now,
        people=people,
        away=book.away(cadence.team_id, people, slot.date()),
        zones=zones,
    )


def refresh_people(db: Database, client_for: Callable[[str], WebClient], now: datetime) -> None:
    """Learn the time zones of people asked at their own local time, before planning needs
    them (Slack is called outside any transaction)."""
    stale = now - timedelta(days=1)
    with db.read_session() as session:
        local_time_cadences = session.exec(
            select(Cadence)
            .where(Cadence.status == CadenceStatus.ACTIVE)
            .where(col(Cadence.recipient_local_time) == True)  # noqa: E712 (indexable, unlike IS)
            .where(col(Cadence.next_run_at) <= now + timedelta(days=2))
        ).all()
        wanted = {
            (c.team_id, u) for c in local_time_cadences for u in cadences.audience(c, session)
        }
        if not wanted:
            return
        known = {
            (p.team_id, p.user_id)
            for p in session.exec(
                select(Person)
                .where(col(Person.user_id).in_(sorted({u for _, u in wanted})))
                .where(col(Person.refreshed_at) >= stale)
            ).all()
        }
    for team_id, user_id in sorted(wanted - known):
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
