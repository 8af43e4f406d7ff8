"""The security review check-in: the vendor's periodic security attestation.

The lead schedules a security review with the real schedule form; with no default questions on
the engagement, its cadence starts with the security-review template's questions and rules
(audited as the template's). The vendor answers it from the prompt on the update form (its
summary about the security posture): a "No" to access reviews and a "Yes" to incidents raise
one high security concern each, owned by the vendor, once per check-in however often the form
is sent; a change of subprocessors alerts the leads instead. Its check-ins do not count in the
on-time rate. Driven through signed requests against the stand-in Slack and `tick`, on SQLite
and PostgreSQL.
"""

from __future__ import annotations

from datetime import timedelta

from conftest import LEAD, LEAD2, VENDOR
from sqlmodel import select
from test_answers import answer_prompt, seed_checkin
from test_questions_answer import (
    aid,
    block,
    cadence_of,
    question_concerns,
    rows_of,
    rule_alerts_to,
    submit,
)
from test_update_evidence import MONDAY, each_answer, set_up

from bot.domain import figures
from bot.domain.checkin_kinds import CheckInKind
from bot.domain.questions.templates import SECURITY_REVIEW
from bot.platform import clock
from storage.models import AuditEvent, Question, QuestionRuleFired, StatusUpdate

KIND = CheckInKind.SECURITY_REVIEW
GOOD = {"rag": "amber", "summary": "Pen test findings being fixed.", "reason": "Two findings open"}


def questions_of(cadence, cadence_id: int) -> list[Question]:
    with cadence.db.read_session() as session:
        return list(
            session.exec(
                select(Question)
                .where(Question.cadence_id == cadence_id)
                .where(Question.retired_at == None)  # noqa: E711
                .order_by(Question.position)
            ).all()
        )


def by_text(questions: list[Question], start: str) -> Question:
    return next(q for q in questions if q.text.startswith(start))


def test_a_security_review_starts_with_its_template_and_its_rules_raise_one_concern_each(
    cadence,
):
    with clock.fixed_at(MONDAY):
        engagement = set_up(cadence)
        checkin_id = seed_checkin(cadence, engagement, kind=KIND, recipients=(VENDOR,))
        row = cadence_of(cadence, checkin_id)
        view = answer_prompt(cadence, checkin_id)
        second_form = answer_prompt(cadence, checkin_id)  # opened twice before sending

    # The cadence carries the template's questions, in its order, with its rules, audited.
    asked = questions_of(cadence, row.id)
    assert [q.text for q in asked] == [q.text for q in SECURITY_REVIEW.questions]
    access = by_text(asked, "Were this period's access reviews")
    incidents = by_text(asked, "Any security incidents")
    patches = by_text(asked, "Were all critical security patches")
    moved = by_text(asked, "Any change of subprocessors")
    assert access.rule["on"] == ["No"] and access.rule["action"] == "concern"
    assert moved.rule["action"] == "alert"
    with cadence.db.read_session() as session:
        audited = session.exec(
            select(AuditEvent)
            .where(AuditEvent.entity_type == "question")
            .where(AuditEvent.actor_user_id == LEAD)
        ).all()
    assert len(audited) == len(SECURITY_REVIEW.questions)
    assert {a.after["template"] for a in audited} == {"Security review"}

    # The form: the update form's fields, its summary about the security posture, then the
    # template's questions.
    assert view["title"]["text"] == "Security review"
    assert block(view, "summary")["label"]["text"] == "Security posture"
    order = [b.get("block_id") for b in view["blocks"]]
    assert order[-len(asked) :] == [aid(q.id) for q in asked]

    answers = {
        **GOOD,
        aid(access.id): "no",
        aid(incidents.id): "yes",
        aid(patches.id): "yes",
        aid(moved.id): "no",
    }
    at = MONDAY + timedelta(hours=1)
    with clock.fixed_at(at):
        assert submit(cadence, view, answers).body == ""
        assert submit(cadence, view, answers).status == 200  # Slack's retry: acted on once
        again = submit(cadence, second_form, answers)  # the second form: refused, nothing new
    assert "You already sent your security review" in str(again.json["errors"])
    (update,) = rows_of(cadence, StatusUpdate)
    assert update.checkin_id == checkin_id

    concerns = sorted(question_concerns(cadence), key=lambda c: c.title)
    assert [(c.title, c.severity, c.category, c.owner_user_id) for c in concerns] == [
        ("Any security incidents or suspected breaches since the last review? — Yes", "high",
         "security", VENDOR),
        ("Were this period's access reviews completed? — No", "high", "security", VENDOR),
    ]  # fmt: skip
    assert {c.source_ref for c in concerns} == {
        f"checkin:{checkin_id}:question:{access.key}",
        f"checkin:{checkin_id}:question:{incidents.key}",
    }
    fired = rows_of(cadence, QuestionRuleFired)
    assert sorted((f.question_key, f.action) for f in fired) == sorted(
        [(access.key, "concern"), (incidents.key, "concern")]
    )
    assert rule_alerts_to(cadence, LEAD) == []  # no subprocessor change: nobody alerted

    # Its check-ins are not commitments counted in the on-time rate.
    with cadence.db.read_session() as session:
        loaded = figures.load(
            session, team_id=engagement.team_id, engagement_ids=[engagement.id],
            now=at, weeks=figures.TREND_WEEKS,
        )  # fmt: skip
    computed = figures.compute_one(loaded[engagement.id], now=at, weeks=figures.TREND_WEEKS)
    assert computed.on_time.counted == 0


