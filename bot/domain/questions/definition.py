"""What a custom question is, pure: its types, its rule, its limits, and how its answer is
judged. Shared by the editor, the forms, the summaries, the figures and the export.

A question is stored as immutable versions (`storage.models.Question`): an edit retires one
version and adds the next under the same `key`, so an answer always points at the question as
it was asked. Limits follow Slack's: a modal holds 100 blocks and each question is one input
block; radio buttons and checkboxes hold 10 options of 75 characters; a label 2,000 characters
(we keep 300: a question, not an essay).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Any

from bot.domain import moments
from bot.domain.concerns import CATEGORIES
from bot.domain.engagements import SEVERITIES, format_number
from bot.domain.targets import KpiOutcome, kpi_outcome
from storage.models import Question

MAX_QUESTIONS = 20  # per cadence (and per engagement's defaults): a form, not a census
MAX_TEXT = 300
MAX_HELP = 300
MAX_OPTIONS = 10  # Slack's radio buttons and checkboxes hold at most 10 options
MAX_OPTION = 75  # Slack's option text: at most 75 characters
MAX_UNIT = 16
MAX_ANSWER = 3000  # a long text answer, like every free text Cadence stores
RATINGS = (1, 2, 3, 4, 5)
YES, NO = "Yes", "No"


class QuestionType(StrEnum):
    SHORT_TEXT = "short_text"
    LONG_TEXT = "long_text"
    NUMBER = "number"
    SINGLE_CHOICE = "single_choice"
    MULTI_CHOICE = "multi_choice"
    RATING = "rating"
    YES_NO = "yes_no"
    DATE = "date"


TYPE_LABELS: dict[QuestionType, str] = {
    QuestionType.SHORT_TEXT: "Short text",
    QuestionType.LONG_TEXT: "Long text",
    QuestionType.NUMBER: "Number",
    QuestionType.SINGLE_CHOICE: "Single choice",
    QuestionType.MULTI_CHOICE: "Multiple choice",
    QuestionType.RATING: "Rating 1–5",
    QuestionType.YES_NO: "Yes / no",
    QuestionType.DATE: "Date",
}
CHOICE_TYPES = (QuestionType.SINGLE_CHOICE, QuestionType.MULTI_CHOICE)
# The types a rule may watch: an answer chosen from a list (a free text or a figure is judged
# by people, or by its target, not by a rule).
RULE_TYPES = (*CHOICE_TYPES, QuestionType.YES_NO)
# The types whose answers the health card and digest aggregate (a trend or a distribution).
NUMERIC_TYPES = (QuestionType.NUMBER, QuestionType.RATING, QuestionType.YES_NO)


class RuleAction(StrEnum):
    CONCERN = "concern"  # raise a concern on the engagement's register
    ALERT = "alert"  # tell the engagement's leads


class OwnerRule(StrEnum):
    """Who owns a concern a rule raises."""

    VENDOR = "vendor"  # the engagement's first vendor contact (else its first lead)
    AUTHOR = "author"  # who answered (an anonymous answer: the vendor rule)
    LEAD = "lead"  # the engagement's first lead


RULE_ACTION_LABELS = {
    RuleAction.CONCERN: "Raise a concern",
    RuleAction.ALERT: "Alert the leads",
}
OWNER_RULE_LABELS = {
    OwnerRule.VENDOR: "The vendor's first contact",
    OwnerRule.AUTHOR: "Whoever answered",
    OwnerRule.LEAD: "The first lead",
}


@dataclass(frozen=True)
class Rule:
    """An answer that raises the alarm on its own: when the answer is one of `on` (any of them
    for a multiple choice), raise a concern (severity, category, owner rule) or alert the
    leads. Fires once per check-in and question (`storage.models.QuestionRuleFired`)."""

    on: tuple[str, ...]
    action: RuleAction
    severity: str = "high"
    category: str = "other"
    owner: OwnerRule = OwnerRule.VENDOR

    def to_json(self) -> dict[str, Any]:
        return {
            "on": list(self.on),
            "action": self.action.value,
            "severity": self.severity,
            "category": self.category,
            "owner": self.owner.value,
        }


def rule_of(question: Question) -> Rule | None:
    """A stored question's rule, or None (none set, or one this version cannot read)."""
    raw = question.rule or {}
    on = raw.get("on")
    if not isinstance(on, list) or not on:
        return None
    try:
        action = RuleAction(raw.get("action"))
        owner = OwnerRule(raw.get("owner", OwnerRule.VENDOR))
    except ValueError:
        return None
    severity = raw.get("severity") if raw.get("severity") in SEVERITIES else "high"
    category = raw.get("category") if raw.get("category") in CATEGORIES else "other"
    return Rule(tuple(str(v) for v in on), action, severity, category, owner)


