"""A check-in's own questions, answered on its form: the story as its people meet it.

A lead has put questions on a cadence (seeded here as `Question` rows, the versions the editor
writes); the vendor opens the check-in's form from the prompt and finds them after the built-in
fields, of every type, each checked on submit with the problem said inline on its field. The
answers are stored with the version asked, kept in the update's revision and shown in the
summary in the thread; the next form is filled in with the last answer where the question is
unchanged. A rule on an answer raises one concern per check-in and question, whoever submits or
edits how often, or alerts each lead once by DM with a link to the answer. A survey's answers
are stored without their author, and its rule acts only when the survey closes, naming nobody.
Driven through signed requests against the stand-in Slack and `tick`, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from conftest import ACME, LEAD, LEAD2, STAKEHOLDER, TEAM, VENDOR, Cadence
from engine_flows import recipients_of, tick
from flows import text_of
from sqlmodel import select
from test_answers import answer_prompt, seed_checkin
from test_risk_reviews import ANSWERED_AT, open_checkin, open_review, raise_two_concerns
from test_risk_reviews import reviews as reviews_of
from test_update_evidence import MONDAY, each_answer, set_up

from bot.domain.questions.definition import MAX_QUESTIONS
from bot.platform import clock
from storage.models import Cadence as CadenceRow
from storage.models import (
    CheckIn,
    Concern,
    Engagement,
    Feedback,
    Question,
    QuestionAnswer,
    QuestionRuleFired,
    ScheduledJob,
    StatusUpdate,
    UpdateRevision,
)

GOOD = {"rag": "green", "summary": "On track."}
EVERY_TYPE: list[dict[str, Any]] = [
    {"text": "Headline of the week", "kind": "short_text", "required": True},
    {"text": "Anything else?", "kind": "long_text", "help": "Whatever the leads should know."},
    {
        "text": "Defects found",
        "kind": "number",
        "unit": "count",
        "target": 5.0,
        "higher_is_better": False,
    },
    {"text": "Sprint goal met?", "kind": "single_choice", "options": ["Fully", "Partly", "No"]},
    {"text": "Teams involved", "kind": "multi_choice", "options": ["Backend", "Web", "Ops"]},
    {"text": "Team morale", "kind": "rating", "required": True},
    {"text": "Any security incident since last?", "kind": "yes_no"},
    {"text": "Next release date", "kind": "date"},
]
INCIDENT_CONCERN = {"on": ["Yes"], "action": "concern", "severity": "critical",
                    "category": "security", "owner": "vendor"}  # fmt: skip
INCIDENT_ALERT = {"on": ["Yes"], "action": "alert"}


# --- steps -------------------------------------------------------------------------------------


def cadence_of(cadence: Cadence, checkin_id: int) -> CadenceRow:
    with cadence.db.read_session() as session:
        checkin = session.get(CheckIn, checkin_id)
        return session.get(CadenceRow, checkin.cadence_id)


def add_questions(cadence: Cadence, checkin_id: int, specs: list[dict[str, Any]]) -> list[int]:
    """The lead's questions on the check-in's cadence, as the editor stores them (a version
    each); their ids, in order."""
    row = cadence_of(cadence, checkin_id)
    with cadence.db.session() as session:
        added = [
            Question(
                team_id=TEAM,
                engagement_id=row.engagement_id,
                cadence_id=row.id,
                key=f"k{n}",
                position=n,
                created_by=LEAD,
                created_at=MONDAY - timedelta(days=1),
                **spec,
            )
            for n, spec in enumerate(specs)
        ]
        session.add_all(added)
        session.flush()
        return [q.id for q in added]


def edit_question(cadence: Cadence, question_id: int, **changes: Any) -> int:
    """The editor's edit: the version is retired and the next one added under its key."""
    with cadence.db.session() as session:
        old = session.get(Question, question_id)
        old.retired_at = MONDAY
        fields = old.model_dump(exclude={"id", "retired_at", "created_at"})
        new = Question(**{**fields, **changes}, created_at=MONDAY)
        session.add_all([old, new])
        session.flush()
        return new.id


def aid(question_id: int) -> str:
    return f"question_{question_id}"


def block(view: dict[str, Any], block_id: str) -> dict[str, Any]:
    return next(b for b in view["blocks"] if b.get("block_id") == block_id)


