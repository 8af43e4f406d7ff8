"""A concern's clock: straight hours by default; in working hours only when the engagement says
so (09:00–17:00, Monday to Friday, not its holidays), in its own zone and across DST changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from bot.domain.concern_clock import deadline, is_working_day, working_hours

BERLIN = ZoneInfo("Europe/Berlin")


def test_by_default_the_clock_never_stops():
    friday = datetime(2026, 11, 27, 16, 0, tzinfo=UTC)
    assert deadline(friday, 24, tz="Europe/Berlin") == friday + timedelta(hours=24)


def test_in_working_hours_nights_weekends_and_holidays_do_not_count():
    friday_4pm = datetime(2026, 11, 27, 16, 0, tzinfo=BERLIN)
    # 1 h on Friday, Sat/Sun and Monday's holiday skipped, 8 h on Tuesday, 3 h on Wednesday.
    due = deadline(friday_4pm, 12, tz="Europe/Berlin", pauses=True, holidays={"2026-11-30"})
    assert due == datetime(2026, 12, 2, 12, 0, tzinfo=BERLIN)


def test_a_concern_raised_at_night_starts_counting_at_nine():
    saturday = datetime(2026, 11, 28, 23, 30, tzinfo=BERLIN)
    assert deadline(saturday, 4, tz="Europe/Berlin", pauses=True) == datetime(
        2026, 11, 30, 13, 0, tzinfo=BERLIN
    )


def test_working_hours_are_local_across_a_dst_change():
    # Berlin leaves summer time in the night to Sunday 25 Oct 2026: Friday 16:00 + 2 working
    # hours is Monday 10:00 local, whatever the offset did over the weekend.
    friday = datetime(2026, 10, 23, 16, 0, tzinfo=BERLIN)
    due = deadline(friday, 2, tz="Europe/Berlin", pauses=True)
    assert due.astimezone(BERLIN).replace(tzinfo=None) == datetime(2026, 10, 26, 10, 0)


@given(
    start=st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
    ),
    hours=st.integers(min_value=1, max_value=400),
)
def test_the_working_time_between_start_and_deadline_is_exactly_the_hours(start, hours):
    """Summing each day's working hours that fall between the start and the deadline gives the
    SLA hours exactly, and the deadline lies inside a working day's hours."""
    due = deadline(start, hours, tz="Europe/Berlin", pauses=True)
    counted = timedelta(0)
    day = start.astimezone(BERLIN).date()
    while day <= due.astimezone(BERLIN).date():
        if is_working_day(day, ()):
            opens, closes = working_hours(day, BERLIN)
            counted += max(timedelta(0), min(closes, due) - max(opens, start))
        day += timedelta(days=1)
    assert counted == timedelta(hours=hours)
    local = due.astimezone(BERLIN)
    opens, closes = working_hours(local.date(), BERLIN)
    assert is_working_day(local.date(), ()) and opens < due <= closes
