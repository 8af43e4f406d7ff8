"""Anonymity that holds (issue 16): no anonymous feedback answer can be tied to its author, by
a lead, a vendor contact or anyone reading the database, the export or the logs.

The stories go through the real entry points (the forms over signed HTTP, `python -m bot tick`,
`/cadence status` and `/cadence export`), as the survey and export tests do. A weekly survey
asks four stakeholders; in the story of the issue, one of them (S3) answers, anonymously.
"""

from __future__ import annotations

import json
import logging
from datetime import timedelta

from conftest import LEAD, LEAD2, STAKEHOLDER, VENDOR
from engine_flows import answer_prompt, dms_to, recipients_of, schedule, tick, utc
from flows import create_engagement, ephemeral_replies, text_of, wait_reply
from sqlmodel import select
from test_export import export_files

from bot.platform import clock
from storage.models import Feedback

CREATED = utc(2026, 11, 25, 10, 0)  # a Wednesday
MON = utc(2026, 11, 30, 8, 0)  # Monday 09:00 in Berlin: the survey opens
ANSWERED = utc(2026, 11, 30, 12, 0)
CLOSES = utc(2026, 12, 2, 8, 0)  # its 48-hour window closes
S2, S3, S4 = "U0SUE", "U0STAN", "U0SIA"
COMMENT = "The vendor's PM hides every slip from us."
ANON = {"anonymous": ["anonymous"]}


def ratings(c: int, q: int, t: int, o: int) -> dict[str, str]:
    return {"communication": str(c), "quality": str(q), "timeliness": str(t), "overall": str(o)}


def set_up_survey(cadence) -> None:
    """Two leads, a vendor contact and four stakeholders; a weekly survey asks the four."""
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
        escalation_hours="1",
    )


def survey_prompt(cadence, user: str) -> dict:
    prompts = [m for m in dms_to(cadence, user) if "Give feedback" in json.dumps(m)]
    assert prompts, f"no survey prompt for {user}"
    return prompts[-1]


def answer(cadence, user: str, values: dict, at=ANSWERED) -> None:
    with clock.fixed_at(at):
        answer_prompt(cadence, survey_prompt(cadence, user), user, values)


def seen_by(cadence, user: str) -> str:
    """Everything the bot ever posted to a person, as one text."""
    return "\n".join(json.dumps(m) for m in dms_to(cadence, user))


def feedback_rows(cadence) -> list[Feedback]:
    with cadence.db.read_session() as session:
        return list(session.exec(select(Feedback).order_by(Feedback.id)).all())


# --- the story: one anonymous answer of four asked -------------------------------------


def test_the_lead_never_learns_who_gave_the_one_anonymous_answer(cadence, monkeypatch):
    set_up_survey(cadence)
    tick(cadence, monkeypatch, MON)
    before = {lead: len(dms_to(cadence, lead)) for lead in (LEAD, LEAD2)}
    answer(cadence, S3, {**ratings(1, 2, 1, 1), "comment": COMMENT, **ANON})

    # No DM per answer: a lead hears nothing when it is given.
    with clock.fixed_at(ANSWERED + timedelta(minutes=5)):
        tick(cadence, monkeypatch, ANSWERED + timedelta(minutes=5))
    assert {lead: len(dms_to(cadence, lead)) for lead in (LEAD, LEAD2)} == before

    # The window closes: the overdue alert, the escalation and the results, counts only.
    calls = len(cadence.fake.calls)
    tick(cadence, monkeypatch, CLOSES)
    tick(cadence, monkeypatch, CLOSES + timedelta(hours=1))
    told = [c.args for c in cadence.fake.calls[calls:] if c.method == "chat.postMessage"]
    shown = "\n".join(text_of(m) for m in told)
    for lead in (LEAD, LEAD2):
        to_lead = "\n".join(text_of(m) for m in told if m.get("channel") == lead)
        assert "Overdue" in to_lead and "1 of 4 answers" in to_lead, shown
        assert "Only 1 answered" in to_lead, shown
    assert "Escalation" in shown and "1 of 4 answers" in shown
    assert COMMENT not in shown and "1.0" not in shown
    # Nobody named: not who answered, and not who did not (the rest would be who did).
    for person in (STAKEHOLDER, S2, S3, S4):
        assert person not in json.dumps(told), (person, shown)


