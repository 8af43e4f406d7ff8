"""Answering a check-in's custom questions: which ones its form asks (and filled with what),
what a valid answer is by type, and storing the answers in the form's own transaction.

A form lists the versions it asked in its private_metadata (`"questions": [ids]`); that is only
a hint, so the submit re-checks each id against the check-in's cadence (`recheck`). Answers are
stored as `QuestionAnswer` rows pointing at the version asked (an edit of a question never
rewrites them) and, for the record's history, as `Answered` snapshots in its own content (an
update's revision, a risk review's answers). An anonymous survey answer is stored without its
author and with its survey batch's moment, like its feedback row, so nothing ties it to them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from bot.domain.errors import FieldErrors, UserError
from bot.domain.questions import queries
from bot.domain.questions.definition import (
    MAX_ANSWER,
    NO,
    RATINGS,
    YES,
    QuestionType,
    action_id,
    answer_text,
    number_of,
    same_question,
    type_of,
)
from bot.domain.targets import KpiOutcome, kpi_outcome
from storage.models import Question, QuestionAnswer

MAX_SHORT_ANSWER = 300  # a short text answer: a line, not a paragraph
SOURCES = ("update", "feedback", "risk_review")
DAMAGED = "This form is damaged; open it again from the check-in's button."


@dataclass(frozen=True)
class Asking:
    """The questions a form asks, in order, and what each is filled with (by version id): the
    person's last answer where the question is unchanged, or, for an edit, the answer given."""

    questions: tuple[Question, ...] = ()
    initial: Mapping[int, Any] = field(default_factory=dict)

    @property
    def ids(self) -> list[int]:
        return [q.id for q in self.questions if q.id is not None]

    def metadata(self) -> dict[str, Any]:
        """What the form carries in its private_metadata (nothing when it asks nothing)."""
        return {"questions": self.ids} if self.questions else {}


@dataclass(frozen=True)
class Answered:
    """One question as it was asked and what was said, as a record's content keeps it (the
    summary and the history read this, whatever became of the question since)."""

    question_id: int
    key: str
    text: str
    kind: str
    value: Any
    unit: str = ""
    target: float | None = None
    tolerance: float | None = None
    higher_is_better: bool = True

    @property
    def type(self) -> QuestionType | None:
        try:
            return QuestionType(self.kind)
        except ValueError:
            return None

    @property
    def words(self) -> str:
        kind = self.type
        return answer_text(kind, self.value, self.unit) if kind else str(self.value)

    @property
    def outcome(self) -> KpiOutcome | None:
        """A number against the target it had when asked (like a KPI), else None."""
        if self.type != QuestionType.NUMBER or self.target is None or self.value is None:
            return None
        return kpi_outcome(float(self.value), self.target, self.higher_is_better, self.tolerance)

    def as_json(self) -> dict[str, Any]:
        return {
            "question_id": self.question_id,
            "key": self.key,
            "text": self.text,
            "kind": self.kind,
            "value": self.value,
            "unit": self.unit,
            "target": self.target,
            "tolerance": self.tolerance,
            "higher_is_better": self.higher_is_better,
        }

    @classmethod
    def from_json(cls, data: Any) -> Answered | None:
        try:
            return cls(
                question_id=int(data["question_id"]),
                key=str(data.get("key") or ""),
                text=str(data["text"]),
                kind=str(data["kind"]),
                value=data.get("value"),
                unit=str(data.get("unit") or ""),
                target=data.get("target"),
                tolerance=data.get("tolerance"),
                higher_is_better=bool(data.get("higher_is_better", True)),
            )
        except (AttributeError, KeyError, TypeError, ValueError):
            return None


def answered_of(raw: Any) -> tuple[Answered, ...]:
    """The answers a record's content kept (`content["questions"]`); none before there were."""
    items = raw if isinstance(raw, list) else []
    found = (Answered.from_json(a) for a in items)
    return tuple(a for a in found if a is not None)


def snapshot(questions: Sequence[Question], values: Mapping[int, Any]) -> list[dict[str, Any]]:
    """Every question asked, as asked, with its answer (None when left empty): what a record's
    content keeps, so an edit asks the same versions again and the summary reads them."""
    return [
        Answered(
            question_id=q.id,
            key=q.key,
            text=q.text,
            kind=q.kind,
            value=values.get(q.id),
            unit=q.unit,
            target=q.target,
            tolerance=q.tolerance,
            higher_is_better=q.higher_is_better,
        ).as_json()
        for q in questions
        if q.id is not None
    ]


