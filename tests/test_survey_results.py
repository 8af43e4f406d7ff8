"""When a feedback survey's window closes, each lead gets one aggregate: the average of each
rating, how many answered, the comments (anonymous ones without a name) and the change since
the previous survey. Fewer than three answers: only their number, so no one can be recognised.

The stories go through the real entry points (the forms over signed HTTP, `python -m bot tick`);
the aggregate and its Block Kit are also checked directly, with figures worked out by hand.
"""

from __future__ import annotations

import json
from fractions import Fraction
from typing import Any

import pytest
from conftest import LEAD, LEAD2, STAKEHOLDER, VENDOR
from engine_flows import answer_prompt, dms_to, jobs_of, schedule, tick, utc
from flows import create_engagement, text_of

from bot.blocks.common import MAX_MESSAGE_BLOCKS, MAX_SECTION_TEXT
from bot.blocks.feedback import COMMENT_LIMIT, change_words, one_decimal, survey_results
from bot.domain.feedback_results import Answer, Comment, SurveyResults, summarise
from bot.platform import clock
from storage.jobs import JobKind

CREATED = utc(2026, 11, 25, 10, 0)  # a Wednesday
MON = utc(2026, 11, 30, 8, 0)  # Monday 09:00 in Berlin: the first survey
CLOSES = utc(2026, 12, 2, 8, 0)  # its 48-hour window closes
NEXT_MON = utc(2026, 12, 7, 8, 0)  # the second survey, a week later
NEXT_CLOSES = utc(2026, 12, 9, 8, 0)
S2, S3, S4 = "U0SUE", "U0STAN", "U0SIA"  # none starts with another's ID
RESULTS = "Feedback survey results"
ANON = {"anonymous": ["anonymous"]}  # the survey's "keep my name from the vendor" ticked


# --- steps -------------------------------------------------------------------------------------


def ratings(communication: int, quality: int, timeliness: int, overall: int) -> dict[str, str]:
    return {
        "communication": str(communication),
        "quality": str(quality),
        "timeliness": str(timeliness),
        "overall": str(overall),
    }


def set_up_survey(cadence, monkeypatch) -> None:
    """Two leads and four stakeholders; a weekly feedback survey asks the stakeholders."""
    for user, name in ((S2, "sue.stake"), (S3, "stan.stake"), (S4, "sia.stake")):
        cadence.fake.add_user(user, name=name, tz="Europe/Berlin")
    with clock.fixed_at(CREATED):
        create_engagement(cadence, leads=[LEAD, LEAD2], stakeholders=[STAKEHOLDER, S2, S3, S4])
    schedule(
        cadence,
        CREATED,
        kind="feedback_survey",
        audience="stakeholders",
        reminder_hours=None,
        escalation_hours=None,
    )


def survey_prompt(cadence, user: str) -> dict[str, Any]:
    """The newest survey prompt in the person's DM."""
    prompts = [m for m in dms_to(cadence, user) if "Give feedback" in json.dumps(m)]
    assert prompts, f"no survey prompt for {user}"
    return prompts[-1]


def answer(cadence, user: str, at, values: dict[str, Any]) -> None:
    """The stakeholder clicks the prompt's button and sends the survey, at `at`."""
    with clock.fixed_at(at):
        answer_prompt(cadence, survey_prompt(cadence, user), user, values)


def results_to(cadence, lead: str) -> list[dict[str, Any]]:
    return [m for m in dms_to(cadence, lead) if RESULTS in text_of(m)]


# --- the stories -------------------------------------------------------------------------------