def test_a_change_of_subprocessors_alerts_the_leads_and_the_prompt_names_the_review(cadence):
    with clock.fixed_at(MONDAY):
        engagement = set_up(cadence)
        checkin_id = seed_checkin(cadence, engagement, kind=KIND, recipients=(VENDOR,))
        asked = questions_of(cadence, cadence_of(cadence, checkin_id).id)
        view = answer_prompt(cadence, checkin_id)
    each_answer(cadence)  # told at once (by default: in the leads' round-ups)
    values = {q.id: "no" if q.kind == "yes_no" else None for q in asked}
    values[by_text(asked, "Were this period's access reviews").id] = "yes"
    values[by_text(asked, "Were all critical security patches").id] = "yes"
    values[by_text(asked, "Any change of subprocessors").id] = "yes"
    answers = {aid(qid): v for qid, v in values.items() if v is not None}
    with clock.fixed_at(MONDAY + timedelta(hours=1)):
        assert submit(cadence, view, {**GOOD, **answers}).body == ""
    assert question_concerns(cadence) == []
    for lead in (LEAD, LEAD2):
        cadence.wait_until(lambda lead=lead: rule_alerts_to(cadence, lead), what=f"{lead}'s alert")
        (said,) = rule_alerts_to(cadence, lead)
        assert "raised the alarm" in said and "<@U0VENDOR> answered: *Yes*" in said
        assert "Any change of subprocessors" in said


def test_an_engagements_default_questions_come_first_and_the_template_is_not_added(cadence):
    """The engagement's defaults are the lead's choice for every new cadence: a security
    review copies them like any other kind, and no template is added beside them."""
    with clock.fixed_at(MONDAY):
        engagement = set_up(cadence)
        with cadence.db.session() as session:
            session.add(
                Question(
                    team_id=engagement.team_id, engagement_id=engagement.id, cadence_id=None,
                    key="ownsecq", position=0, created_by=LEAD, created_at=MONDAY,
                    text="Is MFA enforced for every admin account?", kind="yes_no",
                    required=True,
                )
            )  # fmt: skip
        checkin_id = seed_checkin(cadence, engagement, kind=KIND, recipients=(VENDOR,))
        view = answer_prompt(cadence, checkin_id)
    asked = questions_of(cadence, cadence_of(cadence, checkin_id).id)
    assert [q.text for q in asked] == ["Is MFA enforced for every admin account?"]
    (own,) = asked
    labels = [b["label"]["text"] for b in view["blocks"] if b["type"] == "input"]
    assert labels[-1] == block(view, aid(own.id))["label"]["text"]
    assert "Is MFA enforced for every admin account?" in labels[-1]
    assert not [label for label in labels if "access reviews" in label]
