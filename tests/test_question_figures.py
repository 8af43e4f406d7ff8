"""Custom questions' answers everywhere they go: the figures (a number or rating question's
trend per check-in, its mean and the options chosen since the last digest, the rules that
fired) against hand-computed values; a survey's answers only in closed batches of three or
more; then through the product (signed requests and `python -m bot tick` at simulated
moments, both databases): the health card, the digest, a survey's results, the export's
`answers.csv` and a lead's Home tab.

Answers are stored rows (`QuestionAnswer`, pointing at the question version asked), written
here as the forms write them: data in the database, not a mock of our code.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from conftest import EXTERNAL, LEAD, LEAD2, STAKEHOLDER, TEAM, VENDOR
from engine_flows import checkins_of, schedule, tick, utc
from flows import create_engagement, text_of, wait_reply
from sqlmodel import select
from test_answers import answer_prompt
from test_deliverables import add as add_deliverable
from test_export import export_files
from test_home import open_home, text
from test_questions_answer import GOOD, INCIDENT_ALERT, aid, open_checkin_with
from test_questions_answer import submit as submit_form
from test_survey_results import ANON, CLOSES, MON, S2, S3, answer, ratings, results_to
from test_survey_results import set_up_survey as set_up_a_survey
from test_update_evidence import MONDAY as FORM_MONDAY

from bot.blocks.common import MAX_MESSAGE_BLOCKS, MAX_SECTION_TEXT
from bot.blocks.digest import DigestScope, digest_message
from bot.blocks.home import MAX_HOME_BLOCKS, home_view
from bot.blocks.question_results import card_lines, digest_lines
from bot.demo.fake_slack import validate_message_blocks, validate_view
from bot.domain import figures, question_export
from bot.domain.export_files import ExportScope
from bot.domain.figures import AnswerRow, Inputs, TrendPoint
from bot.platform import clock
from storage.models import Feedback, Question, QuestionAnswer, QuestionRuleFired

# --- the figures, pure -------------------------------------------------------------------------

NOW = utc(2026, 12, 16, 12, 0)
WEEKS = 8
SINCE = NOW - figures.WEEK  # Dec 9 12:00: the last digest


def row(key: str, kind: str, value: Any, point: str, at: datetime, **kw: Any) -> AnswerRow:
    number = kw.pop("number", None)
    if number is None and kind in ("rating", "number"):
        number = float(value)
    if number is None and kind == "yes_no":
        number = 1.0 if value else 0.0
    return AnswerRow(
        cadence_id=kw.pop("cadence_id", 1), key=key, question_id=kw.pop("question_id", 1),
        text=kw.pop("text", key.capitalize()), kind=kind, unit=kw.pop("unit", ""),
        position=kw.pop("position", 0), value=value, number=number, point=point, at=at,
        counts_from=kw.pop("counts_from", at), **kw,
    )  # fmt: skip


C1, C2, C3 = utc(2026, 11, 30, 8), utc(2026, 12, 7, 8), utc(2026, 12, 14, 8)
OPTIONS = ("None", "Scope", "Staffing")
ROWS = (
    # Morale (rating): check-in 1: 3 and 4; check-in 2: 4 and 5 (asked as a new version);
    # check-in 3: 2 (since the last digest).
    row("morale", "rating", 3, "checkin:1", C1),
    row("morale", "rating", 4, "checkin:1", C1),
    row("morale", "rating", 4, "checkin:2", C2, question_id=2, text="Team morale"),
    row("morale", "rating", 5, "checkin:2", C2, question_id=2, text="Team morale"),
    row("morale", "rating", 2, "checkin:3", C3, question_id=2, text="Team morale"),
    # Blocker (single choice), all since the last digest: Scope twice, None and Staffing once.
    *(row("blocker", "single_choice", v, "checkin:3", C3, position=1, options=OPTIONS)
      for v in ("Scope", "Staffing", "Scope", "None")),
    # Areas (multiple choice): B twice, A once.
    row("areas", "multi_choice", ["A", "B"], "checkin:3", C3, position=2, options=("A", "B")),
    row("areas", "multi_choice", ["B"], "checkin:3", C3, position=2, options=("A", "B")),
    # Incident (yes/no): No twice, Yes once; one before the last digest, not counted there.
    *(row("incident", "yes_no", v, "checkin:3", C3, position=3) for v in (True, False, False)),
    row("incident", "yes_no", True, "checkin:2", C2, position=3),
    # A long text: never aggregated.
    row("notes", "long_text", "All fine.", "checkin:3", C3, position=4),
    # Pulse (rating) on a survey, another cadence: survey 9 had two answers (withheld),
    # survey 10 three (3, 4, 5: shown), survey 11 is still open (counts from its close).
    *(row("pulse", "rating", v, "survey:9", C2, cadence_id=2, batch="survey:9",
          counts_from=C2 + timedelta(days=2)) for v in (1, 2)),
    *(row("pulse", "rating", v, "survey:10", C3, cadence_id=2, batch="survey:10",
          counts_from=C3 + timedelta(days=2)) for v in (3, 4, 5)),
    *(row("pulse", "rating", v, "survey:11", NOW, cadence_id=2, batch="survey:11",
          counts_from=NOW + timedelta(days=2)) for v in (5, 5, 5)),
)  # fmt: skip


def by_key(found: figures.Figures) -> dict[str, figures.QuestionFigure]:
    return {q.key: q for q in found.questions}


def test_question_figures_against_hand_computed_values():
    found = figures.compute_one(Inputs(1, answers=ROWS), now=NOW, weeks=WEEKS, since=SINCE)
    assert [(q.cadence_id, q.key) for q in found.questions] == [
        (1, "morale"), (1, "blocker"), (1, "areas"), (1, "incident"), (2, "pulse"),
    ]  # fmt: skip  # in the form's order, cadence by cadence; the long text is not aggregated
    q = by_key(found)
    # Morale: the mean per check-in, oldest first: 7/2, 9/2, 2; since Dec 9 one answer, 2.
    assert q["morale"].trend == (
        TrendPoint(C1, 3.5, 2), TrendPoint(C2, 4.5, 2), TrendPoint(C3, 2.0, 1),
    )  # fmt: skip
    assert q["morale"].text == "Team morale"  # as last asked
    assert (q["morale"].answers, q["morale"].mean) == (1, 2.0)
    # Choices: most chosen first; a tie in the order the question lists its options.
    assert q["blocker"].chosen == (("Scope", 2), ("None", 1), ("Staffing", 1))
    assert q["blocker"].trend == () and q["blocker"].mean is None
    assert q["areas"].chosen == (("B", 2), ("A", 1))
    assert q["incident"].chosen == (("No", 2), ("Yes", 1)) and q["incident"].answers == 3
    # The survey: batch 9 (two answers) withheld, batch 10 shown, batch 11 not closed yet.
    assert q["pulse"].trend == (TrendPoint(C3, 4.0, 3),)
    assert (q["pulse"].answers, q["pulse"].mean, q["pulse"].withheld) == (3, 4.0, 2)

    # The health card's words, and the digest's.
    assert card_lines(found.questions, ()) == [
        "*Your questions*",
        "Team morale 3.5 → 2.0/5 (3 check-ins)",
        "Pulse 4.0/5 (1 check-in)",
        "_2 answers to survey questions not shown: a survey's answers count only in groups of "
        "3 or more, so that nobody can be recognised._",
    ]
    assert digest_lines(found.questions) == [
        "Team morale (1 answer): mean 2.0/5",
        "Blocker (4 answers): Scope 2 · None 1 · Staffing 1",
        "Areas (2 answers): B 2 · A 1",
        "Incident (3 answers): No 2 · Yes 1",
        "Pulse (3 answers): mean 4.0/5",
    ]


def test_a_survey_question_shows_only_from_three_answers_to_it_in_a_closed_batch():
    at = utc(2026, 12, 10, 8)
    closes = at + timedelta(days=2)

    def survey(*values: int) -> tuple[AnswerRow, ...]:
        return tuple(
            row("pulse", "rating", v, "survey:5", at, batch="survey:5", counts_from=closes)
            for v in values
        )

    def pulse(rows, now) -> figures.QuestionFigure | None:
        found = figures.compute_one(Inputs(1, answers=rows), now=now, weeks=WEEKS)
        return by_key(found).get("pulse")

    assert pulse(survey(4, 5, 1), closes - timedelta(seconds=1)) is None  # still open
    shown = pulse(survey(4, 5, 1), closes)
    assert shown is not None and shown.trend == (TrendPoint(at, 10 / 3, 3),)
    held = pulse(survey(4, 5), closes)
    assert held is not None and (held.trend, held.answers, held.withheld) == ((), 0, 2)
    # A named form's answers show at once, one by one.
    named = (row("pulse", "rating", 4, "checkin:5", at),)
    assert pulse(named, at).trend == (TrendPoint(at, 4.0, 1),)  # type: ignore[union-attr]


# --- through the product -----------------------------------------------------------------------

CREATED = utc(2026, 11, 25, 10, 0)
FIRST = utc(2026, 11, 30, 8, 0)  # Monday 09:00 in Berlin: the first status update check-in
SECOND = utc(2026, 12, 7, 8, 0)
CARD_AT = utc(2026, 12, 8, 12, 0)
MINUTE = timedelta(minutes=1)


def add_question(session, engagement_id: int, cadence_id: int, key: str, text: str, kind: str,
                 position: int, at: datetime = CREATED, **kw: Any) -> Question:  # fmt: skip
    q = Question(
        team_id=TEAM, engagement_id=engagement_id, cadence_id=cadence_id, key=key,
        position=position, text=text, kind=kind, created_by=LEAD, created_at=at, **kw,
    )  # fmt: skip
    session.add(q)
    session.flush()
    return q


def add_answer(session, q: Question, *, checkin_id: int, author: str | None, value: Any,
               at: datetime, source: str = "update", source_id: int = 1) -> QuestionAnswer:  # fmt: skip
    number = None
    if q.kind in ("rating", "number"):
        number = float(value)
    elif q.kind == "yes_no":
        number = 1.0 if value else 0.0
    a = QuestionAnswer(
        team_id=TEAM, engagement_id=q.engagement_id, question_id=q.id, question_key=q.key,
        checkin_id=checkin_id, source=source, source_id=source_id, author_user_id=author,
        value=value, number=number, answered_at=at,
    )  # fmt: skip
    session.add(a)
    session.flush()
    return a


def status_story(cadence, monkeypatch) -> int:
    """A weekly status update with four questions, answered by two vendor contacts at two
    check-ins (morale edited between them); the yes/no's rule fired at the second. Returns
    the cadence's id."""
    with clock.fixed_at(CREATED):
        create_engagement(cadence)
    made = schedule(cadence, CREATED)
    add_deliverable(cadence, "Cutover runbook")  # due Fri Dec 11: the card offers its timeline
    tick(cadence, monkeypatch, FIRST)
    tick(cadence, monkeypatch, SECOND)
    first, second = (c.id for c in checkins_of(cadence))
    with cadence.db.session() as s:
        eid = made.engagement_id
        morale = add_question(s, eid, made.id, "morale", "Team morale", "rating", 0)
        hours = add_question(s, eid, made.id, "hours", "=Overtime hours", "number", 1, unit="h",
                             target=10, higher_is_better=False)  # fmt: skip
        blocker = add_question(s, eid, made.id, "blocker", "Biggest blocker?", "single_choice",
                               2, options=["None", "Scope", "Staffing"])  # fmt: skip
        incident = add_question(s, eid, made.id, "incident", "Security incident since last?",
                                "yes_no", 3, rule={"on": ["Yes"], "action": "alert"})  # fmt: skip
        morale.retired_at = utc(2026, 12, 1)
        morale2 = add_question(s, eid, made.id, "morale", "Team morale (1–5)", "rating", 0,
                               at=utc(2026, 12, 1))  # fmt: skip
        at1, at2 = FIRST + timedelta(hours=2), SECOND + timedelta(hours=2)
        for who, source_id, m, h, b, i in ((VENDOR, 1, 3, 12, "Scope", False),
                                           (EXTERNAL, 2, 4, 8, "Scope", False)):  # fmt: skip
            for q, v in ((morale, m), (hours, h), (blocker, b), (incident, i)):
                add_answer(s, q, checkin_id=first, author=who, value=v, at=at1,
                           source_id=source_id)  # fmt: skip
        for who, source_id, m, h, b, i in ((VENDOR, 3, 4, 9, "Staffing", True),
                                           (EXTERNAL, 4, 5, 12, "Scope", None)):  # fmt: skip
            for q, v in ((morale2, m), (hours, h), (blocker, b), (incident, i)):
                if v is None:
                    continue  # an optional question left empty
                answered = add_answer(s, q, checkin_id=second, author=who, value=v, at=at2,
                                      source_id=source_id)  # fmt: skip
                if q is incident and v:
                    s.add(QuestionRuleFired(
                        team_id=TEAM, engagement_id=eid, scope=f"checkin:{second}",
                        question_key="incident", answer_id=answered.id, action="alert",
                        fired_at=at2,
                    ))  # fmt: skip
    return made.id


