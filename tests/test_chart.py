"""The digest's chart: a real PNG of the right size whatever the number of engagements (wide for a
phone, taller with rows, bounded at MAX_CHART_ROWS), every cell lettered as well as coloured, the
on-time rate in the cell, an empty digest still an image, and alt text that counts every
engagement, drawn or not. Figures are computed by `figures.compute_one` from hand-made inputs, so
the chart reads what the digest will give it. The chart starts at the first week with data, and
a missed update (a window closed with nobody's answer) is drawn apart from "no update yet": its
own colour, hatch, mark and words, in the legend too; never "0%"."""

from __future__ import annotations

import struct
from datetime import UTC, datetime

import pytest

from bot.blocks import chart
from bot.domain import figures
from bot.domain.figures import Asked, Figures, Inputs, Update

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)  # a Tuesday; the last week is (Nov 17, Nov 24]
WEEKS = figures.TREND_WEEKS
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def week_end(i: int) -> datetime:
    """The end of week i (0: the oldest)."""
    return NOW - (WEEKS - 1 - i) * figures.WEEK


def engagement(
    eid: int,
    name: str,
    rags: dict[int, str] | None = None,
    answered: dict[int, tuple[int, int]] | None = None,
) -> Figures:
    """Figures of one engagement: `rags` maps a week to the RAG of an update a day before its end
    (carried over quiet weeks); `answered` maps a week to (on time, asked) for a check-in a few
    days before its end whose window has closed."""
    updates = tuple(
        Update(eid * 100 + w, rag, week_end(w) - figures.WEEK / 7)
        for w, rag in sorted((rags or {}).items())
    )
    asked = []
    for w, (met, counted) in (answered or {}).items():
        scheduled = week_end(w) - 3 * figures.WEEK / 7
        closes = scheduled + figures.WEEK / 7
        for n in range(counted):
            on_time = n < met
            asked.append(
                Asked(
                    checkin_id=eid * 100 + w,
                    user_id=f"U{n}",
                    status="answered" if on_time else "pending",
                    scheduled_for=scheduled,
                    window_closes_at=closes,
                    answered_at=scheduled + figures.WEEK / 14 if on_time else None,
                )
            )
    inputs = Inputs(eid, name=name, handle=f"eng-{eid}", asked=tuple(asked), updates=updates)
    return figures.compute_one(inputs, now=NOW, weeks=WEEKS)


