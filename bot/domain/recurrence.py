"""When a cadence fires: a rule at a local time in an IANA zone -> occurrences in UTC.

A cadence names *local* moments ("every Monday at 09:00 in Europe/Berlin"), but the engine
works in UTC and must never plan the same occurrence twice. So every occurrence carries two
things: the naive local wall-clock `slot` the rule names (its identity, stored as `key`, which
a unique constraint keeps single) and the UTC instant `at` when it fires.

The calendar work is left to well-kept libraries rather than hand-written date arithmetic:

- structured rules are RFC 5545 RRULEs evaluated by dateutil on NAIVE local datetimes, so
  "09:00 every Monday" stays 09:00 on both sides of a DST change;
- cron rules use APScheduler's `CronTrigger` standalone, evaluated in UTC on naive-local-as-UTC
  times (CronTrigger evaluated in a real zone fires a 01:30 job twice on a fall-back night, and
  its `from_crontab` counts weekday 0 as Monday, so we parse the five fields ourselves);
- both kinds then go through one localisation step (zoneinfo), so they share DST semantics:
  a slot in a spring-forward gap fires at the transition instant (the first valid instant after
  it), and an ambiguous slot on a fall-back night fires once, at its first (earlier) instance.

Everything here is a pure function of its inputs: no database, no Slack, no clock.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from heapq import merge
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import rrule, rrulestr

from bot.domain import moments
from bot.domain.errors import UserError

# Imported where a cron rule is read (`_cron_triggers`): APScheduler is 13 MB of a web
# process's memory, which rarely reads one.
if TYPE_CHECKING:
    from apscheduler.triggers.cron import CronTrigger

__all__ = [
    "KINDS",
    "WEEKDAYS",
    "Occurrence",
    "Rule",
    "RuleError",
    "never_fires",
    "next_occurrence",
    "occurrences",
    "parse_local_time",
    "rule_from_storage",
    "smallest_gap",
]

WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")  # index 0 = Monday, as date.weekday()
KINDS = ("weekly", "every_n_weeks", "monthly_day", "monthly_weekday", "cron")

_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_ORDINALS = {1: "1st", 2: "2nd", 3: "3rd", 4: "4th", -1: "last"}
_KIND_NAMES = {
    "weekly": "A weekly rule",
    "every_n_weeks": "An 'every N weeks' rule",
    "monthly_day": "A 'monthly on a day' rule",
    "monthly_weekday": "A 'monthly on a weekday' rule",
    "cron": "A cron rule",
}
# Days 29 and 30 do not exist in every month; "the day, or the month's last day if the month is
# shorter" is the last of the candidate days that the month has (BYSETPOS=-1). Day 31 is simply
# the month's last day.
_LONG_MONTH_DAYS = {
    29: "BYMONTHDAY=28,29;BYSETPOS=-1",
    30: "BYMONTHDAY=28,29,30;BYSETPOS=-1",
    31: "BYMONTHDAY=-1",
}
_HORIZON = timedelta(days=2 * 366)
_CRON_SEARCH = timedelta(days=10 * 366)  # never_fires looks this far ahead ("the next 2 years")
# smallest_gap looks at the slots of a week and a day: hours and weekdays repeat weekly, and a
# gap longer than a day matters to no limit. Its slot budget covers the first two firing hours
# of any rule (at most 60 slots each) many times over, and stays a few milliseconds.
_GAP_HORIZON = timedelta(days=8)
_GAP_SLOTS = 500


class RuleError(UserError, ValueError):
    """A rule that cannot work as given; `message` tells a project lead what to change.

    It is a `UserError` so handlers show the message to the person (modal field error or
    ephemeral reply), and a `ValueError` because it is, at heart, a bad value.
    """


# --------------------------------------------------------------------------------------------
# Rules
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """What a cadence repeats on; the local time of day and the zone are kept beside it.

    Only the fields of the rule's kind may be set (and `start_date`, which every kind accepts:
    no occurrence falls before that local date). Weekdays are kept sorted and without
    duplicates, so two rules that mean the same schedule compare equal and the stored RRULE
    text round-trips exactly. Construction never raises; `validate()` says what is wrong.
    """

    kind: str
    weekdays: tuple[int, ...] = ()
    interval: int = 1
    start_date: date | None = None
    month_day: int | None = None
    nth: int | None = None
    weekday: int | None = None
    cron: str | None = None

    def __post_init__(self) -> None:
        # Normalise only what is unambiguous; anything odd is left for validate() to report.
        if isinstance(self.weekdays, tuple | list | set | frozenset) and all(
            _is_int(d) for d in self.weekdays
        ):
            object.__setattr__(self, "weekdays", tuple(sorted(set(self.weekdays))))
        if isinstance(self.cron, str):
            object.__setattr__(self, "cron", " ".join(self.cron.split()))

    def validate(self) -> None:
        """Raise RuleError, in a project lead's words, if this rule cannot be scheduled."""
        if self.kind not in KINDS:
            raise RuleError(
                f"'{self.kind}' is not a kind of repeat I know. Choose weekly, every N weeks, "
                "monthly on a day, monthly on a weekday, or a cron schedule."
            )
        if self.start_date is not None and (
            not isinstance(self.start_date, date) or isinstance(self.start_date, datetime)
        ):
            raise RuleError("The start date must be a calendar date, e.g. 2026-12-01.")
        self._reject_fields_of_other_kinds()
        if self.kind in ("weekly", "every_n_weeks"):
            if not self.weekdays:
                raise RuleError("Pick at least one day of the week.")
            if not all(_is_int(d) and 0 <= d <= 6 for d in self.weekdays):
                raise RuleError("Days of the week must be Monday to Sunday.")
        if self.kind == "every_n_weeks":
            if not _is_int(self.interval) or not 1 <= self.interval <= 52:
                raise RuleError(
                    f"Repeat every 1 to 52 weeks; {self.interval!r} weeks is not possible."
                )
            if self.start_date is None:
                raise RuleError(
                    "Give a start date for a rule that repeats every N weeks, so it is clear "
                    "which weeks count."
                )
        elif self.kind == "monthly_day":
            if not _is_int(self.month_day) or not 1 <= self.month_day <= 31:
                raise RuleError("Pick a day of the month from 1 to 31.")
        elif self.kind == "monthly_weekday":
            if not _is_int(self.nth) or self.nth not in _ORDINALS:
                raise RuleError(
                    "Pick which one in the month: the 1st, 2nd, 3rd, 4th or last "
                    "(a 5th does not happen every month)."
                )
            if not _is_int(self.weekday) or not 0 <= self.weekday <= 6:
                raise RuleError("Pick a day of the week, Monday to Sunday.")
        elif self.kind == "cron":
            _cron_triggers(self.cron)

    def _reject_fields_of_other_kinds(self) -> None:
        """Fields another kind uses would be silently dropped from storage, so refuse them."""
        used = {
            "weekly": {"weekdays"},
            "every_n_weeks": {"weekdays", "interval"},
            "monthly_day": {"month_day"},
            "monthly_weekday": {"nth", "weekday"},
            "cron": {"cron"},
        }[self.kind]
        labels = {
            "weekdays": "days of the week",
            "interval": "a number of weeks",
            "month_day": "a day of the month",
            "nth": "a 1st/2nd/3rd/4th/last choice",
            "weekday": "a single day of the week",
            "cron": "a cron schedule",
        }
        unset = {"weekdays": (), "interval": 1, "month_day": None, "nth": None, "weekday": None}
        unset["cron"] = None
        for name, label in labels.items():
            if name not in used and getattr(self, name) != unset[name]:
                raise RuleError(f"{_KIND_NAMES[self.kind]} does not use {label}.")

    def to_rrule(self) -> str:
        """The text stored with the cadence: an RFC 5545 RRULE (cron kind: the cron line).

        The start date and local time are stored separately, so they are not in the text.
        """
        self.validate()
        if self.kind == "weekly":
            return f"FREQ=WEEKLY;BYDAY={_byday(self.weekdays)}"
        if self.kind == "every_n_weeks":
            return f"FREQ=WEEKLY;INTERVAL={self.interval};BYDAY={_byday(self.weekdays)}"
        if self.kind == "monthly_day":
            assert self.month_day is not None
            by = _LONG_MONTH_DAYS.get(self.month_day, f"BYMONTHDAY={self.month_day}")
            return f"FREQ=MONTHLY;{by}"
        if self.kind == "monthly_weekday":
            assert self.nth is not None and self.weekday is not None
            return f"FREQ=MONTHLY;BYDAY={self.nth:+d}{WEEKDAYS[self.weekday]}"
        assert self.cron is not None
        return self.cron

    def describe(self) -> str:
        """A phrase for people, e.g. "every 2 weeks on Tuesday (from Tue 01 Dec 2026)"."""
        self.validate()
        since = f" (from {moments.day(self.start_date)})" if self.start_date else ""
        if self.kind == "weekly":
            return f"every {_day_list(self.weekdays)}{since}"
        if self.kind == "every_n_weeks":
            every = "every week" if self.interval == 1 else f"every {self.interval} weeks"
            return f"{every} on {_day_list(self.weekdays)}{since}"
        if self.kind == "monthly_day":
            assert self.month_day is not None
            shorter = " (the last day in shorter months)" if self.month_day >= 29 else ""
            return f"monthly on day {self.month_day}{shorter}{since}"
        if self.kind == "monthly_weekday":
            assert self.nth is not None and self.weekday is not None
            return f"monthly on the {_ORDINALS[self.nth]} {_DAY_NAMES[self.weekday]}{since}"
        return f"cron {self.cron}{since}"


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _byday(days: tuple[int, ...]) -> str:
    return ",".join(WEEKDAYS[d] for d in days)


