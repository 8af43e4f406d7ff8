"""Reads of stored updates that the form, the save and the summary share: which kinds the
update form answers, the engagement's KPIs as fields, an update's stored figures, and the
author's previous update ("previous" always means the author's own latest update of the same
kind on the same engagement)."""

from __future__ import annotations

from sqlmodel import Session, col, or_, select

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
    query = select(KpiDefinition).where(KpiDefinition.engagement_id == engagement_id)
    if not include_retired:
        query = query.where(col(KpiDefinition.retired_at).is_(None))
    rows = session.exec(query.order_by(col(KpiDefinition.position), col(KpiDefinition.id))).all()
    fields = (
        KpiField(
            k.id,
            k.name,
            k.unit,
            k.target,
            k.higher_is_better,
            retired=k.retired_at is not None,
            tolerance=k.tolerance,
        )
        for k in rows
        if k.id is not None
    )
    return tuple(sorted(fields, key=lambda k: k.retired))  # stable: order kept within each


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
    query = (
        select(StatusUpdate)
        .outerjoin(CheckIn, col(CheckIn.id) == col(StatusUpdate.checkin_id))
        .outerjoin(Cadence, col(Cadence.id) == col(CheckIn.cadence_id))
        .where(StatusUpdate.engagement_id == engagement_id)
        .where(StatusUpdate.author_user_id == author)
    )
    if kind == STATUS_UPDATE:
        others = [k for k in UPDATE_KINDS if k != STATUS_UPDATE]
        if others:
            query = query.where(or_(col(Cadence.kind).is_(None), col(Cadence.kind).not_in(others)))
    else:
        query = query.where(Cadence.kind == kind)
    if before_id is not None:
        query = query.where(col(StatusUpdate.id) < before_id)
    return session.exec(query.order_by(col(StatusUpdate.id).desc()).limit(1)).first()


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
