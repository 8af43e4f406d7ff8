"""The one way Cadence writes a time, a day, a period and a count for a person to read.

Every message, chart title and the demo's transcript say a moment as `Mon 30 Nov 09:00 CET`
in the reader's zone: the person's Slack zone in a DM and on Home, the engagement's in its
channel, the workspace's digest zone in the digest. The zone is always passed in (pure
functions; nothing here reads a clock), and a stored ISO value (a check-in's slot, a payload's
moment) is never shown as it is stored: exports alone keep ISO, beside the local time.

In a channel, whose readers' zones Cadence does not know, `for_everyone` lets Slack show each
reader the moment in their own zone, with the engagement's as the fallback
(https://api.slack.com/reference/surfaces/formatting#date-formatting).

It lives in the domain because the domain words a few sentences itself (an answer to a date
question, an expired item's notice); `bot/blocks/` and the demo import it from here.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MOMENT = "%a %d %b %H:%M %Z"
LONG_MOMENT = "%a %d %b %Y %H:%M %Z"
DAY = "%a %d %b %Y"
SHORT_DAY = "%a %d %b"


def zone(tz: str | None) -> ZoneInfo:
    """The IANA zone named, or UTC when none is given or the name is unknown (a person whose
    zone Slack never told us reads UTC, said as such)."""
    try:
        return ZoneInfo(tz or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def moment(at: datetime, tz: str | None) -> str:
    """`Mon 30 Nov 09:00 CET`: the moment in the reader's zone (a naive value is UTC)."""
    return _aware(at).astimezone(zone(tz)).strftime(MOMENT)


def long_moment(at: datetime, tz: str | None) -> str:
    """`Fri 04 Dec 2026 16:00 CET`: a moment that ends a period of weeks (the digest's)."""
    return _aware(at).astimezone(zone(tz)).strftime(LONG_MOMENT)


def day(value: date) -> str:
    """`Fri 04 Dec 2026`: a calendar day (a due date, a contract's end), which has no zone."""
    return value.strftime(DAY)


def short_day(value: date) -> str:
    """`Fri 04 Dec`: a day within the weeks being read about."""
    return value.strftime(SHORT_DAY)


def local_day(at: datetime, tz: str | None) -> date:
    """The day a moment falls on in the reader's zone."""
    return _aware(at).astimezone(zone(tz)).date()


def end_of_day(at: datetime, tz: str | None) -> str:
    """`Fri 11 Dec`: the local day something due at the end of a day is due on (`at` is the
    first moment of the next day, so one second before it)."""
    return short_day(local_day(_aware(at) - timedelta(seconds=1), tz))


def period(start: datetime, end: datetime, tz: str | None) -> str:
    """`Mon 30 Nov 16:00 – Mon 07 Dec 16:00 CET`: two moments in one zone, said once."""
    here = zone(tz)
    first, last = _aware(start).astimezone(here), _aware(end).astimezone(here)
    opening = first.strftime("%a %d %b %H:%M")
    if first.strftime("%Z") != last.strftime("%Z"):
        opening += first.strftime(" %Z")
    return f"{opening} – {last.strftime(MOMENT)}"


def slot(
    key: str,
    tz: str | None,
    *,
    reader_tz: str | None = None,
    each_person: bool = False,
    reader_unknown: bool = False,
) -> str:
    """A check-in's slot (stored as its local wall-clock time in the cadence's zone `tz`,
    `2026-11-30T09:00`) as a person reads it: `Mon 30 Nov 09:00 CET`, in `reader_tz` when
    given; for a reader whose zone Cadence has not learned (`reader_unknown`), Slack's own date,
    which shows them theirs (`for_everyone`); `Mon 30 Nov 09:00 (each person's own time)` for a
    cadence asked at each recipient's local time, whose slot is no one moment."""
    try:
        wall = datetime.fromisoformat(key)
    except ValueError:
        return key
    if each_person and wall.tzinfo is None:
        return f"{wall:%a %d %b %H:%M} (each person's own time)"
    at = wall if wall.tzinfo is not None else wall.replace(tzinfo=zone(tz))
    if reader_unknown and not reader_tz:
        return for_everyone(at, tz)
    return moment(at, reader_tz or tz)


def for_everyone(at: datetime, tz: str | None) -> str:
    """Slack's own date token: each reader sees the moment in their own zone ("Today at 9:00
    AM"), and a client that cannot show it reads the moment in the engagement's zone
    (https://api.slack.com/reference/surfaces/formatting#date-formatting)."""
    unix = int(_aware(at).timestamp())
    return f"<!date^{unix}^{{date_short_pretty}} {{time}}|{moment(at, tz)}>"


def zone_name(at: datetime, tz: str | None) -> str:
    """`CET`: the zone's abbreviation at that moment (a chart's title names it once)."""
    return _aware(at).astimezone(zone(tz)).strftime("%Z")


# --- counts and shares ------------------------------------------------------------------------


def percent(fraction: float | None, *, none: str = "–") -> str:
    """`80%`: a share of 1 as a whole percentage, no space (as KPI values are written);
    `none` when there is nothing to count."""
    return none if fraction is None else f"{round(100 * fraction)}%"


def counted(n: int, word: str, plural: str | None = None) -> str:
    """`1 update`, `2 updates`, `3 feedback answers` (`plural` for an irregular word)."""
    return f"{n} {word}" if n == 1 else f"{n} {plural or word + 's'}"