def submit(cadence: Cadence, view: dict[str, Any], values: dict[str, Any], user: str = VENDOR):
    reply = cadence.sim.submit_view(view, values, user=user)
    assert reply.status == 200, reply.body
    return reply


def answers(cadence: Cadence, source: str = "update") -> list[QuestionAnswer]:
    with cadence.db.read_session() as session:
        return list(
            session.exec(
                select(QuestionAnswer)
                .where(QuestionAnswer.source == source)
                .order_by(QuestionAnswer.id)
            ).all()
        )


def rows_of(cadence: Cadence, model) -> list:
    with cadence.db.read_session() as session:
        return list(session.exec(select(model).order_by(model.id)).all())


def summary_text(cadence: Cadence, update_id: int, words: str) -> str:
    """The update's summary in the channel once it says `words`."""

    def shown() -> str | None:
        with cadence.db.read_session() as session:
            update = session.get(StatusUpdate, update_id)
        if update.message_ts is None:
            return None
        text = text_of(cadence.fake.message(update.channel_id or ACME, update.message_ts))
        return text if words in text else None

    return cadence.wait_until(shown, what=f"the summary to say {words!r}")


def open_checkin_with(cadence: Cadence, specs, recipients=(VENDOR,), **kw) -> tuple[int, list]:
    engagement = set_up(cadence)
    checkin_id = seed_checkin(cadence, engagement, recipients=recipients, **kw)
    return checkin_id, add_questions(cadence, checkin_id, specs)


# --- the form ----------------------------------------------------------------------------------


