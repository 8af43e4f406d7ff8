"""A feedback survey's results: what the leads learn when its window closes.

`summarise` is pure: the answers of one survey (and of the survey to compare with) in, the
aggregate out: the average of each rating, how many answered, the comments, and how each
average moved since the earlier survey. `answers_of` and `previous_survey` read those answers.

Anonymity rules, stated once here and applied by `summarise` (so no caller can forget them):
- An anonymous answer's author is dropped: its comment is kept without any name, and no list
  of who answered is part of the results at all (it would name anonymous answerers). Comments
  come in the order of their words, not of their arrival.
- Below `MIN_ANSWERS` answers nothing that could identify someone is given: no averages, no
  comments, no change (with one or two answers an average is close to being someone's own
  rating, and a comment's wording or the survey's size says who wrote it). Only the number of
  answers is reported.
- A change is only given against an earlier survey that had `MIN_ANSWERS` answers or more:
  a change against a smaller one would give its withheld averages away.

Averages are exact fractions, so the figures are checkable by hand; rounding is for display.
Only answers given within the window count (`submitted_at` up to its close): the results are
the same whenever the engine gets to them. A late answer is never told on its own: it counts
with the month's ad hoc and late answers (`batch_of`).

Batches: every answer belongs to exactly one batch, and every view that shows ratings shows
whole batches of `MIN_ANSWERS` or more, counted from the batch's close (`Batch.counts_from`):
a survey's answers within its window, or the ad hoc and late answers of one calendar month
(UTC). So no figure moves by one answer, and the difference of any two figures (two health
cards a day apart, an export over two ranges) is itself whole batches, never one person.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction

from sqlalchemy import func
from sqlmodel import Session, col, select

from bot.domain.feedback import MIN_ANSWERS, RATINGS, month_start
from storage.models import CheckIn, Feedback


@dataclass(frozen=True)
class Answer:
    """One survey answer as the results need it."""

    ratings: Mapping[str, int]  # each of RATINGS, 1–5
    author: str | None  # None: anonymous (not stored)
    comment: str = ""
    anonymous: bool = False


@dataclass(frozen=True)
class Comment:
    text: str
    author: str | None  # None: the author asked to stay anonymous


@dataclass(frozen=True)
class SurveyResults:
    """The aggregate of one survey; empty averages, comments and changes when withheld."""

    answers: int
    averages: dict[str, Fraction] = field(default_factory=dict)
    comments: tuple[Comment, ...] = ()
    changes: dict[str, Fraction] = field(default_factory=dict)  # this average minus the earlier
    previous_answers: int | None = None  # the earlier survey compared with, when there is one

    @property
    def withheld(self) -> bool:
        """Too few answers to show anything but their number."""
        return self.answers < MIN_ANSWERS


def averages(answers: Sequence[Answer]) -> dict[str, Fraction]:
    """The exact mean of each rating (empty for no answers)."""
    if not answers:
        return {}
    return {key: Fraction(sum(a.ratings[key] for a in answers), len(answers)) for key in RATINGS}


def ordered_comments(comments: Iterable[Comment]) -> tuple[Comment, ...]:
    """Comments in the order of their words, never the order they came (which, beside who
    answered when, would say who wrote which)."""
    return tuple(sorted(comments, key=lambda c: (c.text.casefold(), c.text, c.author or "")))


def summarise(current: Sequence[Answer], previous: Sequence[Answer] = ()) -> SurveyResults:
    """The results of a survey, with the change against `previous` (the earlier survey's
    answers; empty when there is none). The anonymity rules are in the module's docstring."""
    if len(current) < MIN_ANSWERS:
        return SurveyResults(answers=len(current))
    now = averages(current)
    comments = ordered_comments(
        Comment(a.comment.strip(), None if a.anonymous else a.author)
        for a in current
        if a.comment.strip()
    )
    if len(previous) < MIN_ANSWERS:
        return SurveyResults(answers=len(current), averages=now, comments=comments)
    before = averages(previous)
    return SurveyResults(
        answers=len(current),
        averages=now,
        comments=comments,
        changes={key: now[key] - before[key] for key in RATINGS},
        previous_answers=len(previous),
    )


@dataclass(frozen=True)
class Batch:
    """The answers that count together (see the module's docstring)."""

    key: str  # "survey:<check-in id>" or "month:<YYYY-MM>"
    label: str  # as the export names it
    starts: datetime  # the survey's opening, or the month's first moment
    counts_from: datetime  # the survey's close, or the next month's first moment


def _next_month(at: datetime) -> datetime:
    first = month_start(at)
    return (
        first.replace(year=first.year + 1, month=1)
        if first.month == 12
        else first.replace(month=first.month + 1)
    )


def batch_of(
    *,
    counted: datetime,
    checkin_id: int | None = None,
    opened: datetime | None = None,
    closes: datetime | None = None,
    slot: str = "",
) -> Batch:
    """The batch of an answer stored at `counted` (for a check-in's answer: the check-in's id,
    opening, close and slot)."""
    if checkin_id is not None and closes is not None and counted <= closes:
        start = opened if opened is not None else counted
        return Batch(f"survey:{checkin_id}", f"survey of {slot}".strip(), start, closes)
    first = month_start(counted)
    month = first.strftime("%Y-%m")
    return Batch(f"month:{month}", f"ad hoc and late answers, {month}", first, _next_month(first))


# --- reading the answers -----------------------------------------------------------------------


def answers_of(session: Session, checkin: CheckIn) -> list[Answer]:
    """The answers given to a survey within its window, in the order they came."""
    rows = session.exec(
        select(Feedback)
        .where(Feedback.checkin_id == checkin.id)
        .where(col(Feedback.submitted_at) <= checkin.window_closes_at)
        .order_by(col(Feedback.submitted_at), col(Feedback.id))
    ).all()
    return [
        Answer(
            ratings={key: getattr(row, key) for key in RATINGS},
            author=None if row.anonymous else row.author_user_id,
            comment=row.comment,
            anonymous=row.anonymous,
        )
        for row in rows
    ]


def previous_survey(session: Session, checkin: CheckIn) -> CheckIn | None:
    """The latest earlier survey of the same cadence with at least `MIN_ANSWERS` answers within
    its window: the one whose averages the leads were last shown, so the one to compare with."""
    counted = (
        select(CheckIn.id)
        .join(Feedback, col(Feedback.checkin_id) == col(CheckIn.id))
        .where(CheckIn.cadence_id == checkin.cadence_id)
        .where(col(CheckIn.scheduled_for) < checkin.scheduled_for)
        .where(col(Feedback.submitted_at) <= col(CheckIn.window_closes_at))
        .group_by(col(CheckIn.id), col(CheckIn.scheduled_for))
        .having(func.count(col(Feedback.id)) >= MIN_ANSWERS)
        .order_by(col(CheckIn.scheduled_for).desc())
        .limit(1)
    )
    found = session.exec(counted).first()
    return session.get(CheckIn, found) if found is not None else None


def results_of(session: Session, checkin: CheckIn) -> tuple[SurveyResults, CheckIn | None]:
    """A survey's results, and the earlier survey they were compared with (None when none)."""
    previous = previous_survey(session, checkin)
    earlier = answers_of(session, previous) if previous is not None else []
    results = summarise(answers_of(session, checkin), earlier)
    return results, previous if results.changes else None
