"""What the deliverables' timeline picture shows: each deliverable's planned and actual dates.

Why a read of its own: the picture needs every date a deliverable ever had (the one first
agreed, each re-plan from its old date to its new one, each submission, rejection, acceptance
and cancellation), which the list and the card never show together. Read set-based (the
deliverables of one engagement, then all their events, two SELECTs whatever their number) and
turned into plain, frozen data, so `bot/blocks/timeline.py` draws it without a session.

Dates are local dates in the engagement's zone (a deliverable is due at the end of its date
there, `deliverables.due_moment`), and so is "today": the picture and the card agree on which
day a thing happened.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from bot.domain import engagements
from bot.domain.deliverables import NOT_SUBMITTED, local_today
from storage.deliverable_statuses import DeliverableStatus
from storage.models import Deliverable, DeliverableEvent

NO_MILESTONE = ""

# The moments the picture marks on a deliverable's row, from its events' actions.
MARKED = ("submitted", "rejected", "accepted", "cancelled")


@dataclass(frozen=True)
class Replan:
    """One change of due date: from `old` to `new` (later: a slip; earlier: pulled in)."""

    old: date
    new: date

    @property
    def days(self) -> int:
        return (self.new - self.old).days


@dataclass(frozen=True)
class Mark:
    """Something that happened to a deliverable on a day: submitted, rejected, accepted or
    cancelled."""

    on: date
    what: str


@dataclass(frozen=True)
class TimelineItem:
    deliverable_id: int
    title: str
    milestone: str
    status: str  # a DeliverableStatus value
    planned: date  # the due date first agreed
    due: date  # the due date now
    replans: tuple[Replan, ...] = ()
    marks: tuple[Mark, ...] = ()
    overdue: bool = False  # open, not submitted, and its due moment has passed
    rework: int = 0

    @property
    def slips(self) -> tuple[Replan, ...]:
        return tuple(r for r in self.replans if r.days > 0)

    @property
    def state(self) -> str:
        """Its status as the picture names it: `overdue` before the stored status."""
        return "overdue" if self.overdue else self.status

    def dates(self) -> list[date]:
        """Every date its row shows (for the time axis)."""
        found = [self.planned, self.due, *(m.on for m in self.marks)]
        for replan in self.replans:
            found += [replan.old, replan.new]
        return found


@dataclass(frozen=True)
class Milestone:
    """A named date whose status follows its deliverables: its date is the latest due date of
    those not cancelled; done when all of those are accepted, late when one is overdue."""

    name: str
    due: date
    state: str  # "done", "late", "open" or "cancelled"
    count: int


@dataclass(frozen=True)
class Timeline:
    engagement_id: int
    name: str
    handle: str
    timezone: str
    today: date
    items: tuple[TimelineItem, ...]  # grouped by milestone (by its date), unnamed last
    milestones: tuple[Milestone, ...]

    def dates(self) -> list[date]:
        return [self.today, *(d for i in self.items for d in i.dates())]


def _local(moment: datetime, tz: ZoneInfo) -> date:
    return moment.astimezone(tz).date()


def _milestone(name: str, items: Sequence[TimelineItem]) -> Milestone:
    live = [i for i in items if i.status != DeliverableStatus.CANCELLED]
    due = max(i.due for i in (live or items))
    if not live:
        state = "cancelled"
    elif all(i.status == DeliverableStatus.ACCEPTED for i in live):
        state = "done"
    elif any(i.overdue for i in live):
        state = "late"
    else:
        state = "open"
    return Milestone(name, due, state, len(items))


def arrange(
    items: Sequence[TimelineItem],
) -> tuple[tuple[TimelineItem, ...], tuple[Milestone, ...]]:
    """Group by milestone: milestones by their date (then name), each one's deliverables by
    their first agreed date; deliverables of no milestone last. Pure, so tests can build a
    timeline by hand."""
    groups: dict[str, list[TimelineItem]] = {}
    for item in items:
        groups.setdefault(item.milestone, []).append(item)
    milestones = sorted(
        (_milestone(name, group) for name, group in groups.items() if name != NO_MILESTONE),
        key=lambda m: (m.due, m.name),
    )
    order = [m.name for m in milestones] + ([NO_MILESTONE] if NO_MILESTONE in groups else [])
    ordered = [
        item
        for name in order
        for item in sorted(groups[name], key=lambda i: (i.planned, i.due, i.deliverable_id))
    ]
    return tuple(ordered), tuple(milestones)


def load(*, session: Session, team_id: str, engagement_id: int, now: datetime) -> Timeline:
    """The engagement's deliverables with every date they had, as of `now` (NotFound when the
    engagement is not of this workspace)."""
    details = engagements.get(session=session, team_id=team_id, engagement_id=engagement_id)
    engagement = details.engagement
    tz = ZoneInfo(engagement.timezone)
    rows = session.exec(
        select(Deliverable)
        .where(Deliverable.team_id == team_id)
        .where(Deliverable.engagement_id == details.id)
        .order_by(col(Deliverable.id))
    ).all()
    events: dict[int, list[DeliverableEvent]] = {}
    if rows:
        ids = (
            select(Deliverable.id)
            .where(Deliverable.team_id == team_id)
            .where(Deliverable.engagement_id == details.id)
        )
        for event in session.exec(
            select(DeliverableEvent)
            .where(DeliverableEvent.team_id == team_id)
            .where(col(DeliverableEvent.deliverable_id).in_(ids))
            .order_by(col(DeliverableEvent.id))
        ).all():
            events.setdefault(event.deliverable_id, []).append(event)
    items = []
    for row in rows:
        assert row.id is not None
        replans: list[Replan] = []
        marks: list[Mark] = []
        for event in events.get(row.id, []):
            if event.action == "replanned":
                old, new = (event.data or {}).get("from"), (event.data or {}).get("to")
                if old and new:
                    replans.append(Replan(date.fromisoformat(old), date.fromisoformat(new)))
            elif event.action in MARKED:
                marks.append(Mark(_local(event.at, tz), event.action))
        items.append(
            TimelineItem(
                deliverable_id=row.id,
                title=row.title,
                milestone=row.milestone or NO_MILESTONE,
                status=row.status,
                planned=row.original_due_on,
                due=row.due_on,
                replans=tuple(replans),
                marks=tuple(marks),
                overdue=row.status in NOT_SUBMITTED and row.due_at <= now,
                rework=row.rework_count,
            )
        )
    ordered, milestones = arrange(items)
    return Timeline(
        engagement_id=details.id,
        name=engagement.name,
        handle=engagement.handle,
        timezone=engagement.timezone,
        today=local_today(now, engagement.timezone),
        items=ordered,
        milestones=milestones,
    )