def test_every_type_is_asked_after_the_built_in_fields_and_checked_inline(cadence):
    with clock.fixed_at(MONDAY):
        checkin_id, ids = open_checkin_with(cadence, EVERY_TYPE)
        view = answer_prompt(cadence, checkin_id)
    order = [b.get("block_id") for b in view["blocks"]]
    assert order.index("confidence") < order.index(aid(ids[0]))  # after the built-in fields
    assert order[-len(ids) :] == [aid(i) for i in ids]
    elements = [block(view, aid(i))["element"]["type"] for i in ids]
    assert elements == [
        "plain_text_input", "plain_text_input", "number_input", "radio_buttons", "checkboxes",
        "radio_buttons", "radio_buttons", "datepicker",
    ]  # fmt: skip
    assert block(view, aid(ids[1]))["element"]["multiline"] is True
    assert block(view, aid(ids[1]))["hint"]["text"] == "Whatever the leads should know."
    assert block(view, aid(ids[2]))["label"]["text"] == "Defects found (count) — target ≤ 5 count"
    assert block(view, aid(ids[2]))["element"]["is_decimal_allowed"] is True
    assert [block(view, aid(i)).get("optional", False) for i in ids] == [
        False, True, True, True, True, False, True, True,
    ]  # fmt: skip

    # Everything wrong at once: each problem on its own field, and nothing is written.
    with clock.fixed_at(MONDAY + timedelta(hours=1)):
        reply = submit(
            cadence,
            view,
            {
                **GOOD,
                aid(ids[0]): "x" * 301,
                aid(ids[1]): "y" * 3001,
                aid(ids[2]): "a dozen",
                aid(ids[3]): {"value": "7", "text": {"type": "plain_text", "text": "Forged"}},
                aid(ids[4]): [{"value": "9", "text": {"type": "plain_text", "text": "Forged"}}],
                aid(ids[5]): {"value": "6", "text": {"type": "plain_text", "text": "6"}},
                aid(ids[6]): {"value": "maybe", "text": {"type": "plain_text", "text": "?"}},
                aid(ids[7]): "2026-02-30",
            },
        )
    errors = reply.json["errors"]
    assert reply.json["response_action"] == "errors"
    assert errors == {
        aid(ids[0]): "At most 300 characters here (this has 301).",
        aid(ids[1]): "At most 3000 characters here (this has 3001).",
        aid(ids[2]): "“a dozen” is not a number: give one such as 12 or 99.5.",
        aid(ids[3]): "Choose one of the options.",
        aid(ids[4]): "Choose among the options given.",
        aid(ids[5]): "Rate from 1 to 5.",
        aid(ids[6]): "Choose Yes or No.",
        aid(ids[7]): "That is not a date: pick one from the calendar.",
    }
    assert rows_of(cadence, StatusUpdate) == [] and answers(cadence) == []
    assert recipients_of(cadence, checkin_id)[VENDOR].status == "pending"

    # A required question left empty (Slack's client would stop it; a crafted one is refused).
    with clock.fixed_at(MONDAY + timedelta(hours=1)):
        reply = cadence.sim.submit_view(
            view, {**GOOD, aid(ids[0]): None, aid(ids[5]): "4"}, user=VENDOR, check_required=False
        )
    assert reply.json["errors"] == {aid(ids[0]): "Answer this question: it is required."}

    # And with the summary missing too: the update's own error and the question's together.
    with clock.fixed_at(MONDAY + timedelta(hours=1)):
        reply = cadence.sim.submit_view(
            view, {"rag": "green", aid(ids[5]): None}, user=VENDOR, check_required=False
        )
    assert set(reply.json["errors"]) == {"summary", aid(ids[0]), aid(ids[5])}

    # Right: stored one row per answer, with the version asked and its figure.
    with clock.fixed_at(MONDAY + timedelta(hours=1)):
        reply = submit(
            cadence,
            view,
            {
                **GOOD,
                aid(ids[0]): "  Checkout shipped  ",
                aid(ids[2]): "3,5",
                aid(ids[3]): "1",
                aid(ids[4]): ["0", "2"],
                aid(ids[5]): "4",
                aid(ids[6]): "no",
                aid(ids[7]): "2026-12-14",
            },
        )
    assert reply.body == "", reply.body
    (update,) = rows_of(cadence, StatusUpdate)
    stored = {a.question_id: a for a in answers(cadence)}
    assert set(stored) == {ids[0], ids[2], ids[3], ids[4], ids[5], ids[6], ids[7]}  # ids[1] empty
    assert [(stored[i].value, stored[i].number) for i in ids if i in stored] == [
        ("Checkout shipped", None), (3.5, 3.5), ("Partly", None), (["Backend", "Ops"], None),
        (4, 4.0), (False, 0.0), ("2026-12-14", None),
    ]  # fmt: skip
    assert {
        (a.source, a.source_id, a.author_user_id, a.checkin_id, a.question_key)
        for a in stored.values()
    } == {("update", update.id, VENDOR, checkin_id, f"k{n}") for n in (0, 2, 3, 4, 5, 6, 7)}

    # The revision keeps every question as asked, and the summary in the thread shows them.
    (revision,) = rows_of(cadence, UpdateRevision)
    kept = revision.content["questions"]
    assert [(q["question_id"], q["text"], q["value"]) for q in kept][:3] == [
        (ids[0], "Headline of the week", "Checkout shipped"),
        (ids[1], "Anything else?", None),
        (ids[2], "Defects found", 3.5),
    ]
    text = summary_text(cadence, update.id, "Headline of the week")
    for line in (
        "*Headline of the week*: Checkout shipped",
        "*Defects found*: ✅ 3.5 count (target ≤ 5 count)",
        "*Teams involved*: Backend, Ops",
        "*Team morale*: 4/5",
        "*Any security incident since last?*: No",
        "*Next release date*: Mon 14 Dec 2026",
    ):
        assert line in text, text
    assert "Anything else?" not in text  # left empty


def test_twenty_questions_fit_in_the_update_form_slack_accepts(cadence):
    specs = [{"text": f"Question {n} " + "w" * 280, "kind": kind["kind"],
              "options": kind.get("options", [])}
             for n, kind in zip(range(MAX_QUESTIONS), EVERY_TYPE * 3, strict=False)]  # fmt: skip
    assert len(specs) == MAX_QUESTIONS
    with clock.fixed_at(MONDAY):
        checkin_id, ids = open_checkin_with(cadence, specs)
        view = answer_prompt(cadence, checkin_id)  # the stand-in refuses a form over its limits
    assert [b.get("block_id") for b in view["blocks"]][-MAX_QUESTIONS:] == [aid(i) for i in ids]
    assert len(view["blocks"]) <= 100
    with clock.fixed_at(MONDAY + timedelta(hours=1)):
        assert submit(cadence, view, GOOD).body == ""
    (update,) = rows_of(cadence, StatusUpdate)
    assert len(update.summary) > 0 and answers(cadence) == []  # all optional, none answered


