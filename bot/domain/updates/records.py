"""Reads of stored updates that the form, the save and the summary share: which kinds the
update form answers, the engagement's KPIs as fields, an update's stored figures, and the
author's previous update ("previous" always means the author's own latest update of the same
kind on the same engagement)."""

from __future__ import annotations

from functools import cache
from typing import Any

from sqlalchemy import Select, bindparam
from sqlmodel import Session, col, or_, select
from sqlmodel.sql.expression import SelectOfScalar

from bot.domain.checkin_kinds import CheckInKind, FormFamily, kinds_answered_with
from bot.domain.errors import NotFound
from bot.domain.updates.evidence import KpiField
from storage.models import Cadence, CheckIn, KpiDefinition, KpiValue, StatusUpdate

STATUS_UPDATE = CheckInKind.STATUS_UPDATE
UPDATE_KINDS = kinds_answered_with(FormFamily.UPDATE)


def kpis_of(
    *, session: Session, engagement_id: int, include_retired: bool = False
) -> tuple[KpiField, ...]:
    """The KPIs a form asks for, in the lead's order; with `include_retired`, the retired ones
    after them (to read back figures reported before a KPI was retired)."""
    rows = session.exec(
        _kpis_statement(include_retired=include_retired), params={"engagement_id": engagement_id}
    ).all()
    fields = (
        KpiField(
            kpi_id,
            name,
            unit,
            target,
            higher_is_better,
            retired=retired_at is not None,
            tolerance=tolerance,
        )
        for kpi_id, name, unit, target, higher_is_better, tolerance, retired_at in rows
    )
    return tuple(sorted(fields, key=lambda k: k.retired))  # stable: order kept within each


@cache
def _kpis_statement(*, include_retired: bool) -> Select:
    """`kpis_of`'s statement, built once per process, of plain columns: every update form
    and every save reads it, and building it cost more than running it."""
    query = select(
        KpiDefinition.id,
        KpiDefinition.name,
        KpiDefinition.unit,
        KpiDefinition.target,
        KpiDefinition.higher_is_better,
        KpiDefinition.tolerance,
        KpiDefinition.retired_at,
    ).where(col(KpiDefinition.engagement_id) == bindparam("engagement_id"))
    if not include_retired:
        query = query.where(col(KpiDefinition.retired_at).is_(None))
    return query.order_by(col(KpiDefinition.position), col(KpiDefinition.id))


def previous_update(
    *,
    session: Session,
    engagement_id: int,
    author: str,
    kind: str,
    before_id: int | None = None,
) -> StatusUpdate | None:
    """The author's latest update of `kind` on the engagement (before `before_id`, for an
    edit), of the same kind: each kind the update form answers follows its own.

    An update's kind is its check-in's cadence kind when the update form answers that kind,
    else a status update (an ad hoc one has no check-in). The kind is filtered in the query,
    so any number of newer answers of another kind cannot hide the one asked for."""
    if kind != STATUS_UPDATE and kind not in UPDATE_KINDS:
        return None  # no update is of a kind the update form does not answer
    query = _previous(engagement_id, author, kind == STATUS_UPDATE)
    if before_id is not None:
        query = query.where(col(StatusUpdate.id) < before_id)
    latest = query.order_by(col(StatusUpdate.id).desc()).limit(1)
    return session.exec(latest, params={"kind": kind}).first()


def previous_with_values(
    *, session: Session, engagement_id: int, author: str, kind: str
) -> tuple[StatusUpdate | None, dict[int, float]]:
    """`previous_update` and its KPI figures (`stored_values`) in one SELECT, the update
    joined to its figures, a row each: a new form is filled in from both, at every click of a
    prompt's answer button (the statement is built once per process)."""
    if kind != STATUS_UPDATE and kind not in UPDATE_KINDS:
        return None, {}
    statement = _previous_with_values_statement(status_update=kind == STATUS_UPDATE)
    params = {"engagement_id": engagement_id, "author": author, "kind": kind}
    rows = session.exec(statement, params=params).all()
    if not rows:
        return None, {}
    return rows[0][0], {kpi: value for _, kpi, value in rows if kpi is not None}


@cache
def _previous_with_values_statement(*, status_update: bool) -> Select:
    """`previous_with_values`'s statement: the latest of `_previous` as a subquery (not
    correlated: the outer query reads the same table), its figures joined."""
    latest = (
        _previous(bindparam("engagement_id"), bindparam("author"), status_update)
        .with_only_columns(col(StatusUpdate.id))
        .order_by(col(StatusUpdate.id).desc())
        .limit(1)
        .correlate(None)
        .scalar_subquery()
    )
    return (
        select(StatusUpdate, KpiValue.kpi_id, KpiValue.value)
        .outerjoin(KpiValue, col(KpiValue.update_id) == col(StatusUpdate.id))
        .where(col(StatusUpdate.id) == latest)
    )


def _previous(engagement_id: Any, author: Any, status_update: bool) -> SelectOfScalar[StatusUpdate]:
    """The author's updates on the engagement of a kind: a status update's (one of no kind the
    update form answers but its own, or ad hoc), or the kind bound as `kind`."""
    query = (
        select(StatusUpdate)
        .outerjoin(CheckIn, col(CheckIn.id) == col(StatusUpdate.checkin_id))
        .outerjoin(Cadence, col(Cadence.id) == col(CheckIn.cadence_id))
        .where(col(StatusUpdate.engagement_id) == engagement_id)
        .where(col(StatusUpdate.author_user_id) == author)
    )
    if status_update:
        others = [k for k in UPDATE_KINDS if k != STATUS_UPDATE]
        if others:
            query = query.where(or_(col(Cadence.kind).is_(None), col(Cadence.kind).not_in(others)))
        return query
    return query.where(col(Cadence.kind) == bindparam("kind"))


def kind_of_checkin(session: Session, checkin_id: int | None) -> str:
    if checkin_id is None:
        return STATUS_UPDATE
    kind = session.exec(
        select(Cadence.kind)
        .join(CheckIn, col(CheckIn.cadence_id) == col(Cadence.id))
        .where(CheckIn.id == checkin_id)
    ).first()
    return kind if kind in UPDATE_KINDS else STATUS_UPDATE


def get_update(session: Session, team_id: str, update_id: int) -> StatusUpdate:
    update = session.exec(
        select(StatusUpdate)
        .where(StatusUpdate.team_id == team_id)
        .where(StatusUpdate.id == update_id)
    ).first()
    if update is None:
        raise NotFound("That update no longer exists.")
    return update


def stored_values(session: Session, update_id: int) -> dict[int, float]:
    return {
        v.kpi_id: v.value
        for v in session.exec(select(KpiValue).where(KpiValue.update_id == update_id))
    }
