"""How a week of status updates reads, one rule for the chart, the digest, the health card and
Home: RAG in force, "missed", or "no update yet".

Why one home: a missed update (a check-in whose window closed with nobody's answer) is the
worst news a trend carries, and it used to look exactly like "not due yet" (a grey "–", 0%).
Here a week is MISSED when its check-ins asked someone, every window that closed did so with no
answer, and nobody answered; it is then said in words ("missed", "✗"), never as "0%" or "–".
A week where some answered and some missed keeps its RAG and says how many were missed beside
the on-time rate. Trends start at `Figures.first_week`, the first week with anything to show,
not weeks before the engagement was asked anything.

Pure: figures in, strings and states out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.domain import moments
from bot.domain.figures import SCORE_WEEKS, Figures, Rate

if TYPE_CHECKING:  # the chart's rows carry the fields its weeks are read from
    from bot.blocks.chart_rows import ChartRow

MISSED = "missed"
NONE = "none"  # no update yet, nothing missed: not due yet, or no check-in that week
LETTERS = {"green": "G", "amber": "A", "red": "R", MISSED: "✗", NONE: "–"}
MARKS = {"green": "🟢", "amber": "🟠", "red": "🔴", MISSED: "❌", NONE: "⚪"}
KEY = "G green, A amber, R red, ✗ update missed, – no update yet"


@dataclass(frozen=True)
class Week:
    """One week of one engagement as every view shows it."""

    state: str  # "green", "amber", "red", MISSED or NONE
    rate: Rate  # the week's on-time rate (nothing counted: no figure)
    missed: int  # people whose window closed that week with no answer

    @property
    def letter(self) -> str:
        return LETTERS[self.state]


def week_state(rag: str | None, rate: Rate, missed: int) -> str:
    """MISSED when every closed window of the week went unanswered (see the module's
    docstring); else the RAG in force, or NONE."""
    if missed and missed == rate.counted:
        return MISSED
    return rag if rag in ("green", "amber", "red") else NONE


def weeks_of(f: Figures | ChartRow, *, first: int | None = None) -> list[Week]:
    """The engagement's weeks from `first` (default: its own first week with data; all of them
    missing, just the last week), oldest first."""
    count = len(f.rag_trend)
    start = first if first is not None else f.first_week
    start = count - 1 if start is None else start
    rates = f.on_time_by_week or (Rate(0, 0),) * count
    missed = f.missed_by_week or (0,) * count
    return [
        Week(week_state(f.rag_trend[i], rates[i], missed[i]), rates[i], missed[i])
        for i in range(max(start, 0), count)
    ]


def letters(weeks: list[Week], sep: str = " ") -> str:
    """`G A ✗ ✗`: one letter per week, oldest first."""
    return sep.join(w.letter for w in weeks)


def shown_weeks(f: Figures | ChartRow) -> int:
    """How many weeks a trend of `f` shows (at least one)."""
    return len(weeks_of(f))


def on_time_words(rate: Rate, missed: int) -> str:
    """The on-time rate with what was missed in words: `67% (2 of 3), 1 missed`; with none on
    time, `none on time: 1 late, 2 missed` rather than "0%"; `nothing due yet` when nothing was
    counted."""
    if rate.counted == 0:
        return "nothing due yet"
    if rate.met:
        said = f"{moments.percent(rate.value)} ({rate.met} of {rate.counted})"
        return f"{said}, {missed} missed" if missed else said
    late = rate.counted - missed
    parts = [f"{late} late"] if late else []
    parts += [f"{missed} missed"] if missed else []
    return f"none on time: {', '.join(parts)}"


def on_time_brief(rate: Rate, missed: int) -> str:
    """The on-time rate for a one-line summary (the digest's): `33%`, `33%, 1 missed`,
    `none, 2 missed`, `none, 1 late`; `–` when nothing was counted. Never "0%"."""
    if rate.counted == 0:
        return "–"
    if rate.met:
        said = moments.percent(rate.value)
        return f"{said}, {missed} missed" if missed else said
    late = rate.counted - missed
    parts = ([f"{late} late"] if late else []) + ([f"{missed} missed"] if missed else [])
    return f"none, {', '.join(parts)}"


def missed_latest(f: Figures | ChartRow) -> int:
    """How many missed the engagement's latest week with an update due, when nobody answered
    it (a MISSED week); 0 otherwise."""
    for w in reversed(weeks_of(f)):
        if w.rate.counted:
            return w.missed if w.state == MISSED else 0
    return 0


def score_missed(f: Figures | ChartRow) -> int:
    """Updates missed in the scorecard's period (its last SCORE_WEEKS weeks)."""
    return sum(f.missed_by_week[-SCORE_WEEKS:])


def missed_words(f: Figures | ChartRow) -> str | None:
    """What a view says when the latest update due was missed: `2 updates missed`, or None."""
    missed = missed_latest(f)
    return f"{moments.counted(missed, 'update')} missed" if missed else None


def key_of(weeks: list[Week]) -> str:
    """The letters' key for what a trend shows beyond G, A, R: ` (✗ missed, – no update yet)`."""
    said = [
        f"{LETTERS[s]} {w}"
        for s, w in ((MISSED, "missed"), (NONE, "no update yet"))
        if any(week.state == s for week in weeks)
    ]
    return f" ({', '.join(said)})" if said else ""