def _day_list(days: tuple[int, ...]) -> str:
    if days == (0, 1, 2, 3, 4, 5, 6):
        return "day"
    if days == (0, 1, 2, 3, 4):
        return "weekday (Monday to Friday)"
    names = [_DAY_NAMES[d] for d in days]
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def rule_from_storage(kind: str, text: str, start_date: date | None = None) -> Rule:
    """Rebuild the Rule from what was stored: (rule.kind, rule.to_rrule(), rule.start_date).

    Only the exact forms `to_rrule` writes are accepted (parts in any order), so a stored rule
    can never mean something other than what was shown when it was saved.
    """
    if kind == "cron":
        rule = Rule(kind="cron", cron=text, start_date=start_date)
        rule.validate()
        return rule
    unreadable = RuleError(f"The stored schedule '{text}' ({kind}) could not be read.")
    parts = _rrule_parts(text)
    if parts is None or kind not in KINDS:
        raise unreadable
    try:
        if kind in ("weekly", "every_n_weeks"):
            days = tuple(WEEKDAYS.index(code) for code in parts["BYDAY"].split(","))
            interval = int(parts["INTERVAL"]) if kind == "every_n_weeks" else 1
            rule = Rule(kind=kind, weekdays=days, interval=interval, start_date=start_date)
        elif kind == "monthly_day":
            by = parts["BYMONTHDAY"]
            long_days = {"-1": 31, "28,29": 29, "28,29,30": 30}
            month_day = long_days[by] if by in long_days else int(by)
            rule = Rule(kind=kind, month_day=month_day, start_date=start_date)
        else:
            match = re.fullmatch(r"([+-]\d)([A-Z]{2})", parts["BYDAY"])
            if match is None:
                raise unreadable
            nth, code = int(match[1]), WEEKDAYS.index(match[2])
            rule = Rule(kind=kind, nth=nth, weekday=code, start_date=start_date)
        rule.validate()
    except (KeyError, ValueError) as exc:  # RuleError is a ValueError too
        raise unreadable from exc
    if _rrule_parts(rule.to_rrule()) != parts:
        raise unreadable
    return rule