def size(png: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk, which always follows the signature."""
    assert png[:8] == PNG_SIGNATURE
    assert png[12:16] == b"IHDR"
    return struct.unpack(">II", png[16:24])


def texts(fig, gid: str) -> list[str]:
    return [t.get_text() for t in fig.axes[0].texts if t.get_gid() == gid]


def many(n: int) -> list[Figures]:
    cycle = ("red", "amber", "green")
    return [engagement(i, f"Engagement {i}", {i % WEEKS: cycle[i % 3]}) for i in range(1, n + 1)]


SAMPLE = [
    engagement(
        1,
        "Payments platform migration to the new ledger",
        {0: "green", 3: "amber", 5: "red"},
        {5: (1, 3), 6: (0, 2), 7: (1, 2)},
    ),
    engagement(2, "Data warehouse", {1: "amber", 6: "red"}, {6: (2, 2), 7: (1, 1)}),
    engagement(3, "Mobile app $2M rollout", {2: "green", 4: "amber"}, {4: (3, 4)}),
    engagement(4, "Brand new engagement", {7: "green"}, {7: (1, 1)}),
    engagement(5, "No updates at all"),
    engagement(
        6,
        "Support desk outsourcing",
        dict.fromkeys(range(8), "green"),
        {w: (1, 1) for w in range(8)},
    ),
]


def test_a_png_1200_px_wide_with_a_row_per_engagement():
    png = chart.digest_chart(SAMPLE, now=NOW, weeks=WEEKS)
    assert size(png) == (chart.WIDTH_PX, chart.chart_height_px(len(SAMPLE)))
    assert chart.WIDTH_PX == 1200


def test_height_grows_with_rows_and_is_bounded_by_the_cap():
    heights = [size(chart.digest_chart(many(n), now=NOW, weeks=WEEKS))[1] for n in (1, 2, 10)]
    assert heights[0] < heights[1] < heights[2]
    assert heights[2] - heights[1] == 8 * chart.ROW_PX
    capped = size(chart.digest_chart(many(300), now=NOW, weeks=WEEKS))
    assert capped == (1200, chart.chart_height_px(chart.MAX_CHART_ROWS))
    assert capped[1] == size(chart.digest_chart(many(26), now=NOW, weeks=WEEKS))[1]
    assert capped[1] <= 1500  # a phone-length image, not a scroll


def test_every_cell_carries_its_letter_and_the_weeks_on_time_rate():
    fig = chart._draw(SAMPLE, now=NOW, weeks=WEEKS)
    letters = texts(fig, "cell-letter")
    assert len(letters) == len(SAMPLE) * WEEKS
    assert set(letters) == {"G", "A", "R", "–", "✗"}
    # Row 1: green from week 0, amber from 3, red from 5 (carried to the end), but week 6's
    # two people both missed their update: that week is "✗", not the red carried over.
    assert letters[:WEEKS] == ["G", "G", "G", "A", "A", "R", "✗", "R"]
    # Row 5 never had an update and was never asked: no RAG in any week, nothing missed.
    assert letters[4 * WEEKS : 5 * WEEKS] == ["–"] * WEEKS
    rates = texts(fig, "cell-rate")
    # Row 1: week 5 1 of 3, week 6 missed (said in words, no "0%"), week 7 1 of 2.
    assert rates[:2] == ["33%", "50%"]
    assert "100%" in rates and "75%" in rates and "0%" not in rates
    assert len(rates) == 2 + 2 + 1 + 1 + 0 + 8
    # What was missed, in words: row 1's weeks 5, 6 and 7; row 3's week 4 (3 of 4 answered).
    assert texts(fig, "cell-missed") == ["2 missed", "2 missed", "1 missed", "1 missed"]


def test_week_columns_are_labelled_by_the_day_they_end():
    fig = chart._draw(SAMPLE, now=NOW, weeks=WEEKS)
    labels = {t.get_text() for t in fig.axes[0].texts}
    assert {"6 Oct", "13 Oct", "17 Nov", "24 Nov"} <= labels


def test_long_names_are_shortened_and_dollars_are_not_maths():
    fig = chart._draw(SAMPLE, now=NOW, weeks=WEEKS)
    names = texts(fig, "row-name")
    assert names[0] == "Payments platform migration…"
    assert all(len(n) <= chart.NAME_CHARS for n in names)
    assert "Mobile app $2M rollout" in names
    chart.digest_chart(SAMPLE, now=NOW, weeks=WEEKS)  # "$" renders as text, no mathtext error


def test_beyond_the_cap_the_last_row_says_how_many_more():
    fig = chart._draw(many(300), now=NOW, weeks=WEEKS)
    assert len(texts(fig, "row-name")) == chart.MAX_CHART_ROWS - 1
    assert texts(fig, "more-rows") == ["+276 more engagements not shown"]
    assert texts(chart._draw(many(25), now=NOW, weeks=WEEKS), "more-rows") == []


def test_no_engagements_is_still_a_small_image_that_says_so():
    png = chart.digest_chart([], now=NOW, weeks=WEEKS)
    assert size(png) == (1200, chart.EMPTY_HEIGHT_PX)
    fig = chart._draw([], now=NOW, weeks=WEEKS)
    assert "No engagements to chart yet" in {t.get_text() for t in fig.axes[0].texts}


def test_the_same_figures_give_the_same_bytes():
    one = chart.digest_chart(SAMPLE, now=NOW, weeks=WEEKS)
    assert one == chart.digest_chart(SAMPLE, now=NOW, weeks=WEEKS)


def test_alt_text_counts_every_engagement_and_names_the_red_ones():
    text = chart.chart_alt_text(SAMPLE, now=NOW, weeks=WEEKS)
    assert text == (
        "Heat strip of RAG status by week for 6 engagements over 8 weeks to Tue 24 Nov 2026 "
        "12:00 UTC: "
        "now 2 green, 1 amber, 2 red, 1 with no update yet. "
        "Red now: Payments platform migration to the new ledger, Data warehouse."
    )


def test_alt_text_counts_the_engagements_not_drawn_and_stays_short():
    text = chart.chart_alt_text(many(300), now=NOW, weeks=WEEKS)
    assert "for 300 engagements" in text and "now 100 green, 100 amber, 100 red." in text
    assert "The first 24 are drawn" in text
    assert len(text) <= chart.MAX_ALT_TEXT
    assert text.endswith(" more.") and "Red now: Engagement 3, Engagement 6, " in text


def test_alt_text_when_there_is_nothing():
    text = chart.chart_alt_text([], now=NOW, weeks=WEEKS)
    assert text == "No engagements to chart yet (as of Tue 24 Nov 2026 12:00 UTC)."


@pytest.mark.parametrize("fill", [s.fill for s in chart.SWATCHES.values()])
def test_letters_contrast_with_their_cell(fill):
    lum = chart._luminance(fill)
    ink = chart._luminance(chart.ink_for(fill))
    hi, lo = max(lum, ink), min(lum, ink)
    assert (hi + 0.05) / (lo + 0.05) >= 4.5  # WCAG AA for text


# --- from the first week with data; missed apart from not yet -----------------------------------

FIRST_DIGEST = [
    # Asked in the last week only: both people's windows closed unanswered.
    engagement(9, "Nobody answered", None, {7: (0, 2)}),
    # Asked in the last week and answered on time, green.
    engagement(10, "Answered", {7: "green"}, {7: (1, 1)}),
    # Never asked anything yet.
    engagement(11, "Not asked yet"),
]


def test_the_first_digest_charts_only_the_week_with_data():
    fig = chart._draw(FIRST_DIGEST, now=NOW, weeks=WEEKS)
    assert texts(fig, "week-label") == ["24 Nov"]  # not seven empty weeks before it
    assert "3 engagements · 1 week to Tue 24 Nov 2026 12:00 UTC" in texts(fig, None)
    assert texts(fig, "cell-letter") == ["✗", "G", "–"]
    assert texts(fig, "cell-missed") == ["2 missed"]
    assert texts(fig, "cell-rate") == ["100%"]  # the missed week shows no "0%"
    # A short chart keeps its columns' width rather than one 830 px cell.
    cells = [p for p in fig.axes[0].patches if p.get_y() >= chart.HEADER_PX]
    assert max(p.get_width() for p in cells) <= chart.MAX_COLUMN_PX
    png = chart.digest_chart(FIRST_DIGEST, now=NOW, weeks=WEEKS)
    assert size(png) == (chart.WIDTH_PX, chart.chart_height_px(3))


def test_the_chart_starts_at_the_earliest_engagements_first_week():
    rows = [*FIRST_DIGEST, engagement(12, "Older", {5: "amber"}, {5: (1, 1)})]
    fig = chart._draw(rows, now=NOW, weeks=WEEKS)
    assert texts(fig, "week-label") == ["10 Nov", "17 Nov", "24 Nov"]
    # The newer ones read "no update yet" in the weeks before they were asked.
    assert texts(fig, "cell-letter") == ["–", "–", "✗", "–", "–", "G", "–", "–", "–", "A", "A", "A"]


def test_nothing_to_show_yet_is_one_week_of_no_update_yet():
    fig = chart._draw([engagement(11, "Not asked yet")], now=NOW, weeks=WEEKS)
    assert texts(fig, "week-label") == ["24 Nov"]
    assert texts(fig, "cell-letter") == ["–"]


def test_missed_has_its_own_colour_hatch_mark_and_label_in_the_legend():
    missed, none = chart.SWATCHES[chart.MISSED], chart.SWATCHES[chart.NONE]
    assert missed.fill not in {s.fill for k, s in chart.SWATCHES.items() if k != chart.MISSED}
    assert missed.hatch and not any(s.hatch for k, s in chart.SWATCHES.items() if k != "missed")
    assert missed.letter == "✗" and none.letter == "–"
    fig = chart._draw(FIRST_DIGEST, now=NOW, weeks=WEEKS)
    labels = texts(fig, "legend-label")
    assert labels == [
        "Green", "Amber", "Red", "Update missed", "No update yet (not due, or no check-in)",
    ]  # fmt: skip
    assert texts(fig, "legend-letter") == ["G", "A", "R", "✗", "–"]
    hatched = [p for p in fig.axes[0].patches if p.get_hatch()]
    # The legend's swatch and the missed cell: hatched in the missed colour.
    assert len(hatched) == 2
    assert {tuple(round(c, 3) for c in p.get_facecolor()[:3]) for p in hatched} == {
        (0.0, round(0x72 / 255, 3), round(0xB2 / 255, 3))
    }


def test_missed_pixels_are_drawn_where_the_missed_week_is():
    """Reading the PNG itself: the missed blue is in row 1's only cell and nowhere in row 2's."""
    from io import BytesIO

    from matplotlib.image import imread

    image = imread(BytesIO(chart.digest_chart(FIRST_DIGEST, now=NOW, weeks=WEEKS)), format="png")
    column = chart.MAX_COLUMN_PX
    left = int(chart.GRID_LEFT_PX + 4)
    right = int(chart.GRID_LEFT_PX + column - 4)

    def blue_in_row(row: int) -> int:
        top = chart.HEADER_PX + row * chart.ROW_PX + 4
        cell = image[top : top + chart.ROW_PX - 8, left:right, :3]
        r, g, b = (cell[..., i] * 255 for i in range(3))
        return int(((abs(r - 0x00) < 8) & (abs(g - 0x72) < 8) & (abs(b - 0xB2) < 8)).sum())

    assert blue_in_row(0) > 500
    assert blue_in_row(1) == 0 and blue_in_row(2) == 0


def test_alt_text_names_who_missed_their_latest_update():
    text = chart.chart_alt_text(FIRST_DIGEST, now=NOW, weeks=WEEKS)
    assert text == (
        "Heat strip of RAG status by week for 3 engagements over 1 week to Tue 24 Nov 2026 "
        "12:00 UTC: now 1 green, 0 amber, 0 red, 1 with no update: missed, 1 with no update yet. "
        "Missed their latest update: Nobody answered."
    )


def test_a_week_answered_only_late_says_late_not_0_percent():
    # Week 7: asked 3 days before NOW with a day's window; answered two days late, so counted
    # and not on time, but not missed: the RAG it gave, and "late".
    scheduled = NOW - 3 * figures.WEEK / 7
    late = Asked(1, "U1", "answered", scheduled, scheduled + figures.WEEK / 7,
                 scheduled + 2 * figures.WEEK / 7)  # fmt: skip
    inputs = Inputs(
        1, "Late", "late", asked=(late,), updates=(Update(1, "amber", late.answered_at),)
    )
    found = figures.compute_one(inputs, now=NOW, weeks=WEEKS)
    fig = chart._draw([found], now=NOW, weeks=WEEKS)
    assert texts(fig, "cell-letter") == ["A"]
    assert texts(fig, "cell-rate") == ["late"] and texts(fig, "cell-missed") == []


def test_every_text_lies_inside_the_picture():
    fig = chart._draw(FIRST_DIGEST + SAMPLE, now=NOW, weeks=WEEKS)
    renderer = fig.canvas.get_renderer()
    for text in fig.axes[0].texts:
        box = text.get_window_extent(renderer)
        assert box.x0 >= 0 and box.x1 <= chart.WIDTH_PX, text.get_text()