def type_of(question: Question) -> QuestionType | None:
    """A stored question's type, or None for one this version does not know."""
    try:
        return QuestionType(question.kind)
    except ValueError:
        return None


def choices_of(question: Question) -> tuple[str, ...]:
    """What a rule can watch on this question: its options, or Yes and No."""
    kind = type_of(question)
    if kind in CHOICE_TYPES:
        return tuple(question.options)
    if kind == QuestionType.YES_NO:
        return (YES, NO)
    return ()


def action_id(question: Question) -> str:
    """The form's block and action id for one version of a question (the form lists the
    versions it asked in its private_metadata; submit re-checks each against the database)."""
    return f"question_{question.id}"


def number_of(kind: QuestionType, value: Any) -> float | None:
    """The figure trends read from an answer: a number, a rating, yes as 1 and no as 0."""
    if value is None:
        return None
    if kind in (QuestionType.NUMBER, QuestionType.RATING):
        return float(value)
    if kind == QuestionType.YES_NO:
        return 1.0 if value else 0.0
    return None


def chosen_words(kind: QuestionType, value: Any) -> tuple[str, ...]:
    """An answer as the words a rule matches: the options chosen, or Yes / No."""
    if value is None:
        return ()
    if kind == QuestionType.SINGLE_CHOICE:
        return (str(value),)
    if kind == QuestionType.MULTI_CHOICE:
        return tuple(str(v) for v in value)
    if kind == QuestionType.YES_NO:
        return (YES if value else NO,)
    return ()


def fires(rule: Rule | None, kind: QuestionType, value: Any) -> bool:
    """True when an answer is one the rule watches for."""
    return rule is not None and any(word in rule.on for word in chosen_words(kind, value))


def outcome(question: Question, value: Any) -> KpiOutcome | None:
    """A number answer against the question's target, judged like a KPI (met, within the
    tolerance, missed); None without a target or a figure."""
    if type_of(question) != QuestionType.NUMBER or question.target is None or value is None:
        return None
    return kpi_outcome(float(value), question.target, question.higher_is_better, question.tolerance)


def answer_text(kind: QuestionType, value: Any, unit: str = "") -> str:
    """An answer in words, the one way summaries, the export and Home write it."""
    if value is None or value == "" or value == []:
        return "–"
    if kind == QuestionType.NUMBER:
        return f"{format_number(float(value))}{(' ' + unit) if unit else ''}"
    if kind == QuestionType.RATING:
        return f"{int(value)}/5"
    if kind == QuestionType.YES_NO:
        return YES if value else NO
    if kind == QuestionType.MULTI_CHOICE:
        return ", ".join(str(v) for v in value)
    if kind == QuestionType.DATE:
        return moments.day(date.fromisoformat(str(value)))
    return str(value)


def same_question(a: Question, b: Question) -> bool:
    """Two versions ask the same thing (a reorder is not a change): used for prefill."""
    return a.id == b.id or _asked(a) == _asked(b)


def _asked(q: Question) -> tuple:
    return (q.text, q.kind, tuple(q.options), q.unit, q.target, q.tolerance, q.higher_is_better)


def definition_of(question: Question) -> Mapping[str, Any]:
    """A question as its audit record and template copies hold it."""
    return {
        "text": question.text,
        "kind": question.kind,
        "required": question.required,
        "help": question.help,
        "options": list(question.options),
        "unit": question.unit,
        "target": question.target,
        "tolerance": question.tolerance,
        "higher_is_better": question.higher_is_better,
        "rule": dict(question.rule or {}),
    }


def sorted_questions(questions: Sequence[Question]) -> list[Question]:
    return sorted(questions, key=lambda q: (q.position, q.id or 0))