def _rrule_parts(text: str) -> dict[str, str] | None:
    """ "FREQ=WEEKLY;BYDAY=MO" -> {"FREQ": "WEEKLY", "BYDAY": "MO"}; None if malformed."""
    parts: dict[str, str] = {}
    for part in text.strip().removeprefix("RRULE:").split(";"):
        name, sep, value = part.partition("=")
        if not sep or not value or name in parts:
            return None
        parts[name] = value
    return parts


_TIME_RE = re.compile(r"\s*(\d{1,2}):(\d{2})\s*")


def parse_local_time(text: str) -> time:
    """ "09:00", "9:30", "17:05" -> time. Minutes only: an occurrence's key is minute-precise."""
    match = _TIME_RE.fullmatch(text or "")
    if match is None or int(match[1]) > 23 or int(match[2]) > 59:
        raise RuleError("Give the time as HH:MM, e.g. 09:30")
    return time(int(match[1]), int(match[2]))


# --------------------------------------------------------------------------------------------
# Occurrences
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Occurrence:
    """One firing: the local slot the rule names, and the UTC instant it fires at."""

    slot: datetime  # naive local wall-clock time; may not exist (DST gap) or exist twice
    at: datetime  # aware UTC

    @property
    def key(self) -> str:
        """The slot as "2026-03-08T02:30": unique per cadence, so no occurrence happens twice."""
        return self.slot.isoformat(timespec="minutes")


