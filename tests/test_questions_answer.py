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
from datetime import timedelta
from typing import Any

from conftest import ACME, LEAD, TEAM, VENDOR, Cadence
from engine_flows import recipients_of
from flows import text_of
from sqlmodel import select
from test_answers import answer_prompt, seed_checkin
from test_update_evidence import MONDAY, set_up

from bot.domain.questions.definition import MAX_QUESTIONS
from bot.platform import clock
from storage.models import Cadence as CadenceRow
from storage.models import (
    CheckIn,
    Engagement,
    Question,
    QuestionAnswer,
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
