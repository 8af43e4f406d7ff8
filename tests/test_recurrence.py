"""A cadence fires once per local slot, at the right instant, whatever the clocks do.

The fixed cases walk through the nights that catch schedulers out (spring-forward gaps,
fall-back repeats, 30- and 45-minute zones). The property tests compare the engine with a
deliberately naive oracle: walk the calendar day by day, ask "does the rule name this date?",
and find the firing instant by brute force ("the first instant whose local wall time reaches
the slot").
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from bot.domain.errors import UserError
from bot.domain.recurrence import (
    Occurrence,
    Rule,
    RuleError,
    never_fires,
    next_occurrence,
    occurrences,
    parse_local_time,
    rule_from_storage,
)

MO, TU, WE, TH, FR, SA, SU = range(7)
NEW_YORK, BERLIN, LORD_HOWE = "America/New_York", "Europe/Berlin", "Australia/Lord_Howe"
KOLKATA, CHATHAM = "Asia/Kolkata", "Pacific/Chatham"
ZONES = [
    NEW_YORK,
    BERLIN,
    LORD_HOWE,
    KOLKATA,
    CHATHAM,
    "UTC",
    "America/Sao_Paulo",
    "Europe/London",
    "Asia/Tehran",
]


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def fired(
    rule: Rule, at: time, tz: str, after: datetime, count: int = 5
) -> list[tuple[str, datetime]]:
    """(key, UTC instant) pairs: what a lead would check on the schedule page."""
    return [(o.key, o.at) for o in occurrences(rule, at, tz, after, count)]


def weekly(*days: int, **fields: object) -> Rule:
    return Rule(kind="weekly", weekdays=days, **fields)


def cron(line: str) -> Rule:
    return Rule(kind="cron", cron=line)


# ---- DST nights ------------------------------------------------------------------------------


def test_new_york_spring_forward_a_0230_check_in_fires_when_clocks_reach_0300():
    assert fired(weekly(SU), time(2, 30), NEW_YORK, utc(2026, 3, 2), 3) == [
        ("2026-03-08T02:30", utc(2026, 3, 8, 7, 0)),  # 03:00 EDT, the transition instant
        ("2026-03-15T02:30", utc(2026, 3, 15, 6, 30)),
        ("2026-03-22T02:30", utc(2026, 3, 22, 6, 30)),
    ]


def test_new_york_fall_back_a_0130_check_in_fires_once_at_the_first_0130():
    assert fired(weekly(SU), time(1, 30), NEW_YORK, utc(2026, 10, 26), 2) == [
        ("2026-11-01T01:30", utc(2026, 11, 1, 5, 30)),  # 01:30 EDT, not again at 01:30 EST
        ("2026-11-08T01:30", utc(2026, 11, 8, 6, 30)),
    ]
    # Asking again from inside the repeated hour finds nothing more that night.
    later = next_occurrence(weekly(SU), time(1, 30), NEW_YORK, utc(2026, 11, 1, 6, 15))
    assert later is not None and later.key == "2026-11-08T01:30"


def test_berlin_both_changes():
    assert fired(weekly(SU), time(2, 30), BERLIN, utc(2026, 3, 23), 1) == [
        ("2026-03-29T02:30", utc(2026, 3, 29, 1, 0)),  # 03:00 CEST
    ]
    assert fired(weekly(SU), time(2, 30), BERLIN, utc(2026, 10, 19), 2) == [
        ("2026-10-25T02:30", utc(2026, 10, 25, 0, 30)),  # first 02:30, still CEST
        ("2026-11-01T02:30", utc(2026, 11, 1, 1, 30)),
    ]


def test_lord_howe_half_hour_shift():
    zone = ZoneInfo(LORD_HOWE)
    # 2026-10-04: 02:00 (+10:30) becomes 02:30 (+11); 02:15 does not exist.
    (gap,) = occurrences(weekly(SU), time(2, 15), LORD_HOWE, utc(2026, 9, 28), 1)
    assert gap.key == "2026-10-04T02:15"
    assert gap.at == utc(2026, 10, 3, 15, 30)
    assert gap.at.astimezone(zone).replace(tzinfo=None) == datetime(2026, 10, 4, 2, 30)
    # 2026-04-05: 02:00 (+11) goes back to 01:30 (+10:30); 01:45 happens twice, fires once.
    assert fired(weekly(SU), time(1, 45), LORD_HOWE, utc(2026, 3, 30), 2) == [
        ("2026-04-05T01:45", utc(2026, 4, 4, 14, 45)),
        ("2026-04-12T01:45", utc(2026, 4, 11, 15, 15)),
    ]


def test_kolkata_has_no_dst_and_a_half_hour_offset():
    assert fired(weekly(MO, TH), time(9, 0), KOLKATA, utc(2026, 3, 1), 3) == [
        ("2026-03-02T09:00", utc(2026, 3, 2, 3, 30)),
        ("2026-03-05T09:00", utc(2026, 3, 5, 3, 30)),
        ("2026-03-09T09:00", utc(2026, 3, 9, 3, 30)),
    ]


def test_chatham_quarter_hour_offsets_and_its_gap():
    assert fired(weekly(MO), time(9, 0), CHATHAM, utc(2026, 1, 1), 1) == [
        ("2026-01-05T09:00", utc(2026, 1, 4, 19, 15)),  # +13:45 in summer
    ]
    assert fired(weekly(MO), time(9, 0), CHATHAM, utc(2026, 7, 1), 1) == [
        ("2026-07-06T09:00", utc(2026, 7, 5, 20, 15)),  # +12:45 in winter
    ]
    # 2026-09-27: 02:45 (+12:45) becomes 03:45 (+13:45); 03:00 fires at 03:45.
    assert fired(weekly(SU), time(3, 0), CHATHAM, utc(2026, 9, 21), 1) == [
        ("2026-09-27T03:00", utc(2026, 9, 26, 14, 0)),
    ]


# ---- monthly and every-N-weeks -------------------------------------------------------------


def test_monthly_on_day_31_falls_back_to_the_last_day_of_shorter_months():
    rule = Rule(kind="monthly_day", month_day=31)
    assert [k for k, _ in fired(rule, time(9), "UTC", utc(2026, 1, 1), 4)] == [
        "2026-01-31T09:00",
        "2026-02-28T09:00",
        "2026-03-31T09:00",
        "2026-04-30T09:00",
    ]
    assert fired(rule, time(9), "UTC", utc(2028, 2, 1), 1)[0][0] == "2028-02-29T09:00"


@pytest.mark.parametrize(
    ("day", "year", "expected"),
    [
        (29, 2026, ["2026-01-29", "2026-02-28", "2026-03-29"]),
        (29, 2028, ["2028-01-29", "2028-02-29", "2028-03-29"]),
        (30, 2026, ["2026-01-30", "2026-02-28", "2026-03-30"]),
        (30, 2028, ["2028-01-30", "2028-02-29", "2028-03-30"]),
        (15, 2026, ["2026-01-15", "2026-02-15", "2026-03-15"]),
    ],
)
def test_monthly_day_fires_exactly_once_a_month(day: int, year: int, expected: list[str]):
    rule = Rule(kind="monthly_day", month_day=day)
    found = occurrences(rule, time(9), "UTC", utc(year, 1, 1), 3)
    assert [o.slot.date().isoformat() for o in found] == expected


def test_monthly_on_the_2nd_tuesday_and_the_last_friday():
    second_tuesday = Rule(kind="monthly_weekday", nth=2, weekday=TU)
    assert [k for k, _ in fired(second_tuesday, time(10), "UTC", utc(2026, 1, 1), 3)] == [
        "2026-01-13T10:00",
        "2026-02-10T10:00",
        "2026-03-10T10:00",
    ]
    last_friday = Rule(kind="monthly_weekday", nth=-1, weekday=FR)
    assert [k for k, _ in fired(last_friday, time(16), "UTC", utc(2026, 1, 1), 3)] == [
        "2026-01-30T16:00",
        "2026-02-27T16:00",
        "2026-03-27T16:00",
    ]


def test_every_two_weeks_counts_weeks_from_the_start_date():
    rule = Rule(kind="every_n_weeks", weekdays=(TU,), interval=2, start_date=date(2026, 12, 1))
    keys = [k for k, _ in fired(rule, time(9), "UTC", utc(2026, 1, 1), 4)]
    assert keys == ["2026-12-01T09:00", "2026-12-15T09:00", "2026-12-29T09:00", "2027-01-12T09:00"]
    # Asking from the middle of the schedule keeps the same alternate weeks.
    assert fired(rule, time(9), "UTC", utc(2026, 12, 20), 1)[0][0] == "2026-12-29T09:00"


def test_every_two_weeks_on_two_days_keeps_both_in_the_same_week():
    rule = Rule(kind="every_n_weeks", weekdays=(MO, SU), interval=2, start_date=date(2026, 6, 1))
    keys = [k[:10] for k, _ in fired(rule, time(9), "UTC", utc(2026, 5, 1), 4)]
    assert keys == ["2026-06-01", "2026-06-07", "2026-06-15", "2026-06-21"]


def test_no_occurrence_before_the_start_date():
    rule = weekly(MO, start_date=date(2026, 6, 10))
    assert fired(rule, time(9), "UTC", utc(2026, 1, 1), 1)[0][0] == "2026-06-15T09:00"
    late_start = Rule(
        kind="every_n_weeks", weekdays=(MO,), interval=1, start_date=date(2026, 6, 10)
    )
    assert fired(late_start, time(9), "UTC", utc(2026, 1, 1), 1)[0][0] == "2026-06-15T09:00"


def test_until_is_inclusive_and_count_limits():
    rule = weekly(MO)
    found = occurrences(rule, time(9), "UTC", utc(2026, 6, 1, 9), 10, until=utc(2026, 6, 15, 9))
    assert [o.key for o in found] == ["2026-06-08T09:00", "2026-06-15T09:00"]
    assert occurrences(rule, time(9), "UTC", utc(2026, 6, 1), 0) == []


# ---- cron ------------------------------------------------------------------------------------


def cron_days(line: str, tz: str = "UTC", count: int = 7) -> list[str]:
    """Day names of the next firings from Monday 2026-06-01 (to read cron results easily)."""
    return [f"{o.slot:%a %d}" for o in occurrences(cron(line), time(), tz, utc(2026, 6, 1), count)]


def test_cron_weekday_numbers_follow_standard_cron_where_1_is_monday():
    assert cron_days("0 9 * * 1-5", count=6) == [
        "Mon 01",
        "Tue 02",
        "Wed 03",
        "Thu 04",
        "Fri 05",
        "Mon 08",
    ]
    assert cron_days("0 9 * * 0", count=2) == ["Sun 07", "Sun 14"]
    assert cron_days("0 9 * * 7", count=2) == ["Sun 07", "Sun 14"]
    assert cron_days("0 9 * * SUN", count=2) == ["Sun 07", "Sun 14"]
    assert cron_days("0 9 * * mon-wed", count=3) == ["Mon 01", "Tue 02", "Wed 03"]
    assert cron_days("0 9 * * 0-2", count=3) == ["Mon 01", "Tue 02", "Sun 07"]
    assert cron_days("0 9 * * 5-7", count=3) == ["Fri 05", "Sat 06", "Sun 07"]
    assert cron_days("0 9 * * */2", count=4) == ["Tue 02", "Thu 04", "Sat 06", "Sun 07"]


def test_cron_day_of_month_and_day_of_week_together_mean_either():
    assert cron_days("0 9 1 * 1", count=5) == ["Mon 01", "Mon 08", "Mon 15", "Mon 22", "Mon 29"]
    found = occurrences(cron("0 9 1 * 1"), time(), "UTC", utc(2026, 6, 30), 2)
    assert [o.key for o in found] == ["2026-07-01T09:00", "2026-07-06T09:00"]  # a Wednesday 1st


def test_cron_uses_its_own_time_and_the_zone():
    (first,) = occurrences(cron("15 8 * * *"), time(23, 59), BERLIN, utc(2026, 6, 1), 1)
    assert (first.key, first.at) == ("2026-06-01T08:15", utc(2026, 6, 1, 6, 15))


def test_cron_on_the_fall_back_night_fires_once():
    found = occurrences(cron("30 1 * * *"), time(), NEW_YORK, utc(2026, 10, 31), 3)
    assert [(o.key, o.at) for o in found] == [
        ("2026-10-31T01:30", utc(2026, 10, 31, 5, 30)),
        ("2026-11-01T01:30", utc(2026, 11, 1, 5, 30)),
        ("2026-11-02T01:30", utc(2026, 11, 2, 6, 30)),
    ]


def test_cron_slots_inside_one_gap_fire_once_under_the_earliest_key():
    found = occurrences(cron("*/30 * * * *"), time(), NEW_YORK, utc(2026, 3, 8, 6), 3)
    assert [(o.key, o.at) for o in found] == [
        ("2026-03-08T01:30", utc(2026, 3, 8, 6, 30)),
        ("2026-03-08T02:00", utc(2026, 3, 8, 7, 0)),  # 02:00, 02:30 and 03:00 all mean 07:00Z
        ("2026-03-08T03:30", utc(2026, 3, 8, 7, 30)),
    ]


def test_a_cron_date_that_never_comes():
    never = cron("0 9 31 2 *")
    assert never_fires(never, time(), "UTC", utc(2026, 1, 1))
    assert occurrences(never, time(), "UTC", utc(2026, 1, 1)) == []
    assert next_occurrence(never, time(), "UTC", utc(2026, 1, 1)) is None
    assert not never_fires(cron("0 9 29 2 *"), time(), "UTC", utc(2026, 3, 1))  # 2028-02-29
    assert not never_fires(weekly(MO), time(9), "UTC", utc(2026, 1, 1))


def test_cron_and_the_same_weekly_rule_agree_across_dst():
    structured = weekly(MO, TH)
    line = cron("0 9 * * 1,4")
    for tz in ZONES:
        after = utc(2026, 1, 1)
        assert occurrences(line, time(), tz, after, 120) == occurrences(
            structured, time(9), tz, after, 120
        )


# ---- storage, descriptions, validation ------------------------------------------------------

STORED = [
    (weekly(MO, TH), "FREQ=WEEKLY;BYDAY=MO,TH"),
    (
        Rule(kind="every_n_weeks", weekdays=(TU,), interval=2, start_date=date(2026, 12, 1)),
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU",
    ),
    (Rule(kind="monthly_day", month_day=15), "FREQ=MONTHLY;BYMONTHDAY=15"),
    (Rule(kind="monthly_day", month_day=29), "FREQ=MONTHLY;BYMONTHDAY=28,29;BYSETPOS=-1"),
    (Rule(kind="monthly_day", month_day=30), "FREQ=MONTHLY;BYMONTHDAY=28,29,30;BYSETPOS=-1"),
    (Rule(kind="monthly_day", month_day=31), "FREQ=MONTHLY;BYMONTHDAY=-1"),
    (Rule(kind="monthly_weekday", nth=2, weekday=TU), "FREQ=MONTHLY;BYDAY=+2TU"),
    (Rule(kind="monthly_weekday", nth=-1, weekday=FR), "FREQ=MONTHLY;BYDAY=-1FR"),
    (cron("0 9 * * 1-5"), "0 9 * * 1-5"),
    (weekly(SA, start_date=date(2027, 1, 2)), "FREQ=WEEKLY;BYDAY=SA"),
]


@pytest.mark.parametrize(("rule", "text"), STORED)
def test_stored_text_round_trips_exactly(rule: Rule, text: str):
    assert rule.to_rrule() == text
    assert rule_from_storage(rule.kind, text, rule.start_date) == rule


def test_weekdays_are_kept_in_order_so_equal_schedules_are_equal_rules():
    assert weekly(TH, MO, TH) == weekly(MO, TH)
    assert weekly(TH, MO).to_rrule() == "FREQ=WEEKLY;BYDAY=MO,TH"


@pytest.mark.parametrize(
    ("kind", "text"),
    [
        ("weekly", "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO"),  # would lose the interval
        ("weekly", "FREQ=MONTHLY;BYDAY=MO"),
        ("weekly", "FREQ=WEEKLY;BYDAY=XX"),
        ("weekly", "nonsense"),
        ("monthly_day", "FREQ=MONTHLY;BYMONTHDAY=31"),  # we always write -1 for 31
        ("monthly_weekday", "FREQ=MONTHLY;BYDAY=5MO"),
        ("every_n_weeks", "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU"),  # no start date given
        ("cron", "0 9 * *"),
        ("hourly", "FREQ=HOURLY"),
    ],
)
def test_unreadable_stored_rules_are_refused(kind: str, text: str):
    with pytest.raises(RuleError):
        rule_from_storage(kind, text)


@pytest.mark.parametrize(
    ("rule", "text"),
    [
        (weekly(MO, TH), "every Monday and Thursday"),
        (weekly(MO, WE, FR), "every Monday, Wednesday and Friday"),
        (weekly(MO, TU, WE, TH, FR), "every weekday (Monday to Friday)"),
        (weekly(*range(7)), "every day"),
        (
            Rule(kind="every_n_weeks", weekdays=(TU,), interval=2, start_date=date(2026, 12, 1)),
            "every 2 weeks on Tuesday (from Tue 01 Dec 2026)",
        ),
        (
            Rule(kind="monthly_day", month_day=31),
            "monthly on day 31 (the last day in shorter months)",
        ),
        (Rule(kind="monthly_day", month_day=5), "monthly on day 5"),
        (Rule(kind="monthly_weekday", nth=-1, weekday=FR), "monthly on the last Friday"),
        (Rule(kind="monthly_weekday", nth=2, weekday=TU), "monthly on the 2nd Tuesday"),
        (cron("0 9 * * 1-5"), "cron 0 9 * * 1-5"),
    ],
)
def test_descriptions_read_naturally(rule: Rule, text: str):
    assert rule.describe() == text


@pytest.mark.parametrize(
    ("rule", "says"),
    [
        (Rule(kind="weekly"), "at least one day of the week"),
        (Rule(kind="fortnightly"), "not a kind of repeat"),
        (weekly(9), "Monday to Sunday"),
        (Rule(kind="every_n_weeks", weekdays=(MO,), interval=2), "start date"),
        (
            Rule(kind="every_n_weeks", weekdays=(MO,), interval=0, start_date=date(2026, 1, 1)),
            "1 to 52 weeks",
        ),
        (
            Rule(kind="every_n_weeks", weekdays=(MO,), interval=53, start_date=date(2026, 1, 1)),
            "1 to 52 weeks",
        ),
        (Rule(kind="monthly_day"), "day of the month from 1 to 31"),
        (Rule(kind="monthly_day", month_day=0), "day of the month from 1 to 31"),
        (Rule(kind="monthly_day", month_day=32), "day of the month from 1 to 31"),
        (Rule(kind="monthly_weekday", nth=5, weekday=MO), "1st, 2nd, 3rd, 4th or last"),
        (Rule(kind="monthly_weekday", nth=0, weekday=MO), "1st, 2nd, 3rd, 4th or last"),
        (Rule(kind="monthly_weekday", nth=1), "day of the week"),
        (weekly(MO, month_day=3), "does not use a day of the month"),
        (Rule(kind="cron"), "5 parts"),
        (cron("0 9 * *"), "has 4 parts; it needs 5"),
        (cron("0 25 * * *"), "hour part '25'"),
        (cron("61 9 * * *"), "minute part '61'"),
        (cron("0 9 32 * *"), "day-of-month part '32'"),
        (cron("0 9 L * *"), "day-of-month part 'L'"),
        (cron("0 9 * 13 *"), "month part '13'"),
        (cron("0 9 * * 8"), "day-of-week part '8'"),
        (cron("0 9 * * MON-"), "day-of-week part 'MON-'"),
        (cron("0 9 * * 5-1"), "day-of-week part '5-1'"),
        (cron("5/10 9 * * *"), "step without a range"),
    ],
)
def test_validation_says_what_is_wrong(rule: Rule, says: str):
    with pytest.raises(RuleError) as caught:
        rule.validate()
    assert says in caught.value.message


def test_rule_errors_reach_the_person():
    error = RuleError("Pick at least one day of the week.")
    assert isinstance(error, UserError) and isinstance(error, ValueError)
    assert error.message == "Pick at least one day of the week."


def test_an_invalid_rule_is_refused_when_scheduling():
    with pytest.raises(RuleError):
        occurrences(Rule(kind="weekly"), time(9), "UTC", utc(2026, 1, 1))


def test_after_may_be_given_in_any_zone():
    in_berlin = utc(2026, 10, 25, 0, 45).astimezone(ZoneInfo(BERLIN))  # 02:45 CEST, repeated
    assert occurrences(weekly(SU), time(2, 30), BERLIN, in_berlin, 2) == occurrences(
        weekly(SU), time(2, 30), BERLIN, utc(2026, 10, 25, 0, 45), 2
    )


def test_unknown_zone_and_naive_instants_are_refused():
    with pytest.raises(RuleError, match="time zone"):
        occurrences(weekly(MO), time(9), "Mars/Olympus", utc(2026, 1, 1))
    with pytest.raises(ValueError, match="timezone-aware"):
        occurrences(weekly(MO), time(9), "UTC", datetime(2026, 1, 1))


@pytest.mark.parametrize(
    ("text", "expected"),
    [("09:00", time(9)), ("9:30", time(9, 30)), ("17:05", time(17, 5)), (" 00:00 ", time(0))],
)
def test_parse_local_time(text: str, expected: time):
    assert parse_local_time(text) == expected


@pytest.mark.parametrize("text", ["", "9", "24:00", "12:60", "9.30", "09:00:00", "noon", "9:5"])
def test_parse_local_time_refuses_other_shapes(text: str):
    with pytest.raises(RuleError) as caught:
        parse_local_time(text)
    assert caught.value.message == "Give the time as HH:MM, e.g. 09:30"


def test_occurrence_key_names_the_local_minute():
    occurrence = Occurrence(slot=datetime(2026, 3, 8, 2, 30), at=utc(2026, 3, 8, 7))
    assert occurrence.key == "2026-03-08T02:30"


# ---- the oracle ------------------------------------------------------------------------------


def naive_matches(rule: Rule, day: date) -> bool:
    """Does the rule name this local date? Written from the rule's words, not from RRULEs."""
    if rule.start_date is not None and day < rule.start_date:
        return False
    if rule.kind == "weekly":
        return day.weekday() in rule.weekdays
    if rule.kind == "every_n_weeks":
        assert rule.start_date is not None
        anchor_monday = rule.start_date - timedelta(days=rule.start_date.weekday())
        weeks = (day - anchor_monday).days // 7
        return day.weekday() in rule.weekdays and weeks % rule.interval == 0
    last_day = calendar.monthrange(day.year, day.month)[1]
    if rule.kind == "monthly_day":
        assert rule.month_day is not None
        return day.day == min(rule.month_day, last_day)
    assert rule.kind == "monthly_weekday"
    if day.weekday() != rule.weekday:
        return False
    return day.day + 7 > last_day if rule.nth == -1 else (day.day - 1) // 7 + 1 == rule.nth


