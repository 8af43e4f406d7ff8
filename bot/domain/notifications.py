"""How a person wants to hear of answers that need a lead: each one by DM, one round-up a day,
or only summaries (issue 22, item 3: leads got a DM per answer).

The notices an answer causes for a lead go through `notice` (an update that is red or missed a
KPI) or, for a custom question's rule alerting the leads, `bot/domain/questions/rules.py`'s
alert planned `held_for` the round-up (`plan_roundup`): with "each" it sends the DM as before;
with "daily", the default, it holds the notice as one line (`RoundupItem`, unique by the
notice's own key, so a retried request holds it once) and plans the person's round-up for the
day (a `ROUNDUP` job keyed by person and local day: the first notice of the day plans it, the
others find it planned, in any process), due at `ROUNDUP_HOUR` in the person's zone, or the
next day's when that hour has passed; with "summaries" the notice is not sent (its answer is
in the channel's summary; survey results, the digest and alerts about what did *not* arrive
still come).

Nothing is lost when the preference changes: a held line waits for its round-up whatever the
person chooses later, and the round-up carries every line still held (`collect`, which marks
each line with the round-up that took it, so no line is carried twice, and deletes it: the DM
holds it from then on).

Feedback is never a notice: a survey's answers reach the leads only as its results, over
batches of three or more (`bot/domain/feedback.py`), so the round-up names no answerer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import delete, update
from sqlmodel import Session, col, select

from bot.domain import home, moments
from bot.domain.errors import UserError
from storage import job_keys, jobs
from storage.jobs import JobKind, insert_ignoring_conflict
from storage.models import Person, RoundupItem

EACH, DAILY, SUMMARIES = "each", "daily", "summaries"
MODES = {
    EACH: "Each answer, as it arrives",
    DAILY: "A daily round-up",
    SUMMARIES: "Only summaries",
}
DEFAULT = DAILY
ROUNDUP_HOUR = 17  # the round-up's local time: the day's answers are in, the day not yet over


def mode_of(session: Session, *, team_id: str, user_id: str) -> str:
    return modes_of(session, team_id=team_id, user_ids=[user_id])[user_id]


def modes_of(session: Session, *, team_id: str, user_ids: Iterable[str]) -> dict[str, str]:
    """Each person's choice (the default for whoever has not chosen), in one query."""
    wanted = sorted(set(user_ids))
    rows = (
        session.exec(
            select(Person.user_id, Person.notify)
            .where(Person.team_id == team_id)
            .where(col(Person.user_id).in_(wanted))
        ).all()
        if wanted
        else []
    )
    chosen = {user_id: notify for user_id, notify in rows if notify in MODES}
    return {user_id: chosen.get(user_id, DEFAULT) for user_id in wanted}


def choose(session: Session, *, team_id: str, user_id: str, mode: str, now: datetime) -> str:
    """Record the person's own choice (nobody chooses for another: the caller passes the
    person who clicked). An unknown value is refused, nothing written."""
    if mode not in MODES:
        raise UserError("That choice is out of date; open Cadence's Home tab again.")
    home.opened(session, team_id=team_id, user_id=user_id, now=now)  # chosen on Home: open
    session.execute(
        update(Person)
        .where(col(Person.team_id) == team_id)
        .where(col(Person.user_id) == user_id)
        .values(notify=mode)
    )
    return MODES[mode]


def roundup_due(now: datetime, tz: str | None) -> tuple[str, datetime]:
    """The local day (ISO) and the UTC moment of the next round-up at `now` in zone `tz`:
    today's at `ROUNDUP_HOUR`, or tomorrow's once that has passed."""
    zone = moments.zone(tz)
    local = now.astimezone(zone)
    day = local.date()
    if local.time() >= time(ROUNDUP_HOUR):
        day += timedelta(days=1)
    due = datetime.combine(day, time(ROUNDUP_HOUR), tzinfo=zone)
    return day.isoformat(), due.astimezone(UTC)