def test_a_form_whose_question_ids_point_elsewhere_is_refused(cadence):
    with clock.fixed_at(MONDAY):
        checkin_id, ids = open_checkin_with(cadence, EVERY_TYPE[:1])
        view = answer_prompt(cadence, checkin_id)
    # Another cadence's question (of the same engagement), slipped into the hint.
    with clock.fixed_at(MONDAY):
        other = seed_checkin(cadence, rows_of(cadence, Engagement)[0])
    (foreign,) = add_questions(cadence, other, [{"text": "Elsewhere", "kind": "short_text"}])
    tampered = {**view, "private_metadata": json.dumps(
        {**json.loads(view["private_metadata"]), "questions": [ids[0], foreign]}
    )}  # fmt: skip
    with clock.fixed_at(MONDAY + timedelta(hours=1)):
        reply = submit(cadence, tampered, {**GOOD, aid(ids[0]): "Fine"})
    assert "This form is damaged" in str(reply.json["errors"])
    assert rows_of(cadence, StatusUpdate) == [] and answers(cadence) == []


# --- history and prefill -----------------------------------------------------------------------


def summary_messages(cadence: Cadence) -> list[dict[str, Any]]:
    return [m for m in cadence.fake.messages(ACME) if "status_update_edit" in json.dumps(m)]


def open_edit(cadence: Cadence, update_id: int, user: str = VENDOR) -> dict[str, Any]:
    """The Edit button under the update's summary; the form that opened."""
    with cadence.db.read_session() as session:
        ts = session.get(StatusUpdate, update_id).message_ts
    posted = next(m for m in summary_messages(cadence) if m["ts"] == ts)
    before = len(cadence.fake.calls_to("views.open"))
    cadence.sim.click(posted, "status_update_edit", user=user)
    opened = cadence.fake.wait_for("views.open", count=before + 1)[-1]
    assert opened.ok, opened.response
    return cadence.fake.view(opened.response["view"]["id"])


def initial_of(view: dict[str, Any], question_id: int) -> Any:
    element = block(view, aid(question_id))["element"]
    for key in ("initial_value", "initial_date"):
        if key in element:
            return element[key]
    if "initial_option" in element:
        return element["initial_option"]["text"]["text"]
    return [o["text"]["text"] for o in element.get("initial_options", [])] or None


