"""Which questions are asked now, and the versions a form asked: read set-based."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache

from sqlalchemy import bindparam
from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from bot.domain.questions.definition import sorted_questions
from storage.models import Question


def current(session: Session, *, engagement_id: int, cadence_id: int | None) -> list[Question]:
    """The questions a cadence asks now, in order; `cadence_id` None: the engagement's defaults
    (copied onto each new cadence)."""
    statement = _current_statement(defaults=cadence_id is None)
    params = {"engagement_id": engagement_id, "cadence_id": cadence_id}
    return sorted_questions(session.exec(statement, params=params).all())


@cache
def _current_statement(*, defaults: bool) -> SelectOfScalar[Question]:
    """`current`'s statement, built once per process (a check-in's form reads it at every
    click of its prompt; building it cost more than running it)."""
    query = (
        select(Question)
        .where(col(Question.engagement_id) == bindparam("engagement_id"))
        .where(col(Question.retired_at).is_(None))
    )
    if defaults:
        return query.where(col(Question.cadence_id).is_(None))
    return query.where(col(Question.cadence_id) == bindparam("cadence_id"))


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
