"""Block Kit for custom questions on a check-in's form (pure): one input block per question
version (block id = action id = `definition.action_id`), the answers as summary lines (a number
judged against its target like a KPI), and a rule's alert to a lead.

Limits kept: each question is one block (a form holds at most 20 of them), a label at most
2,000 characters (a question's text is at most 300), at most 10 options of 75 characters in
radio buttons and checkboxes (`definition`), what a person typed escaped wherever Slack reads
mrkdwn."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.blocks import kit
from bot.blocks.common import escape, message, pack_sections
from bot.domain.engagements import format_number
from bot.domain.questions.answering import MAX_SHORT_ANSWER, Answered, Asking
from bot.domain.questions.definition import (
    MAX_ANSWER,
    NO,
    YES,
    QuestionType,
    action_id,
    type_of,
)
from bot.domain.updates.evidence import KpiOutcome
from storage.models import Question

HEADER = "A few more questions"
RATING_WORDS = {1: "1 — lowest", 2: "2", 3: "3", 4: "4", 5: "5 — highest"}
OUTCOME_MARKS = {KpiOutcome.MET: "✅", KpiOutcome.WITHIN: "🟡", KpiOutcome.MISSED: "⚠️"}
MAX_SHOWN = 500  # an answer in a summary line; the record keeps it whole


def target_text(
    target: float | None, tolerance: float | None, higher_is_better: bool, unit: str
) -> str:
    """`≤ 5 h`, `≥ 90%, amber ≥ 80%`; empty without a target."""
    if target is None:
        return ""
    op = "≥" if higher_is_better else "≤"
    unit = f" {unit}" if unit and unit != "%" else unit
    amber = f", amber {op} {format_number(tolerance)}{unit}" if tolerance is not None else ""
    return f"{op} {format_number(target)}{unit}{amber}"


def label_of(q: Question) -> str:
    """The question's text; a number's with its unit and target (`Defects (count) — target ≤ 5`)."""
    if type_of(q) != QuestionType.NUMBER:
        return q.text
    unit = f" ({q.unit})" if q.unit else ""
    target = target_text(q.target, q.tolerance, q.higher_is_better, q.unit)
    return f"{q.text}{unit}" + (f" — target {target}" if target else "")


def _options(q: Question) -> list[dict[str, Any]]:
    """A choice's options; the value is the option's position in this (immutable) version."""
    return [kit.option(str(i), text) for i, text in enumerate(q.options)]


def _element(q: Question, kind: QuestionType, value: Any) -> dict[str, Any]:
    aid = action_id(q)
    if kind in (QuestionType.SHORT_TEXT, QuestionType.LONG_TEXT):
        long = kind == QuestionType.LONG_TEXT
        return kit.text_input(
            aid,
            multiline=long,
            max_length=MAX_ANSWER if long else MAX_SHORT_ANSWER,
            initial_value=str(value) if value else None,
        )
    if kind == QuestionType.NUMBER:
        return kit.number_input(
            aid,
            decimal=True,
            initial_value=format_number(float(value)) if value is not None else None,
        )
    if kind == QuestionType.SINGLE_CHOICE:
        options = _options(q)
        chosen = next((o for o, t in zip(options, q.options, strict=True) if t == value), None)
        return kit.radio_buttons(aid, options, initial=chosen)
    if kind == QuestionType.MULTI_CHOICE:
        options = _options(q)
        picked = set(value) if isinstance(value, list) else set()
        chosen = [o for o, t in zip(options, q.options, strict=True) if t in picked]
        return kit.checkboxes(aid, options, initial=chosen)
    if kind == QuestionType.RATING:
        options = [kit.option(str(n), t) for n, t in RATING_WORDS.items()]
        chosen = next((o for o in options if value is not None and o["value"] == str(value)), None)
        return kit.radio_buttons(aid, options, initial=chosen)
    if kind == QuestionType.YES_NO:
        options = [kit.option("yes", YES), kit.option("no", NO)]
        chosen = options[0] if value is True else options[1] if value is False else None
        return kit.radio_buttons(aid, options, initial=chosen)
    return kit.datepicker(aid, initial_date=str(value) if value else None)


def question_blocks(asking: Asking) -> list[kit.Block]:
    """A heading and one input block per question, filled in from `asking.initial`; nothing
    when the form asks none. Plain dicts (`bot/blocks/kit.py`), as the update form is."""
    blocks: list[kit.Block] = []
    for q in asking.questions:
        kind = type_of(q)
        if kind is None:
            continue
        blocks.append(
            kit.input_block(
                action_id(q),
                label_of(q)[: kit.MAX_LABEL],
                _element(q, kind, asking.initial.get(q.id)),
                optional=not q.required,
                hint=q.help[: kit.MAX_LABEL] if q.help else None,
            )
        )
    return [kit.header(HEADER), *blocks] if blocks else []


def answer_line(answered: Answered) -> str:
    """`*Defects this sprint*: ✅ 3 (target ≤ 5)`, `*Any incident?*: Yes`."""
    question = f"*{escape(answered.text)}*"
    words = escape(_fit(answered.words))
    outcome = answered.outcome
    if outcome is None:
        return f"{question}: {words}"
    target = target_text(
        answered.target, answered.tolerance, answered.higher_is_better, answered.unit
    )
    return f"{question}: {OUTCOME_MARKS[outcome]} {words} (target {escape(target)})"


def answer_sections(answers: Sequence[Answered], title: str = "Answers") -> list[Any]:
    """The answers given, one line each (questions left empty are left out)."""
    lines = [answer_line(a) for a in answers if a.value not in (None, "", [])]
    return pack_sections([f"*{title}*", *lines]) if lines else []


def _fit(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 1] + "…"


def rule_alert(
    *,
    engagement_name: str,
    record: str,
    question: str,
    answer: str,
    author: str | None,
    link: str | None,
    channel_id: str | None,
) -> dict[str, Any]:
    """A lead's DM when an answer trips its question's rule: the question, the answer, who
    answered (nobody for a survey's), and where to read the answer."""
    lines = rule_alert_lines(
        engagement_name=engagement_name,
        record=record,
        question=question,
        answer=answer,
        author=author,
        link=link,
        channel_id=channel_id,
    )
    fallback = f"{engagement_name}: an answer to a {record} raised the alarm"
    return message(escape(fallback), pack_sections(lines))


def rule_alert_lines(
    *,
    engagement_name: str,
    record: str,
    question: str,
    answer: str,
    author: str | None,
    link: str | None,
    channel_id: str | None,
) -> list[str]:
    """The rule alert's lines: its own DM's, or one entry of a lead's daily round-up."""
    name = escape(engagement_name)
    who = f"<@{author}> answered" if author else "An answer said"
    headline = f"🔔 *{name}*: an answer to a {record} raised the alarm."
    lines = [headline, f"*{escape(question)}*", f"{who}: *{escape(_fit(answer))}*"]
    if link:
        lines.append(f"<{link}|See the answer>")
    elif channel_id:
        lines.append(f"The answers are in <#{channel_id}>.")
    else:
        lines.append("You get the survey's results, with every answer counted, as usual.")
    return lines
