"""The executive digest's chart: a heat strip of each engagement's RAG by week, as a PNG.

Why an image: a digest of many engagements reads at a glance as a grid of colours, which Block
Kit cannot draw. Why this shape: one row per engagement in the order given (the caller puts the
worst first), one column per rolling week of `bot.domain.figures` (labelled by the day it
ends) from the first week any of them has something to show (a first digest is not seven
empty columns), each cell coloured by the RAG in force at the week's end *and* lettered G/A/R
("–": no update yet), so colour is never the only signal, with that week's on-time rate
printed small. A week whose update was missed (`bot.blocks.trend`: every window closed with no
answer) has its own colour, a hatch and "✗ missed" in words, never the grey of "not due yet";
a week where only some missed keeps its RAG and carries a hatched band with "N missed".

Pure: figures in, PNG bytes out. It draws on a `Figure` with its own Agg canvas, never through
pyplot, so there is no global figure state and two digests can be drawn on two threads.
matplotlib (with numpy and PIL: 43 MB of a worker) is imported by the functions that draw, not
with this module: the web process imports it through the job kinds and never draws a chart,
and idled at 124 MB for it (issue 23; tests/test_web_memory.py).

The picture is laid out in pixels (one axes spanning the figure, its data units being pixels, y
downwards), so its width is fixed for a phone (1200 px) and its height is exactly the rows it
draws; rows are capped at MAX_CHART_ROWS, and a longer list ends with a "+N more" row rather
than squashing every row into an unreadable sliver.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

from bot.blocks import trend
from bot.blocks.chart_rows import ChartRow, rows_of
from bot.domain import moments
from bot.domain.command_reference import shorten
from bot.domain.figures import WEEK, Figures, Rate

if TYPE_CHECKING:  # matplotlib itself is imported where a chart is drawn (see above)
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

MAX_CHART_ROWS = 25  # rows drawn at most, the "+N more" row included: readable on a phone
CHART_FILENAME = "cadence-digest.png"
CHART_TITLE = "RAG by week, with on-time updates"
MAX_ALT_TEXT = 1000  # Slack's limit for an image block's alt_text is 2000; stay well inside
NAME_CHARS = 28

DPI = 150
WIDTH_PX = 1200  # 8 in at 150 dpi
ROW_PX = 46
HEADER_PX = 196  # title, subtitle, legend (two lines) and the week labels above the first row
FOOTER_PX = 24
EMPTY_HEIGHT_PX = 200
NAME_RIGHT_PX = 336  # engagement names end here, right-aligned
GRID_LEFT_PX = 348
GRID_RIGHT_PX = WIDTH_PX - 24
GAP_PX = 3  # white between cells, so neighbouring cells of one colour still read as cells
MAX_COLUMN_PX = (GRID_RIGHT_PX - GRID_LEFT_PX) / 8  # a short chart's columns are not stretched
BAND_PX = 12  # a partly missed week's hatched band along the cell's foot

T = TypeVar("T")

NONE = trend.NONE  # no update yet (or a RAG this chart does not know)
MISSED = trend.MISSED


@dataclass(frozen=True)
class Swatch:
    """How one week's state is drawn: fill, the letter it carries, the letter's colour, and a
    hatch (the missed week's, so it stays apart in greyscale and for any colour vision)."""

    label: str
    letter: str
    fill: str
    ink: str  # black or white, whichever contrasts more with the fill
    hatch: str | None = None
    hatch_colour: str = "#ffffff"


def _luminance(hex_colour: str) -> float:
    """WCAG relative luminance of an #rrggbb colour."""
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def ink_for(fill: str) -> str:
    """Black or white text on `fill`, whichever has the higher WCAG contrast ratio."""
    lum = _luminance(fill)
    on_white = 1.05 / (lum + 0.05)
    on_black = (lum + 0.05) / 0.05
    return "#ffffff" if on_white > on_black else "#000000"


def _swatch(label: str, letter: str, fill: str, **hatch: str) -> Swatch:
    return Swatch(label, letter, fill, ink_for(fill), **hatch)


# Okabe–Ito's bluish green and orange, and a dark red: three different lightnesses, so the
# three stay apart for red–green colour blindness and in greyscale; grey for no update yet.
# Missed: Okabe–Ito's blue, which no colour vision confuses with the others, cross-hatched
# (no other cell is) and lettered ✗ with the word "missed".
SWATCHES: dict[str, Swatch] = {
    "green": _swatch("Green", "G", "#009e73"),
    "amber": _swatch("Amber", "A", "#e69f00"),
    "red": _swatch("Red", "R", "#a50f2d"),
    MISSED: _swatch("Update missed", trend.LETTERS[MISSED], "#0072b2", hatch="xx"),
    NONE: _swatch("No update yet (not due, or no check-in)", "–", "#d4d4d4"),
}


def _swatch_of(state: str | None) -> Swatch:
    return SWATCHES.get(state or NONE, SWATCHES[NONE])


def first_column(figures: Sequence[Figures | ChartRow], weeks: int) -> int:
    """The first week any engagement has something to show (the chart starts there); the last
    week when none has anything yet."""
    found = [f.first_week for f in figures if f.first_week is not None]
    return max(0, min(found)) if found else weeks - 1


# --- shared helpers ------------------------------------------------------------------------------


def _day(moment: datetime, tz: str) -> str:
    """`17 Nov`, the day in the reader's zone: short, unambiguous, no leading zero (and no
    platform-specific strftime)."""
    local = moments.local_day(moment, tz)
    return f"{local.day} {local:%b}"


def week_ends(now: datetime, weeks: int) -> list[datetime]:
    """The end of each rolling week of the figures, oldest first; the last is `now`."""
    return [now - (weeks - 1 - i) * WEEK for i in range(weeks)]


def _fit(values: Sequence[T], weeks: int, missing: T) -> list[T]:
    """The last `weeks` values, padded at the old end when there are fewer (a defensive
    measure: figures computed for another number of weeks still draw, aligned on `now`)."""
    tail = list(values[-weeks:]) if weeks else []
    return [missing] * (weeks - len(tail)) + tail


def _name(f: ChartRow) -> str:
    return " ".join((f.name or f.handle or f"Engagement {f.engagement_id}").split())


def _percent(rate: Rate) -> str:
    return moments.percent(rate.value, none="")


# --- the picture ---------------------------------------------------------------------------------


def drawn_rows(count: int) -> tuple[int, int]:
    """(engagement rows drawn, engagements left out): beyond MAX_CHART_ROWS the last row says
    "+N more", so at most MAX_CHART_ROWS rows are drawn in all."""
    if count <= MAX_CHART_ROWS:
        return count, 0
    return MAX_CHART_ROWS - 1, count - (MAX_CHART_ROWS - 1)


def chart_height_px(count: int) -> int:
    """The PNG's height for `count` engagements: grows with the rows, bounded by the cap."""
    if count == 0:
        return EMPTY_HEIGHT_PX
    shown, hidden = drawn_rows(count)
    return HEADER_PX + (shown + (1 if hidden else 0)) * ROW_PX + FOOTER_PX


def _canvas(height_px: int) -> tuple[Figure, Axes]:
    """A figure of WIDTH_PX × `height_px` with one axes whose data units are pixels, y down.

    Its limits are fixed here, so cells are added with `add_artist`, not `add_patch`, whose
    update of the data limits (nothing reads them) was a seventh of a chart's CPU: the same
    bytes, and 100 workspaces' charts at the same minute are drawn one after another."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    # A hair over the pixel count, so a float product just under it never truncates a row away.
    fig = Figure(figsize=(WIDTH_PX / DPI, (height_px + 0.01) / DPI), dpi=DPI, facecolor="white")
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, WIDTH_PX)
    ax.set_ylim(height_px, 0)
    ax.set_axis_off()
    return fig, ax


def _title(ax: Axes, subtitle: str) -> None:
    ax.text(24, 22, CHART_TITLE, fontsize=14, fontweight="bold", va="top", color="#1a1a1a")
    ax.text(24, 62, subtitle, fontsize=9, va="top", color="#555555", parse_math=False)


def _legend(ax: Axes, y: float) -> None:
    """Each swatch with its letter and its meaning, then what the small figure means; each
    entry placed after the measured width of the one before, so none overlaps."""
    from matplotlib.patches import Rectangle

    renderer = ax.figure.canvas.get_renderer()  # type: ignore[attr-defined]
    x = 24.0
    for swatch in SWATCHES.values():
        ax.add_artist(_cell_patch(Rectangle, (x, y), 40, 30, swatch))
        _letter(ax, x + 20, y + 15, swatch, fontsize=10, gid="legend-letter")
        label = ax.text(
            x + 50, y + 15, swatch.label, fontsize=9, va="center", color="#1a1a1a",
            gid="legend-label",
        )  # fmt: skip
        x += 50 + label.get_window_extent(renderer).width + 30
    ax.text(
        24, y + 52, "80% = updates on time that week · late = answered after the window · "
        "hatched band = some missed", fontsize=9, va="center", color="#1a1a1a",
    )  # fmt: skip


def _cell_patch(rectangle: type, xy: tuple[float, float], w: float, h: float, swatch: Swatch):
    """A cell's rectangle in its swatch: fill, and the hatch for a missed week."""
    patch = rectangle(xy, w, h, facecolor=swatch.fill, edgecolor="none", linewidth=0)
    if swatch.hatch:
        patch.set_hatch(swatch.hatch)
        patch.set_hatchcolor(swatch.hatch_colour)
        patch.set_hatch_linewidth(1.2)
    return patch


def _letter(ax: Axes, x: float, y: float, swatch: Swatch, *, fontsize: float, gid: str) -> None:
    """A cell's letter; on a hatched cell, on a patch of its plain fill so it stays legible."""
    box = (
        {"boxstyle": "round,pad=0.2", "facecolor": swatch.fill, "edgecolor": "none"}
        if swatch.hatch
        else None
    )
    ax.text(
        x, y, swatch.letter, fontsize=fontsize, fontweight="bold", color=swatch.ink,
        ha="center", va="center", gid=gid, bbox=box,
    )  # fmt: skip


def _draw(figures: Sequence[ChartRow], *, now: datetime, weeks: int, tz: str = "UTC") -> Figure:
    """The chart as a matplotlib Figure (`digest_chart` saves it; tests read its texts).

    Cell letters carry the gid "cell-letter", on-time rates "cell-rate", what was missed
    "cell-missed", week labels "week-label", names "row-name" and the "+N more" row
    "more-rows", so a test can find what was drawn without reading pixels.
    """
    from matplotlib.patches import Rectangle

    count = len(figures)
    height = chart_height_px(count)
    fig, ax = _canvas(height)
    first = first_column(figures, weeks)
    ends = week_ends(now, weeks)[first:]
    span = f"{moments.counted(len(ends), 'week')} to {moments.long_moment(now, tz)}"
    if count == 0:
        _title(ax, f"As of {moments.long_moment(now, tz)}")
        ax.text(
            WIDTH_PX / 2, 140, "No engagements to chart yet", fontsize=12, color="#555555",
            ha="center", va="center",
        )  # fmt: skip
        return fig

    _title(ax, f"{moments.counted(count, 'engagement')} · {span}")
    _legend(ax, 92)

    column = min((GRID_RIGHT_PX - GRID_LEFT_PX) / max(len(ends), 1), MAX_COLUMN_PX)
    top = HEADER_PX
    for i, end in enumerate(ends):
        ax.text(
            GRID_LEFT_PX + (i + 0.5) * column, top - 10, _day(end, tz), fontsize=8.5,
            ha="center", va="bottom", color="#333333", gid="week-label",
        )  # fmt: skip

    shown, hidden = drawn_rows(count)
    for row, f in enumerate(figures[:shown]):
        y = top + row * ROW_PX
        ax.text(
            NAME_RIGHT_PX, y + ROW_PX / 2, shorten(_name(f), NAME_CHARS), fontsize=9,
            ha="right", va="center", color="#1a1a1a", parse_math=False, gid="row-name",
        )  # fmt: skip
        for i, week in enumerate(_weeks(f, weeks, first)):
            _cell(ax, Rectangle, GRID_LEFT_PX + i * column, y, column, week)
    if hidden:
        y = top + shown * ROW_PX
        ax.text(
            GRID_LEFT_PX, y + ROW_PX / 2,
            f"+{moments.counted(hidden, 'more engagement')} not shown",
            fontsize=9.5, fontstyle="italic", ha="left", va="center", color="#333333",
            gid="more-rows",
        )  # fmt: skip
    return fig


def _weeks(f: ChartRow, weeks: int, first: int) -> list[trend.Week]:
    """The row's weeks from the chart's first column, its trends fitted to `weeks` (figures
    computed for another number of weeks still draw, aligned on `now`)."""
    fitted = replace(
        f,
        rag_trend=tuple(_fit(f.rag_trend, weeks, None)),
        on_time_by_week=tuple(_fit(f.on_time_by_week, weeks, Rate(0, 0))),
        missed_by_week=tuple(_fit(f.missed_by_week, weeks, 0)),
    )
    return trend.weeks_of(fitted, first=first)


def _cell(ax: Axes, rectangle: type, x: float, y: float, column: float, week: trend.Week) -> None:
    """One week of one engagement: its swatch and letter; the on-time rate, or "missed" in
    words; a partly missed week's hatched band with how many missed."""
    swatch = _swatch_of(week.state)
    inner = ROW_PX - GAP_PX
    ax.add_artist(
        _cell_patch(rectangle, (x + GAP_PX / 2, y + GAP_PX / 2), column - GAP_PX, inner, swatch)
    )
    centre, middle = x + column / 2, y + ROW_PX / 2
    if week.state == MISSED:  # the mark above, how many in words below, each on plain fill
        _letter(ax, centre, middle - 9, swatch, fontsize=10, gid="cell-letter")
        ax.text(
            centre, middle + 10, "missed" if week.missed == 1 else f"{week.missed} missed",
            fontsize=7.5, fontweight="bold", ha="center", va="center", color=swatch.ink,
            gid="cell-missed",
            bbox={"boxstyle": "round,pad=0.15", "facecolor": swatch.fill, "edgecolor": "none"},
        )  # fmt: skip
        return
    # None on time but nothing missed either: answered late, said so rather than "0%".
    percent = "late" if week.rate.counted and not week.rate.met else _percent(week.rate)
    if week.missed:  # some answered, some missed: the missed hatch along the foot
        band = SWATCHES[MISSED]
        ax.add_artist(
            _cell_patch(
                rectangle, (x + GAP_PX / 2, y + GAP_PX / 2 + inner - BAND_PX), column - GAP_PX,
                BAND_PX, band,
            )
        )  # fmt: skip
        middle -= BAND_PX / 2
        ax.text(
            centre, y + GAP_PX / 2 + inner - BAND_PX / 2, f"{week.missed} missed", fontsize=6.5,
            fontweight="bold", ha="center", va="center", color=band.ink, gid="cell-missed",
            bbox={"boxstyle": "square,pad=0.05", "facecolor": band.fill, "edgecolor": "none"},
        )  # fmt: skip
    ax.text(
        centre - (22 if percent else 0), middle, swatch.letter, fontsize=11,
        fontweight="bold", ha="center", va="center", color=swatch.ink, gid="cell-letter",
    )  # fmt: skip
    if percent:
        ax.text(
            centre + 18, middle, percent, fontsize=7.5, ha="center", va="center",
            color=swatch.ink, gid="cell-rate",
        )  # fmt: skip


def digest_chart(
    figures: Sequence[Figures | ChartRow], *, now: datetime, weeks: int, tz: str = "UTC"
) -> bytes:
    """The heat strip as PNG bytes, 1200 px wide (see the module's docstring).

    `figures` in the order to draw (worst first); `now` is the moment they end at and `weeks`
    the length of their trends; `tz` the digest's zone, its readers'. An empty sequence gives
    a small image that says so. Figures or the rows a chart job's payload carries
    (`chart_rows`): drawn from the rows either way.
    """
    fig = _draw(rows_of(figures), now=now, weeks=weeks, tz=tz)
    out = io.BytesIO()
    # No "Software" stamp: the same figures give the same bytes whatever matplotlib drew them.
    fig.savefig(out, format="png", dpi=DPI, metadata={"Software": None})
    return out.getvalue()


def chart_alt_text(
    figures: Sequence[Figures | ChartRow], *, now: datetime, weeks: int, tz: str = "UTC"
) -> str:
    """What the chart shows, for screen readers (Slack's alt_text): how many engagements over
    how many weeks (from the first with data), how many are green, amber and red now (all of
    them, drawn or not), which missed their latest update and which are red, within
    MAX_ALT_TEXT characters."""
    figures = rows_of(figures)
    shown_weeks = weeks - first_column(figures, weeks)
    span = f"{moments.counted(shown_weeks, 'week')} to {moments.long_moment(now, tz)}"
    if not figures:
        return f"No engagements to chart yet (as of {moments.long_moment(now, tz)})."
    counts = dict.fromkeys(("green", "amber", "red", MISSED, NONE), 0)
    for f in figures:
        rag = f.rag_now if f.rag_now in ("green", "amber", "red") else None
        counts[rag or (MISSED if trend.missed_latest(f) else NONE)] += 1
    parts = [f"{counts[rag]} {rag}" for rag in ("green", "amber", "red")]
    if counts[MISSED]:
        parts.append(f"{counts[MISSED]} with no update: missed")
    if counts[NONE]:
        parts.append(f"{counts[NONE]} with no update yet")
    text = (
        f"Heat strip of RAG status by week for {moments.counted(len(figures), 'engagement')} over "
        f"{span}: now {', '.join(parts)}."
    )
    shown, hidden = drawn_rows(len(figures))
    if hidden:
        text += f" The first {shown} are drawn."
    missed = [f for f in figures if trend.missed_latest(f)]
    if missed:  # the worst news, before the red ones (names shortened to stay inside the limit)
        text += (
            f" Missed their latest update: {', '.join(shorten(_name(f), 40) for f in missed[:5])}"
        )
        text += f" and {len(missed) - 5} more." if len(missed) > 5 else "."
    red = [_name(f) for f in figures if f.rag_now == "red"]
    if red:
        text += " Red now: "
        for i, name in enumerate(red):
            left = len(red) - i  # this one included
            piece = shorten(name, 60) + (", " if left > 1 else ".")
            # Room for this name and, after it, the "and N more." that might have to follow.
            if len(text) + len(piece) + len(f"and {left - 1} more.") > MAX_ALT_TEXT:
                text += f"and {left} more."
                break
            text += piece
    return text