def test_a_named_answer_is_not_told_one_by_one_either(cadence, monkeypatch):
    """A named answer's exact ratings beside an aggregate that holds one anonymous answer
    would give the anonymous one away by subtraction: no answer is DMed to the leads."""
    set_up_survey(cadence)
    tick(cadence, monkeypatch, MON)
    before = len(dms_to(cadence, LEAD))
    answer(cadence, S2, {**ratings(5, 5, 5, 5), "comment": "All good here."})
    opened = len(cadence.fake.calls_to("views.open"))
    with clock.fixed_at(ANSWERED):
        reply = cadence.sim.command("feedback acme-payments", user=S2)
    assert reply.status == 200
    form = cadence.fake.wait_for("views.open", count=opened + 1)[-1]
    view = cadence.fake.view(form.response["view"]["id"])
    assert json.loads(view["private_metadata"])["checkin_id"] is None  # ad hoc: answered
    with clock.fixed_at(ANSWERED):
        thanks = cadence.sim.submit_view(view, ratings(4, 4, 4, 4), user=S2)
    # The thank-you is the form's own answer (no DM: a stored trace of who answered).
    assert thanks.json["response_action"] == "update"
    assert "with your name" in json.dumps(thanks.json["view"])
    tick(cadence, monkeypatch, ANSWERED + timedelta(minutes=5))
    assert len(dms_to(cadence, LEAD)) == before
    # Nor a DM to the author: only the survey's prompt is in their DMs.
    assert [m for m in dms_to(cadence, S2) if "Give feedback" not in json.dumps(m)] == []


# --- stored without its author -----------------------------------------------------------------


def test_the_stored_answer_has_no_author_nor_a_moment_that_points_to_one(cadence, monkeypatch):
    set_up_survey(cadence)
    tick(cadence, monkeypatch, MON)
    answer(cadence, S2, ratings(4, 4, 4, 4), at=ANSWERED)
    answer(cadence, S3, {**ratings(1, 2, 1, 1), "comment": COMMENT, **ANON},
           at=ANSWERED + timedelta(minutes=7, microseconds=1234))  # fmt: skip
    named, anonymous = feedback_rows(cadence)
    assert (named.author_user_id, anonymous.author_user_id) == (S2, None)
    assert anonymous.anonymous and anonymous.comment == COMMENT
    # Who answered is kept apart, for reminders only: that they did, not when; and the
    # answers carry the survey's moment, not their own, so neither time nor order joins them.
    recipients = recipients_of(cadence, anonymous.checkin_id)
    assert recipients[S3].status == "answered" and recipients[S3].answered_at is None
    assert recipients[S2].answered_at is None
    assert anonymous.submitted_at == named.submitted_at <= MON < ANSWERED
    assert S3 not in json.dumps(
        [{k: str(v) for k, v in r.model_dump().items()} for r in feedback_rows(cadence)]
    )


def test_nobody_answers_the_same_survey_twice(cadence, monkeypatch):
    set_up_survey(cadence)
    tick(cadence, monkeypatch, MON)
    prompt = survey_prompt(cadence, S3)
    answer(cadence, S3, {**ratings(1, 2, 1, 1), **ANON})
    message = {"ts": "1.000", "channel": prompt["channel"], "blocks": prompt["blocks"]}
    with clock.fixed_at(ANSWERED + timedelta(hours=1)):
        reply = cadence.sim.click(message, "checkin_answer", user=S3, channel=prompt["channel"])
    assert reply.status == 200
    said = cadence.wait_until(
        lambda: [r for r in ephemeral_replies(cadence, reply.response_url) if
                 "already answered" in text_of(r)],
        what="the refusal",
    )  # fmt: skip
    assert said
    # Nor by the command: the pending survey is answered, so it is ad hoc feedback, and the
    # survey still holds one answer from them.
    assert len([r for r in feedback_rows(cadence) if r.checkin_id is not None]) == 1


# --- aggregates of three or more, everywhere ---------------------------------------------------


def test_a_vendor_contact_sees_no_ratings_under_three_answers(cadence, monkeypatch):
    set_up_survey(cadence)
    tick(cadence, monkeypatch, MON)
    answer(cadence, S3, {**ratings(1, 2, 1, 1), **ANON})
    tick(cadence, monkeypatch, CLOSES)
    with clock.fixed_at(CLOSES + timedelta(hours=2)):
        card = text_of(
            wait_reply(cadence, cadence.sim.command("status acme-payments", user=VENDOR))
        )
    assert "*Feedback*" in card and "1 answer, scores withheld" in card, card
    assert "communication 1.0" not in card and "quality 2.0" not in card
    assert "Feedback: —" in card  # the scorecard's part too