def test_a_question_edited_between_two_check_ins_keeps_old_answers_and_prefills_only_the_unchanged(
    cadence, monkeypatch
):
    specs = [
        {"text": "Headline of the week", "kind": "short_text"},
        {"text": "Defects found", "kind": "number", "target": 5.0, "higher_is_better": False},
        {"text": "Sprint goal met?", "kind": "single_choice", "options": ["Fully", "Partly"]},
        {"text": "Teams involved", "kind": "multi_choice", "options": ["Backend", "Web", "Ops"]},
    ]
    with clock.fixed_at(MONDAY):
        checkin_id, ids = open_checkin_with(cadence, specs)
        first_view = answer_prompt(cadence, checkin_id)
        assert [initial_of(first_view, i) for i in ids] == [None] * 4  # nothing to repeat yet
        values = {aid(ids[0]): "Checkout shipped", aid(ids[1]): "3", aid(ids[2]): "1",
                  aid(ids[3]): ["2"]}  # fmt: skip
        assert submit(cadence, first_view, {**GOOD, **values}).body == ""
    (first,) = rows_of(cadence, StatusUpdate)
    summary_text(cadence, first.id, "Defects found")

    # The lead rewords the defects question and the single choice's options; the rest stands.
    defects = edit_question(cadence, ids[1], text="Defects found in QA")
    goal = edit_question(cadence, ids[2], options=["Fully", "Partly", "Not at all"])

    # Next week's check-in asks the current versions: unchanged ones filled with last answers.
    next_slot = MONDAY - timedelta(hours=1) + timedelta(days=7)
    tick(cadence, monkeypatch, next_slot)
    second_checkin = max(c.id for c in rows_of(cadence, CheckIn))
    with clock.fixed_at(next_slot + timedelta(minutes=5)):
        view = answer_prompt(cadence, second_checkin)
    asked = [b["block_id"] for b in view["blocks"] if b.get("block_id", "").startswith("question_")]
    assert asked == [aid(ids[0]), aid(defects), aid(goal), aid(ids[3])]
    assert initial_of(view, ids[0]) == "Checkout shipped"
    assert initial_of(view, ids[3]) == ["Ops"]
    assert initial_of(view, defects) is None and initial_of(view, goal) is None  # changed
    assert block(view, aid(defects))["label"]["text"] == "Defects found in QA — target ≤ 5"
    with clock.fixed_at(next_slot + timedelta(minutes=10)):
        assert submit(cadence, view, {**GOOD, aid(defects): "2", aid(goal): "2"}).body == ""

    # Each answer points at the version asked; the old one still reads as it was asked.
    by_update: dict[int, dict[str, tuple]] = {}
    with cadence.db.read_session() as session:
        for a in answers(cadence):
            q = session.get(Question, a.question_id)
            by_update.setdefault(a.source_id, {})[a.question_key] = (q.text, a.value)
    second = max(u.id for u in rows_of(cadence, StatusUpdate))
    assert by_update[first.id]["k1"] == ("Defects found", 3.0)
    assert by_update[second]["k1"] == ("Defects found in QA", 2.0)
    assert by_update[second]["k2"] == ("Sprint goal met?", "Not at all")
    assert by_update[second]["k0"] == ("Headline of the week", "Checkout shipped")  # kept
    assert "*Defects found in QA*: ✅ 2 (target ≤ 5)" in summary_text(cadence, second, "in QA")

    # Editing the first update asks its own versions again, filled with what it said; the
    # answer row is updated in place (a rule's record still points at it).
    before_ids = {a.question_id: a.id for a in answers(cadence) if a.source_id == first.id}
    view = open_edit(cadence, first.id)
    asked = [b["block_id"] for b in view["blocks"] if b.get("block_id", "").startswith("question_")]
    assert asked == [aid(i) for i in ids]
    assert block(view, aid(ids[1]))["label"]["text"] == "Defects found — target ≤ 5"
    assert [initial_of(view, i) for i in ids] == ["Checkout shipped", "3", "Partly", ["Ops"]]
    with clock.fixed_at(next_slot + timedelta(hours=1)):
        assert submit(cadence, view, {aid(ids[1]): "4", aid(ids[0]): None}).body == ""
    after = {a.question_id: a for a in answers(cadence) if a.source_id == first.id}
    assert set(after) == {ids[1], ids[2], ids[3]}  # the emptied headline is gone
    assert (after[ids[1]].id, after[ids[1]].value) == (before_ids[ids[1]], 4.0)
    text = summary_text(cadence, first.id, "*Defects found*: ✅ 4")
    assert "Headline of the week" not in text


# --- rules -------------------------------------------------------------------------------------


def question_concerns(cadence: Cadence) -> list[Concern]:
    return [c for c in rows_of(cadence, Concern) if c.source == "question"]


def rule_alerts_to(cadence: Cadence, lead: str) -> list[str]:
    return [
        text_of(c.args)
        for c in cadence.fake.calls_to("chat.postMessage")
        if c.args.get("channel") == lead and c.ok and "raised the alarm" in text_of(c.args)
    ]


