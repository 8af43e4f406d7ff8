"""Check-ins: one row per occurrence of a cadence, and the one owner of a check-in's life.

Opened with its recipients and its job plan (`open_occurrence`), or recorded as skipped
(`skip_occurrence`); asked in the channel when a DM is refused (`ask_in_channel`); answered
(`record_answer`: marked answered, late when after the window, their pending prompt and reminder
cancelled, closed once everyone answered); its window closed (`close_window`: overdue while
someone is missing). The engine decides when; this module decides what each step changes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import NamedTuple

from sqlalchemy import Connection, Select, bindparam, insert, update
from sqlalchemy.orm import load_only
from sqlmodel import Session, col, select

from bot.domain import home, recurrence
from bot.domain.checkin_kinds import FormFamily, spec_of
from bot.domain.errors import NotAllowed, NotFound
from storage import job_keys, jobs
from storage.jobs import JobKind, insert_ignoring_conflict
from storage.models import (
    ENGAGEMENT_BRIEF,
    Cadence,
    CheckIn,
    CheckInRecipient,
    Engagement,
    StatusUpdate,
)
from storage.statuses import CheckInStatus, RecipientStatus

OPEN, OVERDUE, CLOSED, MISSED, SKIPPED, HOLIDAY, EXCUSED = tuple(CheckInStatus)
PENDING, ANSWERED, AWAY = tuple(RecipientStatus)


@dataclass(frozen=True)
class CheckInContext:
    """A check-in with its cadence and engagement, as an answer form needs them."""

    checkin: CheckIn
    cadence: Cadence
    engagement: Engagement
    recipient: CheckInRecipient | None

    @property
    def kind(self) -> str:
        return self.cadence.kind

    def is_late(self, now: datetime) -> bool:
        return now > self.checkin.window_closes_at


def load(
    *,
    session: Session,
    team_id: str,
    checkin_id: int,
    user_id: str | None = None,
    brief: bool = False,
) -> CheckInContext:
    """A check-in of this workspace (ids from buttons are re-checked here), with its cadence,
    its engagement and `user_id`'s recipient row, in one SELECT (four were a third of the
    reads of the prompt's answer button).

    `brief`: of the cadence and the engagement, only what a form opened from the prompt reads
    (`BRIEF`); any other column is loaded when first read (one more SELECT), so the
    objects stay whole to whoever reads them, within the session."""
    statement = _load_statement(with_recipient=user_id is not None, brief=brief)
    params = {"team_id": team_id, "checkin_id": checkin_id, "user_id": user_id}
    row = session.exec(statement, params=params).first()
    if row is None:
        raise NotFound("That check-in no longer exists.")
    checkin, cadence, engagement, *recipient = row
    return CheckInContext(checkin, cadence, engagement, recipient[0] if recipient else None)


# What the forms a prompt opens read of the cadence and the engagement (`load(brief=True)`):
# the whole rows were half the columns the answer button read.
BRIEF = (load_only(Cadence.id, Cadence.kind), load_only(*ENGAGEMENT_BRIEF))


@cache
def _load_statement(*, with_recipient: bool, brief: bool) -> Select:
    """`load`'s statement, built once per process (its parameters bound at execution)."""
    query = (
        select(CheckIn, Cadence, Engagement)
        .join(Cadence, col(Cadence.id) == col(CheckIn.cadence_id))
        .join(Engagement, col(Engagement.id) == col(CheckIn.engagement_id))
        .where(col(CheckIn.team_id) == bindparam("team_id"))
        .where(col(CheckIn.id) == bindparam("checkin_id"))
    )
    if brief:
        query = query.options(*BRIEF)
    if not with_recipient:
        return query
    return query.add_columns(CheckInRecipient).outerjoin(
        CheckInRecipient,
        (col(CheckInRecipient.checkin_id) == col(CheckIn.id))
        & (col(CheckInRecipient.user_id) == bindparam("user_id")),
    )


def load_for_answer(
    *, session: Session, team_id: str, checkin_id: int, user_id: str
) -> CheckInContext:
    """A check-in about to be answered, with the person's recipient row locked (PostgreSQL),
    so two submissions of theirs cannot both count as the answer."""
    context = load(session=session, team_id=team_id, checkin_id=checkin_id)
    recipient = session.exec(
        select(CheckInRecipient)
        .where(CheckInRecipient.checkin_id == checkin_id)
        .where(CheckInRecipient.user_id == user_id)
        .with_for_update()
    ).first()
    return CheckInContext(context.checkin, context.cadence, context.engagement, recipient)