def test_the_views_show_the_answers_as_the_figures_compute_them(cadence, monkeypatch):
    cadence_id = status_story(cadence, monkeypatch)
    with cadence.db.read_session() as session:
        loaded = figures.load(session, team_id=TEAM, now=CARD_AT, weeks=figures.TREND_WEEKS)
    since = CARD_AT - figures.WEEK
    (found,) = figures.compute(loaded, now=CARD_AT, weeks=figures.TREND_WEEKS, since=since).values()
    q = by_key(found)
    # By hand: morale 7/2 then 9/2; hours 10 then 21/2; since Dec 1 12:00 only the second.
    assert [p.mean for p in q["morale"].trend] == [3.5, 4.5]
    assert [p.mean for p in q["hours"].trend] == [10.0, 10.5]
    assert q["blocker"].chosen == (("Scope", 1), ("Staffing", 1))
    assert q["incident"].chosen == (("Yes", 1),)
    (fired,) = found.rules_fired
    assert (fired.question, fired.answer, fired.action) == (
        "Security incident since last?", "Yes", "alert"
    )  # fmt: skip

    # The health card: the trends, the last rule fired, and the way to the timeline picture.
    with clock.fixed_at(CARD_AT):
        card = text_of(wait_reply(cadence, cadence.sim.command("status acme-payments")))
    assert "*Your questions*" in card
    assert "Team morale (1–5) 3.5 → 4.5/5 (2 check-ins)" in card
    assert "=Overtime hours 10 → 10.5 h (2 check-ins)" in card
    assert (
        "Last rule fired: Status update: “Security incident since last?” Yes — leads alerted"
    ) in card
    assert "`/cadence deliverables acme-payments chart`" in card

    # The digest: each question since the last digest aggregated, within Slack's limits.
    digest = digest_message([found], DigestScope(now=CARD_AT, since=since))
    shown = text_of(digest)
    for line in (
        "Questions since the last digest:",
        "  • Team morale (1–5) (2 answers): mean 4.5/5",
        "  • =Overtime hours (2 answers): mean 10.5 h",
        "  • Biggest blocker? (2 answers): Scope 1 · Staffing 1",
        "  • Security incident since last? (1 answer): Yes 1",
    ):
        assert line in shown
    assert validate_message_blocks(digest["blocks"]) == []
    assert all(len(b.get("text", {}).get("text", "")) <= MAX_SECTION_TEXT
               for b in digest["blocks"])  # fmt: skip

    # The export: a row per answer, the question as it was asked, formula-proof cells.
    _, tables = export_files(cadence, "export acme-payments", at=CARD_AT)
    rows = tables["answers.csv"]
    assert len(rows) == 15  # 2 × 4 at the first check-in, 4 + 3 at the second
    first = [r for r in rows if r["checkin_scheduled_for"] == FIRST.isoformat(timespec="seconds")]
    assert {r["question"] for r in first if r["question_key"] == "morale"} == {"Team morale"}
    later = {r["question"] for r in rows if r["question_key"] == "morale"} - {"Team morale"}
    assert later == {"Team morale (1–5)"}
    hours = next(r for r in first if r["question_key"] == "hours" and r["author"] == VENDOR)
    assert hours == {
        "engagement": "acme-payments", "engagement_name": "Acme Payments",
        "cadence": str(cadence_id), "checkin_scheduled_for": "2026-11-30T08:00:00+00:00",
        "checkin_scheduled_for_local": "2026-11-30T09:00:00+01:00", "form": "update", "question_key": "hours", "question": "'=Overtime hours",
        "question_type": "number", "options": "", "unit": "h", "target": "10.0",
        "target_direction": "at most", "answer": "12 h", "number": "12.0", "outcome": "missed",
        "author": VENDOR, "author_name": "vic.vendor", "answered_at": "2026-11-30T10:00:00+00:00",
        "answered_at_local": "2026-11-30T11:00:00+01:00",
    }  # fmt: skip
    blocker = next(r for r in first if r["question_key"] == "blocker")
    assert blocker["options"] == "None | Scope | Staffing" and blocker["outcome"] == ""
    assert {r["answer"] for r in rows if r["question_key"] == "incident"} == {"Yes", "No"}

    # Home: the lead sees the rule that fired this week; a vendor contact does not.
    lead_home = text(open_home(cadence, LEAD, CARD_AT))
    assert "*Rules fired in the last 7 days* (1)" in lead_home
    assert (
        "*Acme Payments* · Status update: “Security incident since last?” Yes — leads alerted"
        " · Mon 07 Dec"
    ) in lead_home
    assert "Rules fired" not in text(open_home(cadence, VENDOR, CARD_AT))
    # Eight days on, it is no longer this week's.
    assert "Rules fired" not in text(open_home(cadence, LEAD, CARD_AT + timedelta(days=7)))