def occurrences(
    rule: Rule,
    local_time: time,
    tz: str,
    after: datetime,
    count: int = 5,
    *,
    until: datetime | None = None,
) -> list[Occurrence]:
    """The next `count` occurrences firing strictly after `after` (and at or before `until`).

    `at` strictly increases. [] if the rule never fires again. For cron rules `local_time` is
    ignored: the cron line has its own minute and hour. Slots that land on the same instant
    (only possible for a cron rule with several times inside one DST gap) fire once, under the
    earliest slot's key.
    """
    rule.validate()
    zone = _zone(tz)
    # In UTC from here on: Python never finds an aware datetime inside a repeated hour equal to
    # one in another zone, so mixing zones in comparisons would be a trap.
    after = _as_utc(after, "after")
    until = None if until is None else _as_utc(until, "until")
    if count < 0:
        raise ValueError("count must not be negative")
    if rule.kind != "cron" and (
        local_time.tzinfo is not None or local_time.second or local_time.microsecond
    ):
        raise ValueError("local_time must be a naive time in whole minutes, e.g. time(9, 30)")

    # A slot fires at the first instant whose local wall time reaches it, so anything firing
    # after `after` has a slot later than `after`'s own wall time: start the search there.
    after_wall = after.astimezone(zone).replace(tzinfo=None)
    earliest = after_wall
    if rule.start_date is not None:
        earliest = max(
            earliest, datetime.combine(rule.start_date, time()) - timedelta(microseconds=1)
        )
    if rule.kind == "cron":
        end = None if until is None else until.astimezone(zone).replace(tzinfo=None)
        slots = _cron_slots(rule, earliest, end)
    else:
        slots = _rrule_slots(rule, local_time, earliest)

    found: list[Occurrence] = []
    last_at = after
    while len(found) < count:
        slot = next(slots, None)
        if slot is None:
            break
        at = _fire_instant(slot, zone)
        if until is not None and at > until:
            break
        if at > last_at:  # also drops a slot equal to the previous one (merged cron triggers)
            found.append(Occurrence(slot=slot, at=at))
            last_at = at
    return found


def next_occurrence(rule: Rule, local_time: time, tz: str, after: datetime) -> Occurrence | None:
    """The first occurrence firing strictly after `after`, or None if there is none."""
    found = occurrences(rule, local_time, tz, after, 1)
    return found[0] if found else None