def test_a_rule_raises_one_concern_per_check_in_however_often_and_by_whomever_answered(cadence):
    incident = {"text": "Any security incident since last?", "kind": "yes_no",
                "required": True, "rule": INCIDENT_CONCERN}  # fmt: skip
    with clock.fixed_at(MONDAY):
        checkin_id, (qid,) = open_checkin_with(cadence, [incident], recipients=(VENDOR, LEAD2))
        view = answer_prompt(cadence, checkin_id)
        second_form = answer_prompt(cadence, checkin_id)  # opened twice before sending
    assert [o["text"]["text"] for o in block(view, aid(qid))["element"]["options"]] == [
        "Yes", "No",
    ]  # fmt: skip
    at = MONDAY + timedelta(hours=1)
    with clock.fixed_at(at):
        assert submit(cadence, view, {**GOOD, aid(qid): "yes"}).body == ""
        # Slack retries the same submission: acted on once.
        assert submit(cadence, view, {**GOOD, aid(qid): "yes"}).status == 200
        # A second real submit, of the form opened twice: refused on the form, nothing written.
        again = submit(cadence, second_form, {**GOOD, aid(qid): "yes"})
    assert "You already sent your status update" in str(again.json["errors"])
    (update,) = rows_of(cadence, StatusUpdate)
    (concern,) = question_concerns(cadence)
    assert (concern.title, concern.severity, concern.category) == (
        "Any security incident since last? — Yes", "critical", "security",
    )  # fmt: skip
    assert (concern.owner_user_id, concern.raised_by, concern.raised_at) == (VENDOR, VENDOR, at)
    assert concern.source_ref == f"checkin:{checkin_id}:question:k0"
    assert "asked “Any security incident since last?”, <@U0VENDOR> answered “Yes”" in (
        concern.description
    )
    (fired,) = rows_of(cadence, QuestionRuleFired)
    (answer,) = answers(cadence)
    assert (fired.scope, fired.question_key, fired.action, fired.concern_id, fired.answer_id) == (
        f"checkin:{checkin_id}", "k0", "concern", concern.id, answer.id,
    )  # fmt: skip
    # The register's own consequences: its card in the channel.
    cadence.wait_until(
        lambda: any(f"#{concern.id}" in text_of(m) for m in cadence.fake.messages(ACME)),
        what="the concern's card",
    )

    # The author edits the update twice, No and then Yes again: still the one concern.
    summary_text(cadence, update.id, "Any security incident")
    for said in ("no", "yes"):
        view = open_edit(cadence, update.id)
        with clock.fixed_at(at + timedelta(minutes=30)):
            assert submit(cadence, view, {aid(qid): said}).body == ""
        summary_text(cadence, update.id, f"since last?*: {said.capitalize()}")
    # The second one asked (a lead) answers Yes too: the check-in has its concern already.
    with clock.fixed_at(at + timedelta(hours=1)):
        other = answer_prompt(cadence, checkin_id, user=LEAD2)
        assert submit(cadence, other, {**GOOD, aid(qid): "yes"}, user=LEAD2).body == ""
    assert len(rows_of(cadence, StatusUpdate)) == 2
    assert [a.value for a in answers(cadence)] == [True, True]
    assert len(question_concerns(cadence)) == 1 and len(rows_of(cadence, QuestionRuleFired)) == 1


def test_an_alert_rule_tells_each_lead_once_with_a_link_to_the_answer(cadence):
    goal = {"text": "Sprint goal met?", "kind": "single_choice",
            "options": ["Fully", "Partly", "Not at all"],
            "rule": {"on": ["Partly", "Not at all"], "action": "alert"}}  # fmt: skip
    with clock.fixed_at(MONDAY):
        checkin_id, (qid,) = open_checkin_with(cadence, [goal])
        view = answer_prompt(cadence, checkin_id)
    each_answer(cadence)  # told at once (by default: in the leads' round-ups)
    with clock.fixed_at(MONDAY + timedelta(hours=1)):
        assert submit(cadence, view, {**GOOD, aid(qid): "2"}).body == ""
    (update,) = rows_of(cadence, StatusUpdate)
    for lead in (LEAD, LEAD2):
        cadence.wait_until(lambda lead=lead: rule_alerts_to(cadence, lead), what=f"{lead}'s alert")
    update = rows_of(cadence, StatusUpdate)[0]
    link = f"https://acme.slack.com/archives/{ACME}/p{update.message_ts.replace('.', '')}"
    for lead in (LEAD, LEAD2):
        (said,) = rule_alerts_to(cadence, lead)
        assert "*Acme Payments*: an answer to a status update raised the alarm." in said
        assert "*Sprint goal met?*" in said and "<@U0VENDOR> answered: *Not at all*" in said
        assert f"<{link}|See the answer>" in said
    assert question_concerns(cadence) == []
    (fired,) = rows_of(cadence, QuestionRuleFired)
    assert (fired.action, fired.concern_id) == ("alert", None)

    # An edit that keeps the answer, or changes it to another the rule watches: no new alert.
    for choice in ("2", "1"):
        view = open_edit(cadence, update.id)
        with clock.fixed_at(MONDAY + timedelta(hours=2)):
            assert submit(cadence, view, {aid(qid): choice}).body == ""
    summary_text(cadence, update.id, "goal met?*: Partly")
    sent = [j for j in rows_of(cadence, ScheduledJob) if j.kind == "question_alert"]
    assert sorted(j.user_id for j in sent) == sorted([LEAD, LEAD2])
    assert {j.status for j in sent} == {"sent"}
    assert [len(rule_alerts_to(cadence, lead)) for lead in (LEAD, LEAD2)] == [1, 1]


