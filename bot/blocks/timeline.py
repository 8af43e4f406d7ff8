"""The deliverables' timeline: milestones and deliverables on a time axis, as a PNG.

Why a picture: "the cutover slipped three times" reads at a glance as three arrows walking
right, which a list of dates never shows. One row per deliverable, grouped under its milestone:
- a hollow circle at the date first agreed, a diamond at the date due now, coloured by status;
- each re-plan an arrow from the old date to the new one (above the row's line);
- below the line, what happened and when: submitted ▲, rejected ✕, accepted ■, cancelled |;
- an overdue one's lateness as a hatched band from its due date to today;
- today a dashed line through every row; each milestone a black diamond at its date.
Colour is never the only signal (Okabe–Ito colours, which stay apart for colour-blind readers):
every mark has its own shape, and each row says its status and slips in words beside it.

Pure: a `Timeline` in, PNG bytes out, drawn on a `Figure` with its own Agg canvas (never
pyplot), laid out in pixels like `chart.py`: 1200 px wide, as tall as its rows, capped at
MAX_ROWS deliverables with a "+N more" row. `timeline_alt_text` says the same in words.
matplotlib is imported by the functions that draw, as in `chart.py` (the web process never
draws, and must not carry it).
"""

from __future__ import annotations

import io
from datetime import date, timedelta
from typing import TYPE_CHECKING

from bot.domain import moments
from bot.domain.command_reference import shorten
from bot.domain.deliverable_timeline import Timeline, TimelineItem

if TYPE_CHECKING:  # matplotlib itself is imported where the picture is drawn, as in chart.py
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

MAX_ROWS = 30  # deliverables drawn at most; beyond, a "+N more" row
MAX_ALT_TEXT = 1000  # Slack's limit for a file's alt_txt
TITLE_CHARS = 34

DPI = 150
WIDTH_PX = 1200
HEADER_PX = 196  # title, subtitle, two legend lines and the date labels
ROW_PX = 54
GROUP_PX = 34  # a milestone's heading row
FOOTER_PX = 40  # "today" under the dashed line
EMPTY_HEIGHT_PX = 200
LABEL_RIGHT_PX = 372  # row labels end here, right-aligned
PLOT_LEFT_PX = 392
PLOT_RIGHT_PX = WIDTH_PX - 28

INK = "#1a1a1a"
SOFT = "#555555"
SLIP = "#cc79a7"  # reddish purple: no status has it
# Status colours (Okabe–Ito), each also named in words on its row.
STATUS_FILL = {
    "planned": "#ffffff",
    "in_progress": "#56b4e9",
    "submitted": "#0072b2",
    "accepted": "#009e73",
    "overdue": "#d55e00",
    "cancelled": "#bbbbbb",
}
STATUS_WORDS = {
    "planned": "planned",
    "in_progress": "in progress",
    "submitted": "submitted",
    "accepted": "accepted",
    "overdue": "overdue",
    "cancelled": "cancelled",
}
# What happened, by shape (matplotlib markers) and colour.
MARKS = {
    "submitted": ("^", "#0072b2"),
    "rejected": ("X", "#d55e00"),
    "accepted": ("s", "#009e73"),
    "cancelled": ("|", "#444444"),
}
MARK_PT = 5.5  # the marks' size in points (1 pt is 2 px at 150 dpi)
SLIP_LANE = 13  # px above a row's line: the re-plan arrows
MARK_LANE = 14  # px below it: what happened


# --- words ------------------------------------------------------------------------------------


def _day(d: date) -> str:
    return f"{d.day} {d:%b}"


def _times(n: int) -> str:
    return {1: "once", 2: "twice"}.get(n, f"{n} times")


def _name(text: str) -> str:
    return " ".join(text.split())


def row_words(item: TimelineItem, today: date) -> str:
    """The second line of a row's label: its status, lateness, slips and rework, in words."""
    parts = [STATUS_WORDS.get(item.state, item.state)]
    if item.overdue:
        parts[0] += f" {moments.counted((today - item.due).days, 'day')}"
    slips = item.slips
    if slips:
        parts.append(f"slipped {_times(len(slips))} (+{sum(r.days for r in slips)} d)")
    if item.rework:
        parts.append(f"rejected {_times(item.rework)}")
    return " · ".join(parts)