def survey_answers(cadence, checkin_id: int, **answers: dict[str, Any]) -> None:
    """The survey's custom answers, stored with each feedback row as the form stores them:
    the feedback's moment, and no author for an anonymous one."""
    with cadence.db.session() as s:
        made = {q.key: q for q in s.exec(select(Question)).all()}
        if not made:
            survey = next(c for c in checkins_of(cadence) if c.id == checkin_id)
            made["mood"] = add_question(s, survey.engagement_id, survey.cadence_id, "mood",
                                        "Mood this week?", "single_choice", 0,
                                        options=["Good", "Mixed", "Poor"])  # fmt: skip
            made["pulse"] = add_question(s, survey.engagement_id, survey.cadence_id, "pulse",
                                         "Pulse", "rating", 1)  # fmt: skip
            made["change"] = add_question(s, survey.engagement_id, survey.cadence_id, "change",
                                          "What should change?", "short_text", 2)  # fmt: skip
        rows = s.exec(select(Feedback).where(Feedback.checkin_id == checkin_id)).all()
        authors = {S2: S2}  # the named one; the others anonymous, told apart by their comment
        for fb in rows:
            who = fb.author_user_id or fb.comment
            for key, values in answers.items():
                if who in values:
                    add_answer(s, made[key], checkin_id=checkin_id,
                               author=authors.get(fb.author_user_id or ""), value=values[who],
                               at=fb.submitted_at, source="feedback",
                               source_id=fb.id)  # fmt: skip