# --- the risk review and the survey ------------------------------------------------------------


def test_a_risk_review_asks_its_questions_after_the_concerns_and_keeps_the_answers(
    cadence, monkeypatch
):
    checkin_id = open_checkin(cadence, monkeypatch)
    raise_two_concerns(cadence)
    access = {"text": "Access review done this month?", "kind": "yes_no", "required": True,
              "rule": {"on": ["No"], "action": "concern", "severity": "high",
                       "category": "security", "owner": "lead"}}  # fmt: skip
    patches = {"text": "Critical patches overdue", "kind": "number", "target": 0.0,
               "higher_is_better": False}  # fmt: skip
    ids = add_questions(cadence, checkin_id, [access, patches])
    view = open_review(cadence)
    order = [b.get("block_id") for b in view["blocks"]]
    assert [b["type"] for b in view["blocks"][-3:]] == ["header", "input", "input"]
    assert order[-2:] == [aid(ids[0]), aid(ids[1])]  # after a heading of their own
    assert order.index("new_category") < order.index(aid(ids[0]))

    with clock.fixed_at(ANSWERED_AT):
        reply = cadence.sim.submit_view(
            view, {aid(ids[0]): None, aid(ids[1]): "two"}, user=VENDOR, check_required=False
        )
    assert reply.json["errors"] == {
        aid(ids[0]): "Answer this question: it is required.",
        aid(ids[1]): "“two” is not a number: give one such as 12 or 99.5.",
    }
    assert reviews_of(cadence) == [] and answers(cadence, "risk_review") == []

    with clock.fixed_at(ANSWERED_AT):
        assert submit(cadence, view, {aid(ids[0]): "no", aid(ids[1]): "2"}).body == ""
    (review,) = reviews_of(cadence)
    assert [(q["text"], q["value"]) for q in review.answers["questions"]] == [
        ("Access review done this month?", False), ("Critical patches overdue", 2.0),
    ]  # fmt: skip
    stored = answers(cadence, "risk_review")
    assert [(a.source_id, a.author_user_id, a.value) for a in stored] == [
        (review.id, VENDOR, False), (review.id, VENDOR, 2.0),
    ]  # fmt: skip
    (concern,) = question_concerns(cadence)
    assert (concern.title, concern.owner_user_id, concern.severity) == (
        "Access review done this month? — No", LEAD, "high",
    )  # fmt: skip
    summary = cadence.wait_until(
        lambda: [text_of(m) for m in cadence.fake.messages(ACME) if "reviewed the risks" in
                 text_of(m)],
        what="the review's summary",
    )[0]  # fmt: skip
    assert "*Access review done this month?*: No" in summary
    assert "*Critical patches overdue*: ⚠️ 2 (target ≤ 0)" in summary


