"""Block Kit for managing custom questions: the list modal (a cadence's questions or an
engagement's defaults, each with Edit / Move up / Move down / Remove, an "Add a question"
button and a template to start from) and the editor modal, pushed on top of the list.

Pure: data in, view dict out. What people typed is escaped where Slack reads mrkdwn. The list
stays far inside a modal's 100 blocks (one section a question, at most `MAX_QUESTIONS`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    CheckboxesElement,
    ConfirmObject,
    DividerBlock,
    InputBlock,
    MarkdownTextObject,
    NumberInputElement,
    Option,
    OverflowMenuElement,
    PlainTextInputElement,
    RadioButtonsElement,
    SectionBlock,
    StaticSelectElement,
)
from slack_sdk.models.views import View

from bot.blocks.common import context, escape, fit_text, section
from bot.domain.concerns import CATEGORIES
from bot.domain.engagements import SEVERITIES, format_number
from bot.domain.questions.definition import (
    CHOICE_TYPES,
    MAX_HELP,
    MAX_OPTION,
    MAX_OPTIONS,
    MAX_TEXT,
    MAX_UNIT,
    OWNER_RULE_LABELS,
    RULE_ACTION_LABELS,
    RULE_TYPES,
    TYPE_LABELS,
    QuestionType,
    RuleAction,
    rule_of,
    type_of,
)
from bot.domain.questions.editing import HIGHER, LOWER, NO_RULE, REQUIRED
from bot.domain.questions.templates import Template
from storage.models import Question

QUESTIONS_VIEW = "questions_list"  # the list modal (no submit: each button acts at once)
QUESTION_MODAL = "question_form"  # the editor
QUESTION_MENU = "question_menu"  # a question's overflow menu: values `<what>:<question id>`
QUESTION_ADD = "question_add"
QUESTION_TEMPLATE = "question_template"
KIND_ACTION = "question_kind"  # the editor's type select: a change redraws the editor
MENU = {"edit": "Edit", "up": "Move up", "down": "Move down", "remove": "Remove"}
DIRECTIONS = {HIGHER: "A higher figure is better", LOWER: "A lower figure is better"}
RULE_ACTIONS = {NO_RULE: "Nothing: no rule", **{a.value: t for a, t in RULE_ACTION_LABELS.items()}}
OWNERS = {o.value: t for o, t in OWNER_RULE_LABELS.items()}


def _choices(choices: Mapping[str, str]) -> list[Option]:
    return [Option(value=value, label=label) for value, label in choices.items()]


def _initial(choices: Mapping[str, str], value: Any) -> Option | None:
    return Option(value=value, label=choices[value]) if value in choices else None


def rule_words(question: Question) -> str:
    """A question's rule in words (mrkdwn, escaped): “No” raises a high security concern…"""
    rule = rule_of(question)
    if rule is None:
        return ""
    answers = " or ".join(f"“{escape(a)}”" for a in rule.on)
    if rule.action == RuleAction.ALERT:
        return f"{answers} alerts the leads"
    owner = OWNER_RULE_LABELS[rule.owner].lower()
    return f"{answers} raises a {rule.severity} {rule.category} concern, owned by {owner}"


def question_line(number: int, question: Question) -> str:
    """One question in the list: its text, then its kind, whether required, its target or
    options, and its rule."""
    kind = type_of(question)
    facts = [TYPE_LABELS[kind] if kind else question.kind]
    facts.append("required" if question.required else "optional")
    if kind in CHOICE_TYPES:
        facts.append(" / ".join(escape(o) for o in question.options))
    if kind == QuestionType.NUMBER:
        unit = f" {escape(question.unit)}" if question.unit else ""
        if question.target is not None:
            sign = "≥" if question.higher_is_better else "≤"
            facts.append(f"target {sign} {format_number(question.target)}{unit}")
        elif unit:
            facts.append(f"in{unit}")
    rule = rule_words(question)
    lines = [f"*{number}. {escape(question.text)}*", " · ".join(facts)]
    if rule:
        lines.append(f":rotating_light: {rule}")
    if question.help:
        lines.append(f"_{escape(question.help)}_")
    return fit_text("\n".join(lines))


