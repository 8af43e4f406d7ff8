"""A deliverable's clocks: when its owner is reminded, when it is overdue, when its acceptors
are reminded and when that goes up to the leads.

Each clock is one job under a key that names the facts it follows from (the due moment, the
slip and rework counts; or the moment of the submission), so `plan` can be called after every
change of a deliverable and only ever does the difference: a clock the change leaves as it was
keeps its job (planning its key again is a no-op, and one already done is not done twice), a
clock the change makes moot is cancelled, a new one is planned, all in the change's
transaction. The job checks the same thing again when it runs (`is_live`), so a clock that
lost a race with a change says nothing.

Working days are Monday to Friday, not the engagement's holidays, in the engagement's own zone
(`concern_clock`), so a DST change moves no reminder off 09:00 local. A rejection after the
due moment has passed restarts the overdue alert at once: the deliverable is late and
unsubmitted again, and the leads last heard it was waiting for acceptance.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from bot.domain import concern_clock
from storage import job_keys, jobs
from storage.deliverable_statuses import DeliverableStatus
from storage.jobs import JobKind
from storage.models import Deliverable, Engagement

# The due-soon reminder (the owner hears on the morning of the n-th working day back) and the
# acceptance window (a submission waits this long before the acceptors are reminded) are the
# engagement's settings (`Engagement.deliverable_due_soon_days`, `…_acceptance_days`).
ESCALATION_WORKING_DAYS = 2  # after the acceptance reminder, this much longer before the leads
WORKING_DAY_HOURS = 8  # concern_clock's working hours, 09:00 to 17:00


class Stage(StrEnum):
    DUE_SOON = "due_soon"  # to the owner
    OVERDUE = "overdue"  # to the owner and the leads
    ACCEPTANCE = "acceptance"  # to the acceptors (none named: the leads)
    ESCALATE = "escalate"  # to the leads and the escalation contact


RUNNING_DUE = (DeliverableStatus.PLANNED, DeliverableStatus.IN_PROGRESS)


@dataclass(frozen=True)
class Clock:
    stage: Stage
    key: str
    due_at: datetime


def working_day_back(day: date, count: int, holidays: Collection[str]) -> date:
    """The `count`-th working day counting back from `day` itself (if it is one)."""
    found = 0
    for _ in range(concern_clock.MAX_DAYS):
        if concern_clock.is_working_day(day, holidays):
            found += 1
            if found >= count:
                return day
        day -= timedelta(days=1)
    return day


def due_soon_at(deliverable: Deliverable, engagement: Engagement, days: int) -> datetime:
    """09:00 in the engagement's zone on the `days`-th working day before the due moment (the
    due day counting when it is a working day): due Friday, 3 days: Wednesday morning."""
    day = working_day_back(deliverable.due_on, max(days, 1), engagement.holidays or ())
    zone = ZoneInfo(engagement.timezone)
    return datetime.combine(day, concern_clock.WORKDAY_STARTS, tzinfo=zone).astimezone(UTC)


def working_days_until(deliverable: Deliverable, engagement: Engagement, now: datetime) -> int:
    """The working days from today to the due day, both counted (due today: 1), in the
    engagement's zone."""
    day = now.astimezone(ZoneInfo(engagement.timezone)).date()
    holidays = engagement.holidays or ()
    count = 0
    while day <= deliverable.due_on and count < concern_clock.MAX_DAYS:
        count += concern_clock.is_working_day(day, holidays)
        day += timedelta(days=1)
    return count


def after_working_days(start: datetime, days: int, engagement: Engagement) -> datetime:
    """`start` plus `days` whole working days, counted in working hours in the engagement's
    zone (submitted Thursday 15:00, five days: the next Thursday 15:00)."""
    return concern_clock.deadline(
        start,
        days * WORKING_DAY_HOURS,
        tz=engagement.timezone,
        pauses=True,
        holidays=engagement.holidays or (),
    )


def clocks(deliverable: Deliverable, engagement: Engagement) -> list[Clock]:
    """The clocks a deliverable's state calls for, and when each runs out."""
    assert deliverable.id is not None
    status = deliverable.status
    if status in RUNNING_DUE:
        facts = (
            f"due={deliverable.due_at.astimezone(UTC).isoformat()}"
            f":slip={deliverable.slip_count}:rework={deliverable.rework_count}"
        )
        soon = engagement.deliverable_due_soon_days
        at = {
            Stage.DUE_SOON: (due_soon_at(deliverable, engagement, soon), f":days={soon}"),
            Stage.OVERDUE: (deliverable.due_at, ""),
        }
    elif status == DeliverableStatus.SUBMITTED and deliverable.submitted_at is not None:
        facts = (
            f"submitted={deliverable.submitted_at.astimezone(UTC).isoformat()}"
            f":rework={deliverable.rework_count}"
        )
        window = engagement.deliverable_acceptance_days
        remind = after_working_days(deliverable.submitted_at, window, engagement)
        at = {
            Stage.ACCEPTANCE: (remind, f":days={window}"),
            Stage.ESCALATE: (
                after_working_days(remind, ESCALATION_WORKING_DAYS, engagement),
                f":days={window}",
            ),
        }
    else:
        return []
    # A window's length is part of its clock's key: an engagement's new setting names a new
    # clock (re-planned by `replan_engagement`); the overdue alert's key never depends on it.
    return [
        Clock(stage, job_keys.deliverable_clock(deliverable.id, stage, facts + extra), moment)
        for stage, (moment, extra) in at.items()
    ]


def is_live(deliverable: Deliverable, engagement: Engagement, key: str) -> bool:
    """Whether the clock named `key` is still one the deliverable's state calls for."""
    return any(clock.key == key for clock in clocks(deliverable, engagement))


def plan(session: Session, deliverable: Deliverable, now: datetime) -> None:
    """Bring the deliverable's clock jobs in line with its state, in the caller's transaction:
    call it after every change (created, started, submitted, accepted, rejected, re-planned,
    cancelled). A due-soon reminder whose moment has passed when it is first planned is not
    planned (the owner has just seen the deliverable); an overdue alert is, and goes at once."""
    assert deliverable.id is not None
    engagement = session.get(Engagement, deliverable.engagement_id)
    assert engagement is not None
    wanted = clocks(deliverable, engagement)
    ids = {"deliverable_id": deliverable.id, "engagement_id": deliverable.engagement_id}
    jobs.plan_clocks(
        session,
        team_id=deliverable.team_id,
        prefix=job_keys.deliverable_clocks(deliverable.id),
        kind=JobKind.DELIVERABLE_CLOCK,
        live={clock.key for clock in wanted},
        clocks=[
            (clock.key, clock.due_at, {**ids, "stage": clock.stage.value})
            for clock in wanted
            if not (clock.stage == Stage.DUE_SOON and clock.due_at <= now)
        ],
        now=now,
    )


def replan_engagement(session: Session, engagement: Engagement, now: datetime) -> int:
    """After an engagement's windows change: bring every open deliverable's clocks in line
    with them (in the change's transaction); how many were looked at."""
    open_ones = session.exec(
        select(Deliverable)
        .where(Deliverable.engagement_id == engagement.id)
        .where(col(Deliverable.status).in_([*RUNNING_DUE, DeliverableStatus.SUBMITTED]))
    ).all()
    for deliverable in open_ones:
        plan(session, deliverable, now)
    return len(open_ones)