# --- which questions a form asks ---------------------------------------------------------------


def for_checkin(
    session: Session, *, engagement_id: int, cadence_id: int, author: str | None
) -> Asking:
    """The questions a check-in's cadence asks now, filled with `author`'s last answers where
    the question is unchanged (`author` None: nothing filled in)."""
    questions = tuple(
        q
        for q in queries.current(session, engagement_id=engagement_id, cadence_id=cadence_id)
        if type_of(q) is not None
    )
    if not questions or author is None:
        return Asking(questions)
    return Asking(questions, last_answers(session, engagement_id, author, questions))


def last_answers(
    session: Session, engagement_id: int, author: str, questions: Sequence[Question]
) -> dict[int, Any]:
    """Prefill, read in two set-based SELECTs: `author`'s latest answer to each question's key
    on the engagement, kept where the version they answered asks the same thing. Anonymous
    answers have no author and are never found."""
    keys = {q.key for q in questions}
    latest = (
        select(func.max(QuestionAnswer.id))
        .where(QuestionAnswer.engagement_id == engagement_id)
        .where(QuestionAnswer.author_user_id == author)
        .where(col(QuestionAnswer.question_key).in_(keys))
        .group_by(col(QuestionAnswer.question_key))
    )
    rows = session.exec(
        select(QuestionAnswer, Question)
        .join(Question, col(Question.id) == col(QuestionAnswer.question_id))
        .where(col(QuestionAnswer.id).in_(latest))
    ).all()
    by_key = {answer.question_key: (answer, asked) for answer, asked in rows}
    filled: dict[int, Any] = {}
    for q in questions:
        found = by_key.get(q.key)
        if found is not None and q.id is not None and same_question(found[1], q):
            filled[q.id] = found[0].value
    return filled


def for_record(session: Session, *, team_id: str, cadence_id: int | None, content: Any) -> Asking:
    """An edit asks again the versions the record asked (its content kept them), filled with
    what it answered: never the questions as they read now."""
    answered = answered_of(content)
    if cadence_id is None or not answered:
        return Asking()
    found = queries.versions(
        session, team_id=team_id, cadence_id=cadence_id, ids=[a.question_id for a in answered]
    )
    questions = tuple(found[a.question_id] for a in answered if a.question_id in found)
    values = {a.question_id: a.value for a in answered if a.value is not None}
    return Asking(questions, values)


def recheck(
    session: Session, *, team_id: str, cadence_id: int | None, ids: Any
) -> tuple[Question, ...]:
    """The versions a submitted form says it asked (private_metadata, a hint), re-checked: each
    of this workspace and of the check-in's cadence, or the whole form is refused."""
    if ids is None:
        return ()
    if not isinstance(ids, list) or any(not _an_id(i) for i in ids):
        raise UserError(DAMAGED)
    if not ids:
        return ()
    if cadence_id is None:
        raise UserError(DAMAGED)  # an ad hoc form asks no questions
    found = queries.versions(session, team_id=team_id, cadence_id=cadence_id, ids=ids)
    if len(found) != len(set(ids)):
        raise UserError(DAMAGED)
    return tuple(found[i] for i in dict.fromkeys(ids))


def _an_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# --- validation (pure) -------------------------------------------------------------------------


def _number(text: str) -> float:
    number = float(text.strip().replace(",", "."))  # ValueError for anything else
    if not math.isfinite(number):
        raise ValueError(text)
    return number