def wall(moment: datetime, zone: ZoneInfo) -> datetime:
    return moment.astimezone(zone).replace(tzinfo=None)


def brute_force_instant(slot: datetime, zone: ZoneInfo) -> datetime:
    """The first instant whose local wall time reaches `slot` (minute transitions only)."""
    as_utc = slot.replace(tzinfo=UTC)
    nearby = (as_utc + timedelta(hours=h) for h in range(-27, 28, 3))
    offsets = {moment.astimezone(zone).utcoffset() for moment in nearby}
    candidates = sorted(as_utc - offset for offset in offsets)
    readings = [t for t in candidates if wall(t, zone) == slot]
    if readings:
        return readings[0]
    moment = candidates[0]
    while wall(moment, zone) < slot:
        moment += timedelta(minutes=1)
    return moment


def expected_occurrences(
    rule: Rule, at: time, tz: str, after: datetime, until: datetime
) -> list[tuple[datetime, datetime]]:
    zone = ZoneInfo(tz)
    day, last = (
        wall(after, zone).date() - timedelta(days=1),
        wall(until, zone).date() + timedelta(days=1),
    )
    found = []
    while day <= last:
        if naive_matches(rule, day):
            slot = datetime.combine(day, at)
            instant = brute_force_instant(slot, zone)
            if after < instant <= until:
                found.append((slot, instant))
        day += timedelta(days=1)
    return found


