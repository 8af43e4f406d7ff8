"""Planning: turn due cadence occurrences into check-ins and the jobs that will carry them.

One short transaction per cadence, which holds the cadence row (PostgreSQL: FOR UPDATE SKIP
LOCKED, so other processes plan other cadences; SQLite: BEGIN IMMEDIATE). The check-in's unique
(cadence, local slot) and each job's unique key make planning twice a no-op. After downtime,
occurrences whose window already closed are recorded as missed (not prompted late), and the
leads get one summary; occurrences still inside their window are prompted at once.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from sqlmodel import Session, col, select

from bot import checkins, jobs, recurrence
from bot.checkins import AWAY, PENDING
from storage.db import Database
from storage.models import (
    AwayPeriod,
    Cadence,
    CheckIn,
    CheckInRecipient,
    Engagement,
    EngagementMember,
    Person,
)

log = logging.getLogger(__name__)
MAX_CATCH_UP = 500
RETRY_BROKEN = timedelta(hours=1)
PLAN_BATCH = 25  # occurrences planned for one cadence in one pass
EARLIEST_ZONE = "Pacific/Kiritimati"  # UTC+14: where a local time happens first


def plan_zone(cadence: Cadence) -> str:
    """Cadences at each recipient's local time are planned when the slot first happens on
    Earth; each person's prompt is then due at the slot in their own zone."""
    return EARLIEST_ZONE if cadence.recipient_local_time else cadence.timezone


def compute_next(cadence: Cadence, after: datetime) -> recurrence.Occurrence | None:
    rule = recurrence.rule_from_storage(cadence.rule_kind, cadence.rule, cadence.start_date)
    return recurrence.next_occurrence(
        rule, recurrence.parse_local_time(cadence.local_time), plan_zone(cadence), after
    )


def set_next(cadence: Cadence, after: datetime) -> recurrence.Occurrence | None:
    occurrence = compute_next(cadence, after)
    cadence.next_run_at = occurrence.at if occurrence else None
    cadence.next_slot = occurrence.key if occurrence else None
    return occurrence


AUDIENCE_ROLES = {"vendor": "vendor", "stakeholders": "stakeholder", "leads": "lead"}


def audience(cadence: Cadence, session: Session) -> list[str]:
    """The people a cadence asks, by ID, in a stable order."""
    if cadence.audience == "chosen":
        return list(dict.fromkeys(cadence.audience_user_ids))
    return list(
        session.exec(
            select(EngagementMember.user_id)
            .where(EngagementMember.engagement_id == cadence.engagement_id)
            .where(EngagementMember.role == AUDIENCE_ROLES.get(cadence.audience, "vendor"))
            .order_by(col(EngagementMember.id))
        ).all()
    )


def away_on(session: Session, team_id: str, user_ids: Sequence[str], day: date) -> set[str]:
    if not user_ids:
        return set()
    rows = session.exec(
        select(AwayPeriod.user_id)
        .where(AwayPeriod.team_id == team_id)
        .where(col(AwayPeriod.user_id).in_(list(user_ids)))
        .where(AwayPeriod.starts_on <= day)
        .where(AwayPeriod.ends_on >= day)
    ).all()
    return set(rows)


def person_zones(session: Session, team_id: str, user_ids: Sequence[str]) -> dict[str, str]:
    if not user_ids:
        return {}
    rows = session.exec(
        select(Person).where(Person.team_id == team_id).where(col(Person.user_id).in_(user_ids))
    ).all()
    return {p.user_id: p.tz for p in rows if p.tz}


def localize(slot: datetime, tz: str) -> datetime:
    return recurrence.localize(slot, tz)


def plan_due(db: Database, now: datetime, report: list[str]) -> int:
    """Plan every cadence whose next occurrence is due; returns how many occurrences.

    Cadences are taken in small batches per transaction (PostgreSQL: FOR UPDATE SKIP LOCKED, so
    other processes take other cadences). Each cadence is planned in a savepoint: one that
    cannot be planned is put off for an hour without holding up the rest.
    """
    planned = 0
    while True:
        with db.session() as session:
            due = session.exec(
                select(Cadence)
                .where(Cadence.status == "active")
                .where(col(Cadence.next_run_at) <= now)
                .order_by(col(Cadence.next_run_at), col(Cadence.id))
                .limit(PLAN_BATCH)
                .with_for_update(skip_locked=True)
            ).all()
            if not due:
                return planned
            for cadence in due:
                try:
                    with session.begin_nested():
                        planned += plan_cadence(session, cadence, now, report)
                except Exception:
                    log.exception("planning cadence %s failed; retried in an hour", cadence.id)
                    report.append(
                        f"{now.isoformat()} cadence {cadence.id} could not be planned; retry in 1 h"
                    )
                    session.refresh(cadence)
                    cadence.next_run_at = now + RETRY_BROKEN
                    session.add(cadence)