def _menu(question: Question, first: bool, last: bool) -> OverflowMenuElement:
    wanted = [w for w in MENU if not (w == "up" and first) and not (w == "down" and last)]
    return OverflowMenuElement(
        action_id=QUESTION_MENU,
        options=[Option(value=f"{w}:{question.id}", label=MENU[w]) for w in wanted],
    )


def questions_modal(
    *,
    title: str,
    intro: str,
    questions: Sequence[Question],
    limit: int,
    templates: Sequence[Template],
    metadata: Mapping[str, Any],
    notice: str | None = None,
) -> dict[str, Any]:
    """The list: `intro` (mrkdwn, escaped by the caller) says whose questions these are;
    `notice` what the last click did (or why it could not)."""
    blocks: list[Any] = [section(intro)]
    if notice:
        blocks.append(section(f":information_source: {escape(notice)}"))
    if not questions:
        blocks.append(
            context(
                "No questions of your own yet: the form asks only its own fields. Add one, or "
                "start from a template."
            )
        )
    for number, question in enumerate(questions, start=1):
        blocks.append(
            SectionBlock(
                block_id=f"question-{question.id}",
                text=MarkdownTextObject(text=question_line(number, question)),
                accessory=_menu(question, number == 1, number == len(questions)),
            )
        )
    blocks.append(DividerBlock())
    elements: list[Any] = [
        ButtonElement(text="Add a question", action_id=QUESTION_ADD, value="add", style="primary")
    ]
    if templates:
        elements.append(
            StaticSelectElement(
                action_id=QUESTION_TEMPLATE,
                placeholder="Start from a template",
                options=[Option(value=t.key, label=t.name[:MAX_OPTION]) for t in templates],
                confirm=ConfirmObject(
                    title="Add the template's questions?",
                    text="They are added after the questions here; edit or remove any of them "
                    "afterwards.",
                    confirm="Add them",
                    deny="Cancel",
                ),
            )
        )
    blocks.append(ActionsBlock(block_id="question-actions", elements=elements))
    blocks.append(
        context(
            f"{len(questions)} of at most {limit} questions, asked after the form's own fields. "
            "Editing or removing one never changes answers already given."
        )
    )
    view = View(
        type="modal",
        callback_id=QUESTIONS_VIEW,
        title=title[:24],
        close="Done",
        private_metadata=json.dumps(dict(metadata)),
        blocks=blocks,
    )
    return view.to_dict()


def _text(
    action_id: str,
    label: str,
    value: Any,
    *,
    max_length: int,
    optional: bool = True,
    multiline: bool = False,
    hint: str | None = None,
    placeholder: str | None = None,
) -> InputBlock:
    return InputBlock(
        block_id=action_id,
        label=label,
        optional=optional or None,
        hint=hint,
        element=PlainTextInputElement(
            action_id=action_id,
            multiline=multiline or None,
            max_length=max_length,
            initial_value=value or None,
            placeholder=placeholder,
        ),
    )


def _select(
    action_id: str,
    label: str,
    choices: Mapping[str, str],
    value: Any,
    *,
    optional: bool = True,
    hint: str | None = None,
) -> InputBlock:
    return InputBlock(
        block_id=action_id,
        label=label,
        optional=optional or None,
        hint=hint,
        element=StaticSelectElement(
            action_id=action_id,
            placeholder="Choose",
            options=_choices(choices),
            initial_option=_initial(choices, value),
        ),
    )


def _figure(action_id: str, label: str, value: Any, hint: str) -> InputBlock:
    return InputBlock(
        block_id=action_id,
        label=label,
        optional=True,
        hint=hint,
        element=NumberInputElement(
            action_id=action_id,
            is_decimal_allowed=True,
            initial_value=value if value not in (None, "") else None,
        ),
    )