# --- layout ------------------------------------------------------------------------------------


def drawn(timeline: Timeline) -> tuple[list[TimelineItem], int]:
    """(the deliverables drawn, how many are left out)."""
    items = list(timeline.items)
    return items[:MAX_ROWS], max(0, len(items) - MAX_ROWS)


def _groups(items: list[TimelineItem], timeline: Timeline) -> list[str | None]:
    """Each row in order: a milestone's name before its first deliverable (a heading row,
    None for the deliverables of no milestone when there are milestones), then the
    deliverable's own row (its milestone's name, as a marker that it is not a heading)."""
    named = bool(timeline.milestones)
    rows: list[str | None] = []
    current: str | None = "\0"
    for item in items:
        if named and item.milestone != current:
            rows.append(item.milestone)
            current = item.milestone
        rows.append(None)
    return rows


def timeline_height_px(timeline: Timeline) -> int:
    items, hidden = drawn(timeline)
    if not items:
        return EMPTY_HEIGHT_PX
    headings = sum(1 for r in _groups(items, timeline) if r is not None)
    return (
        HEADER_PX + headings * GROUP_PX + (len(items) + (1 if hidden else 0)) * ROW_PX + FOOTER_PX
    )


def axis_span(timeline: Timeline) -> tuple[date, date]:
    """The first and last day of the axis: every date drawn, with a margin, at least 3 weeks."""
    dates = timeline.dates()
    first, last = min(dates), max(dates)
    if (last - first).days < 21:
        extra = 21 - (last - first).days
        first -= timedelta(days=extra // 2)
        last += timedelta(days=extra - extra // 2)
    pad = timedelta(days=max(2, round((last - first).days * 0.04)))
    return first - pad, last + pad


def ticks(first: date, last: date) -> list[date]:
    """Dates to label along the axis: days, Mondays, every other Monday, or months' firsts,
    whichever gives at most 10 labels (so they never run into each other)."""
    days = (last - first).days
    for step in (1, 2, 7, 14):
        start = first if step < 7 else first + timedelta(days=(7 - first.weekday()) % 7)
        found = [start + timedelta(days=n) for n in range(0, days + 1, step)]
        found = [d for d in found if d <= last]
        if len(found) <= 10:
            return found
    for months in (1, 2, 3, 6, 12):
        found, year, month = [], first.year, first.month
        while True:
            month += 1
            if month > 12:
                year, month = year + 1, month - 12
            d = date(year, month, 1)
            if d > last:
                break
            if (d.month - 1) % months == 0:
                found.append(d)
        if len(found) <= 10:
            return found
    return [first, last]


def _tick_label(d: date, previous: date | None) -> str:
    if d.day == 1 and (previous is None or previous.month != d.month):
        return f"{d:%b %Y}" if previous is None or previous.year != d.year else f"{d:%b}"
    return _day(d) if previous is None or previous.year == d.year else f"{_day(d)} {d:%Y}"


class _Axis:
    def __init__(self, first: date, last: date) -> None:
        self.first, self.days = first, max((last - first).days, 1)

    def x(self, d: date) -> float:
        return PLOT_LEFT_PX + (d - self.first).days / self.days * (PLOT_RIGHT_PX - PLOT_LEFT_PX)


# --- drawing -----------------------------------------------------------------------------------


def _canvas(height_px: int) -> tuple[Figure, Axes]:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(WIDTH_PX / DPI, (height_px + 0.01) / DPI), dpi=DPI, facecolor="white")
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, WIDTH_PX)
    ax.set_ylim(height_px, 0)
    ax.set_axis_off()
    return fig, ax


def _marker(ax: Axes, x: float, y: float, shape: str, fill: str, size: float, **kw) -> None:
    edge = kw.pop("edge", INK)
    size *= 2 if shape == "|" else 1  # a bar is thin: as tall as the other marks are wide
    ax.plot([x], [y], marker=shape, markersize=size, markerfacecolor=fill,
            markeredgecolor=edge if shape not in "|" else fill, markeredgewidth=1.6 if shape == "|" else 0.8,
            linestyle="none", **kw)  # fmt: skip