def never_fires(rule: Rule, local_time: time, tz: str, now: datetime) -> bool:
    """True if the rule has no occurrence in the 2 years from now (or from its start date).

    Structured rules always fire; a cron line can name a date that never comes, and saving
    such a cadence should be refused rather than leave it silently idle.
    """
    begins = now
    if rule.start_date is not None:  # a rule that starts later is judged from its start
        begins = max(now, datetime.combine(rule.start_date, time(), tzinfo=UTC) - timedelta(days=1))
    return not occurrences(rule, local_time, tz, now, 1, until=begins + _HORIZON)


def smallest_gap(rule: Rule, local_time: time, after: datetime) -> timedelta | None:
    """The shortest wall-clock time between two consecutive slots of the rule, in the week and a
    day of slots from the start of the day of its first slot after `after` (naive: a slot is a
    local wall time, so the answer holds in every zone and on both sides of a DST change);
    None when it fires at most once in that span.

    Exact for gaps under a day, which is what a minimum interval needs: two slots less than a
    day apart fall within one day or across one midnight, and every pattern of hours and
    weekdays a rule can name repeats within a week. Scanning from the start of a day covers
    the whole of each firing hour, so a rule with two minutes in an hour (`*/30 9 * * 1`,
    `0,30 9 29 2 *`) always shows that gap, however far away it first fires.
    """
    rule.validate()
    earliest = _as_utc(after, "after").replace(tzinfo=None)
    if rule.start_date is not None:
        earliest = max(earliest, datetime.combine(rule.start_date, time()))
    first = next(_slots(rule, local_time, earliest - timedelta(microseconds=1)), None)
    if first is None:
        return None
    day = datetime.combine(first.date(), time())  # not before the start date: first is not
    end = day + _GAP_HORIZON
    smallest: timedelta | None = None
    previous: datetime | None = None
    for n, slot in enumerate(_slots(rule, local_time, day - timedelta(microseconds=1), end)):
        if slot > end or n >= _GAP_SLOTS:
            break
        if previous is not None and slot > previous:  # merged cron triggers may repeat a slot
            gap = slot - previous
            smallest = gap if smallest is None else min(smallest, gap)
        previous = slot
    return smallest


def _slots(
    rule: Rule, local_time: time, earliest: datetime, end: datetime | None = None
) -> Iterator[datetime]:
    """Naive local slots later than `earliest`, of either kind of rule."""
    if rule.kind == "cron":
        return _cron_slots(rule, earliest, end)
    return _rrule_slots(rule, local_time, earliest)


def _zone(tz: str) -> ZoneInfo:
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError, TypeError) as exc:
        raise RuleError(
            f"'{tz}' is not a time zone I know. Use a name like Europe/Berlin or America/New_York."
        ) from exc


def _as_utc(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (UTC), not naive")
    return moment.astimezone(UTC)


def _fire_instant(slot: datetime, zone: ZoneInfo) -> datetime:
    """The UTC instant a naive local slot fires: the first instant whose wall time reaches it.

    An existing slot fires at itself; an ambiguous one (fall-back) at its first instance
    (fold=0, the earlier instant); one in a spring-forward gap at the transition instant, found
    by bisection between its two readings (fold=0 and fold=1 bracket the transition).
    """
    first = slot.replace(tzinfo=zone, fold=0).astimezone(UTC)
    if first.astimezone(zone).replace(tzinfo=None) == slot:
        return first
    other = slot.replace(tzinfo=zone, fold=1).astimezone(UTC)
    lo, hi = int(min(first, other).timestamp()), int(max(first, other).timestamp())
    offset_after = datetime.fromtimestamp(hi, zone).utcoffset()
    while hi - lo > 1:  # tz transitions fall on whole seconds
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, zone).utcoffset() == offset_after:
            hi = mid
        else:
            lo = mid
    return datetime.fromtimestamp(hi, UTC)