def _kind_fields(kind: QuestionType, values: Mapping[str, Any]) -> list[Any]:
    """The fields only some types have: a choice's options, a number's unit, target,
    tolerance and direction, and the rule of a choice or yes/no question."""
    blocks: list[Any] = []
    if kind in CHOICE_TYPES:
        blocks.append(
            _text(
                "options",
                "Options",
                values.get("options"),
                max_length=MAX_OPTIONS * (MAX_OPTION + 1),
                optional=False,
                multiline=True,
                hint=f"2 to {MAX_OPTIONS}, one per line, at most {MAX_OPTION} characters each.",
            )
        )
    if kind == QuestionType.NUMBER:
        blocks += [
            _text("unit", "Unit", values.get("unit"), max_length=MAX_UNIT, placeholder="hours"),
            _figure(
                "target",
                "Target",
                values.get("target"),
                "Optional: the figure is judged against it like a KPI.",
            ),
            _figure(
                "tolerance",
                "Tolerance",
                values.get("tolerance"),
                "Optional: a figure between it and the target is amber; it lies below the "
                "target when higher is better, above it when lower is.",
            ),
            InputBlock(
                block_id="direction",
                label="Which way is better",
                optional=True,
                element=RadioButtonsElement(
                    action_id="direction",
                    options=_choices(DIRECTIONS),
                    initial_option=_initial(DIRECTIONS, values.get("direction") or HIGHER),
                ),
            ),
        ]
    if kind in RULE_TYPES:
        blocks += [
            DividerBlock(),
            section(
                "*A rule on the answer*: an answer that should raise the alarm on its own, "
                "once per check-in."
            ),
            _select(
                "rule_action",
                "When it is given",
                RULE_ACTIONS,
                values.get("rule_action") or NO_RULE,
            ),
            _text(
                "rule_on",
                "The answers that set it off",
                values.get("rule_on"),
                max_length=MAX_OPTIONS * (MAX_OPTION + 1),
                multiline=True,
                hint="One per line, as the options are written (Yes or No for a yes/no question).",
            ),
            _select(
                "rule_severity",
                "The concern's severity",
                {s: s.capitalize() for s in SEVERITIES},
                values.get("rule_severity") or "high",
            ),
            _select(
                "rule_category",
                "The concern's category",
                {c: c.capitalize() for c in CATEGORIES},
                values.get("rule_category") or "other",
            ),
            _select(
                "rule_owner", "The concern's owner", OWNERS, values.get("rule_owner") or "vendor"
            ),
        ]
    return blocks


def question_modal(
    *, intro: str, values: Mapping[str, Any], metadata: Mapping[str, Any], editing: bool
) -> dict[str, Any]:
    """The editor, empty for a new question or filled in (`editing.values_of`) for an edit:
    the question, its type (changing it redraws the form with that type's fields), whether it
    is required, its help, and the fields of its type. `values` are by field name."""
    kinds = {k.value: t for k, t in TYPE_LABELS.items()}
    try:
        kind = QuestionType(values.get("kind") or QuestionType.SHORT_TEXT)
    except ValueError:
        kind = QuestionType.SHORT_TEXT
    blocks: list[Any] = [
        section(intro),
        _text(
            "text",
            "Question",
            values.get("text"),
            max_length=MAX_TEXT,
            optional=False,
            placeholder="Were all critical patches applied within the SLA?",
        ),
        InputBlock(
            block_id=KIND_ACTION,
            label="Answer",
            dispatch_action=True,
            element=StaticSelectElement(
                action_id=KIND_ACTION,
                options=_choices(kinds),
                initial_option=_initial(kinds, kind.value),
            ),
        ),
        InputBlock(
            block_id="required",
            label="Must it be answered?",
            optional=True,
            element=CheckboxesElement(
                action_id="required",
                options=[Option(value=REQUIRED, label="Required")],
                initial_options=[Option(value=REQUIRED, label="Required")]
                if REQUIRED in (values.get("required") or ())
                else None,
            ),
        ),
        _text(
            "help",
            "Help under the question",
            values.get("help"),
            max_length=MAX_HELP,
            hint="Optional: what a good answer says.",
        ),
        *_kind_fields(kind, values),
    ]
    view = View(
        type="modal",
        callback_id=QUESTION_MODAL,
        title="Edit question" if editing else "New question",
        submit="Save" if editing else "Add question",
        close="Back",
        private_metadata=json.dumps(dict(metadata)),
        blocks=blocks,
    )
    return view.to_dict()