def _legend(ax: Axes, y: float) -> None:
    """Two lines: the shapes (what each mark means), then the status colours; each entry placed
    after the measured width of the one before, so none overlaps."""
    renderer = ax.figure.canvas.get_renderer()  # type: ignore[attr-defined]

    def entry(x: float, yy: float, draw, label: str) -> float:
        draw(x + 10, yy)
        text = ax.text(x + 24, yy, label, fontsize=8.5, va="center", color=INK)
        return x + 24 + text.get_window_extent(renderer).width + 22

    x = 24.0
    x = entry(x, y, lambda a, b: _marker(ax, a, b, "o", "white", 8, edge=SOFT), "first agreed")
    x = entry(x, y, lambda a, b: ax.annotate("", (a + 8, b), (a - 10, b),
              arrowprops={"arrowstyle": "-|>", "color": SLIP, "lw": 1.8}), "re-planned")  # fmt: skip
    x = entry(x, y, lambda a, b: _marker(ax, a, b, "D", "#dddddd", 6.5), "due now")
    for what, (shape, fill) in MARKS.items():
        x = entry(x, y, lambda a, b, s=shape, f=fill: _marker(ax, a, b, s, f, MARK_PT), what)
    x = entry(x, y, lambda a, b: ax.plot([a, a], [b - 9, b + 9], color=INK, lw=1.2,
              linestyle=(0, (4, 3))), "today")  # fmt: skip
    _marker(ax, x + 10, y, "D", INK, 8)
    ax.text(x + 24, y, "milestone", fontsize=8.5, va="center", color=INK)
    x, y = 24.0, y + 28
    said = ax.text(x, y, "Due now, by status:", fontsize=8.5, va="center", color=SOFT)
    x += said.get_window_extent(renderer).width + 14
    for status, fill in STATUS_FILL.items():
        x = entry(x, y, lambda a, b, f=fill: _marker(ax, a, b, "D", f, 6.5), STATUS_WORDS[status])


def _row(ax: Axes, axis: _Axis, item: TimelineItem, y: float, today: date) -> None:
    from matplotlib.patches import Rectangle

    mid = y + ROW_PX / 2
    cancelled = item.state == "cancelled"
    ax.text(LABEL_RIGHT_PX, mid - 8, shorten(f"#{item.deliverable_id} {_name(item.title)}",
            TITLE_CHARS), fontsize=9, ha="right", va="center", color=SOFT if cancelled else INK,
            parse_math=False, gid="row-title")  # fmt: skip
    ax.text(LABEL_RIGHT_PX, mid + 9, row_words(item, today), fontsize=7.5, ha="right",
            va="center", color="#a33a00" if item.overdue else SOFT, gid="row-words")  # fmt: skip
    planned, due = axis.x(item.planned), axis.x(item.due)
    ends = [planned, due, *(axis.x(m.on) for m in item.marks)]
    ax.plot([min(ends), max(ends)], [mid, mid], color="#cccccc", lw=1.2,
            linestyle=(0, (3, 2)) if cancelled else "-", zorder=1)  # fmt: skip
    if item.overdue:
        ax.add_patch(Rectangle((due, mid - 5), max(axis.x(today) - due, 2), 10,
                               facecolor="#f6d2bd", edgecolor=STATUS_FILL["overdue"],
                               hatch="////", lw=0.8, zorder=2, gid="overdue-band"))  # fmt: skip
    for replan in item.replans:  # above the line, from the old date to the new one
        x0, x1 = axis.x(replan.old), axis.x(replan.new)
        ax.annotate("", (x1, mid - SLIP_LANE), (x0, mid - SLIP_LANE), zorder=4, gid="slip",
                    arrowprops={"arrowstyle": "-|>", "color": SLIP, "lw": 1.8,
                                "shrinkA": 0, "shrinkB": 0, "mutation_scale": 11})  # fmt: skip
        if abs(x1 - x0) >= 44:
            ax.text((x0 + x1) / 2, mid - SLIP_LANE - 4, f"{replan.days:+d} d", fontsize=7, ha="center",
                    va="bottom", color="#8a3f6e")  # fmt: skip
    _marker(ax, planned, mid, "o", "white", 8, edge=SOFT, zorder=3)
    _marker(ax, due, mid, "D", STATUS_FILL[item.state], 6.5, zorder=5)
    last: float | None = None
    for mark in item.marks:  # below the line; marks on the same day side by side
        shape, fill = MARKS[mark.what]
        x = axis.x(mark.on)
        if last is not None and x - last < 12:
            x = last + 12
        _marker(ax, x, mid + MARK_LANE, shape, fill, MARK_PT, zorder=6, gid=f"mark-{mark.what}")
        last = x


