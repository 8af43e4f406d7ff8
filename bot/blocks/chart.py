"""The executive digest's chart: a heat strip of each engagement's RAG by week, as a PNG.

Why an image: a digest of many engagements reads at a glance as a grid of colours, which Block
Kit cannot draw. Why this shape: one row per engagement in the order given (the caller puts the
worst first), one column per rolling week of `bot.domain.figures` (labelled by the day it
ends), each cell coloured by the RAG in force at the week's end *and* lettered G/A/R ("–": no
update yet), so colour is never the only signal, with that week's on-time rate printed small.

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
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, TypeVar

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
HEADER_PX = 168  # title, subtitle, legend and the week labels above the first row
FOOTER_PX = 24
EMPTY_HEIGHT_PX = 200
NAME_RIGHT_PX = 336  # engagement names end here, right-aligned
GRID_LEFT_PX = 348
GRID_RIGHT_PX = WIDTH_PX - 24
GAP_PX = 3  # white between cells, so neighbouring cells of one colour still read as cells

T = TypeVar("T")

NONE = "none"  # no update yet (or a RAG this chart does not know)


@dataclass(frozen=True)
class Swatch:
    """How one RAG value is drawn: fill, the letter it carries and the letter's colour."""

    label: str
    letter: str
    fill: str
    ink: str  # black or white, whichever contrasts more with the fill


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


def _swatch(label: str, letter: str, fill: str) -> Swatch:
    return Swatch(label, letter, fill, ink_for(fill))


# Okabe–Ito's bluish green and orange, and a dark red: three different lightnesses, so the
# three stay apart for red–green colour blindness and in greyscale; grey for no update yet.
SWATCHES: dict[str, Swatch] = {
    "green": _swatch("Green", "G", "#009e73"),
    "amber": _swatch("Amber", "A", "#e69f00"),
    "red": _swatch("Red", "R", "#a50f2d"),
    NONE: _swatch("No update yet", "–", "#d4d4d4"),
}


def _swatch_of(rag: str | None) -> Swatch:
    return SWATCHES.get(rag or NONE, SWATCHES[NONE])


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


def _name(f: Figures) -> str:
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
    """A figure of WIDTH_PX × `height_px` with one axes whose data units are pixels, y down."""
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
        ax.add_patch(Rectangle((x, y), 40, 30, facecolor=swatch.fill, edgecolor="none"))
        ax.text(
            x + 20, y + 15, swatch.letter, fontsize=10, fontweight="bold", color=swatch.ink,
            ha="center", va="center",
        )  # fmt: skip
        label = ax.text(x + 50, y + 15, swatch.label, fontsize=9, va="center", color="#1a1a1a")
        x += 50 + label.get_window_extent(renderer).width + 36
    ax.text(x, y + 15, "80% = updates on time that week", fontsize=9, va="center", color="#1a1a1a")


