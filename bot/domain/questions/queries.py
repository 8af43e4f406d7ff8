"""Which questions are asked now, and the versions a form asked: read set-based."""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import Session, col, select

from bot.domain.questions.definition import sorted_questions
from storage.models import Question


def current(session: Session, *, engagement_id: int, cadence_id: int | None) -> list[Question]:
    """The questions a cadence asks now, in order; `cadence_id` None: the engagement's defaults
    (copied onto each new cadence)."""
    query = (
        select(Question)
        .where(Question.engagement_id == engagement_id)
        .where(col(Question.retired_at).is_(None))
    )
    if cadence_id is None:
        query = query.where(col(Question.cadence_id).is_(None))
    else:
        query = query.where(Question.cadence_id == cadence_id)
    return sorted_questions(session.exec(query).all())


def versions(
    session: Session, *, team_id: str, cadence_id: int, ids: Iterable[int]
) -> dict[int, Question]:
    """The versions a form listed (a hint from private_metadata), by id: only those of this
    workspace and of the check-in's cadence, retired or not (an answer is to the question as
    it was asked, even when a lead edited it while the form was open)."""
    wanted = {i for i in ids if isinstance(i, int) and not isinstance(i, bool)}
    if not wanted:
        return {}
    rows = session.exec(
        select(Question)
        .where(Question.team_id == team_id)
        .where(Question.cadence_id == cadence_id)
        .where(col(Question.id).in_(wanted))
    ).all()
    return {q.id: q for q in rows if q.id is not None}
