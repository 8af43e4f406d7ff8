"""A concern's clock: straight hours by default; with pauses, only working days count, in the
engagement's own zone and across DST changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from bot.domain.concern_clock import deadline, is_working_day

BERLIN = ZoneInfo("Europe/Berlin")


def test_by_default_the_clock_never_stops():
    friday = datetime(2026, 11, 27, 16, 0, tzinfo=UTC)
    assert deadline(friday, 24, tz="Europe/Berlin") == friday + timedelta(hours=24)


def test_paused_clocks_skip_the_weekend_and_holidays():
    friday_5pm = datetime(2026, 11, 27, 17, 0, tzinfo=BERLIN)
    # 7 h left on Friday, nothing on Sat/Sun, Monday a holiday: 17 h more from Tuesday 00:00.
    due = deadline(friday_5pm, 24, tz="Europe/Berlin", pauses=True, holidays={"2026-11-30"})
    assert due == datetime(2026, 12, 1, 17, 0, tzinfo=BERLIN)


def test_a_concern_raised_on_a_saturday_starts_counting_on_monday():
    saturday = datetime(2026, 11, 28, 10, 0, tzinfo=BERLIN)
    assert deadline(saturday, 4, tz="Europe/Berlin", pauses=True) == datetime(
        2026, 11, 30, 4, 0, tzinfo=BERLIN
    )


def test_hours_stay_exact_across_a_dst_change():
    # Berlin leaves summer time in the night to Sunday 25 Oct 2026: that Sunday has 25 hours,
    # but it is not a working day; Friday 23 Oct 22:00 + 4 h working time = Monday 02:00.
    friday = datetime(2026, 10, 23, 22, 0, tzinfo=BERLIN)
    assert deadline(friday, 4, tz="Europe/Berlin", pauses=True) == datetime(
        2026, 10, 26, 2, 0, tzinfo=BERLIN
    )


@given(
    start=st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
    ),
    hours=st.integers(min_value=1, max_value=400),
)
def test_paused_time_counted_back_is_exactly_the_hours(start, hours):
    """Cutting the span from start to deadline at every local midnight, the pieces on working
    days add up to exactly the SLA hours, and the last piece is on a working day."""
    due = deadline(start, hours, tz="Europe/Berlin", pauses=True)
    assert due >= start + timedelta(hours=hours)
    counted = timedelta(0)
    moment = start
    last_day = None
    while moment < due:
        local = moment.astimezone(BERLIN)
        midnight = datetime.combine(local.date() + timedelta(days=1), datetime.min.time(), BERLIN)
        piece_end = min(due, midnight.astimezone(UTC))
        if is_working_day(local.date(), ()):
            counted += piece_end - moment
            last_day = local.date()
        moment = piece_end
    assert counted == timedelta(hours=hours)
    assert (
        last_day is not None
        and last_day == (due - timedelta(microseconds=1)).astimezone(BERLIN).date()
    )