def _rrule_slots(rule: Rule, local_time: time, earliest: datetime) -> Iterator[datetime]:
    """Naive local slots later than `earliest`, from the stored RRULE text itself.

    Evaluating exactly the text we store means what runs is what was saved. For every N
    weeks, dtstart is the Monday of the anchor week (weeks start on Monday: WKST=MO), so
    INTERVAL counts weeks from the anchor; the start date itself still bounds the slots.
    """
    if rule.kind == "every_n_weeks":
        assert rule.start_date is not None
        anchor = rule.start_date - timedelta(days=rule.start_date.weekday())
    else:
        anchor = earliest.date()
    dtstart = datetime.combine(anchor, local_time)
    recurrence = rrulestr(f"{rule.to_rrule()};WKST=MO", dtstart=dtstart)
    assert isinstance(recurrence, rrule)
    return recurrence.xafter(earliest, inc=False)


# ---- cron ----------------------------------------------------------------------------------

_CRON_FIELDS = ("minute", "hour", "day-of-month", "month", "day-of-week")
_CRON_LIMITS = {
    "minute": "minutes go from 0 to 59",
    "hour": "hours go from 0 to 23",
    "day-of-month": "days of the month go from 1 to 31",
    "month": "months go from 1 to 12 (or JAN to DEC)",
    "day-of-week": "days of the week go from 0 to 7 (0 and 7 are Sunday) or SUN to SAT",
}
_MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_CRON_DOW_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")  # cron number -> name
_CRON_ITEM = re.compile(
    r"(?P<range>\*|(?P<first>[a-z0-9]+)(?:-(?P<last>[a-z0-9]+))?)(?:/(?P<step>\d+))?"
)
_CRON_EXAMPLE = "e.g. 0 9 * * 1-5 for 09:00 on weekdays"


def _cron_part(text: str, field: str) -> str:
    """The field as the person typed it (parsing works on a lower-cased copy)."""
    return text.split(" ")[_CRON_FIELDS.index(field)]


def _cron_error(text: str, field: str) -> RuleError:
    return RuleError(
        f"In the cron schedule '{text}', the {field} part '{_cron_part(text, field)}' is not "
        f"valid: {_CRON_LIMITS[field]}; use numbers, ranges like 1-5, lists like 1,3 and steps "
        "like */15."
    )


def _check_items(text: str, field: str, value: str, names: tuple[str, ...] = ()) -> None:
    """Accept standard cron syntax only (APScheduler also takes extensions like "last")."""
    for item in value.split(","):
        match = _CRON_ITEM.fullmatch(item)
        if match is None:
            raise _cron_error(text, field)
        for end in (match["first"], match["last"]):
            if end is not None and not (end.isdigit() or end in names):
                raise _cron_error(text, field)
        if match["step"] is not None and match["first"] is not None and match["last"] is None:
            raise RuleError(
                f"In the cron schedule '{text}', the {field} part '{_cron_part(text, field)}' "
                "has a step without a range: write */15 or 0-30/15."
            )


def _cron_days_of_week(text: str, value: str) -> str:
    """Cron day-of-week (0/7 = Sunday, 1 = Monday) as APScheduler names (there 0 = Monday).

    The field is expanded to explicit days, because ranges and steps count differently in the
    two numberings (cron "0-2" is Sun-Tue and "*/2" is Sun, Tue, Thu, Sat).
    """
    if value == "*":
        return "*"

    def number(token: str) -> int:
        number = int(token) if token.isdigit() else _CRON_DOW_NAMES.index(token)
        if number > 7:
            raise _cron_error(text, "day-of-week")
        return number

    days: set[int] = set()
    for item in value.split(","):
        match = _CRON_ITEM.fullmatch(item)
        assert match is not None  # checked by _check_items
        if match["range"] == "*":
            first, last = 0, 6
        else:
            first = number(match["first"])
            last = number(match["last"]) if match["last"] is not None else first
        step = int(match["step"] or 1)
        if first > last or step == 0:
            raise _cron_error(text, "day-of-week")
        days.update(d % 7 for d in range(first, last + 1, step))
    order = (1, 2, 3, 4, 5, 6, 0)  # list them Monday first, as APScheduler does
    return ",".join(_CRON_DOW_NAMES[d] for d in order if d in days)


