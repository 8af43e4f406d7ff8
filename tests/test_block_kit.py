"""The plain-dict Block Kit (`bot/blocks/kit.py`) the update form and custom questions are built
with: what it gives is what slack_sdk's objects give for the same view (parsed and rendered again
by slack_sdk, unchanged) and what the stand-in Slack accepts, for the largest form and for every
kind of question filled in; and each of Slack's limits it keeps is refused, not sent."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from slack_sdk.models.views import View

from bot.blocks import kit
from bot.blocks.updates import update_modal
from bot.demo.fake_slack.blocks import validate_view
from bot.domain.engagements import MAX_KPIS
from bot.domain.questions.answering import Asking
from bot.domain.questions.definition import MAX_QUESTIONS, MAX_TEXT, QuestionType
from bot.domain.updates.deliverable_answers import (
    LATE,
    MAX_ASKED,
    Asked,
    DeliverableAnswer,
    DeliverableField,
)
from bot.domain.updates.evidence import MAX_CARRIED_CHOICES, Blocker, KpiField
from bot.domain.updates.form import UpdateForm
from bot.domain.updates.validation import UpdateInput
from storage.models import Question

DUE = date(2026, 12, 1)
FILLED: dict[QuestionType, Any] = {
    QuestionType.SHORT_TEXT: "short",
    QuestionType.LONG_TEXT: "long <text> & more",
    QuestionType.NUMBER: 4.5,
    QuestionType.SINGLE_CHOICE: "Option 3",
    QuestionType.MULTI_CHOICE: ["Option 1", "Option 9"],
    QuestionType.RATING: 5,
    QuestionType.YES_NO: False,
    QuestionType.DATE: "2026-12-24",
}


def _questions(count: int) -> tuple[Question, ...]:
    kinds = list(QuestionType)
    return tuple(
        Question(
            id=100 + n,
            team_id="T",
            engagement_id=1,
            cadence_id=1,
            key=f"k{n}",
            text="q" * MAX_TEXT,
            kind=kinds[n % len(kinds)],
            required=n % 2 == 0,
            help="h" * 300 if n % 3 else "",
            options=[f"Option {i}" for i in range(10)],
            unit="hours",
            target=4.0,
            tolerance=6.0,
            higher_is_better=False,
            created_by="U1",
        )
        for n in range(count)
    )


def _largest_form(editing: bool) -> UpdateForm:
    """Every KPI, every deliverable asked about (one answered late), every blocker carried over
    (one ticked), every question filled in: the most blocks and text the form holds."""
    kpis = tuple(
        KpiField(i, "K" * 200, "%", 99.0, True, tolerance=98.0) for i in range(1, MAX_KPIS + 1)
    )
    blockers = tuple(
        Blocker("b" * 500 + str(i), DUE - timedelta(days=7), i) for i in range(MAX_CARRIED_CHOICES)
    )
    asked = Asked(
        tuple(
            DeliverableField(i, "t" * 300, DUE, overdue=i % 2 == 0) for i in range(1, MAX_ASKED + 1)
        ),
        more=4,
    )
    questions = _questions(MAX_QUESTIONS)
    initial = UpdateInput(
        rag="red",
        summary="s" * MAX_TEXT,
        accomplishments="a",
        next_steps="n",
        blockers="b",
        confidence=2,
        kpi_values={k.id: 97.5 for k in kpis},
        reason="r",
        still_blocking=(blockers[0].text,),
        deliverables=(DeliverableAnswer(1, "t", DUE, LATE, DUE + timedelta(days=9), "why"),),
    )
    initial_values = {q.id: FILLED[QuestionType(q.kind)] for q in questions}
    return UpdateForm(
        1,
        "Acme <&> " + "x" * 70,
        "status_update",
        kpis,
        checkin_id=7,
        update_id=9 if editing else None,
        initial=initial,
        late=True,
        previous_blockers=blockers,
        prefilled_on=DUE,
        asked=asked,
        questions=Asking(questions, initial_values),
    )


@pytest.mark.parametrize("editing", [False, True])
def test_the_largest_update_form_is_what_slack_sdk_would_send_and_slack_accepts(editing: bool):
    view = update_modal(_largest_form(editing))
    assert validate_view(view) == []
    assert View(**view).to_dict() == view  # slack_sdk's own objects render the same JSON
    assert len(view["blocks"]) <= kit.MAX_VIEW_BLOCKS
    kinds = {b["element"]["type"] for b in view["blocks"] if b["type"] == "input"}
    assert {
        "static_select",
        "plain_text_input",
        "checkboxes",
        "radio_buttons",
        "datepicker",
        "number_input",
    } <= kinds


def test_an_empty_form_and_one_with_nothing_filled_in_are_as_slack_sdk_renders_them():
    for form in (
        UpdateForm(1, "Acme", "status_update", ()),
        UpdateForm(
            1,
            "Acme",
            "risk_review",
            (),
            checkin_id=2,
            questions=Asking(_questions(len(QuestionType))),
        ),
    ):
        view = update_modal(form)
        assert validate_view(view) == []
        assert View(**view).to_dict() == view


LIMITS = [
    ("a section's text", lambda: kit.section("s" * 3001)),
    ("a section's text is empty", lambda: kit.section("")),
    ("a block_id", lambda: kit.section("s", block_id="b" * 256)),
    ("a button's text", lambda: kit.button("t" * 76, "a", "v")),
    ("a button's value", lambda: kit.button("t", "a", "v" * 2001)),
    ("a Home tab's blocks", lambda: kit.home([kit.divider()] * 101)),
    ("a header's text", lambda: kit.header("h" * 151)),
    ("an option's text", lambda: kit.option("v", "t" * 76)),
    ("an option's value", lambda: kit.option("v" * 151, "t")),
    ("an option's description", lambda: kit.option("v", "t", "d" * 76)),
    ("an input's label", lambda: kit.input_block("b", "l" * 2001, kit.datepicker("a"))),
    ("an input's hint", lambda: kit.input_block("b", "l", kit.datepicker("a"), hint="h" * 2001)),
    ("a block_id", lambda: kit.input_block("b" * 256, "l", kit.datepicker("a"))),
    ("an action_id", lambda: kit.datepicker("a" * 256)),
    ("a placeholder", lambda: kit.text_input("a", placeholder="p" * 151)),
    ("max_length", lambda: kit.text_input("a", max_length=3001)),
    ("a select's options", lambda: kit.static_select("a", [kit.option("v", "t")] * 101)),
    ("a select needs options", lambda: kit.static_select("a", [])),
    ("radio buttons' options", lambda: kit.radio_buttons("a", [kit.option("v", "t")] * 11)),
    ("checkboxes' options", lambda: kit.checkboxes("a", [kit.option("v", "t")] * 11)),
    ("YYYY-MM-DD", lambda: kit.datepicker("a", initial_date="1 Dec 2026")),
    ("a modal's title", lambda: kit.modal(callback_id="c", title="t" * 25, blocks=[])),
    ("a modal's submit", lambda: kit.modal(callback_id="c", title="t", blocks=[], submit="s" * 25)),
    (
        "a modal's blocks",
        lambda: kit.modal(callback_id="c", title="t", blocks=[kit.header("h")] * 101),
    ),
    (
        "private_metadata",
        lambda: kit.modal(callback_id="c", title="t", blocks=[], private_metadata="m" * 3001),
    ),
]


@pytest.mark.parametrize("what, build", LIMITS, ids=[w for w, _ in LIMITS])
def test_each_limit_is_refused_before_slack(what: str, build):
    with pytest.raises(kit.BlockKitLimit, match=what):
        build()


def test_at_each_limit_it_is_accepted_by_the_stand_in():
    blocks = [
        kit.section("s" * 3000),
        kit.header("h" * 150),
        kit.input_block(
            "b" * 255,
            "l" * 2000,
            kit.static_select(
                "a" * 255, [kit.option("v" * 150, "t" * 75, "d" * 75)] * 100, placeholder="p" * 150
            ),
            hint="h" * 2000,
        ),
        kit.input_block(
            "r", "l", kit.radio_buttons("r", [kit.option(str(i), "t") for i in range(10)])
        ),
        kit.input_block("t", "l", kit.text_input("t", max_length=3000, multiline=True)),
    ]
    view = kit.modal(
        callback_id="c",
        title="t" * 24,
        blocks=blocks,
        submit="s" * 24,
        close="c" * 24,
        private_metadata="m" * 3000,
    )
    assert validate_view(view) == []


def test_a_home_at_its_limits_is_accepted_by_the_stand_in():
    blocks = [
        kit.header("h" * 150),
        kit.section(
            "s" * 3000, block_id="b" * 255, accessory=kit.button("t" * 75, "a" * 255, "v" * 2000)
        ),
        kit.divider(),
    ]
    view = kit.home(blocks + [kit.context("c")] * (kit.MAX_VIEW_BLOCKS - len(blocks)))
    assert validate_view(view) == []
