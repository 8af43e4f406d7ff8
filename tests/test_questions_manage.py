"""Managing custom questions, as a lead meets it: `/cadence questions <cadence>` (or the
cadence list's Questions button) opens the list; "Add a question" pushes the editor; every
type is added, each problem is an inline error on its field; an edit adds the next version and
retires the old one (answers keep pointing at the question as asked); removing, reordering and
templates redraw the list in place; an engagement's default questions are copied onto a new
cadence made with the schedule form; a form that would pass Slack's 100 blocks is refused
with how many questions fit; anyone but the leads and Cadence admins is refused, with nothing
changed. Both databases (the `cadence` fixture)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest
from conftest import ADMIN, GENERAL, LEAD, OUTSIDER, STAKEHOLDER, VENDOR, Cadence
from engine_flows import schedule, utc
from flows import create_engagement, open_form, text_of, wait_reply
from sqlmodel import select

from bot.blocks.feedback import feedback_modal
from bot.blocks.question_editor import (
    KIND_ACTION,
    QUESTION_ADD,
    QUESTION_MENU,
    QUESTION_MODAL,
    QUESTION_TEMPLATE,
    QUESTIONS_VIEW,
)
from bot.blocks.risk_reviews import risk_review_modal
from bot.blocks.updates import update_modal
from bot.domain.checkin_kinds import FormFamily
from bot.domain.engagements import MAX_KPIS
from bot.domain.errors import FieldErrors
from bot.domain.feedback import FeedbackForm
from bot.domain.questions.answering import Asking
from bot.domain.questions.definition import MAX_QUESTIONS, MAX_TEXT, QuestionType
from bot.domain.questions.editing import room_words, validate_definition, values_of
from bot.domain.questions.room import FORM_BLOCKS, MODAL_BLOCKS, QUESTIONS_HEADING, room_for
from bot.domain.questions.templates import SECURITY_REVIEW, TEMPLATES
from bot.domain.risk_reviews import ReviewItem, RiskReviewForm, concerns_with
from bot.domain.updates.deliverable_answers import MAX_ASKED, Asked, DeliverableField
from bot.domain.updates.evidence import MAX_CARRIED_CHOICES, Blocker, KpiField
from bot.domain.updates.form import UpdateForm
from bot.domain.updates.validation import UpdateInput
from bot.platform import clock
from storage.models import AuditEvent, Concern, Question, QuestionAnswer

NOW = utc(2026, 11, 25, 10, 0)  # a Wednesday
TEXT = "Were all critical patches applied within the SLA?"


# --- steps -------------------------------------------------------------------------------------


def set_up(cadence: Cadence) -> int:
    """Acme Payments (LEAD leads; VENDOR a vendor contact, STAKEHOLDER a stakeholder) and a
    weekly status update cadence; its number."""
    with clock.fixed_at(NOW):
        create_engagement(cadence)
        return schedule(cadence, NOW).id


def open_list(cadence: Cadence, ref: str | int, *, user: str = LEAD) -> dict[str, Any]:
    with clock.fixed_at(NOW):
        view = open_form(cadence, f"questions {ref}", user=user)
    assert view["callback_id"] == QUESTIONS_VIEW
    return view


def pushed(cadence: Cadence, before: int) -> dict[str, Any]:
    call = cadence.fake.wait_for("views.push", count=before + 1)[-1]
    assert call.ok, call.response
    return cadence.fake.view(call.response["view"]["id"])


def redrawn(cadence: Cadence, view_id: str, before: int) -> dict[str, Any]:
    """The list, once it was drawn again (the `before`-th update of it and after)."""

    def updates() -> list:
        return [
            c for c in cadence.fake.calls_to("views.update") if c.args.get("view_id") == view_id
        ]

    # A stale hash is refused and drawn again without one: wait for the drawing that landed.
    cadence.wait_until(lambda: any(c.ok for c in updates()[before:]), what="the list to be redrawn")
    return cadence.fake.view(view_id)


def updates_of(cadence: Cadence, view_id: str) -> int:
    return len(
        [c for c in cadence.fake.calls_to("views.update") if c.args.get("view_id") == view_id]
    )


def editor(cadence: Cadence, listed: dict[str, Any], *, user: str = LEAD, edit: int | None = None):
    """The editor, pushed from the list by "Add a question" (or a question's Edit)."""
    before = len(cadence.fake.calls_to("views.push"))
    with clock.fixed_at(NOW):
        if edit is None:
            reply = cadence.sim.click(listed, QUESTION_ADD, user=user)
        else:
            reply = cadence.sim.click(
                listed, QUESTION_MENU, user=user, value=f"edit:{edit}", block_id=f"question-{edit}"
            )
    assert reply.status == 200
    view = pushed(cadence, before)
    assert view["callback_id"] == QUESTION_MODAL
    return view


def kind_shown(view: dict[str, Any]) -> str:
    block = next(b for b in view["blocks"] if b.get("block_id") == KIND_ACTION)
    return block["element"]["initial_option"]["value"]


def choose_kind(cadence: Cadence, view: dict[str, Any], kind: str, *, user: str = LEAD):
    """The editor's type chosen: the editor as drawn again with that type's fields."""
    before = updates_of(cadence, view["id"])
    with clock.fixed_at(NOW):
        assert cadence.sim.click(view, KIND_ACTION, user=user, value=kind).status == 200
    return redrawn(cadence, view["id"], before)


def submit(cadence: Cadence, view: dict[str, Any], values: dict[str, Any], *, user: str = LEAD):
    """The editor filled in as a person does (the type first, which redraws it) and
    submitted; its inline errors ({} when accepted)."""
    values, view = dict(values), cadence.fake.view(view["id"])  # as the person sees it now
    kind = values.pop("kind", None)
    if kind is not None and kind != kind_shown(view):
        view = choose_kind(cadence, view, kind, user=user)
    with clock.fixed_at(NOW):
        reply = cadence.sim.submit_view(view, values, user=user, check_required=False)
    assert reply.status == 200, reply.body
    if reply.json and reply.json.get("response_action") == "errors":
        return reply.json["errors"]
    return {}


def add(cadence: Cadence, listed: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """A question added through the editor; the list as redrawn after it."""
    before = updates_of(cadence, listed["id"])
    assert submit(cadence, editor(cadence, listed), values) == {}
    return redrawn(cadence, listed["id"], before)


def menu(cadence: Cadence, listed: dict[str, Any], what: str, question_id: int, *, user=LEAD):
    before = updates_of(cadence, listed["id"])
    with clock.fixed_at(NOW):
        reply = cadence.sim.click(listed, QUESTION_MENU, user=user, value=f"{what}:{question_id}",
                                  block_id=f"question-{question_id}")  # fmt: skip
    assert reply.status == 200
    return redrawn(cadence, listed["id"], before)


def choose_template(cadence: Cadence, listed: dict[str, Any], key: str) -> dict[str, Any]:
    before = updates_of(cadence, listed["id"])
    with clock.fixed_at(NOW):
        reply = cadence.sim.click(listed, QUESTION_TEMPLATE, value=key)
    assert reply.status == 200
    return redrawn(cadence, listed["id"], before)


def questions(cadence: Cadence, *, cadence_id: int | None, current: bool = True) -> list[Question]:
    with cadence.db.read_session() as session:
        rows = session.exec(
            select(Question).where(Question.cadence_id == cadence_id).order_by(Question.id)
        ).all()
    rows = [q for q in rows if not current or q.retired_at is None]
    return sorted(rows, key=lambda q: (q.position, q.id)) if current else list(rows)


def rows_of(cadence: Cadence, model) -> list[str]:
    with cadence.db.read_session() as session:
        return sorted(repr(r.model_dump()) for r in session.exec(select(model)).all())


def listed_texts(view: dict[str, Any]) -> list[str]:
    return [
        b["text"]["text"].split("\n")[0]
        for b in view["blocks"]
        if str(b.get("block_id", "")).startswith("question-") and b["type"] == "section"
    ]


EVERY_TYPE: list[dict[str, Any]] = [
    {"text": "What changed in the team?", "kind": "short_text"},
    {"text": "Details of any incident", "kind": "long_text", "help": "What, when, and the fix."},
    {
        "text": "Mean time to restore",
        "kind": "number",
        "unit": "hours",
        "target": "4",
        "tolerance": "6",
        "direction": "lower",
    },
    {"text": "Environment affected", "kind": "single_choice", "options": "Prod\nStaging\nDev"},
    {"text": "Areas touched", "kind": "multi_choice", "options": "• Network\n• Storage\n• IAM"},
    {"text": "How smooth was the release?", "kind": "rating", "required": ["required"]},
    {
        "text": TEXT,
        "kind": "yes_no",
        "required": ["required"],
        "rule_action": "concern",
        "rule_on": "no",
        "rule_severity": "critical",
        "rule_category": "security",
        "rule_owner": "author",
    },
    {"text": "Next maintenance window", "kind": "date"},
]


# --- adding, every type --------------------------------------------------------------------------


def test_a_lead_adds_a_question_of_every_type_and_the_list_shows_each(cadence):
    cadence_id = set_up(cadence)
    listed = open_list(cadence, cadence_id)
    assert "No questions of your own yet" in json.dumps(listed["blocks"])
    for values in EVERY_TYPE:
        listed = add(cadence, listed, values)
    rows = questions(cadence, cadence_id=cadence_id)
    assert [q.kind for q in rows] == [v["kind"] for v in EVERY_TYPE]
    assert [q.position for q in rows] == list(range(len(EVERY_TYPE)))
    assert len({q.key for q in rows}) == len(rows) and all(q.created_by == LEAD for q in rows)
    number = rows[2]
    assert (number.unit, number.target, number.tolerance, number.higher_is_better) == (
        "hours", 4.0, 6.0, False,
    )  # fmt: skip
    assert rows[3].options == ["Prod", "Staging", "Dev"]
    assert rows[4].options == ["Network", "Storage", "IAM"]  # the bullets dropped
    assert rows[5].required and not rows[0].required
    assert rows[6].rule == {"on": ["No"], "action": "concern", "severity": "critical",
                            "category": "security", "owner": "author"}  # fmt: skip
    assert rows[0].rule == {} and rows[1].help == "What, when, and the fix."
    shown = json.dumps(listed["blocks"], ensure_ascii=False)
    assert listed_texts(listed) == [f"*{n}. {v['text']}*" for n, v in enumerate(EVERY_TYPE, 1)]
    assert "target ≤ 4 hours" in shown and "Prod / Staging / Dev" in shown
    assert "“No” raises a critical security concern, owned by whoever answered" in shown
    with cadence.db.read_session() as session:
        audited = session.exec(
            select(AuditEvent).where(AuditEvent.entity_type == "question").order_by(AuditEvent.id)
        ).all()
    assert [a.action for a in audited] == ["create"] * len(EVERY_TYPE)
    assert audited[6].after["text"] == TEXT and audited[6].actor_user_id == LEAD
    assert cadence.fake.block_errors == []


def test_the_cadence_lists_questions_button_opens_the_same_list(cadence):
    cadence_id = set_up(cadence)
    with clock.fixed_at(NOW):
        reply = cadence.sim.command("cadences acme-payments")
        listing = wait_reply(cadence, reply)
        before = len(cadence.fake.calls_to("views.open"))
        cadence.sim.click(listing, "cadence_button:questions", block_id=f"cadence-{cadence_id}")
    opened = cadence.fake.wait_for("views.open", count=before + 1)[-1]
    view = cadence.fake.view(opened.response["view"]["id"])
    assert view["callback_id"] == QUESTIONS_VIEW
    assert json.loads(view["private_metadata"])["cadence_id"] == cadence_id
    assert f"cadence #{cadence_id} (Status update)" in text_of(view)


# --- validation: each problem on its field -----------------------------------------------------

PROBLEMS: list[tuple[dict[str, Any], str, str]] = [
    ({"text": "", "kind": "short_text"}, "text", "Write the question"),
    ({"text": "x" * (MAX_TEXT + 1), "kind": "short_text"}, "text", f"at most {MAX_TEXT}"),
    ({"text": "Which?", "kind": "single_choice", "options": "Only one"}, "options", "at least two"),
    (
        {
            "text": "Which?",
            "kind": "multi_choice",
            "options": "\n".join(f"o{i}" for i in range(11)),
        },
        "options",
        "At most 10 options",
    ),
    (
        {"text": "Which?", "kind": "single_choice", "options": "A\n" + "b" * 76},
        "options",
        "at most 75 characters",
    ),
    ({"text": "Which?", "kind": "single_choice", "options": "Yes\nyes"}, "options", "twice"),
    ({"text": "How many?", "kind": "number", "unit": "u" * 17}, "unit", "at most 16"),
    ({"text": "How many?", "kind": "number", "tolerance": "5"}, "tolerance", "needs a target"),
    (
        {"text": "Uptime?", "kind": "number", "target": "99.9", "tolerance": "99.95"},
        "tolerance",
        "below the target 99.9",
    ),
    (
        {
            "text": "Errors?",
            "kind": "number",
            "target": "5",
            "tolerance": "3",
            "direction": "lower",
        },
        "tolerance",
        "above the target 5",
    ),
    ({"text": "Done?", "kind": "yes_no", "rule_action": "concern"}, "rule_on", "Name the answers"),
    (
        {"text": "Done?", "kind": "yes_no", "rule_action": "concern", "rule_on": "Maybe"},
        "rule_on",
        "the answers are Yes, No",
    ),
    (
        {
            "text": "Which?",
            "kind": "single_choice",
            "options": "Red\nGreen",
            "rule_action": "alert",
            "rule_on": "Blue",
        },
        "rule_on",
        "the answers are Red, Green",
    ),
    ({"text": "Done?", "kind": "yes_no", "rule_on": "No"}, "rule_action", "Choose what"),
    ({"text": "Help?", "kind": "short_text", "help": "h" * 301}, "help", "at most 300"),
]


def test_each_problem_is_an_inline_error_on_its_field_and_nothing_is_written(cadence):
    cadence_id = set_up(cadence)
    view = editor(cadence, open_list(cadence, cadence_id))
    for values, field, words in PROBLEMS:
        errors = submit(cadence, view, values)
        assert field in errors and words in errors[field], (values, errors)
    # Several problems at once are all named.
    errors = submit(cadence, view, {"text": "", "kind": "number", "tolerance": "oops"})
    assert {"text", "tolerance"} <= set(errors)
    assert questions(cadence, cadence_id=cadence_id) == []
    # The same form, put right, is accepted (a refused submission recorded nothing).
    assert submit(cadence, view, {"text": "Uptime?", "kind": "number", "target": "99.9",
                                  "tolerance": "99.5"}) == {}  # fmt: skip
    assert [q.text for q in questions(cadence, cadence_id=cadence_id)] == ["Uptime?"]


def test_the_editor_shows_the_fields_of_the_type_chosen(cadence):
    cadence_id = set_up(cadence)
    view = editor(cadence, open_list(cadence, cadence_id))

    def fields(view: dict[str, Any]) -> list[str]:
        return [b["block_id"] for b in view["blocks"] if b["type"] == "input"]

    base = ["text", KIND_ACTION, "required", "help"]
    assert kind_shown(view) == "short_text" and fields(view) == base
    rule = ["rule_action", "rule_on", "rule_severity", "rule_category", "rule_owner"]
    view = choose_kind(cadence, view, "number")
    assert fields(view) == [*base, "unit", "target", "tolerance", "direction"]
    view = choose_kind(cadence, view, "multi_choice")
    assert fields(view) == [*base, "options", *rule]
    view = choose_kind(cadence, view, "yes_no")
    assert fields(view) == [*base, *rule]
    view = choose_kind(cadence, view, "date")
    assert fields(view) == base
    assert cadence.fake.block_errors == []


def test_what_the_form_cannot_send_is_refused_or_ignored_too():
    """A rule on a type that has none to watch (a forged form) is refused on the server; a
    field another type uses is ignored."""
    with pytest.raises(FieldErrors) as refused:
        validate_definition({"text": "Notes", "kind": "long_text", "rule_action": "alert",
                             "rule_on": "bad"})  # fmt: skip
    assert "has none to watch" in refused.value.errors["rule_action"]
    with pytest.raises(FieldErrors) as refused:
        validate_definition({"text": "Which?", "kind": "single_choice", "options": "A\nB",
                             "rule_action": "explode", "rule_on": "A"})  # fmt: skip
    assert "rule_action" in refused.value.errors
    data = validate_definition({"text": "Done?", "kind": "yes_no", "unit": "hours",
                                "options": "A\nB", "target": "nonsense"})  # fmt: skip
    assert (data.unit, data.options, data.target) == ("", (), None)


# --- edit, remove, reorder -----------------------------------------------------------------------


def answer(cadence: Cadence, question: Question) -> int:
    """An answer given to a version (as a submitted form stores it)."""
    with cadence.db.session() as session:
        row = QuestionAnswer(
            team_id=question.team_id, engagement_id=question.engagement_id,
            question_id=question.id, question_key=question.key, source="update", source_id=1,
            author_user_id=VENDOR, value=True, number=1.0, answered_at=NOW,
        )  # fmt: skip
        session.add(row)
        session.flush()
        return row.id


def test_an_edit_adds_the_next_version_and_the_answers_keep_the_question_as_asked(cadence):
    cadence_id = set_up(cadence)
    listed = open_list(cadence, cadence_id)
    listed = add(cadence, listed, {"text": "First", "kind": "short_text"})
    listed = add(cadence, listed, {"text": TEXT, "kind": "yes_no"})
    listed = add(cadence, listed, {"text": "Last", "kind": "date"})
    _, asked, _ = questions(cadence, cadence_id=cadence_id)
    answer_id = answer(cadence, asked)
    before = updates_of(cadence, listed["id"])
    view = editor(cadence, listed, edit=asked.id)
    assert view["blocks"][1]["element"]["initial_value"] == TEXT  # filled in
    reworded = "Were all critical and high patches applied within the SLA?"
    assert submit(cadence, view, {"text": reworded, "rule_action": "alert", "rule_on": "No"}) == {}
    listed = redrawn(cadence, listed["id"], before)
    now = questions(cadence, cadence_id=cadence_id)
    assert [q.text for q in now] == ["First", reworded, "Last"]
    edited = now[1]
    assert (edited.key, edited.position) == (asked.key, asked.position) and edited.id != asked.id
    assert edited.rule["action"] == "alert"
    with cadence.db.read_session() as session:
        old = session.get(Question, asked.id)
        kept = session.get(QuestionAnswer, answer_id)
        audited = session.exec(select(AuditEvent).where(AuditEvent.action == "edit")).one()
    assert old.retired_at is not None and old.text == TEXT  # the version asked, unchanged
    assert kept.question_id == asked.id  # the answer still points at the question as asked
    assert audited.before["text"] == TEXT and audited.after["text"] == reworded
    assert "Saved" in text_of(listed) and reworded in text_of(listed)
    # An edit that changes nothing writes nothing.
    before_rows = rows_of(cadence, Question), rows_of(cadence, AuditEvent)
    view = editor(cadence, listed, edit=edited.id)
    count = updates_of(cadence, listed["id"])
    assert submit(cadence, view, {}) == {}
    listed = redrawn(cadence, listed["id"], count)
    assert (rows_of(cadence, Question), rows_of(cadence, AuditEvent)) == before_rows
    assert "Nothing changed" in text_of(listed)


def test_questions_are_moved_and_removed_and_the_list_follows(cadence):
    cadence_id = set_up(cadence)
    listed = open_list(cadence, cadence_id)
    for text in ("One", "Two", "Three"):
        listed = add(cadence, listed, {"text": text, "kind": "short_text"})
    one, _, three = questions(cadence, cadence_id=cadence_id)
    listed = menu(cadence, listed, "down", one.id)
    assert [q.text for q in questions(cadence, cadence_id=cadence_id)] == ["Two", "One", "Three"]
    assert listed_texts(listed) == ["*1. Two*", "*2. One*", "*3. Three*"]
    listed = menu(cadence, listed, "up", three.id)
    assert [q.text for q in questions(cadence, cadence_id=cadence_id)] == ["Two", "Three", "One"]
    # The first has no "Move up", the last no "Move down".
    menus = [b["accessory"]["options"] for b in listed["blocks"] if b.get("accessory")]
    assert [o["value"].split(":")[0] for o in menus[0]] == ["edit", "down", "remove"]
    assert [o["value"].split(":")[0] for o in menus[-1]] == ["edit", "up", "remove"]
    stale = listed
    listed = menu(cadence, listed, "remove", three.id)
    assert [q.text for q in questions(cadence, cadence_id=cadence_id)] == ["Two", "One"]
    assert "Removed “Three”" in text_of(listed)
    with cadence.db.read_session() as session:
        assert session.get(Question, three.id).retired_at is not None
    # A menu drawn before the removal acts on nothing and says the list was redrawn.
    listed = menu(cadence, stale, "up", three.id)
    assert "out of date" in text_of(listed)
    assert [q.text for q in questions(cadence, cadence_id=cadence_id)] == ["Two", "One"]


# --- templates, and defaults copied onto a new cadence -------------------------------------------


def test_a_template_adds_its_questions_with_their_rules(cadence):
    cadence_id = set_up(cadence)
    listed = open_list(cadence, cadence_id)
    listed = add(cadence, listed, {"text": "Ours first", "kind": "short_text"})
    listed = choose_template(cadence, listed, SECURITY_REVIEW.key)
    rows = questions(cadence, cadence_id=cadence_id)
    assert [q.text for q in rows] == ["Ours first"] + [q.text for q in SECURITY_REVIEW.questions]
    rules = [q.rule for q in rows[1:5]]
    assert [(r["on"], r["action"]) for r in rules] == [
        (["No"], "concern"), (["Yes"], "concern"), (["No"], "concern"), (["Yes"], "alert"),
    ]  # fmt: skip
    assert all(r["severity"] == "high" and r["category"] == "security" for r in rules[:3])
    assert all(r["owner"] == "vendor" for r in rules[:3])
    assert rows[5].kind == "long_text" and rows[5].rule == {}
    assert f"Added the 5 questions of “{SECURITY_REVIEW.name}”" in text_of(listed)
    assert cadence.fake.block_errors == []


def test_every_template_is_valid_and_fits_an_update_form():
    for template in TEMPLATES.values():
        assert 3 <= len(template.questions) <= room_for(FormFamily.UPDATE)
        for question in template.questions:
            assert validate_definition(values_of(question.columns())) == question


def test_the_engagements_defaults_are_copied_onto_a_new_cadence(cadence):
    set_up(cadence)
    listed = open_list(cadence, "acme-payments")
    assert json.loads(listed["private_metadata"])["cadence_id"] is None
    assert "Default questions of Acme Payments" in text_of(listed)
    listed = add(cadence, listed, {"text": "Any scope creep?", "kind": "yes_no",
                                   "rule_action": "alert", "rule_on": "Yes"})  # fmt: skip
    listed = add(cadence, listed, {"text": "Confidence", "kind": "rating"})
    defaults = questions(cadence, cadence_id=None)
    made = schedule(cadence, NOW)  # through the schedule form
    copies = questions(cadence, cadence_id=made.id)
    assert [(q.text, q.kind, q.rule) for q in copies] == [
        (q.text, q.kind, q.rule) for q in defaults
    ]
    assert {q.key for q in copies}.isdisjoint(q.key for q in defaults)  # their own, to edit
    assert all(q.created_by == LEAD for q in copies)
    # Editing the cadence's copy leaves the defaults as they were.
    cadence_list = open_list(cadence, made.id)
    view = editor(cadence, cadence_list, edit=copies[1].id)
    assert submit(cadence, view, {"text": "Confidence in the plan"}) == {}
    assert [q.text for q in questions(cadence, cadence_id=None)] == ["Any scope creep?",
                                                                      "Confidence"]  # fmt: skip
    # A risk review's form keeps only what fits after its concerns.
    review = schedule(cadence, NOW, kind="risk_review")
    fits = min(2, room_for(FormFamily.RISK_REVIEW))
    assert len(questions(cadence, cadence_id=review.id)) == fits


# --- Slack's limits --------------------------------------------------------------------------------


def test_the_refusal_names_how_many_questions_fit_and_why():
    """Where a form's own fields leave room for fewer than 20 questions (Slack shows at most
    100 blocks in a form), the refusal says so and how many more fit."""
    said = room_words("cadence #4 (Risk review)", 9, 3, 10)
    assert said == (
        "Cadence #4 (Risk review) has 9 questions, and its form has room for 10 questions of "
        "your own after its own fields (Slack shows at most 100 blocks in a form): 3 more would "
        "not fit. 1 more fits."
    )
    assert "Remove one first" in room_words("cadence #4 (Risk review)", 10, 1, 10)
    assert room_words("cadence #4 (Risk review)", 7, 3, 10) is None
    said = room_words("the default questions of Acme", MAX_QUESTIONS, 1, MAX_QUESTIONS)
    assert said.startswith("The default questions of Acme has 20 questions")
    assert f"a form asks at most {MAX_QUESTIONS} questions" in said


def test_twenty_questions_fit_and_the_twenty_first_is_refused_with_how_many_fit(cadence):
    """Templates and adds up to 20; then "Add a question" says the form is full instead of
    opening the editor, a template adds nothing, and an editor opened before another lead
    filled the list is refused on its text field."""
    cadence_id = set_up(cadence)
    listed = open_list(cadence, cadence_id)
    for key in ("vendor_weekly", "sprint_review", "stakeholder_pulse"):
        listed = choose_template(cadence, listed, key)
    while len(questions(cadence, cadence_id=cadence_id)) < MAX_QUESTIONS - 1:
        listed = add(cadence, listed, {"text": "One more", "kind": "short_text"})
    late = editor(cadence, listed)  # opened with room for one
    add(cadence, open_list(cadence, cadence_id, user=ADMIN), {"text": "Last", "kind": "date"})
    assert len(questions(cadence, cadence_id=cadence_id)) == MAX_QUESTIONS
    errors = submit(cadence, late, {"text": "Too late", "kind": "short_text"})
    assert f"has {MAX_QUESTIONS} questions" in errors["text"], errors
    assert "Remove one first" in errors["text"], errors
    before, pushes = updates_of(cadence, listed["id"]), len(cadence.fake.calls_to("views.push"))
    with clock.fixed_at(NOW):
        cadence.sim.click(listed, QUESTION_ADD)
    listed = redrawn(cadence, listed["id"], before)
    assert f"a form asks at most {MAX_QUESTIONS} questions" in text_of(listed), text_of(listed)
    assert len(cadence.fake.calls_to("views.push")) == pushes  # no editor opened
    listed = choose_template(cadence, listed, "security_review")
    assert "The template “Security review” has 5 questions" in text_of(listed)
    assert len(questions(cadence, cadence_id=cadence_id)) == MAX_QUESTIONS
    assert "20 of at most 20 questions" in text_of(listed)
    assert cadence.fake.block_errors == []


def _concern(n: int) -> Concern:
    return Concern(id=1000 + n, team_id="T", engagement_id=1, title="t" * 150, severity="high",
                   category="security", owner_user_id=VENDOR, raised_by=LEAD)  # fmt: skip


def _asking(count: int) -> Asking:
    """`count` questions of every type in turn, each with long help (the most a form asks)."""
    kinds = list(QuestionType)
    asked = [
        Question(
            id=5000 + n,
            team_id="T",
            engagement_id=1,
            cadence_id=1,
            key=f"k{n}",
            position=n,
            text="q" * MAX_TEXT,
            kind=kinds[n % len(kinds)],
            required=True,
            help="h" * 300,
            options=[f"Option {i}" for i in range(10)],
            unit="hours",
            target=4.0,
            created_by=LEAD,
        )
        for n in range(count)
    ]
    return Asking(tuple(asked))


def test_each_forms_own_blocks_are_at_most_what_its_room_counts():
    """The worst case of each check-in form, built with the real builders (every KPI, every
    deliverable asked about, every blocker carried over, every concern listed, and as many
    questions as its room holds): its own blocks are at most the count its room is worked out
    from, and the whole form fits Slack's 100 blocks; a 20-question form of each family fits."""
    kpis = tuple(KpiField(i, f"KPI {i}", "%", 99.0, True) for i in range(1, MAX_KPIS + 1))
    due = date(2026, 12, 1)
    asked = Asked(tuple(DeliverableField(i, f"D{i}", due) for i in range(MAX_ASKED)), more=3)
    blockers = tuple(Blocker(f"Blocker {i}", due - timedelta(days=7)) for i in range(12))
    initial = UpdateInput(rag="amber", summary="s", reason="r", blockers="b")

    def forms(questions: int) -> dict[FormFamily, dict[str, Any]]:
        asking = _asking(questions)
        update = UpdateForm(1, "Acme", "status_update", kpis, checkin_id=1, initial=initial,
                            previous_blockers=blockers[:MAX_CARRIED_CHOICES], asked=asked,
                            prefilled_on=due, questions=asking)  # fmt: skip
        items = tuple(ReviewItem(_concern(n), True) for n in range(concerns_with(questions)))
        review = RiskReviewForm(1, "Acme", 1, items, more=5, questions=asking)
        survey = FeedbackForm(1, "Acme", "Globex", checkin_id=1, questions=asking)
        return {
            FormFamily.UPDATE: update_modal(update),
            FormFamily.FEEDBACK: feedback_modal(survey),
            FormFamily.RISK_REVIEW: risk_review_modal(review),
        }

    assert set(forms(0)) == set(FormFamily) == set(FORM_BLOCKS)
    for family in FormFamily:
        room = room_for(family)
        assert room == MAX_QUESTIONS  # a 20-question form of each family fits
        view = forms(room)[family]
        own = len(view["blocks"]) - (QUESTIONS_HEADING + room)
        assert own <= FORM_BLOCKS[family], (family, own)
        assert len(view["blocks"]) <= MODAL_BLOCKS, (family, len(view["blocks"]))
        assert len(forms(0)[family]["blocks"]) <= MODAL_BLOCKS


# --- who may ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("user", [VENDOR, STAKEHOLDER, OUTSIDER])
def test_only_leads_and_admins_manage_questions_and_a_refusal_changes_nothing(cadence, user):
    cadence_id = set_up(cadence)
    listed = open_list(cadence, cadence_id)
    listed = add(cadence, listed, {"text": "Kept", "kind": "short_text"})
    kept = questions(cadence, cadence_id=cadence_id)[0]
    view = editor(cadence, listed)
    before = rows_of(cadence, Question), rows_of(cadence, AuditEvent)
    with clock.fixed_at(NOW):
        for text in (f"questions {cadence_id}", "questions acme-payments"):
            said = text_of(wait_reply(cadence, cadence.sim.command(text, user=user)))
            assert "Only the leads of Acme Payments" in said, said
        dms = len(cadence.fake.messages(cadence.fake.dm_channel_id(user)))
        for action, value in ((QUESTION_ADD, None), (QUESTION_TEMPLATE, "security_review"),
                              (QUESTION_MENU, f"remove:{kept.id}")):  # fmt: skip
            cadence.sim.click(listed, action, user=user, value=value)
        dm = cadence.fake.dm_channel_id(user)
        told = cadence.wait_until(
            lambda: len(cadence.fake.messages(dm)) >= dms + 3 and cadence.fake.messages(dm)[dms:],
            what="three refusals by DM",
        )
    assert all("Only the leads of Acme Payments" in text_of(m) for m in told), told
    errors = submit(cadence, view, {"text": "Sneaked in", "kind": "short_text"}, user=user)
    assert "Only the leads of Acme Payments" in errors["text"]
    assert (rows_of(cadence, Question), rows_of(cadence, AuditEvent)) == before


def test_a_cadence_admin_manages_questions_too(cadence):
    cadence_id = set_up(cadence)
    listed = open_list(cadence, cadence_id, user=ADMIN)
    before = updates_of(cadence, listed["id"])
    assert submit(cadence, editor(cadence, listed, user=ADMIN),
                  {"text": "By the admin", "kind": "yes_no"}, user=ADMIN) == {}  # fmt: skip
    redrawn(cadence, listed["id"], before)
    assert [q.created_by for q in questions(cadence, cadence_id=cadence_id)] == [ADMIN]


def test_the_command_says_what_it_needs(cadence):
    set_up(cadence)
    with clock.fixed_at(NOW):
        said = text_of(wait_reply(cadence, cadence.sim.command("questions")))
        assert "Say which cadence" in said and "/cadence questions" in said
        said = text_of(wait_reply(cadence, cadence.sim.command("questions 999")))
        assert "There is no cadence #999" in said
        said = text_of(wait_reply(cadence, cadence.sim.command("questions nowhere-inc")))
        assert "nowhere-inc" in said
        # A handle of digits that names no cadence names the engagement.
        create_engagement(cadence, name="2027", channel=GENERAL)
    listed = open_list(cadence, "2027")
    assert "Default questions of 2027" in text_of(listed)