def pending_for(*, session: Session, team_id: str, engagement_id: int, user_id: str, kind: str):
    """The person's newest open or overdue check-in of `kind` on an engagement, if any."""
    return session.exec(
        select(CheckIn)
        .join(Cadence, col(Cadence.id) == col(CheckIn.cadence_id))
        .join(CheckInRecipient, col(CheckInRecipient.checkin_id) == col(CheckIn.id))
        .where(CheckIn.team_id == team_id)
        .where(CheckIn.engagement_id == engagement_id)
        .where(Cadence.kind == kind)
        .where(col(CheckIn.status).in_((OPEN, OVERDUE)))
        .where(CheckInRecipient.user_id == user_id)
        .where(CheckInRecipient.status == PENDING)
        .order_by(col(CheckIn.scheduled_for).desc())
    ).first()


def pending_context(
    *, session: Session, team_id: str, engagement_id: int, user_id: str, kinds: tuple[str, ...]
) -> CheckInContext | None:
    """The person's newest pending check-in of one of `kinds` on an engagement, loaded."""
    for kind in kinds:
        pending = pending_for(
            session=session,
            team_id=team_id,
            engagement_id=engagement_id,
            user_id=user_id,
            kind=kind,
        )
        if pending is not None and pending.id is not None:
            return load(session=session, team_id=team_id, checkin_id=pending.id, user_id=user_id)
    return None


def record_answer(
    *, session: Session, team_id: str, checkin_id: int, user_id: str, now: datetime
) -> bool:
    """Mark `user_id`'s answer to a check-in; returns True when it came after the window.

    Only people the check-in asked may answer it. Their pending reminder is cancelled; when
    everyone has answered, the check-in is closed (and its overdue alert finds nobody missing).
    """
    context = load(session=session, team_id=team_id, checkin_id=checkin_id, user_id=user_id)
    recipient = context.recipient
    if recipient is None:
        raise NotAllowed("This check-in was not sent to you, so you cannot answer it.")
    late = context.is_late(now)
    if recipient.status != ANSWERED:
        recipient.status = ANSWERED
        # A survey's answer may be anonymous: its moment (or the order of the moments) would
        # tie the answer to this row, so a survey records that they answered, not when.
        spec = spec_of(context.kind)
        survey = spec is not None and spec.answered_with == FormFamily.FEEDBACK
        recipient.answered_at = None if survey else now
        session.add(recipient)
    jobs.cancel(
        session,
        now=now,
        checkin_id=checkin_id,
        user_id=user_id,
        kinds=(JobKind.REMINDER, JobKind.PROMPT),
    )
    session.flush()
    still_pending = session.exec(
        select(CheckInRecipient.id)
        .where(CheckInRecipient.checkin_id == checkin_id)
        .where(CheckInRecipient.status == PENDING)
    ).first()
    if still_pending is None and context.checkin.status == OPEN:
        context.checkin.status = CLOSED
        session.add(context.checkin)
    answered = f"checkin={checkin_id}:answered"  # their Home, without it
    home.plan_refresh(session, team_id=team_id, user_ids=[user_id], cause=answered, now=now)
    return late


class WaitingCheckIn(NamedTuple):
    """What the Home tab shows of a check-in waiting for someone's answer."""

    id: int
    status: str
    window_closes_at: datetime
    kind: str  # the cadence's
    timezone: str  # the cadence's
    engagement_name: str


def waiting_on(
    *, session: Session, team_id: str, user_id: str, limit: int = 20
) -> list[WaitingCheckIn]:
    """Check-ins still waiting for this person's answer, oldest first (for the Home tab): the
    columns it shows, as plain rows of a statement built once per process."""
    found = session.exec(
        _waiting_statement(), params={"team_id": team_id, "user_id": user_id, "limit": limit}
    )
    return [WaitingCheckIn(*row) for row in found]


@cache
def _waiting_statement() -> Select:
    """`waiting_on`'s statement (its parameters bound at execution): building it cost more
    than running it, and every Home tab runs it."""
    return (
        select(
            CheckIn.id,
            CheckIn.status,
            CheckIn.window_closes_at,
            Cadence.kind,
            Cadence.timezone,
            Engagement.name,
        )
        .join(CheckInRecipient, col(CheckInRecipient.checkin_id) == col(CheckIn.id))
        .join(Cadence, col(Cadence.id) == col(CheckIn.cadence_id))
        .join(Engagement, col(Engagement.id) == col(CheckIn.engagement_id))
        # The recipient's workspace, person and status: what `ix_checkinrecipient_pending_user`
        # reads, so a Home costs the same after a year of check-ins.
        .where(col(CheckInRecipient.team_id) == bindparam("team_id"))
        .where(col(CheckInRecipient.user_id) == bindparam("user_id"))
        .where(CheckInRecipient.status == PENDING)
        .where(col(CheckIn.team_id) == bindparam("team_id"))
        .where(col(CheckIn.status).in_((OPEN, OVERDUE)))
        .where(col(Engagement.archived_at).is_(None))
        .order_by(col(CheckIn.scheduled_for))
        .limit(bindparam("limit"))
    )