def _cron_triggers(cron: str | None, end: datetime | None = None) -> list[CronTrigger]:
    """Parse a 5-field cron line into CronTriggers (two when day-of-month OR day-of-week).

    Standard cron fires on a day matching EITHER the day-of-month or the day-of-week when both
    are restricted (neither is "*"); CronTrigger requires both, so that case becomes one
    trigger per field, merged by the caller. Triggers run in UTC on naive-local-as-UTC times,
    which has no DST, so each local slot comes out exactly once. `end` (naive local) bounds
    CronTrigger's search, which would otherwise scan to year 9999 for a date that never comes.
    """
    from apscheduler.triggers.cron import CronTrigger

    if not isinstance(cron, str) or not cron.strip():
        raise RuleError(
            f"Give a cron schedule with 5 parts: minute hour day month weekday, {_CRON_EXAMPLE}."
        )
    text = " ".join(cron.split())
    fields = text.lower().split(" ")
    if len(fields) != 5:
        raise RuleError(
            f"The cron schedule '{text}' has {len(fields)} part{'s' if len(fields) != 1 else ''}; "
            f"it needs 5: minute hour day-of-month month day-of-week, {_CRON_EXAMPLE}."
        )
    minute, hour, dom, month, dow = fields
    for field, value in zip(_CRON_FIELDS, fields, strict=True):
        names = {"month": _MONTH_NAMES, "day-of-week": _CRON_DOW_NAMES}.get(field, ())
        _check_items(text, field, value, names)
    days_of_week = _cron_days_of_week(text, dow)

    def trigger(day: str, day_of_week: str) -> CronTrigger:
        values = {"minute": minute, "hour": hour, "day": day, "month": month}
        try:
            return CronTrigger(
                **values,
                day_of_week=day_of_week,
                timezone=UTC,
                end_date=None if end is None else end.replace(tzinfo=UTC),
            )
        except ValueError as exc:
            # Name the field at fault: try each on its own.
            for field, name in zip(_CRON_FIELDS, ("minute", "hour", "day", "month"), strict=False):
                try:
                    CronTrigger(**{name: values[name]}, timezone=UTC)
                except ValueError:
                    raise _cron_error(text, field) from exc
            raise RuleError(f"The cron schedule '{text}' is not valid, {_CRON_EXAMPLE}.") from exc

    if dom != "*" and dow != "*":
        return [trigger(dom, "*"), trigger("*", days_of_week)]
    return [trigger(dom, days_of_week)]


def _cron_slots(rule: Rule, earliest: datetime, end: datetime | None) -> Iterator[datetime]:
    """Naive local slots later than `earliest` (up to about `end`), in order, possibly repeated."""
    # A day of slack past `end`: a slot fires no earlier than its wall time minus a DST shift.
    # Without `end`, stop after 10 years: a 5-field cron line that fires at all fires at least
    # every 8 years (29 February skips 2100), and CronTrigger would otherwise scan to 9999.
    end = earliest + _CRON_SEARCH if end is None else end + timedelta(days=1)
    triggers = _cron_triggers(rule.cron, end)
    return merge(*(_fire_times(trig, earliest) for trig in triggers))


def _fire_times(trigger: CronTrigger, earliest: datetime) -> Iterator[datetime]:
    moment = earliest.replace(tzinfo=UTC) + timedelta(microseconds=1)
    while (fire := trigger.get_next_fire_time(None, moment)) is not None:
        yield fire.replace(tzinfo=None)
        moment = fire + timedelta(microseconds=1)


def localize(slot: datetime, tz: str) -> datetime:
    """The UTC instant a naive local slot fires in `tz` (DST gaps and overlaps as above).

    Used for cadences delivered at each person's own local time: one slot, one instant per zone.
    """
    return _fire_instant(slot, _zone(tz))