def test_a_surveys_questions_keep_the_three_answer_floor_everywhere(cadence, monkeypatch):
    set_up_a_survey(cadence, monkeypatch)
    tick(cadence, monkeypatch, MON)
    (survey,) = checkins_of(cadence)
    at = utc(2026, 11, 30, 12, 0)
    answer(cadence, STAKEHOLDER, at, {**ratings(4, 3, 2, 3), "comment": "a", **ANON})
    answer(cadence, S2, at, {**ratings(5, 4, 3, 4), "comment": "b"})
    answer(cadence, S3, at, {**ratings(3, 3, 2, 2), "comment": "c", **ANON})
    # Mood and what should change answered by all three; the optional pulse by two only.
    survey_answers(cadence, survey.id, mood={"a": "Good", S2: "Poor", "c": "Good"},
                   pulse={"a": 2, S2: 5},
                   change={"a": "More demos", S2: "<!channel> fewer meetings",
                           "c": "Clearer plans"})  # fmt: skip

    # While the survey is open, nothing of it shows on the health card or in the export.
    with clock.fixed_at(CLOSES - MINUTE):
        card = text_of(wait_reply(cadence, cadence.sim.command("status acme-payments")))
    assert "Pulse" not in card and "Mood" not in card
    with cadence.db.read_session() as session:
        scope = ExportScope(session, TEAM, survey.engagement_id, None, None, CLOSES - MINUTE)
        assert question_export.answer_rows(scope) == []

    # At its close, the leads' results: mood aggregated; pulse (two answers) only counted.
    tick(cadence, monkeypatch, CLOSES)
    (dm,) = results_to(cadence, LEAD)
    shown = text_of(dm)
    assert "*Your questions*\nMood this week? (3 answers): Good 2 · Poor 1" in shown
    # The text answers quoted in the order of their words, with no name, escaped.
    assert (
        "*What should change?* (3 answers)\n> &lt;!channel&gt; fewer meetings\n"
        "> Clearer plans\n> More demos"
    ) in shown
    assert "Pulse" not in shown
    assert "2 answers to survey questions not shown" in shown
    assert len(dm["blocks"]) <= MAX_MESSAGE_BLOCKS
    for never in (STAKEHOLDER, S3):
        assert never not in json.dumps(dm)

    # The export: mood's and change's rows in the order of their words, the survey's opening
    # as their time, and no name on any (the batch holds anonymous answers); no pulse rows.
    _, tables = export_files(cadence, "export acme-payments", at=CLOSES + timedelta(hours=1))
    rows = tables["answers.csv"]
    assert [(r["question_key"], r["answer"], r["author"]) for r in rows] == [
        ("mood", "Good", ""), ("mood", "Good", ""), ("mood", "Poor", ""),
        ("change", "<!channel> fewer meetings", ""), ("change", "Clearer plans", ""),
        ("change", "More demos", ""),
    ]  # fmt: skip
    assert {r["answered_at"] for r in rows} == {survey.created_at.isoformat(timespec="seconds")}
    assert {r["form"] for r in rows} == {"feedback"}
    assert S2 not in json.dumps(tables["answers.csv"])

    # The health card after the close: pulse never shows (two answers), mood is no trend.
    with clock.fixed_at(CLOSES + timedelta(hours=1)):
        card = text_of(wait_reply(cadence, cadence.sim.command("status acme-payments")))
    assert "Pulse" not in card


