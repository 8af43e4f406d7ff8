"""An assurance item's clocks: the reminders before its evidence expires, its expiry (the item
turns expired and one security concern is raised: `expiry.expire`), and the provide window of
an owed item (its owner reminded, then the engagement's leads). All at 09:00 in the
engagement's zone, so a DST change moves none of them.

Like a deliverable's clocks (`deliverable_clocks`), each clock is one job under a key that
names the facts it follows from (the valid-until date and the round of an accepted item; the
moment an owed item became owed and the window), so `plan` can be called after every change of
an item and only does the difference: a clock the change leaves as it was keeps its job, a
clock it makes moot is cancelled, a new one is planned, in the change's transaction. The job
checks the same thing again when it runs (`is_live`), so a clock that lost a race says nothing.

The register (`bot.domain.assurance.register`) calls `plan` after every change of an item, and
`on_accepted` when an item is accepted (a renewal resolves the concern its expiry raised).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from bot.domain import concern_clock, concerns, moments
from storage import job_keys, jobs
from storage.assurance_statuses import OWED, AssuranceStatus
from storage.jobs import JobKind
from storage.models import AssuranceItem, Concern, Engagement


class Stage(StrEnum):
    EXPIRING = "expiring"  # to the owner, N days before valid_until ("expiring-30")
    EXPIRE = "expire"  # valid_until has passed: the item expires, a concern is raised
    PROVIDE = "provide"  # owed and not provided within the window: to the owner
    ESCALATE = "escalate"  # the same window again: to the engagement's leads


@dataclass(frozen=True)
class Clock:
    stage: Stage
    key: str
    due_at: datetime
    days: int  # EXPIRING: days before valid_until; PROVIDE, ESCALATE: working days waited


def at_nine(day: date, zone: str) -> datetime:
    """09:00 on `day` in the engagement's zone, as a UTC moment."""
    return datetime.combine(day, concern_clock.WORKDAY_STARTS, tzinfo=ZoneInfo(zone)).astimezone(
        UTC
    )


def working_day_after(day: date, count: int, holidays: Collection[str]) -> date:
    """The `count`-th working day after `day` (not counting `day` itself)."""
    found = 0
    for _ in range(concern_clock.MAX_DAYS):
        day += timedelta(days=1)
        if concern_clock.is_working_day(day, holidays):
            found += 1
            if found >= count:
                break
    return day


def expires_at(item: AssuranceItem, engagement: Engagement) -> datetime | None:
    """When an accepted item turns expired: 09:00 on the day after its last valid day."""
    if item.valid_until is None:
        return None
    return at_nine(item.valid_until + timedelta(days=1), engagement.timezone)


def owed_since(item: AssuranceItem) -> datetime:
    """When the item's owner was last asked for it: its request (a first request, or its
    expiry: `expiry.expire` asks again), or the rejection that sent it back."""
    if item.status == AssuranceStatus.REJECTED and item.reviewed_at is not None:
        return item.reviewed_at
    return item.requested_at


def clocks(item: AssuranceItem, engagement: Engagement) -> list[Clock]:
    """The clocks an item's state calls for, and when each runs out."""
    assert item.id is not None
    if engagement.archived_at is not None:
        return []
    zone, holidays = engagement.timezone, engagement.holidays or ()
    found: list[Clock] = []
    if item.status == AssuranceStatus.ACCEPTED and item.valid_until is not None:
        facts = f"until={item.valid_until.isoformat()}:round={item.rounds}"
        for days in sorted(set(engagement.assurance_expiry_days or ()), reverse=True):
            stage = f"{Stage.EXPIRING}-{days}"
            due = at_nine(item.valid_until - timedelta(days=days), zone)
            found.append(
                Clock(Stage.EXPIRING, job_keys.assurance_clock(item.id, stage, facts), due, days)
            )
        expiry = expires_at(item, engagement)
        assert expiry is not None
        key = job_keys.assurance_clock(item.id, Stage.EXPIRE, facts)
        found.append(Clock(Stage.EXPIRE, key, expiry, 0))
    elif item.status in OWED:
        window = engagement.assurance_window_days
        since = owed_since(item)
        facts = f"since={since.astimezone(UTC).isoformat()}:window={window}"
        first = since.astimezone(ZoneInfo(zone)).date()
        remind = working_day_after(first, window, holidays)
        escalate = working_day_after(remind, window, holidays)
        for stage, day, waited in (
            (Stage.PROVIDE, remind, window),
            (Stage.ESCALATE, escalate, 2 * window),
        ):
            key = job_keys.assurance_clock(item.id, stage, facts)
            found.append(Clock(stage, key, at_nine(day, zone), waited))
    return found


def clock_named(item: AssuranceItem, engagement: Engagement, key: str) -> Clock | None:
    """The clock named `key` if the item's state still calls for it (else None: moot)."""
    return next((c for c in clocks(item, engagement) if c.key == key), None)


def plan(session: Session, item: AssuranceItem, now: datetime) -> None:
    """Bring the item's clock jobs in line with its state, in the caller's transaction: call
    it after every change (requested, provided, accepted, rejected, waived, expired). A
    reminder before an expiry whose moment has passed when it is first planned is not planned
    (the item was just accepted); an expiry is, and goes at once."""
    assert item.id is not None
    engagement = session.get(Engagement, item.engagement_id)
    assert engagement is not None
    wanted = clocks(item, engagement)
    ids = {"item_id": item.id, "engagement_id": item.engagement_id}
    jobs.plan_clocks(
        session,
        team_id=item.team_id,
        prefix=job_keys.assurance_clocks(item.id),
        kind=JobKind.ASSURANCE_CLOCK,
        live={c.key for c in wanted},
        clocks=[
            (clock.key, clock.due_at, {**ids, "stage": clock.stage.value})
            for clock in wanted
            if not (clock.stage == Stage.EXPIRING and clock.due_at <= now)
        ],
        now=now,
    )


def replan_engagement(session: Session, engagement: Engagement, now: datetime) -> int:
    """After an engagement's evidence settings (or zone, or holidays) change: bring every
    accepted and owed item's clocks in line with them; how many were looked at."""
    items = session.exec(
        select(AssuranceItem)
        .where(AssuranceItem.engagement_id == engagement.id)
        .where(col(AssuranceItem.status).in_([AssuranceStatus.ACCEPTED, *OWED]))
    ).all()
    for item in items:
        plan(session, item, now)
    return len(items)


def on_accepted(session: Session, item: AssuranceItem, actor: str, now: datetime) -> None:
    """An item accepted again after its expiry raised a concern (its renewal): that concern is
    resolved by the accepting reviewer with a note naming the renewal, and concern_id cleared.

    The register has checked that `actor` may accept the item, and resolving the concern its
    lapse raised is part of that acceptance: so the reviewer resolves it even when they are
    not one who may resolve concerns by hand (a stakeholder reviewer)."""
    if item.concern_id is None:
        return
    concern = session.get(Concern, item.concern_id)
    item.concern_id = None
    session.add(item)
    if concern is None or concern.status == concerns.ConcernStatus.RESOLVED:
        return
    assert concern.id is not None
    until = f", valid until {moments.day(item.valid_until)}" if item.valid_until else ""
    concerns.resolve(
        session=session,
        team_id=item.team_id,
        actor=actor,
        concern_id=concern.id,
        note=f"Renewed: {item.title} was accepted again{until} (evidence item #{item.id}).",
        now=now,
        admins=(actor,),
    )
