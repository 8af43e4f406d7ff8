"""The contract's dates and the reminders they call for: the leads hear 90, 30 and 7 days
before the last day to give notice, and on the end date, at 09:00 in the engagement's zone.

Like a deliverable's clocks (`deliverable_clocks`), each reminder is one job under a key that
names the dates it follows from, so `plan` can run after every change of the engagement and
only does the difference: unchanged dates keep their jobs, changed dates cancel the old ones
and plan new ones, a reminder whose moment has passed is not planned (the lead who just set
the dates has seen them). The job checks again when it runs (`is_live`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlmodel import Session

from storage import job_keys, jobs
from storage.jobs import JobKind
from storage.models import Engagement

NOTICE_REMINDERS = (90, 30, 7)  # days before the last day to give notice
REMIND_AT = time(9, 0)  # in the engagement's zone
SHOWN_WITHIN = 90  # the health card and the digest show a date this close (days)


@dataclass(frozen=True)
class Contract:
    """An engagement's contract as its dates say it stands."""

    start: date | None
    end: date | None
    renews: bool
    notice_days: int | None

    @property
    def notice_by(self) -> date | None:
        """The last day to give notice (ending it, or stopping a renewal)."""
        if self.end is None or self.notice_days is None:
            return None
        return self.end - timedelta(days=self.notice_days)


def contract_of(engagement: Engagement) -> Contract:
    return Contract(
        engagement.contract_start,
        engagement.contract_end,
        engagement.contract_renews,
        engagement.notice_days,
    )


@dataclass(frozen=True)
class Clock:
    stage: str  # "notice-90", "notice-30", "notice-7", "end"
    key: str
    due_at: datetime
    days_left: int  # until the day it speaks of (notice by, or the end)


def _at(day: date, zone: str) -> datetime:
    return datetime.combine(day, REMIND_AT, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def clocks(engagement: Engagement) -> list[Clock]:
    """The reminders the engagement's contract calls for, and when each is due."""
    assert engagement.id is not None
    contract = contract_of(engagement)
    if contract.end is None or engagement.archived_at is not None:
        return []
    facts = (
        f"end={contract.end.isoformat()}:notice={contract.notice_days}"
        f":renews={int(contract.renews)}"
    )
    found: list[Clock] = []
    if contract.notice_by is not None:
        for days in NOTICE_REMINDERS:
            stage = f"notice-{days}"
            due = _at(contract.notice_by - timedelta(days=days), engagement.timezone)
            key = job_keys.contract_clock(engagement.id, stage, facts)
            found.append(Clock(stage, key, due, days))
    key = job_keys.contract_clock(engagement.id, "end", facts)
    found.append(Clock("end", key, _at(contract.end, engagement.timezone), 0))
    return found


def is_live(engagement: Engagement, key: str) -> bool:
    return any(clock.key == key for clock in clocks(engagement))


def plan(session: Session, engagement: Engagement, now: datetime) -> None:
    """Bring the engagement's contract reminders in line with its dates, in the caller's
    transaction (after it is created or edited)."""
    assert engagement.id is not None
    wanted = [c for c in clocks(engagement) if c.due_at > now]
    jobs.plan_clocks(
        session,
        team_id=engagement.team_id,
        prefix=job_keys.contract_clocks(engagement.id),
        kind=JobKind.CONTRACT_CLOCK,
        live={c.key for c in wanted},
        clocks=[
            (c.key, c.due_at, {"engagement_id": engagement.id, "stage": c.stage}) for c in wanted
        ],
        now=now,
    )


def upcoming(engagement: Engagement, today: date) -> tuple[str, date, int] | None:
    """What the health card and the digest say when a contract date is within SHOWN_WITHIN
    days: ("notice", the last day to give notice, days left) first while it is ahead, then
    ("end", the end date, days left); None when nothing is that close."""
    return upcoming_of(contract_of(engagement), today)


def upcoming_of(contract: Contract, today: date) -> tuple[str, date, int] | None:
    """`upcoming` for a contract's dates as read (the figures' loader reads them set-based)."""
    for what, day in (("notice", contract.notice_by), ("end", contract.end)):
        if day is not None and 0 <= (day - today).days <= SHOWN_WITHIN:
            return what, day, (day - today).days
    return None