def test_each_lead_gets_one_aggregate_without_anonymous_names_then_the_trend(cadence, monkeypatch):
    set_up_survey(cadence, monkeypatch)
    tick(cadence, monkeypatch, MON)
    (survey,) = jobs_of(cadence, JobKind.SURVEY_RESULTS)
    assert survey.key == f"survey-results:checkin={survey.checkin_id}" and survey.due_at == CLOSES

    # Three of the four answer; two keep their names from the vendor. S4 never answers.
    answered_at = utc(2026, 11, 30, 12, 0)
    slipping = "Releases keep slipping without notice."
    answer(cadence, STAKEHOLDER, answered_at, {**ratings(4, 3, 2, 3), "comment": slipping, **ANON})
    answer(cadence, S2, answered_at, {**ratings(5, 4, 3, 4), "comment": "Great demos & notes."})
    answer(cadence, S3, answered_at, {**ratings(3, 3, 2, 2), **ANON})

    tick(cadence, monkeypatch, utc(2026, 12, 2, 7, 59))
    assert results_to(cadence, LEAD) == []  # not before the window closes

    tick(cadence, monkeypatch, CLOSES)
    for lead in (LEAD, LEAD2):
        (dm,) = results_to(cadence, lead)
        shown = text_of(dm)
        # By hand: communication (4+5+3)/3 = 4, quality 10/3, timeliness 7/3, overall 9/3.
        assert "3 of 4 asked answered" in shown
        assert "Communication: *4.0* / 5" in shown
        assert "Quality of work: *3.3* / 5" in shown
        assert "Timeliness: *2.3* / 5" in shown
        assert "Overall: *3.0* / 5" in shown
        assert "No earlier survey" in shown
        assert "Releases keep slipping without notice." in shown
        assert "Great demos &amp; notes." in shown and f"<@{S2}>" in shown
        assert "_(given anonymously)_" in shown and "— _anonymous_" not in shown
        # Neither anonymous answerer is named anywhere in the message, nor who did not answer.
        for never in (STAKEHOLDER, S3, S4):
            assert never not in json.dumps(dm)
    assert results_to(cadence, VENDOR) == []

    # Another pass sends nothing more.
    tick(cadence, monkeypatch, utc(2026, 12, 2, 9, 0))
    assert [len(results_to(cadence, lead)) for lead in (LEAD, LEAD2)] == [1, 1]

    # A week later: all four answer the second survey; the results show the change.
    tick(cadence, monkeypatch, NEXT_MON)
    answered_at = utc(2026, 12, 7, 12, 0)
    answer(cadence, STAKEHOLDER, answered_at, {**ratings(5, 4, 3, 2), **ANON})
    answer(cadence, S2, answered_at, ratings(5, 4, 4, 2))
    answer(cadence, S3, answered_at, {**ratings(4, 3, 3, 3), **ANON})
    answer(cadence, S4, answered_at, {**ratings(2, 4, 2, 3), "comment": "Better this week."})
    tick(cadence, monkeypatch, NEXT_CLOSES)
    for lead in (LEAD, LEAD2):
        _, second = results_to(cadence, lead)
        shown = text_of(second)
        # By hand: communication 16/4 = 4 (was 4), quality 15/4 (was 10/3: +5/12),
        # timeliness 12/4 = 3 (was 7/3: +2/3), overall 10/4 (was 3: -1/2).
        assert "4 of 4 asked answered" in shown
        assert "Communication: *4.0* / 5 (no change)" in shown
        assert "Quality of work: *3.8* / 5 (up 0.4)" in shown
        assert "Timeliness: *3.0* / 5 (up 0.7)" in shown
        assert "Overall: *2.5* / 5 (down 0.5)" in shown
        # In the lead's zone; for a lead whose zone Cadence has not learned, Slack's own date,
        # which shows them theirs (https://api.slack.com/reference/surfaces/formatting#date-formatting).
        said = "Mon 30 Nov 09:00 CET"
        token = f"<!date^{int(MON.timestamp())}^{{date_short_pretty}} {{time}}|{said}>"
        assert any(f"Changes against the survey of {w} (3 answers)" in shown for w in (said, token))
        assert f"<@{S4}>" in shown and "Better this week." in shown
        for never in (STAKEHOLDER, S3):
            assert never not in json.dumps(second)


def test_fewer_than_three_answers_withhold_the_averages_and_comments(cadence, monkeypatch):
    set_up_survey(cadence, monkeypatch)
    tick(cadence, monkeypatch, MON)
    answered_at = utc(2026, 11, 30, 12, 0)
    answer(cadence, STAKEHOLDER, answered_at, {**ratings(1, 1, 1, 1), "comment": "Bad.", **ANON})
    answer(cadence, S2, answered_at, {**ratings(5, 5, 5, 5), "comment": "All fine."})
    tick(cadence, monkeypatch, CLOSES)
    tick(cadence, monkeypatch, CLOSES)
    for lead in (LEAD, LEAD2):
        (dm,) = results_to(cadence, lead)
        shown = text_of(dm)
        assert "2 of 4 asked answered" in shown
        assert "Only 2 answered: averages and comments are shown from 3 answers up" in shown
        assert "/ 5" not in shown and "Bad." not in shown and "All fine" not in shown
        for never in (STAKEHOLDER, S2, S3, S4):
            assert never not in json.dumps(dm)


def test_a_survey_below_three_answers_is_not_the_one_the_next_is_compared_with(
    cadence, monkeypatch
):
    """The change is against the latest survey whose averages the leads were shown: a change
    against one with two answers would give its withheld averages away."""
    set_up_survey(cadence, monkeypatch)
    tick(cadence, monkeypatch, MON)
    for user in (STAKEHOLDER, S2):
        answer(cadence, user, utc(2026, 11, 30, 12, 0), ratings(1, 1, 1, 1))
    tick(cadence, monkeypatch, CLOSES)
    tick(cadence, monkeypatch, NEXT_MON)
    for user in (STAKEHOLDER, S2, S3):
        answer(cadence, user, utc(2026, 12, 7, 12, 0), ratings(4, 4, 4, 4))
    tick(cadence, monkeypatch, NEXT_CLOSES)
    _, second = results_to(cadence, LEAD)
    shown = text_of(second)
    assert "Communication: *4.0* / 5" in shown and "(up" not in shown
    assert "No earlier survey of this cadence with 3 answers or more" in shown


def test_only_feedback_surveys_plan_results(cadence, monkeypatch):
    with clock.fixed_at(CREATED):
        create_engagement(cadence)
    schedule(cadence, CREATED)  # a status update
    tick(cadence, monkeypatch, MON)
    assert jobs_of(cadence, JobKind.OVERDUE) and jobs_of(cadence, JobKind.SURVEY_RESULTS) == []


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
    # Blank comments are no comments; the anonymous author is gone, the named one kept; in the
    # order of their words, not of their arrival.
    assert results.comments == (Comment("Great demos.", "U2"), Comment("Slipping.", None))
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
    shown = sum(s.count("_(given anonymously)_") for s in quotes)
    left_out = 150 - shown
    assert (
        text_of({"blocks": blocks[-1:]}).strip()
        == f"{left_out} more comments did not fit in this message."
    )
    # Each comment is cut between words, within its limit, escaped, with its ellipsis.
    first = quotes[0].split("\n_(given anonymously)_")[0]
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