# --- a check-in's life -------------------------------------------------------------------------


def open_occurrence(
    session: Session,
    *,
    cadence: Cadence,
    engagement: Engagement,
    slot: datetime,
    at: datetime,
    now: datetime,
    people: Sequence[str],
    away: set[str],
    zones: Mapping[str, str],
    job_rows: list[dict] | None = None,
) -> str | None:
    """Open the check-in for one occurrence: the row (unique per cadence and local slot), who is
    asked (people away are recorded as away), and its job plan (prompts at each person's time,
    reminders, the overdue alert when the window closes, the escalation after it; for a
    feedback survey, its results to the leads when the window closes).

    Returns the check-in's status (open, or holiday, missed, excused when nothing is sent), or
    None when another process had already opened it. With `job_rows`, the jobs are added to it
    for the caller to plan with others (`jobs.plan_many`, in the same transaction).
    """
    team_id = cadence.team_id

    def due_for(user_id: str) -> datetime:
        if cadence.recipient_local_time:
            return recurrence.localize(slot, zones.get(user_id) or cadence.timezone)
        return at

    asked = [u for u in people if u not in away]
    window = timedelta(hours=cadence.window_hours)
    closes = max((due_for(u) for u in asked), default=at) + window
    if slot.date().isoformat() in (engagement.holidays or []):
        status = HOLIDAY
    elif closes <= now:
        status = MISSED
    elif not asked:
        status = EXCUSED
    else:
        status = OPEN
    checkin_id = insert_ignoring_conflict(
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
    if status == HOLIDAY:
        return status
    if people:
        session.execute(
            insert(CheckInRecipient.__table__),
            [
                {
                    "team_id": team_id,
                    "checkin_id": checkin_id,
                    "user_id": user_id,
                    "status": AWAY if user_id in away else PENDING,
                    "delivered_via": None,
                    "answered_at": None,
                }
                for user_id in people
            ],
        )
    if status != OPEN:
        return status
    planned: list[dict] = []

    def plan(key: str, kind: JobKind, due_at: datetime, user_id: str | None = None, payload=None):
        planned.append(
            jobs.job_row(
                team_id=team_id,
                key=key,
                kind=kind,
                due_at=due_at,
                now=now,
                payload=payload,
                cadence_id=cadence.id,
                checkin_id=checkin_id,
                user_id=user_id,
            )
        )

    if cadence.delivery == "channel":
        plan(job_keys.prompt(checkin_id, None), JobKind.PROMPT, at,
             payload={"channel": engagement.channel_id})  # fmt: skip
    else:
        for user_id in asked:
            plan(
                job_keys.prompt(checkin_id, user_id),
                JobKind.PROMPT,
                due_for(user_id),
                user_id,
            )
    if cadence.reminder_hours:
        remind = timedelta(hours=cadence.reminder_hours)
        targets = [None] if cadence.delivery == "channel" else asked
        for user_id in targets:
            start = at if user_id is None else due_for(user_id)
            due = start + window - remind
            if due > max(now, start):
                payload = {"channel": engagement.channel_id} if user_id is None else None
                plan(
                    job_keys.reminder(checkin_id, user_id),
                    JobKind.REMINDER,
                    due,
                    user_id,
                    payload,
                )
    plan(job_keys.overdue(checkin_id), JobKind.OVERDUE, closes)
    spec = spec_of(cadence.kind)
    if spec is not None and spec.answered_with == FormFamily.FEEDBACK:
        # The survey's aggregate to the leads once its window closes (never who answered).
        plan(job_keys.survey_results(checkin_id), JobKind.SURVEY_RESULTS, closes)
    if cadence.escalation_hours is not None:
        plan(
            job_keys.escalate(checkin_id),
            JobKind.ESCALATE,
            closes + timedelta(hours=cadence.escalation_hours),
        )
    if job_rows is None:
        jobs.plan_many(session, planned)
    else:
        job_rows.extend(planned)
    home.plan_refresh(
        session, team_id=team_id, user_ids=asked, cause=f"checkin={checkin_id}:opened", now=now
    )
    return status


def skip_occurrence(session: Session, *, cadence: Cadence, now: datetime) -> str:
    """Record the cadence's next occurrence as skipped, so it can never be sent; its slot."""
    assert cadence.next_run_at is not None and cadence.next_slot
    insert_ignoring_conflict(
        session,
        CheckIn,
        {
            "team_id": cadence.team_id,
            "cadence_id": cadence.id,
            "engagement_id": cadence.engagement_id,
            "occurrence_key": cadence.next_slot,
            "scheduled_for": cadence.next_run_at,
            "window_closes_at": cadence.next_run_at,
            "status": SKIPPED,
            "created_at": now,
        },
        ["cadence_id", "occurrence_key"],
    )
    return cadence.next_slot


@dataclass(frozen=True)
class Roster:
    """Who a check-in asked and what became of each, in the order they were asked."""

    missing: tuple[str, ...]
    away: tuple[str, ...]
    answered: tuple[str, ...]
    via_channel: tuple[str, ...]


def roster(session: Session, checkin_id: int) -> Roster:
    rows = session.exec(
        select(CheckInRecipient)
        .where(CheckInRecipient.checkin_id == checkin_id)
        .order_by(col(CheckInRecipient.id))
    ).all()
    return Roster(
        missing=tuple(r.user_id for r in rows if r.status == PENDING),
        away=tuple(r.user_id for r in rows if r.status == AWAY),
        answered=tuple(r.user_id for r in rows if r.status == ANSWERED),
        via_channel=tuple(r.user_id for r in rows if r.delivered_via == "channel"),
    )


def close_window(session: Session, *, checkin: CheckIn, now: datetime) -> Roster:
    """The window closed: no more prompts or reminders; the check-in is overdue while someone
    has not answered, else closed. Returns who answered, who is missing, who is away."""
    assert checkin.id is not None
    jobs.cancel(session, now=now, checkin_id=checkin.id, kinds=(JobKind.PROMPT, JobKind.REMINDER))
    found = roster(session, checkin.id)
    if checkin.status == OPEN:
        checkin.status = OVERDUE if found.missing else CLOSED
        session.add(checkin)
    return found


def mark_away(session: Session, *, checkin_id: int, user_id: str) -> None:
    """The person turned out to be away (their Slack status) when their prompt was due."""
    row = _recipient(session, checkin_id, user_id)
    if row is not None and row.status == PENDING:
        row.status = AWAY
        session.add(row)


def ask_in_channel(session: Session, *, checkin_id: int, user_id: str) -> None:
    """Slack refused the person's DM: from now on they are asked in the engagement channel."""
    row = _recipient(session, checkin_id, user_id)
    if row is not None:
        row.delivered_via = "channel"
        session.add(row)


def _recipient(session: Session, checkin_id: int, user_id: str) -> CheckInRecipient | None:
    return session.exec(
        select(CheckInRecipient)
        .where(CheckInRecipient.checkin_id == checkin_id)
        .where(CheckInRecipient.user_id == user_id)
    ).first()


# --- where the answers' summaries go -------------------------------------------------------------


def set_threads(connection: Connection | Session, threads: Sequence[tuple[int, str]]) -> None:
    """Each (check-in, ts): the check-in's own message in the engagement channel, whose thread
    its answers' summaries go in. The first one kept (a reminder in the channel does not move
    the thread; in `threads`, the earlier wins). One statement for a batch of sent prompts,
    its rows locked in the order of their ids, as every batch does (no deadlock between two)."""
    if not threads:
        return
    table = CheckIn.__table__
    in_order = sorted(threads, key=lambda thread: thread[0])  # stable: the earlier still wins
    connection.execute(
        update(table)
        .where(table.c.id == bindparam("checkin_id"))
        .where(table.c.thread_ts.is_(None))
        .values(thread_ts=bindparam("starting_ts")),
        [{"checkin_id": checkin_id, "starting_ts": ts} for checkin_id, ts in in_order],
    )


def summary_thread(session: Session, *, update_id: int) -> tuple[int | None, str | None]:
    """Where an update's summary is posted: (the check-in whose thread it goes in, that
    thread's ts). (None, None) when it goes in the channel: an ad hoc update, or an engagement
    that wants its summaries in the channel."""
    row = session.exec(
        select(CheckIn.id, CheckIn.thread_ts, Engagement.summaries_in_channel)
        .join(StatusUpdate, col(StatusUpdate.checkin_id) == col(CheckIn.id))
        .join(Engagement, col(Engagement.id) == col(CheckIn.engagement_id))
        .where(StatusUpdate.id == update_id)
    ).first()
    if row is None or row[2]:
        return None, None
    return row[0], row[1]