def test_the_card_shows_whole_surveys_of_three_and_only_once_they_close(cadence, monkeypatch):
    set_up_survey(cadence)
    tick(cadence, monkeypatch, MON)
    answer(cadence, S2, ratings(5, 5, 5, 5))
    answer(cadence, S3, {**ratings(1, 1, 1, 1), **ANON})
    answer(cadence, S4, ratings(3, 3, 3, 3))

    def card(at) -> str:
        with clock.fixed_at(at):
            return text_of(wait_reply(cadence, cadence.sim.command("status acme-payments")))

    # While the survey is open its answers count nowhere: their arrival says nothing.
    assert "no answers in the last" in card(ANSWERED + timedelta(hours=1))
    tick(cadence, monkeypatch, CLOSES)
    shown = card(CLOSES + timedelta(hours=1))
    assert "(3 answers, out of 5): communication 3.0" in shown, shown


def test_the_export_holds_no_answer_on_its_own(cadence, monkeypatch):
    set_up_survey(cadence)
    tick(cadence, monkeypatch, MON)
    answer(cadence, S2, {**ratings(5, 4, 4, 5), "comment": "Zero surprises, thanks."})
    answer(cadence, S3, {**ratings(1, 2, 1, 1), "comment": COMMENT, **ANON})
    answer(cadence, S4, {**ratings(3, 3, 4, 3), "comment": "Also fine."})
    tick(cadence, monkeypatch, CLOSES)
    _, tables = export_files(cadence, "export acme-payments", at=CLOSES + timedelta(hours=1))
    (group,) = tables["feedback.csv"]
    assert (group["group"], group["answers"], group["scores"]) == (
        "survey of 2026-11-30 09:00", "3", "shown",
    )  # fmt: skip
    # By hand: communication (5+1+3)/3 = 3, quality 9/3, timeliness 9/3, overall 9/3.
    assert [group[k] for k in ("communication", "quality", "timeliness", "overall")] == [
        "3.0", "3.0", "3.0", "3.0",
    ]  # fmt: skip
    comments = tables["feedback_comments.csv"]
    # In the order of their words, without a time; the anonymous one without a name.
    assert [c["comment"] for c in comments] == ["Also fine.", COMMENT, "Zero surprises, thanks."]
    assert [c["author"] for c in comments] == [S4, "", S2]
    everything = json.dumps([tables["feedback.csv"], comments])
    assert S3 not in everything and "submitted_at" not in everything
    assert not [t for t in tables.values() for row in t if row.get("communication") == "1"]


def test_the_export_withholds_a_survey_under_three(cadence, monkeypatch):
    set_up_survey(cadence)
    tick(cadence, monkeypatch, MON)
    answer(cadence, S3, {**ratings(1, 2, 1, 1), "comment": COMMENT, **ANON})
    tick(cadence, monkeypatch, CLOSES)
    _, tables = export_files(cadence, "export acme-payments", at=CLOSES + timedelta(hours=1))
    (group,) = tables["feedback.csv"]
    assert group["answers"] == "1" and group["scores"].startswith("withheld")
    assert group["communication"] == "" and group["overall"] == ""
    feedback = json.dumps([tables["feedback.csv"], tables["feedback_comments.csv"]])
    assert COMMENT not in feedback and S3 not in feedback


# --- the logs ----------------------------------------------------------------------------------


def test_no_log_line_ties_an_anonymous_answer_to_its_author(cadence, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    set_up_survey(cadence)
    tick(cadence, monkeypatch, MON)
    answer(cadence, S3, {**ratings(1, 2, 1, 1), "comment": COMMENT, **ANON})
    printed = tick(cadence, monkeypatch, CLOSES, LOG_LEVEL="DEBUG")
    printed += tick(cadence, monkeypatch, CLOSES + timedelta(hours=1), LOG_LEVEL="DEBUG")
    (row,) = feedback_rows(cadence)
    lines = [r.getMessage() for r in caplog.records] + printed
    assert any("survey-results" in line for line in lines), lines
    for line in lines:
        # Not the author beside their answer; nor, for the survey, who did not answer (the
        # rest of those asked would be who did).
        named = [p for p in (STAKEHOLDER, S2, S3, S4) if p in line]
        if named:
            assert "feedback" not in line.lower() and "missing" not in line, line
            assert COMMENT not in line and f"feedback={row.id}" not in line, line
