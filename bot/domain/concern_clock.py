"""When a concern's deadline falls: its SLA hours counted from when the clock started.

By default the clock never stops (a security hole does not wait for Monday). An engagement may
say its clocks pause on weekends and its holidays: then only time on working days counts, each
day measured in the engagement's own time zone (so a DST change is just a shorter or longer
day, and the hours counted stay exact).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEKEND = (5, 6)  # Saturday, Sunday


def is_working_day(day: date, holidays: Collection[str]) -> bool:
    return day.weekday() not in WEEKEND and day.isoformat() not in holidays


def deadline(
    start: datetime,
    hours: float,
    *,
    tz: str,
    pauses: bool = False,
    holidays: Collection[str] = (),
) -> datetime:
    """`start` plus `hours` of clock time; with `pauses`, only time on working days counts."""
    if not pauses:
        return start + timedelta(hours=hours)
    zone = ZoneInfo(tz)
    remaining = timedelta(hours=hours)
    moment = start.astimezone(zone)
    for _ in range(3 * 366):  # a year of holidays at most is skipped; then it stops counting
        day = moment.date()
        next_midnight = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
        if is_working_day(day, holidays):
            left_today = next_midnight.astimezone(UTC) - moment.astimezone(UTC)
            if remaining <= left_today:
                return (moment.astimezone(UTC) + remaining).astimezone(start.tzinfo)
            remaining -= left_today
        moment = next_midnight
    return moment.astimezone(start.tzinfo)