def _draw(figures: Sequence[Figures], *, now: datetime, weeks: int, tz: str = "UTC") -> Figure:
    """The chart as a matplotlib Figure (`digest_chart` saves it; tests read its texts).

    Cell letters carry the gid "cell-letter", on-time rates "cell-rate", names "row-name" and
    the "+N more" row "more-rows", so a test can find what was drawn without reading pixels.
    """
    from matplotlib.patches import Rectangle

    count = len(figures)
    height = chart_height_px(count)
    fig, ax = _canvas(height)
    ends = week_ends(now, weeks)
    span = f"{moments.counted(weeks, 'week')} to {moments.long_moment(now, tz)}"
    if count == 0:
        _title(ax, span)
        ax.text(
            WIDTH_PX / 2, 140, "No engagements to chart yet", fontsize=12, color="#555555",
            ha="center", va="center",
        )  # fmt: skip
        return fig

    _title(ax, f"{moments.counted(count, 'engagement')} · {span}")
    _legend(ax, 92)

    column = (GRID_RIGHT_PX - GRID_LEFT_PX) / max(weeks, 1)
    top = HEADER_PX
    for i, end in enumerate(ends):
        ax.text(
            GRID_LEFT_PX + (i + 0.5) * column, top - 10, _day(end, tz), fontsize=8.5,
            ha="center", va="bottom", color="#333333",
        )  # fmt: skip

    shown, hidden = drawn_rows(count)
    for row, f in enumerate(figures[:shown]):
        y = top + row * ROW_PX
        ax.text(
            NAME_RIGHT_PX, y + ROW_PX / 2, shorten(_name(f), NAME_CHARS), fontsize=9,
            ha="right", va="center", color="#1a1a1a", parse_math=False, gid="row-name",
        )  # fmt: skip
        rags = _fit(f.rag_trend, weeks, None)
        rates = _fit(f.on_time_by_week, weeks, Rate(0, 0))
        for i, (rag, rate) in enumerate(zip(rags, rates, strict=True)):
            swatch = _swatch_of(rag)
            x = GRID_LEFT_PX + i * column
            ax.add_patch(
                Rectangle(
                    (x + GAP_PX / 2, y + GAP_PX / 2), column - GAP_PX, ROW_PX - GAP_PX,
                    facecolor=swatch.fill, edgecolor="none",
                )
            )  # fmt: skip
            percent = _percent(rate)
            centre = x + column / 2
            ax.text(
                centre - (22 if percent else 0), y + ROW_PX / 2, swatch.letter, fontsize=11,
                fontweight="bold", ha="center", va="center", color=swatch.ink,
                gid="cell-letter",
            )  # fmt: skip
            if percent:
                ax.text(
                    centre + 18, y + ROW_PX / 2, percent, fontsize=7.5, ha="center",
                    va="center", color=swatch.ink, gid="cell-rate",
                )  # fmt: skip
    if hidden:
        y = top + shown * ROW_PX
        ax.text(
            GRID_LEFT_PX, y + ROW_PX / 2,
            f"+{moments.counted(hidden, 'more engagement')} not shown",
            fontsize=9.5, fontstyle="italic", ha="left", va="center", color="#333333",
            gid="more-rows",
        )  # fmt: skip
    return fig


def digest_chart(
    figures: Sequence[Figures], *, now: datetime, weeks: int, tz: str = "UTC"
) -> bytes:
    """The heat strip as PNG bytes, 1200 px wide (see the module's docstring).

    `figures` in the order to draw (worst first); `now` is the moment they end at and `weeks`
    the length of their trends; `tz` the digest's zone, its readers'. An empty sequence gives
    a small image that says so.
    """
    fig = _draw(figures, now=now, weeks=weeks, tz=tz)
    out = io.BytesIO()
    # No "Software" stamp: the same figures give the same bytes whatever matplotlib drew them.
    fig.savefig(out, format="png", dpi=DPI, metadata={"Software": None})
    return out.getvalue()


def chart_alt_text(
    figures: Sequence[Figures], *, now: datetime, weeks: int, tz: str = "UTC"
) -> str:
    """What the chart shows, for screen readers (Slack's alt_text): how many engagements over
    how many weeks, how many are green, amber and red now (all of them, drawn or not), and
    which are red, within MAX_ALT_TEXT characters."""
    span = f"{moments.counted(weeks, 'week')} to {moments.long_moment(now, tz)}"
    if not figures:
        return f"No engagements to chart yet ({span})."
    counts = dict.fromkeys(("green", "amber", "red", NONE), 0)
    for f in figures:
        counts[f.rag_now if f.rag_now in counts else NONE] += 1
    parts = [f"{counts[rag]} {rag}" for rag in ("green", "amber", "red")]
    if counts[NONE]:
        parts.append(f"{counts[NONE]} with no update yet")
    text = (
        f"Heat strip of RAG status by week for {moments.counted(len(figures), 'engagement')} over "
        f"{span}: now {', '.join(parts)}."
    )
    shown, hidden = drawn_rows(len(figures))
    if hidden:
        text += f" The first {shown} are drawn."
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