def test_a_digest_entry_with_many_long_questions_stays_within_slacks_limits():
    many = 20
    long = "Q" * 300
    rows = tuple(
        row(f"k{i}", "single_choice", "O" * 75, "checkin:1", C3, text=long + str(i), position=i,
            options=("O" * 75,))
        for i in range(many)
    )  # fmt: skip
    found = figures.compute_one(Inputs(1, name="Acme", handle="acme", answers=rows), now=NOW,
                                weeks=WEEKS, since=SINCE)  # fmt: skip
    digest = digest_message([found], DigestScope(now=NOW, since=SINCE))
    assert validate_message_blocks(digest["blocks"]) == []
    entry = next(b for b in digest["blocks"] if b.get("block_id") == "digest-1")
    assert len(entry["text"]["text"]) <= MAX_SECTION_TEXT
    assert f"(and {many - 4} more on the health card)" in entry["text"]["text"]


def test_a_leads_home_with_many_rules_fired_stays_within_slacks_limits():
    """Three hundred engagements with three long rules fired each: the newest ten named, the
    rest counted, within 100 blocks; someone who leads none of them sees none."""
    from test_engagement_rules import details

    mine = [(details(i), ("lead",)) for i in range(300)]
    fired = tuple(
        figures.RuleFired(
            at=NOW - timedelta(hours=h), key="incident", question="Q" * 300, answer="A" * 75,
            action="concern", concern_id=h, checkin_kind="risk_review",
        )
        for h in (1, 2, 3)
    )  # fmt: skip
    found = {
        d.id: figures.compute_one(Inputs(d.id, fired=fired), now=NOW, weeks=WEEKS) for d, _ in mine
    }
    view = home_view(mine[0][0].leads[0], mine, now=NOW, figures=found)
    assert validate_view(view) == [] and len(view["blocks"]) <= MAX_HOME_BLOCKS
    shown = text(view)
    assert "*Rules fired in the last 7 days* (900)" in shown
    assert shown.count("— concern #1 raised") == 10  # the newest first: an hour ago
    assert "…and 890 more" in shown
    assert "Rules fired" not in text(home_view("U0NOBODY", mine, now=NOW, figures=found))