def _draw(timeline: Timeline) -> Figure:
    """The picture as a matplotlib Figure (`timeline_png` saves it; tests read its texts: row
    titles carry the gid "row-title", their words "row-words", milestones "milestone")."""
    from matplotlib.patches import Rectangle

    height = timeline_height_px(timeline)
    fig, ax = _canvas(height)
    name = _name(timeline.name)
    ax.text(24, 22, f"Deliverables of {name}: planned against actual", fontsize=14,
            fontweight="bold", va="top", color=INK, parse_math=False)  # fmt: skip
    items, hidden = drawn(timeline)
    today = timeline.today
    subtitle = (
        f"{moments.counted(len(timeline.items), 'deliverable')} · "
        f"{moments.counted(len(timeline.milestones), 'milestone')} · today {_day(today)} {today:%Y} "
        f"({timeline.timezone})"
    )
    ax.text(24, 58, subtitle, fontsize=9, va="top", color=SOFT, parse_math=False)
    if not items:
        ax.text(WIDTH_PX / 2, 140, "No deliverables yet", fontsize=12, color=SOFT,
                ha="center", va="center")  # fmt: skip
        return fig
    _legend(ax, 100)
    axis = _Axis(*axis_span(timeline))
    top, bottom = HEADER_PX, height - FOOTER_PX
    previous = None
    for d in ticks(axis.first, axis.first + timedelta(days=axis.days)):
        x = axis.x(d)
        ax.plot([x, x], [top - 4, bottom], color="#eeeeee", lw=0.8, zorder=0)
        ax.text(x, top - 8, _tick_label(d, previous), fontsize=8, ha="center", va="bottom",
                color="#333333", gid="tick")  # fmt: skip
        previous = d
    milestones = {m.name: m for m in timeline.milestones}
    y, stripe, group_top = float(top), 0, None
    rows = _groups(items, timeline)
    spans: list[tuple[float, float, float]] = []  # each milestone's x and its rows' extent
    it = iter(items)
    for heading in rows:
        if heading is not None:
            if group_top is not None and spans:
                spans[-1] = (spans[-1][0], spans[-1][1], y)
            m = milestones.get(heading)
            words = f"Milestone: {_name(heading)}" if m else "No milestone"
            ax.text(24, y + GROUP_PX / 2 + 2, shorten(words, 46), fontsize=9.5,
                    fontweight="bold", va="center", color=INK, parse_math=False,
                    gid="milestone")  # fmt: skip
            if m is not None:
                x = axis.x(m.due)
                _marker(ax, x, y + GROUP_PX / 2 + 2, "D", INK, 8, zorder=6)
                state = {"done": "done", "late": "late", "open": "open",
                         "cancelled": "cancelled"}[m.state]  # fmt: skip
                ha = "left" if x < PLOT_RIGHT_PX - 140 else "right"
                ax.text(x + (16 if ha == "left" else -16), y + GROUP_PX / 2 + 2,
                        f"{_day(m.due)} · {state}", fontsize=8, ha=ha, va="center",
                        color=INK, fontweight="bold" if m.state == "late" else "normal")  # fmt: skip
                spans.append((x, y + GROUP_PX / 2 + 8, y))
            else:
                spans.append((-1, 0, 0))
            group_top = y
            y += GROUP_PX
            continue
        item = next(it)
        if stripe % 2 == 0:
            ax.add_patch(Rectangle((0, y), WIDTH_PX, ROW_PX, facecolor="#f7f7f7",
                                   edgecolor="none", zorder=0))  # fmt: skip
        stripe += 1
        _row(ax, axis, item, y, today)
        y += ROW_PX
    if spans:
        spans[-1] = (spans[-1][0], spans[-1][1], y)
    for x, start, end in spans:
        if x >= 0:
            ax.plot([x, x], [start, end], color=INK, lw=0.9, linestyle=(0, (1, 2)), zorder=1)
    if hidden:
        ax.text(LABEL_RIGHT_PX, y + ROW_PX / 2, f"+{moments.counted(hidden, 'more deliverable')} not "
                "shown", fontsize=9, fontstyle="italic", ha="right", va="center",
                color="#333333", gid="more-rows")  # fmt: skip
    x = axis.x(today)
    ax.plot([x, x], [top - 4, bottom], color=INK, lw=1.2, linestyle=(0, (4, 3)), zorder=7)
    ax.text(x, bottom + 6, f"today {_day(today)}", fontsize=8.5, fontweight="bold",
            ha="center", va="top", color=INK, gid="today")  # fmt: skip
    return fig


