"""The custom questions' part of the CSV export: `answers.csv`, one row per answer, with the
question as it was asked (never as it reads now) and the answer in words
(`definition.answer_text`, as summaries and Home write it).

A survey's answers keep feedback's anonymity (`feedback_results`): only from batches that have
closed and hold `MIN_ANSWERS` answers or more to the question, a batch in the range when it
starts in it, and then whole; in the order of their words (never of their arrival); the time
written is the batch's start, not the answer's; and no row of a batch that holds an anonymous
answer names anyone (a named row beside it would say whose the anonymous one is, since who
answered a survey is known). Other forms' answers carry their author and time, oldest first.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, true
from sqlmodel import col, select

from bot.domain import feedback_results
from bot.domain.export_files import (
    ExportFile,
    ExportScope,
    at,
    at_columns,
    number,
    who,
    who_columns,
    write_csv,
)
from bot.domain.feedback import MIN_ANSWERS
from bot.domain.questions.definition import answer_text, outcome, type_of
from storage.models import CheckIn, Engagement, Question, QuestionAnswer

ANSWERS_FILE = "answers.csv"
ANSWERS_HEADER = [
    "engagement", "engagement_name", "cadence", *at_columns("checkin_scheduled_for"), "form",
    "question_key", "question", "question_type", "options", "unit", "target", "target_direction",
    "answer", "number", "outcome", *who_columns("author"), *at_columns("answered_at"),
]  # fmt: skip
ANSWER_COLUMN = ANSWERS_HEADER.index("answer")
AUTHOR_COLUMN = ANSWERS_HEADER.index("author")
FORM_WORDS = {"update": "update", "feedback": "feedback", "risk_review": "risk review"}
OPTION_SEPARATOR = " | "


def _row(
    engagement: Engagement,
    answer: QuestionAnswer,
    question: Question,
    scheduled: datetime | None,
    *,
    author: str,
    answered: datetime,
    tz: str,
) -> list[object]:
    kind = type_of(question)
    judged = outcome(question, answer.value)
    direction = "" if question.target is None else (
        "at least" if question.higher_is_better else "at most"
    )  # fmt: skip
    return [
        engagement.handle, engagement.name, question.cadence_id or "", *at(scheduled, tz),
        FORM_WORDS.get(answer.source, answer.source), answer.question_key, question.text,
        question.kind, OPTION_SEPARATOR.join(question.options or ()), question.unit,
        number(question.target), direction,
        answer_text(kind, answer.value, question.unit) if kind else str(answer.value),
        number(answer.number), judged.value if judged else "", *who(author),
        *at(answered, tz),
    ]  # fmt: skip


def answer_rows(scope: ExportScope) -> list[list[object]]:
    """The rows of `answers.csv` (one SELECT): named forms' answers in the range, oldest
    first; then the surveys' shown batches (see the module's docstring)."""
    in_range = and_(true(), *scope.within(col(QuestionAnswer.answered_at)))
    found = scope.session.exec(
        select(QuestionAnswer, Question, Engagement, CheckIn)
        .join(Question, col(Question.id) == col(QuestionAnswer.question_id))
        .join(Engagement, col(Engagement.id) == col(QuestionAnswer.engagement_id))
        .outerjoin(CheckIn, col(CheckIn.id) == col(QuestionAnswer.checkin_id))
        .where(QuestionAnswer.team_id == scope.team_id)
        .where(QuestionAnswer.engagement_id == scope.engagement_id)
        .where(or_(col(QuestionAnswer.source) == "feedback", in_range))
        .order_by(col(QuestionAnswer.answered_at), col(QuestionAnswer.id))
    ).all()
    rows: list[list[object]] = []
    batches: dict[str, tuple[feedback_results.Batch, list[Any]]] = {}
    for answer, question, engagement, checkin in found:
        scheduled = checkin.scheduled_for if checkin is not None else None
        if answer.source != "feedback":
            rows.append(
                _row(engagement, answer, question, scheduled,
                     author=answer.author_user_id or "", answered=answer.answered_at,
                     tz=scope.tz)
            )  # fmt: skip
            continue
        batch = feedback_results.batch_of(
            counted=answer.answered_at,
            checkin_id=answer.checkin_id,
            opened=checkin.created_at if checkin is not None else None,
            closes=checkin.window_closes_at if checkin is not None else None,
        )
        if batch.counts_from > scope.now:
            continue
        if (scope.since is not None and batch.starts < scope.since) or (
            scope.until is not None and batch.starts >= scope.until
        ):
            continue
        batches.setdefault(batch.key, (batch, []))[1].append(
            (answer, question, engagement, scheduled)
        )
    for batch, answers in sorted(batches.values(), key=lambda b: (b[0].starts, b[0].key)):
        rows += _survey_rows(batch, answers, scope.tz)
    return rows


def _survey_rows(batch: feedback_results.Batch, answers: list[Any], tz: str) -> list[list[object]]:
    """A survey batch's rows: per question, only from MIN_ANSWERS answers up, in the order of
    their words; names only where nobody in the batch answered anonymously."""
    by_key: dict[str, list[Any]] = {}
    for item in answers:
        by_key.setdefault(item[0].question_key, []).append(item)
    anonymous = any(a.author_user_id is None for a, *_ in answers)
    out: list[tuple[tuple, list[object]]] = []
    for key, items in by_key.items():
        if len(items) < MIN_ANSWERS:
            continue
        for answer, question, engagement, scheduled in items:
            row = _row(
                engagement, answer, question, scheduled,
                author="" if anonymous else (answer.author_user_id or ""),
                answered=batch.starts, tz=tz,
            )  # fmt: skip
            words = str(row[ANSWER_COLUMN])
            out.append(((question.position, key, words.casefold(), words, row[AUTHOR_COLUMN]), row))
    return [row for _, row in sorted(out, key=lambda o: o[0])]


def export_files(scope: ExportScope) -> tuple[ExportFile, ...]:
    rows = answer_rows(scope)
    return (ExportFile(ANSWERS_FILE, len(rows), write_csv(ANSWERS_HEADER, rows)),)