def transitions(tz: str) -> list[datetime]:
    """The exact UTC instants the zone's offset changes in 2025-2032, to aim tests at."""
    zone, found = ZoneInfo(tz), []

    def offset(moment: datetime) -> timedelta | None:
        return moment.astimezone(zone).utcoffset()

    moment = utc(2025, 1, 1, 12)
    while moment.year < 2033:
        following = moment + timedelta(days=1)
        if offset(moment) != offset(following):
            before, after = int(moment.timestamp()), int(following.timestamp())
            while after - before > 1:
                middle = (before + after) // 2
                if offset(datetime.fromtimestamp(middle, UTC)) == offset(following):
                    after = middle
                else:
                    before = middle
            found.append(datetime.fromtimestamp(after, UTC))
        moment = following
    return found


TRANSITIONS = {tz: transitions(tz) for tz in ZONES}
AIM_AT = {tz: [t for t in TRANSITIONS[tz] if t.year <= 2030] for tz in ZONES}  # start instants


def test_every_quarter_hour_of_every_dst_night_fires_once_at_the_right_instant():
    every_day = weekly(*range(7))
    for tz in (NEW_YORK, BERLIN, LORD_HOWE, CHATHAM, "Europe/London"):
        zone = ZoneInfo(tz)
        for change in TRANSITIONS[tz][:4]:
            after, until = change - timedelta(days=2), change + timedelta(days=2)
            for minutes in range(0, 4 * 60, 15):
                at = time(minutes // 60, minutes % 60)
                found = occurrences(every_day, at, tz, after, 100, until=until)
                expected = expected_occurrences(every_day, at, tz, after, until)
                assert [(o.slot, o.at) for o in found] == expected, (tz, change, at)
                daily_cron = cron(f"{at.minute} {at.hour} * * *")
                assert occurrences(daily_cron, time(), tz, after, 100, until=until) == found
                assert len({o.slot.date() for o in found}) == len(found)
                assert all(wall(o.at, zone) >= o.slot for o in found)


# ---- properties ------------------------------------------------------------------------------

weekday_sets = st.sets(st.integers(0, 6), min_size=1).map(lambda days: tuple(sorted(days)))
dates = st.dates(date(2025, 1, 1), date(2030, 12, 31))
structured_rules = st.one_of(
    st.builds(Rule, kind=st.just("weekly"), weekdays=weekday_sets, start_date=st.none() | dates),
    st.builds(
        Rule,
        kind=st.just("every_n_weeks"),
        weekdays=weekday_sets,
        interval=st.integers(1, 4) | st.sampled_from([13, 52]),
        start_date=dates,
    ),
    st.builds(
        Rule,
        kind=st.just("monthly_day"),
        month_day=st.integers(1, 31),
        start_date=st.none() | dates,
    ),
    st.builds(
        Rule,
        kind=st.just("monthly_weekday"),
        nth=st.sampled_from([1, 2, 3, 4, -1]),
        weekday=st.integers(0, 6),
        start_date=st.none() | dates,
    ),
)
local_times = st.one_of(
    st.builds(time, st.integers(0, 3), st.sampled_from([0, 1, 14, 15, 29, 30, 44, 45, 59])),
    st.builds(time, st.integers(0, 23), st.integers(0, 59)),
)
zones = st.sampled_from(ZONES)


@st.composite
def starts(draw: st.DrawFn, tz: str) -> datetime:
    """An instant in 2025-2030, often within days of one of the zone's clock changes."""
    anywhere = draw(
        st.datetimes(datetime(2025, 1, 1), datetime(2030, 12, 31), timezones=st.just(UTC))
    )
    if not AIM_AT[tz] or draw(st.booleans()):
        return anywhere
    change = draw(st.sampled_from(AIM_AT[tz]))
    return change + timedelta(minutes=draw(st.integers(-14 * 24 * 60, 2 * 24 * 60)))


def rule_naming(kind: str, day: date, draw: st.DrawFn) -> Rule:
    """A random rule of `kind` that is sure to name `day`."""
    if kind in ("weekly", "every_n_weeks"):
        days = tuple(sorted(draw(st.sets(st.integers(0, 6))) | {day.weekday()}))
        if kind == "weekly":
            return Rule(kind=kind, weekdays=days)
        interval = draw(st.integers(1, 4))
        start = day - timedelta(weeks=interval * draw(st.integers(0, 30)))
        start -= timedelta(days=draw(st.integers(0, start.weekday())))  # same anchor week
        return Rule(kind=kind, weekdays=days, interval=interval, start_date=start)
    if kind == "monthly_day":
        return Rule(kind=kind, month_day=day.day)
    last_day = calendar.monthrange(day.year, day.month)[1]
    nth = -1 if day.day + 7 > last_day and (day.day > 28 or draw(st.booleans())) else None
    return Rule(kind=kind, nth=nth or (day.day - 1) // 7 + 1, weekday=day.weekday())


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[Rule, time, str, datetime]:
    """(rule, local time, zone, after): a third random, two thirds aimed at a clock change.

    Aimed ones put the local time within 90 minutes of the change's wall time and make the
    rule name that date, so gaps and repeated hours come up often rather than by luck.
    """
    if draw(st.integers(0, 2)) == 0:
        tz = draw(zones)
        return draw(structured_rules), draw(local_times), tz, draw(starts(tz))
    tz = draw(st.sampled_from([tz for tz in ZONES if AIM_AT[tz]]))
    change = draw(st.sampled_from(AIM_AT[tz]))
    change_wall = wall(change, ZoneInfo(tz))
    slot = change_wall + timedelta(minutes=draw(st.integers(-90, 90)))
    kind = draw(st.sampled_from(["weekly", "every_n_weeks", "monthly_day", "monthly_weekday"]))
    rule = rule_naming(kind, slot.date(), draw)
    after = change - timedelta(minutes=draw(st.integers(1, 60 * 24 * 60)))
    return rule, slot.time().replace(second=0), tz, after


FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(scenario=scenarios())
def test_occurrences_are_exactly_the_matching_local_dates(
    scenario: tuple[Rule, time, str, datetime],
):
    rule, at, tz, after = scenario
    zone = ZoneInfo(tz)
    span = timedelta(days=70 if rule.kind in ("weekly", "every_n_weeks") else 400)
    until = after + span
    found = occurrences(rule, at, tz, after, 1000, until=until)

    # Never skipped, never doubled, each at the instant the brute force finds.
    assert [(o.slot, o.at) for o in found] == expected_occurrences(rule, at, tz, after, until)
    for earlier, later in pairwise(found):
        assert earlier.at < later.at
    for o in found:
        assert o.slot.time() == at and naive_matches(rule, o.slot.date())
        assert o.at.tzinfo is not None and o.at.utcoffset() == timedelta(0)
        # (Compared in UTC: Python says aware datetimes in a repeated hour never equal others.)
        first_reading = o.slot.replace(tzinfo=zone).astimezone(UTC)
        if wall(first_reading, zone) == o.slot:  # the slot exists: fire at its first reading
            assert o.at == first_reading
            if first_reading != o.slot.replace(tzinfo=zone, fold=1).astimezone(UTC):
                event("a slot that happens twice (fall-back)")
        else:  # in a gap: fire at the transition, the first instant the wall clock passes it
            event("a slot in a spring-forward gap")
            assert o.at in TRANSITIONS[tz]
            assert wall(o.at, zone) > o.slot > wall(o.at - timedelta(seconds=1), zone)


@settings(max_examples=150, deadline=None)
@given(scenario=scenarios())
def test_asking_for_the_next_one_from_each_occurrence_walks_the_same_list(
    scenario: tuple[Rule, time, str, datetime],
):
    rule, at, tz, after = scenario
    found = occurrences(rule, at, tz, after, 6)
    assert len(found) == 6  # structured rules always fire again
    assert next_occurrence(rule, at, tz, after) == found[0]
    for current, following in pairwise(found):
        assert next_occurrence(rule, at, tz, current.at) == following
        assert occurrences(rule, at, tz, current.at - timedelta(microseconds=1), 1) == [current]
    assert not never_fires(rule, at, tz, after)


@settings(max_examples=120, deadline=None)
@given(days=weekday_sets, at=local_times, data=st.data())
def test_a_cron_line_and_the_equivalent_weekly_rule_fire_identically(
    days: tuple[int, ...], at: time, data: st.DataObject
):
    tz = data.draw(zones)
    after = data.draw(starts(tz))
    names = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
    cron_days_field = data.draw(
        st.sampled_from(
            [
                ",".join(str((d + 1) % 7) for d in days),  # Sunday as 0
                ",".join(str(d + 1) for d in days),  # Sunday as 7
                ",".join(names[d] for d in days),
            ]
        )
    )
    line = cron(f"{at.minute} {at.hour} * * {cron_days_field}")
    assert occurrences(line, time(), tz, after, 12) == occurrences(weekly(*days), at, tz, after, 12)


@settings(max_examples=80, deadline=None)
@given(day=st.integers(1, 28), at=local_times, data=st.data())
def test_a_cron_day_of_month_matches_the_monthly_rule(day: int, at: time, data: st.DataObject):
    tz = data.draw(zones)
    after = data.draw(starts(tz))
    line = cron(f"{at.minute} {at.hour} {day} * *")
    monthly = Rule(kind="monthly_day", month_day=day)
    assert occurrences(line, time(), tz, after, 6) == occurrences(monthly, at, tz, after, 6)
