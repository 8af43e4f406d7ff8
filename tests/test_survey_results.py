"""When a feedback survey's window closes, each lead gets one aggregate: the average of each
rating, how many answered, the comments (anonymous ones without a name) and the change since
the previous survey. Fewer than three answers: only their number, so no one can be recognised.

The aggregate and its Block Kit, checked directly with figures worked out by hand.
"""

from __future__ import annotations

import json
from fractions import Fraction

import pytest
from flows import text_of

from bot.blocks.common import MAX_MESSAGE_BLOCKS, MAX_SECTION_TEXT
from bot.blocks.feedback import COMMENT_LIMIT, change_words, one_decimal, survey_results
from bot.domain.feedback_results import Answer, Comment, SurveyResults, summarise

# --- the aggregate, by hand --------------------------------------------------------------------


def a(author: str, c: int, q: int, t: int, o: int, comment: str = "", anonymous=False) -> Answer:
    ratings = {"communication": c, "quality": q, "timeliness": t, "overall": o}
    return Answer(ratings=ratings, author=author, comment=comment, anonymous=anonymous)


FIRST = [
    a("U1", 4, 3, 2, 3, "Slipping.", anonymous=True),
    a("U2", 5, 4, 3, 4, "  Great demos.  "),
    a("U3", 3, 3, 2, 2, "   ", anonymous=True),
]


def test_averages_count_and_comments_without_anonymous_names():
    results = summarise(FIRST)
    assert results.answers == 3 and not results.withheld
    assert results.averages == {
        "communication": Fraction(12, 3),
        "quality": Fraction(10, 3),
        "timeliness": Fraction(7, 3),
        "overall": Fraction(9, 3),
    }
    # Blank comments are no comments; the anonymous author is gone, the named one kept.
    assert results.comments == (Comment("Slipping.", None), Comment("Great demos.", "U2"))
    assert results.changes == {} and results.previous_answers is None
    assert "U1" not in repr(results) and "U3" not in repr(results)


def test_the_change_is_against_the_previous_survey():
    second = [
        a("U1", 5, 4, 3, 2),
        a("U2", 5, 4, 4, 2),
        a("U3", 4, 3, 3, 3),
        a("U4", 2, 4, 2, 3),
    ]
    results = summarise(second, FIRST)
    assert results.averages == {
        "communication": Fraction(4),
        "quality": Fraction(15, 4),
        "timeliness": Fraction(3),
        "overall": Fraction(5, 2),
    }
    # 4 - 4; 15/4 - 10/3 = 45/12 - 40/12; 3 - 7/3; 5/2 - 3.
    assert results.changes == {
        "communication": Fraction(0),
        "quality": Fraction(5, 12),
        "timeliness": Fraction(2, 3),
        "overall": Fraction(-1, 2),
    }
    assert results.previous_answers == 3


@pytest.mark.parametrize("count", [0, 1, 2])
def test_below_three_answers_only_their_number_is_given(count):
    answers = [a(f"U{i}", 5, 5, 5, 5, "Mine.", anonymous=True) for i in range(count)]
    results = summarise(answers, FIRST)
    assert results == SurveyResults(answers=count)
    assert results.withheld


def test_no_change_against_a_survey_below_three_answers():
    results = summarise(FIRST, FIRST[:2])
    assert results.averages and results.changes == {} and results.previous_answers is None


# --- the leads' DM, directly -------------------------------------------------------------------


def test_figures_are_rounded_half_up_and_changes_read_as_words():
    assert one_decimal(Fraction(9, 4)) == "2.3"  # 2.25: round-half-even would say 2.2
    assert one_decimal(Fraction(10, 3)) == "3.3" and one_decimal(Fraction(5)) == "5.0"
    assert change_words(Fraction(5, 12)) == "up 0.4"
    assert change_words(Fraction(-1, 4)) == "down 0.3"
    assert change_words(Fraction(1, 30)) == "no change"  # 0.03 shows as nothing
    assert change_words(Fraction(0)) == "no change"


def test_many_long_comments_stay_within_slacks_limits_and_the_rest_are_counted():
    long_comment = " ".join(["Deliveries & <reviews> keep slipping"] * 200)  # ~7,400 characters
    answers = [a(f"U{i:03}", 3, 3, 3, 3, long_comment, anonymous=True) for i in range(150)]
    dm = survey_results(
        engagement_name="Acme Payments",
        vendor="Globex",
        slot="2026-11-30 09:00",
        asked=150,
        results=summarise(answers),
    )
    blocks = dm["blocks"]
    assert len(blocks) == MAX_MESSAGE_BLOCKS
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert all(len(s) <= MAX_SECTION_TEXT for s in sections)
    quotes = [s for s in sections if s.startswith(">")]
    shown = sum(s.count("— _anonymous_") for s in quotes)
    left_out = 150 - shown
    assert (
        text_of({"blocks": blocks[-1:]}).strip()
        == f"{left_out} more comments did not fit in this message."
    )
    # Each comment is cut between words, within its limit, escaped, with its ellipsis.
    first = quotes[0].split("\n— ")[0]
    assert len(first) <= COMMENT_LIMIT and first.endswith("…")
    last_word = first.removesuffix("…").rsplit(" ", 1)[-1]
    assert last_word in {"Deliveries", "&amp;", "&lt;reviews&gt;", "keep", "slipping"}
    assert "<reviews>" not in first and "&lt;reviews&gt;" in first
    assert "U0" not in json.dumps(dm)


def test_a_short_message_for_nobody_answering():
    dm = survey_results(
        engagement_name="Acme",
        vendor="Globex",
        slot="2026-11-30 09:00",
        asked=4,
        results=SurveyResults(answers=0),
    )
    assert "Nobody answered" in text_of(dm) and "0 of 4 asked answered" in text_of(dm)
