"""When a concern's deadline falls: its SLA hours counted from when the clock started.

By default the clock never stops (a security hole does not wait for Monday). An engagement may
say its clocks run in working hours only: then only time from 09:00 to 17:00 on working days
(Monday to Friday, not the engagement's holidays) counts, in the engagement's own time zone, so
a DST change moves nothing (working hours are local) and the hours counted stay exact.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

WEEKEND = (5, 6)  # Saturday, Sunday
WORKDAY_STARTS, WORKDAY_ENDS = time(9, 0), time(17, 0)
MAX_DAYS = 3 * 366  # a deadline further out than this is not counted further


def is_working_day(day: date, holidays: Collection[str]) -> bool:
    return day.weekday() not in WEEKEND and day.isoformat() not in holidays


def working_hours(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """A working day's hours as moments in UTC."""
    starts = datetime.combine(day, WORKDAY_STARTS, tzinfo=zone).astimezone(UTC)
    ends = datetime.combine(day, WORKDAY_ENDS, tzinfo=zone).astimezone(UTC)
    return starts, ends


def deadline(
    start: datetime,
    hours: float,
    *,
    tz: str,
    pauses: bool = False,
    holidays: Collection[str] = (),
) -> datetime:
    """`start` plus `hours` of clock time; with `pauses`, only working hours count."""
    if not pauses:
        return start + timedelta(hours=hours)
    zone = ZoneInfo(tz)
    remaining = timedelta(hours=hours)
    moment = start.astimezone(UTC)
    day = moment.astimezone(zone).date()
    for _ in range(MAX_DAYS):
        if is_working_day(day, holidays):
            opens, closes = working_hours(day, zone)
            counting_from = max(moment, opens)
            if counting_from < closes:
                if remaining <= closes - counting_from:
                    return (counting_from + remaining).astimezone(start.tzinfo)
                remaining -= closes - counting_from
        day += timedelta(days=1)
        moment = max(moment, datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC))
    return moment.astimezone(start.tzinfo)
