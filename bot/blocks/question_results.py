"""Custom questions' answers as the views word them (pure): a number or rating question's
trend ("Team morale 3.2 → 3.8/5 (4 check-ins)"), a question's answers aggregated (its mean,
or the options chosen most with their counts), a rule that fired, and a survey's questions in
its results message.

Every figure is `figures.QuestionFigure` as computed (a survey's answers already held to whole
batches of three or more); nothing here counts again. What a lead typed (a question, an
option) is escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.blocks.common import MAX_SECTION_TEXT, context, escape, pack_sections
from bot.domain import checkin_kinds
from bot.domain.command_reference import shorten
from bot.domain.engagements import format_number
from bot.domain.feedback import MIN_ANSWERS
from bot.domain.figures import QuestionFigure, RuleFired
from bot.domain.questions.definition import QuestionType, RuleAction

MAX_QUESTION = 80  # a question's words in a line (the form has them whole)
MAX_OPTION_WORDS = 40
MAX_CHOSEN = 3  # the options named per question; the rest counted
MAX_CARD_TRENDS = 12  # trends on a health card (a card is one message: 50 blocks)
MAX_QUOTED = 500  # a text answer quoted in a survey's results (the export has it whole)
RULE_ACTION_WORDS = {RuleAction.CONCERN: "concern raised", RuleAction.ALERT: "leads alerted"}


def question_words(text: str) -> str:
    return escape(shorten(" ".join(text.split()), MAX_QUESTION))


def _answers(n: int) -> str:
    return f"{n} answer{'s' if n != 1 else ''}"


def figure(value: float, kind: str, unit: str, *, scale: bool = True) -> str:
    """A mean as the question counts it: `3.8/5` for a rating, `12.5 h` for a number."""
    if kind == QuestionType.RATING:
        return f"{value:.1f}/5" if scale else f"{value:.1f}"
    shown = format_number(round(value, 1))
    return f"{shown} {escape(unit)}" if unit and scale else shown


def trend_line(q: QuestionFigure) -> str | None:
    """`Team morale 3.2 → 3.8/5 (4 check-ins)`: the first and the last check-in's mean of
    the trend; None for a question without one (not a number or rating, or no answer shown)."""
    if not q.trend:
        return None
    last = q.trend[-1]
    n = len(q.trend)
    if n == 1:
        return f"{question_words(q.text)} {figure(last.mean, q.kind, q.unit)} (1 check-in)"
    first = figure(q.trend[0].mean, q.kind, q.unit, scale=False)
    return f"{question_words(q.text)} {first} → {figure(last.mean, q.kind, q.unit)} ({n} check-ins)"


def chosen_text(q: QuestionFigure) -> str:
    """`Scope change 3 · On track 1 (and 2 more)`: the options chosen most, with counts."""
    shown = [
        f"{escape(shorten(word, MAX_OPTION_WORDS))} {count}"
        for word, count in q.chosen[:MAX_CHOSEN]
    ]
    rest = len(q.chosen) - len(shown)
    return " · ".join(shown) + (f" (and {rest} more)" if rest > 0 else "")


def aggregate_line(q: QuestionFigure) -> str | None:
    """A question's answers since the last digest in one line: the mean of a number or
    rating, the options chosen most; None when none is shown."""
    if q.answers == 0:
        return None
    head = f"{question_words(q.text)} ({_answers(q.answers)})"
    if q.mean is not None:
        return f"{head}: mean {figure(q.mean, q.kind, q.unit)}"
    if q.chosen:
        return f"{head}: {chosen_text(q)}"
    return None


def fired_line(r: RuleFired) -> str:
    """`Risk review: “Security incidents since last?” Yes — concern #12 raised`."""
    where = f"{checkin_kinds.title(r.checkin_kind)}: " if r.checkin_kind else ""
    asked = f"“{question_words(r.question)}”" if r.question else f"question `{escape(r.key)}`"
    answer = f" {escape(shorten(r.answer, MAX_OPTION_WORDS * 2))}" if r.answer else ""
    try:
        did = RULE_ACTION_WORDS[RuleAction(r.action)]
    except ValueError:
        did = escape(r.action)
    if r.concern_id is not None and r.action == RuleAction.CONCERN:
        did = f"concern #{r.concern_id} raised"
    return f"{where}{asked}{answer} — {did}"


def withheld_note(questions: Sequence[QuestionFigure]) -> str | None:
    held = sum(q.withheld for q in questions)
    if not held:
        return None
    return (
        f"{_answers(held)} to survey questions not shown: a survey's answers count only in "
        f"groups of {MIN_ANSWERS} or more, so that nobody can be recognised."
    )


def card_lines(questions: Sequence[QuestionFigure], fired: Sequence[RuleFired]) -> list[str]:
    """The health card's "Your questions": each number and rating question's trend, and the
    last rule that fired; nothing at all for an engagement without either."""
    trends = [line for q in questions if (line := trend_line(q))]
    if not trends and not fired:
        return []
    lines = ["*Your questions*"]
    lines += trends[:MAX_CARD_TRENDS] or ["No number or rating answers in this period."]
    if len(trends) > MAX_CARD_TRENDS:
        lines.append(f"_…and {len(trends) - MAX_CARD_TRENDS} more: the export has every answer._")
    if fired:
        lines.append(f"Last rule fired: {fired_line(fired[0])}")
    note = withheld_note(questions)
    if note:
        lines.append(f"_{note}_")
    return lines


def digest_lines(questions: Sequence[QuestionFigure]) -> list[str]:
    """A digest entry's questions: each aggregated question answered since the last digest."""
    return [line for q in questions if (line := aggregate_line(q))]


def text_lines(q: QuestionFigure) -> list[str]:
    """A text question's answers in a survey's results: the question, then each answer quoted
    (in the order of their words, never with a name)."""
    if not q.texts:
        return []
    quoted = [f"> {escape(shorten(' '.join(t.split()), MAX_QUOTED))}" for t in q.texts]
    return [f"*{question_words(q.text)}* ({_answers(len(q.texts))})", *quoted]


def survey_blocks(questions: Sequence[QuestionFigure], room: int) -> list[Any]:
    """A survey's questions in its results message, within `room` blocks: each question's mean
    or the options chosen most, and the text questions' answers quoted, over its answers in the
    survey's window, shown only from MIN_ANSWERS answers up (the figures hold back the rest,
    and these are counted); past `room`, a line says the export has the rest."""
    lines = digest_lines(questions)
    quoted = [line for q in questions for line in text_lines(q)]
    note = withheld_note(questions)
    if (not lines and not quoted and not note) or room < 2:
        return []
    blocks: list[Any] = []
    wanted = pack_sections(["*Your questions*", *lines, *quoted]) if lines or quoted else []
    budget = room - (1 if note else 0) - (1 if len(wanted) > room - (1 if note else 0) else 0)
    blocks += wanted[: max(0, budget)]
    if len(wanted) > len(blocks):
        blocks.append(
            context("More answers to your questions than fit here: the export has them all.")
        )
    if note:
        blocks.append(context(note[:MAX_SECTION_TEXT]))
    return blocks