def zone_of(session: Session, *, team_id: str, user_id: str) -> str | None:
    return session.exec(
        select(Person.tz).where(Person.team_id == team_id).where(Person.user_id == user_id)
    ).first()


@dataclass(frozen=True)
class Notice:
    """One notice for one lead: the key its own DM has, the line a round-up shows, and how to
    plan the DM itself (for "each")."""

    key: str
    line: str
    send: Callable[[], None]
    engagement_id: int | None = None


def notice(
    session: Session,
    *,
    team_id: str,
    user_id: str,
    found: Notice,
    fallback_tz: str | None,
    now: datetime,
    mode: str | None = None,
) -> str:
    """Send, hold or skip one notice by the person's choice (`mode`, when already read for
    several); returns the mode it followed. `fallback_tz`: the zone of the round-up's hour
    while Cadence has not learnt the person's (the engagement's)."""
    mode = mode or mode_of(session, team_id=team_id, user_id=user_id)
    if mode == EACH:
        found.send()
    elif mode == DAILY:
        hold(
            session,
            team_id=team_id,
            user_id=user_id,
            key=found.key,
            line=found.line,
            engagement_id=found.engagement_id,
            tz=zone_of(session, team_id=team_id, user_id=user_id) or fallback_tz,
            now=now,
        )
    return mode


def hold(
    session: Session,
    *,
    team_id: str,
    user_id: str,
    key: str,
    line: str,
    engagement_id: int | None,
    tz: str | None,
    now: datetime,
) -> str:
    """Hold one line for the person's round-up and plan that round-up (once per local day);
    returns the round-up's key."""
    insert_ignoring_conflict(
        session,
        RoundupItem,
        {
            "team_id": team_id,
            "user_id": user_id,
            "key": key,
            "engagement_id": engagement_id,
            "line": line[:2000],
            "created_at": now,
            "roundup_key": None,
        },
        ["key"],
    )
    return plan_roundup(session, team_id=team_id, user_id=user_id, tz=tz, now=now)[0]


def plan_roundup(
    session: Session, *, team_id: str, user_id: str, tz: str | None, now: datetime
) -> tuple[str, datetime]:
    """The person's next round-up, planned unless it is (its key, when it is due). A notice
    that keeps its own job (a question's rule alert) is planned with `held_for` this key and
    due a day after it: the round-up takes it, or it goes alone, never neither."""
    day, due = roundup_due(now, tz)
    roundup = job_keys.roundup(team_id, user_id, day)
    jobs.plan(
        session,
        team_id=team_id,
        key=roundup,
        kind=JobKind.ROUNDUP,
        due_at=due,
        now=now,
        payload={"day": day},
        user_id=user_id,
    )
    return roundup, due


def collect(session: Session, *, team_id: str, user_id: str, roundup_key: str) -> list[str]:
    """Take every line still held for the person into the round-up `roundup_key` (those an
    earlier round-up of theirs missed too), oldest first, and let them go: the round-up's DM,
    planned in the same transaction, carries them from here. A line is taken once: the update
    marks only lines no other round-up has marked, and only the marked ones are read and
    deleted."""
    held = col(RoundupItem.roundup_key)
    session.execute(
        update(RoundupItem)
        .where(col(RoundupItem.team_id) == team_id)
        .where(col(RoundupItem.user_id) == user_id)
        .where(held.is_(None))
        .values(roundup_key=roundup_key)
    )
    rows = session.exec(
        select(RoundupItem.line)
        .where(RoundupItem.team_id == team_id)
        .where(RoundupItem.user_id == user_id)
        .where(held == roundup_key)
        .order_by(col(RoundupItem.created_at), col(RoundupItem.id))
    ).all()
    session.execute(
        delete(RoundupItem)
        .where(col(RoundupItem.team_id) == team_id)
        .where(col(RoundupItem.user_id) == user_id)
        .where(held == roundup_key)
    )
    return list(rows)