def test_a_survey_answer_is_stored_without_its_author_and_its_rule_waits_for_the_close(
    cadence, monkeypatch
):
    missed = {"text": "Did the vendor miss a commitment?", "kind": "yes_no",
              "rule": {"on": ["Yes"], "action": "alert"}}  # fmt: skip
    recommend = {"text": "Would you recommend them?", "kind": "rating", "required": True}
    escalate = {"text": "Should this go to the steering committee?", "kind": "yes_no",
                "rule": {"on": ["Yes"], "action": "concern", "severity": "medium",
                         "category": "communication", "owner": "author"}}  # fmt: skip
    with clock.fixed_at(MONDAY):
        checkin_id, ids = open_checkin_with(
            cadence, [missed, recommend, escalate], recipients=(STAKEHOLDER,),
            kind="feedback_survey",
        )  # fmt: skip
        view = answer_prompt(cadence, checkin_id, user=STAKEHOLDER)
    each_answer(cadence)  # told at the close (by default: in the leads' round-ups)
    order = [b.get("block_id") for b in view["blocks"]]
    assert order[-4:] == [*(aid(i) for i in ids), "anonymous"]  # the name's choice last
    ratings = {k: "4" for k in ("communication", "quality", "timeliness", "overall")}
    said_now = {aid(ids[0]): "yes", aid(ids[1]): "2", aid(ids[2]): "yes"}
    with clock.fixed_at(MONDAY + timedelta(hours=3)):
        reply = submit(
            cadence, view, {**ratings, "anonymous": ["anonymous"], **said_now}, user=STAKEHOLDER
        )
    assert reply.json["response_action"] == "update"  # the thank-you
    (row,) = rows_of(cadence, Feedback)
    stored = answers(cadence, "feedback")
    assert [(a.author_user_id, a.value, a.answered_at) for a in stored] == [
        (None, True, row.submitted_at), (None, 2, row.submitted_at),
        (None, True, row.submitted_at),
    ]  # fmt: skip
    assert row.author_user_id is None and row.submitted_at != MONDAY + timedelta(hours=3)

    # Nobody hears of it now: the rule's job waits for the survey's close, planned at the
    # batch's moment rather than the answer's.
    assert [f.fired_at for f in rows_of(cadence, QuestionRuleFired)] == [row.submitted_at] * 2
    waiting = [j for j in rows_of(cadence, ScheduledJob) if j.kind == "question_rule"]
    with cadence.db.read_session() as session:
        closes = session.get(CheckIn, checkin_id).window_closes_at
    assert {(j.status, j.due_at, j.created_at) for j in waiting} == {
        ("pending", closes, row.submitted_at)
    }
    assert rule_alerts_to(cadence, LEAD) == rule_alerts_to(cadence, LEAD2) == []
    assert question_concerns(cadence) == []

    # At the close, each lead is told what was said, by nobody named.
    tick(cadence, monkeypatch, closes + timedelta(minutes=1))
    for lead in (LEAD, LEAD2):
        (said,) = cadence.wait_until(lambda lead=lead: rule_alerts_to(cadence, lead), what="alert")
        assert "an answer to a survey raised the alarm" in said
        assert "An answer said: *Yes*" in said and "U0STAKE" not in said
    # The concern comes from the leads' side, owned as for the vendor (no author to own it).
    (concern,) = question_concerns(cadence)
    assert (concern.raised_by, concern.owner_user_id, concern.raised_at) == (
        LEAD, VENDOR, closes + timedelta(minutes=1),
    )  # fmt: skip
    assert "an answer to the survey (no name)" in concern.description
    assert STAKEHOLDER not in concern.description

    # Next week's survey repeats nothing of an anonymous answer.
    tick(cadence, monkeypatch, MONDAY - timedelta(hours=1) + timedelta(days=7))
    second = max(c.id for c in rows_of(cadence, CheckIn))
    with clock.fixed_at(MONDAY + timedelta(days=7)):
        view = answer_prompt(cadence, second, user=STAKEHOLDER)
    assert [
        {k for k in block(view, aid(i))["element"] if k.startswith("initial")} for i in ids
    ] == [set(), set(), set()]


def test_two_people_answering_at_the_same_moment_raise_one_concern(cadence):
    """Both transactions insert the rule's row at once (on PostgreSQL truly in parallel): the
    unique scope lets one of them act, the other finds it taken."""
    incident = {"text": "Any security incident since last?", "kind": "yes_no",
                "rule": INCIDENT_CONCERN}  # fmt: skip
    with clock.fixed_at(MONDAY):
        checkin_id, (qid,) = open_checkin_with(cadence, [incident], recipients=(VENDOR, LEAD2))
        forms = {user: answer_prompt(cadence, checkin_id, user=user) for user in (VENDOR, LEAD2)}
    start = threading.Barrier(2)

    def send(user: str):
        start.wait()
        return submit(cadence, forms[user], {**GOOD, aid(qid): "yes"}, user=user)

    with clock.fixed_at(MONDAY + timedelta(hours=1)), ThreadPoolExecutor(2) as pool:
        replies = list(pool.map(send, (VENDOR, LEAD2)))
    assert [r.body for r in replies] == ["", ""]
    assert len(rows_of(cadence, StatusUpdate)) == 2 and len(answers(cadence)) == 2
    (fired,) = rows_of(cadence, QuestionRuleFired)
    (concern,) = question_concerns(cadence)
    assert fired.concern_id == concern.id and concern.raised_by in (VENDOR, LEAD2)