def _one(q: Question, raw: Any) -> tuple[Any, str | None]:
    """One answer parsed by its type: (value, None), or (None, what to fix). Empty is None."""
    kind = type_of(q)
    empty = raw is None or raw == "" or raw == [] or (isinstance(raw, str) and not raw.strip())
    if empty:
        return None, ("Answer this question: it is required." if q.required else None)
    if kind in (QuestionType.SHORT_TEXT, QuestionType.LONG_TEXT):
        text = str(raw).strip()
        limit = MAX_SHORT_ANSWER if kind == QuestionType.SHORT_TEXT else MAX_ANSWER
        if len(text) > limit:
            return None, f"At most {limit} characters here (this has {len(text)})."
        return text, None
    if kind == QuestionType.NUMBER:
        try:
            return _number(str(raw)), None
        except ValueError:
            return None, f"“{str(raw)[:40]}” is not a number: give one such as 12 or 99.5."
    options = tuple(q.options)
    if kind == QuestionType.SINGLE_CHOICE:
        chosen = _option(options, raw)
        return (chosen, None) if chosen is not None else (None, "Choose one of the options.")
    if kind == QuestionType.MULTI_CHOICE:
        picked = raw if isinstance(raw, list) else [raw]
        chosen_all = [_option(options, p) for p in picked]
        if any(c is None for c in chosen_all):
            return None, "Choose among the options given."
        return [o for o in options if o in chosen_all], None
    if kind == QuestionType.RATING:
        rating = int(raw) if str(raw).strip() in {str(r) for r in RATINGS} else None
        return (rating, None) if rating is not None else (None, "Rate from 1 to 5.")
    if kind == QuestionType.YES_NO:
        words = {"yes": True, "no": False}
        said = words.get(str(raw).strip().lower())
        return (said, None) if said is not None else (None, f"Choose {YES} or {NO}.")
    if kind == QuestionType.DATE:
        try:
            return date.fromisoformat(str(raw).strip()).isoformat(), None
        except ValueError:
            return None, "That is not a date: pick one from the calendar."
    return None, None  # a type this version does not know: asked nowhere


def _option(options: Sequence[str], raw: Any) -> str | None:
    """The option a choice's value names (its position, as the form sends it)."""
    text = str(raw).strip()
    if text.isdigit() and int(text) < len(options):
        return options[int(text)]
    return None


def check(
    raw: Mapping[str, Any], questions: Sequence[Question]
) -> tuple[dict[int, Any], dict[str, str]]:
    """Each question's answer by version id (empty ones left out) and the errors by action_id
    (the form's block id), so the caller can add them to its own fields' errors."""
    values: dict[int, Any] = {}
    errors: dict[str, str] = {}
    for q in questions:
        value, problem = _one(q, raw.get(action_id(q)))
        if problem is not None:
            errors[action_id(q)] = problem
        elif value is not None and q.id is not None:
            values[q.id] = value
    return values, errors


def parse(raw: Mapping[str, Any], questions: Sequence[Question]) -> dict[int, Any]:
    """`check`, raising FieldErrors when anything is to fix."""
    values, errors = check(raw, questions)
    if errors:
        raise FieldErrors(errors)
    return values


# --- storing -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stored:
    """An answer as stored, with the version it answers (what the rules read)."""

    question: Question
    answer: QuestionAnswer


def store(
    session: Session,
    *,
    team_id: str,
    engagement_id: int,
    checkin_id: int | None,
    source: str,
    source_id: int,
    author: str | None,
    questions: Sequence[Question],
    values: Mapping[int, Any],
    at: datetime,
) -> list[Stored]:
    """Write one record's answers, in the form's transaction: an edit updates the answers it
    gave (their ids stay, so what a rule fired from still points at them), adds the new ones
    and removes those emptied. `author` None and `at` the batch's moment for an anonymous
    survey answer."""
    assert source in SOURCES
    existing = {
        a.question_id: a
        for a in session.exec(
            select(QuestionAnswer)
            .where(QuestionAnswer.source == source)
            .where(QuestionAnswer.source_id == source_id)
        )
    }
    stored: list[Stored] = []
    for q in questions:
        kind = type_of(q)
        if q.id is None or kind is None:
            continue
        row = existing.pop(q.id, None)
        if q.id not in values:
            if row is not None:
                session.delete(row)
            continue
        value = values[q.id]
        if row is None:
            row = QuestionAnswer(
                team_id=team_id,
                engagement_id=engagement_id,
                question_id=q.id,
                question_key=q.key,
                checkin_id=checkin_id,
                source=source,
                source_id=source_id,
                author_user_id=author,
                answered_at=at,
            )
        row.value, row.number = value, number_of(kind, value)
        session.add(row)
        stored.append(Stored(q, row))
    for row in existing.values():  # answers to versions this form no longer asks
        session.delete(row)
    session.flush()
    return stored