def timeline_png(timeline: Timeline) -> bytes:
    """The timeline as PNG bytes, 1200 px wide (see the module's docstring)."""
    out = io.BytesIO()
    _draw(timeline).savefig(out, format="png", dpi=DPI, metadata={"Software": None})
    return out.getvalue()


def timeline_filename(timeline: Timeline) -> str:
    return f"cadence-{timeline.handle}-timeline.png"


# --- the same in words --------------------------------------------------------------------------


def _sentences(timeline: Timeline) -> list[str]:
    items, today = timeline.items, timeline.today
    head = (
        f"Timeline of {moments.counted(len(items), 'deliverable')} of {_name(timeline.name)}, "
        f"planned against actual dates, today {_day(today)} {today:%Y}"
    )
    if not items:
        return [head + ": no deliverables yet."]
    counts: dict[str, int] = {}
    for item in items:
        counts[item.state] = counts.get(item.state, 0) + 1
    head += ": " + ", ".join(f"{counts[s]} {STATUS_WORDS[s]}" for s in STATUS_FILL if counts.get(s))
    out = [head + "."]
    if timeline.milestones:
        out.append(
            "Milestones: "
            + "; ".join(
                f"{_name(m.name)} {_day(m.due)} ({m.state}, {moments.counted(m.count, 'deliverable')})"
                for m in timeline.milestones
            )
            + "."
        )
    overdue = [i for i in items if i.overdue]
    if overdue:
        out.append(
            "Overdue: "
            + "; ".join(
                f"{_name(i.title)} (due {_day(i.due)}, {moments.counted((today - i.due).days, 'day')} late)"
                for i in overdue
            )
            + "."
        )
    slipped = [i for i in items if i.slips]
    if slipped:
        out.append(
            "Slipped: "
            + "; ".join(
                f"{_name(i.title)} {_times(len(i.slips))}, "
                + " → ".join([_day(i.planned), *(_day(r.new) for r in i.replans)])
                + f" (+{moments.counted(sum(r.days for r in i.slips), 'day')})"
                for i in slipped
            )
            + "."
        )
    rejected = [i for i in items if i.rework]
    if rejected:
        out.append(
            "Rejected: "
            + "; ".join(
                f"{_name(i.title)} {_times(i.rework)}, now {STATUS_WORDS[i.state]}"
                for i in rejected
            )
            + "."
        )
    cancelled = [_name(i.title) for i in items if i.state == "cancelled"]
    if cancelled:
        out.append("Cancelled: " + "; ".join(cancelled) + ".")
    _, hidden = drawn(timeline)
    if hidden:
        out.append(f"The first {MAX_ROWS} are drawn.")
    return out


def timeline_alt_text(timeline: Timeline) -> str:
    """What the picture shows, in words (the file's alt text and its message), within
    MAX_ALT_TEXT characters: counts by status, milestones, then what is overdue, what slipped,
    what was rejected and what was cancelled, cut at a sentence's end when too long."""
    text = ""
    for sentence in _sentences(timeline):
        piece = (" " if text else "") + sentence
        if len(text) + len(piece) > MAX_ALT_TEXT:
            return text or shorten(piece, MAX_ALT_TEXT)  # a first sentence alone too long
        text += piece
    return text
