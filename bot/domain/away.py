"""Time away: people who are away are not prompted or mentioned, and reports show them as
away, not missing."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlmodel import Session, col, select

from bot.domain.errors import UserError
from storage.models import AwayPeriod

MAX_AWAY_DAYS = 366


def parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise UserError(
            f"“{text}” is not a date: write it as YYYY-MM-DD, e.g. "
            "`/cadence away 2026-12-22 2027-01-02`."
        ) from None


def set_away(
    *, session: Session, team_id: str, user_id: str, starts: date, ends: date, now: datetime
) -> AwayPeriod:
    if ends < starts:
        raise UserError("The last day away comes before the first; swap the two dates.")
    if (ends - starts).days >= MAX_AWAY_DAYS:
        raise UserError(f"Mark at most {MAX_AWAY_DAYS} days at a time.")
    if ends < now.date() - timedelta(days=1):
        raise UserError("Those dates are in the past.")
    period = AwayPeriod(
        team_id=team_id, user_id=user_id, starts_on=starts, ends_on=ends, created_at=now
    )
    session.add(period)
    return period


def clear_away(*, session: Session, team_id: str, user_id: str, today: date) -> int:
    """End every current or future absence today; how many were changed."""
    rows = session.exec(
        select(AwayPeriod)
        .where(AwayPeriod.team_id == team_id)
        .where(AwayPeriod.user_id == user_id)
        .where(col(AwayPeriod.ends_on) >= today)
    ).all()
    for row in rows:
        if row.starts_on >= today:
            session.delete(row)
        else:
            row.ends_on = today - timedelta(days=1)
            session.add(row)
    return len(rows)


def away_on(*, session: Session, team_id: str, user_ids: list[str], day: date) -> set[str]:
    """Who of `user_ids` is away on `day` (one query): they are not asked that day."""
    if not user_ids:
        return set()
    rows = session.exec(
        select(AwayPeriod.user_id)
        .where(AwayPeriod.team_id == team_id)
        .where(col(AwayPeriod.user_id).in_(user_ids))
        .where(col(AwayPeriod.starts_on) <= day)
        .where(col(AwayPeriod.ends_on) >= day)
    ).all()
    return set(rows)