def plan_cadence(session: Session, cadence: Cadence, now: datetime, report: list[str]) -> int:
    engagement = session.get(Engagement, cadence.engagement_id)
    assert engagement is not None and cadence.id is not None
    if engagement.archived_at is not None:
        cadence.status, cadence.next_run_at, cadence.next_slot = "ended", None, None
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
        outcome = plan_occurrence(session, cadence, engagement, slot, cadence.next_run_at, now)
        if outcome == checkins.MISSED:
            missed.append(cadence.next_slot)
        elif outcome:
            report.append(
                f"{now.isoformat()} check-in {engagement.handle} {cadence.kind} "
                f"{cadence.next_slot}: {outcome}"
            )
        set_next(cadence, cadence.next_run_at)
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
) -> str | None:
    """Create the check-in for one slot and its jobs; the check-in's status, or None if another
    process had already planned it."""
    team_id = cadence.team_id
    people = audience(cadence, session)
    away = away_on(session, team_id, people, slot.date())
    zones = person_zones(session, team_id, people) if cadence.recipient_local_time else {}

    def due_for(user_id: str) -> datetime:
        if cadence.recipient_local_time:
            return localize(slot, zones.get(user_id) or cadence.timezone)
        return at

    asked = [u for u in people if u not in away]
    window = timedelta(hours=cadence.window_hours)
    closes = max((due_for(u) for u in asked), default=at) + window
    if slot.date().isoformat() in (engagement.holidays or []):
        status = checkins.HOLIDAY
    elif closes <= now:
        status = checkins.MISSED
    elif not asked:
        status = checkins.EXCUSED
    else:
        status = checkins.OPEN
    checkin_id = jobs.insert_ignoring_conflict(
        session,
        CheckIn,
        {
            "team_id": team_id,
            "cadence_id": cadence.id,
            "engagement_id": engagement.id,
            "occurrence_key": slot.isoformat(timespec="minutes"),
            "scheduled_for": at,
            "window_closes_at": closes,
            "status": status,
            "created_at": now,
        },
        ["cadence_id", "occurrence_key"],
    )
    if checkin_id is None:
        return None
    if status == checkins.HOLIDAY:
        return status
    for user_id in people:
        session.add(
            CheckInRecipient(
                team_id=team_id,
                checkin_id=checkin_id,
                user_id=user_id,
                status=AWAY if user_id in away else PENDING,
            )
        )
    if status != checkins.OPEN:
        return status
    common = {"team_id": team_id, "now": now, "cadence_id": cadence.id, "checkin_id": checkin_id}
    if cadence.delivery == "channel":
        jobs.plan(
            session,
            key=f"prompt:checkin={checkin_id}:channel",
            kind="prompt",
            due_at=at,
            payload={"channel": engagement.channel_id},
            **common,
        )
    else:
        for user_id in asked:
            jobs.plan(
                session,
                key=f"prompt:checkin={checkin_id}:user={user_id}",
                kind="prompt",
                due_at=due_for(user_id),
                user_id=user_id,
                **common,
            )
    if cadence.reminder_hours:
        remind = timedelta(hours=cadence.reminder_hours)
        targets = [None] if cadence.delivery == "channel" else asked
        for user_id in targets:
            start = at if user_id is None else due_for(user_id)
            due = start + window - remind
            if due > max(now, start):
                suffix = "channel" if user_id is None else f"user={user_id}"
                jobs.plan(
                    session,
                    key=f"reminder:checkin={checkin_id}:{suffix}",
                    kind="reminder",
                    due_at=due,
                    user_id=user_id,
                    payload={"channel": engagement.channel_id} if user_id is None else None,
                    **common,
                )
    jobs.plan(session, key=f"overdue:checkin={checkin_id}", kind="overdue", due_at=closes, **common)
    if cadence.escalation_hours is not None:
        jobs.plan(
            session,
            key=f"escalate:checkin={checkin_id}",
            kind="escalate",
            due_at=closes + timedelta(hours=cadence.escalation_hours),
            **common,
        )
    return status