def test_answers_given_on_the_form_reach_the_card_the_export_and_home(cadence):
    """End to end: two people answer a status update's questions on the real form (the prompt's
    button, the modal submitted); the health card, the export and the lead's Home read them."""
    specs = [
        {"text": "Team morale", "kind": "rating", "required": True},
        {"text": "Biggest blocker?", "kind": "single_choice", "options": ["None", "Scope"]},
        {"text": "Any security incident since last?", "kind": "yes_no", "rule": INCIDENT_ALERT},
    ]
    with clock.fixed_at(FORM_MONDAY):
        checkin_id, (morale, blocker, incident) = open_checkin_with(
            cadence, specs, recipients=(VENDOR, LEAD2)
        )
        mine = answer_prompt(cadence, checkin_id)
        theirs = answer_prompt(cadence, checkin_id, user=LEAD2)
    at = FORM_MONDAY + timedelta(hours=1)
    with clock.fixed_at(at):
        said = {aid(morale): "3", aid(blocker): "1", aid(incident): "yes"}
        assert submit_form(cadence, mine, {**GOOD, **said}).body == ""
        said = {aid(morale): "5", aid(blocker): "1", aid(incident): "no"}
        assert submit_form(cadence, theirs, {**GOOD, **said}, user=LEAD2).body == ""

    later = FORM_MONDAY + timedelta(days=1)
    with clock.fixed_at(later):
        card = text_of(wait_reply(cadence, cadence.sim.command("status acme-payments")))
    assert "Team morale 4.0/5 (1 check-in)" in card  # (3 + 5) / 2
    assert (
        "Last rule fired: Status update: “Any security incident since last?” Yes — leads alerted"
    ) in card

    _, tables = export_files(cadence, "export acme-payments", at=later)
    rows = {(r["author"], r["question_key"]): r for r in tables["answers.csv"]}
    assert {k: r["answer"] for k, r in rows.items()} == {
        (VENDOR, "k0"): "3/5", (VENDOR, "k1"): "Scope", (VENDOR, "k2"): "Yes",
        (LEAD2, "k0"): "5/5", (LEAD2, "k1"): "Scope", (LEAD2, "k2"): "No",
    }  # fmt: skip
    assert rows[(VENDOR, "k0")]["number"] == "3.0" and rows[(VENDOR, "k2")]["number"] == "1.0"
    assert {r["form"] for r in rows.values()} == {"update"}
    assert {r["answered_at"] for r in rows.values()} == {at.isoformat(timespec="seconds")}

    assert "*Rules fired in the last 7 days* (1)" in text(open_home(cadence, LEAD, later))


def test_a_card_with_hundreds_of_question_trends_names_twelve_and_counts_the_rest():
    rows = tuple(
        row(f"k{i}", "number", i, "checkin:1", C3, cadence_id=i // 20, position=i % 20,
            text="<!here> " + "Q" * 300, unit="<u>")
        for i in range(400)
    )  # fmt: skip
    found = figures.compute_one(Inputs(1, name="Acme", handle="acme", answers=rows), now=NOW,
                                weeks=WEEKS)  # fmt: skip
    lines = card_lines(found.questions, ())
    assert len(lines) == 1 + 12 + 1 and lines[-1] == "_…and 388 more: the export has every answer._"
    assert lines[1].startswith("&lt;!here&gt; QQQ") and lines[1].endswith(
        " 0 &lt;u&gt; (1 check-in)"
    )
