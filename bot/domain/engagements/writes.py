"""Changing engagements: create, edit (only by a lead or admin) and archive, each with its
audit event in the same transaction. An edit writes only what changed against the details it
read to check permissions, and returns "after" as written."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime

from sqlalchemy import ColumnElement, and_, delete, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from bot.domain import audit, contract_clocks, deliverable_clocks, workspaces
from bot.domain.engagements.definition import (
    DEFAULT_RESOLVE_HOURS,
    EngagementDetails,
    EngagementInput,
    columns,
    snapshot,
)
from bot.domain.engagements.permissions import require_manager
from bot.domain.engagements.queries import get
from bot.domain.errors import FieldErrors, UserError
from storage.models import ConcernSla, Engagement, EngagementMember, KpiDefinition


def _ensure_handle_free(
    *, session: Session, team_id: str, data: EngagementInput, except_id: int | None = None
) -> None:
    existing = session.exec(
        select(Engagement)
        .where(Engagement.team_id == team_id)
        .where(Engagement.handle == data.handle)
    ).first()
    if existing is not None and existing.id != except_id:
        archived = " (archived)" if existing.archived_at else ""
        raise FieldErrors(
            {
                "name": f"An engagement with the handle `{data.handle}` already exists"
                f"{archived}: choose another name."
            }
        )


_ROLES_IN_INPUT = (
    ("lead", "leads"),
    ("vendor", "vendor_contacts"),
    ("stakeholder", "stakeholders"),
)


def _write_children(
    *,
    session: Session,
    engagement: Engagement,
    data: EngagementInput,
    now: datetime,
    stored: EngagementDetails | None = None,
) -> None:
    """Make the engagement's people, KPIs and SLAs those in `data`, writing only what differs
    from `stored` (what it holds now, as read before the edit; None for a new engagement): an
    edit of the vendor's name writes no child row at all. A KPI no longer listed is retired at
    `now`, not deleted, because deleting it would cascade away every figure reported against it.
    """
    assert engagement.id is not None
    _write_people(session=session, engagement=engagement, data=data, stored=stored)
    if stored is None or stored.kpis != data.kpis:
        _write_kpis(session=session, engagement=engagement, data=data, now=now, new=stored is None)
    _write_slas(session=session, engagement=engagement, data=data, stored=stored)


def _write_people(
    *,
    session: Session,
    engagement: Engagement,
    data: EngagementInput,
    stored: EngagementDetails | None,
) -> None:
    """One DELETE for everyone taken off, one INSERT for everyone added. People are read back
    in the order their rows were written, so a role whose kept people are no longer listed
    first, in their order, is written again whole (rare: the form adds people at the end)."""
    gone: list[ColumnElement[bool]] = []
    added: list[EngagementMember] = []
    for role, attribute in _ROLES_IN_INPUT:
        people: tuple[str, ...] = getattr(data, attribute)
        held: tuple[str, ...] = getattr(stored, attribute) if stored is not None else ()
        kept = tuple(u for u in held if u in people)
        if people[: len(kept)] != kept:
            kept = ()
        removed = [u for u in held if u not in kept]
        if removed:
            gone.append(
                and_(col(EngagementMember.role) == role, col(EngagementMember.user_id).in_(removed))
            )
        added.extend(
            EngagementMember(
                team_id=engagement.team_id, engagement_id=engagement.id, user_id=user_id, role=role
            )
            for user_id in people[len(kept) :]
        )
    if gone:  # before the INSERTs are added (a DELETE flushes them): a re-added person is unique
        session.execute(
            delete(EngagementMember)
            .where(col(EngagementMember.engagement_id) == engagement.id)
            .where(or_(*gone))
            .execution_options(synchronize_session=False)
        )
    session.add_all(added)


def _write_kpis(
    *, session: Session, engagement: Engagement, data: EngagementInput, now: datetime, new: bool
) -> None:
    """Make the active KPIs those in `data`, retiring the others (called only when they differ)."""
    # A KPI is matched by name (case-insensitive), retired ones included: kept or re-added, it
    # keeps its id, so the figures reported against it join up (and the name stays unique).
    existing_kpis = (
        {}
        if new
        else {
            k.name.lower(): k
            for k in session.exec(
                select(KpiDefinition).where(KpiDefinition.engagement_id == engagement.id)
            )
        }
    )
    for position, spec in enumerate(data.kpis):
        row = existing_kpis.pop(spec.name.lower(), None) or KpiDefinition(
            team_id=engagement.team_id,
            engagement_id=engagement.id,
            name=spec.name,
            target=spec.target,
        )
        row.name, row.unit, row.target = spec.name, spec.unit, spec.target
        row.higher_is_better, row.position = spec.higher_is_better, position
        row.tolerance = spec.tolerance
        row.retired_at = None
        session.add(row)
    for row in existing_kpis.values():
        if row.retired_at is None:  # retired earlier: keep the moment it first went
            row.retired_at = now
            session.add(row)


def _resolve_hours(data: EngagementInput) -> dict[str, int]:
    """Resolve-within hours per severity as they read back (`load_many`): a severity without
    its own is stored without and reads as the default."""
    return {
        severity: data.resolve_hours.get(severity) or DEFAULT_RESOLVE_HOURS.get(severity, response)
        for severity, response in data.sla_hours.items()
    }


def _write_slas(
    *,
    session: Session,
    engagement: Engagement,
    data: EngagementInput,
    stored: EngagementDetails | None,
) -> None:
    """Rewrite only the severities whose hours changed: one DELETE and one INSERT for them."""
    resolve = _resolve_hours(data)
    held = (
        {s: (h, stored.resolve_hours.get(s)) for s, h in stored.sla_hours.items()}
        if stored is not None
        else {}
    )
    changed = [s for s, h in data.sla_hours.items() if held.get(s) != (h, resolve[s])]
    dropped = [s for s in held if s in changed or s not in data.sla_hours]
    if dropped:
        session.execute(
            delete(ConcernSla)
            .where(col(ConcernSla.engagement_id) == engagement.id)
            .where(col(ConcernSla.severity).in_(dropped))
            .execution_options(synchronize_session=False)
        )
    session.add_all(
        ConcernSla(
            team_id=engagement.team_id,
            engagement_id=engagement.id,
            severity=severity,
            response_hours=data.sla_hours[severity],
            resolve_hours=data.resolve_hours.get(severity),
        )
        for severity in changed
    )


def _as_written(engagement: Engagement, data: EngagementInput) -> EngagementDetails:
    """The details `load_details` would read back once `data` is written, without reading."""
    return EngagementDetails(
        engagement=engagement,
        leads=data.leads,
        vendor_contacts=data.vendor_contacts,
        stakeholders=data.stakeholders,
        kpis=data.kpis,
        sla_hours=dict(data.sla_hours),
        resolve_hours=_resolve_hours(data),
    )


def create(
    *, session: Session, team_id: str, actor: str, data: EngagementInput, now: datetime
) -> EngagementDetails:
    """Create an engagement with everything it holds, and its audit event, in one transaction
    (the workspace's row too, the first time: its digest schedule starts with it)."""
    workspaces.ensure(session, team_id=team_id, now=now)
    _ensure_handle_free(session=session, team_id=team_id, data=data)
    engagement = Engagement.model_validate(
        columns(data),
        update={"team_id": team_id, "created_by": actor, "created_at": now, "updated_at": now},
    )
    session.add(engagement)
    try:
        session.flush()
    except IntegrityError as e:  # another request took the handle between check and insert
        raise FieldErrors({"name": f"`{data.handle}` was just taken: choose another name."}) from e
    _write_children(session=session, engagement=engagement, data=data, now=now)
    assert engagement.id is not None
    audit.record(
        session=session,
        team_id=team_id,
        actor=actor,
        entity_type="engagement",
        entity_id=engagement.id,
        action="create",
        now=now,
        after=snapshot(data),
    )
    contract_clocks.plan(session, engagement, now)
    session.flush()
    return _as_written(engagement, data)


# What a deliverable's clocks are computed from: a change of any re-plans them.
CLOCK_SETTINGS = frozenset(
    {"timezone", "holidays", "deliverable_due_soon_days", "deliverable_acceptance_days"}
)


# What the contract's reminders are computed from.
CONTRACT_SETTINGS = frozenset({"timezone", "contract_end", "contract_renews", "notice_days"})


def update(
    *,
    session: Session,
    team_id: str,
    actor: str,
    engagement_id: int,
    data: EngagementInput,
    now: datetime,
    admins: Iterable[str],
) -> tuple[EngagementDetails, EngagementDetails]:
    """Apply an edit (only by a lead or admin); returns (before, after).

    The details are read once (to check who may edit, and to compare): only what changed is
    written, and "after" is what was written, not read back."""
    before = get(session=session, team_id=team_id, engagement_id=engagement_id)
    require_manager(before, actor, admins)
    if before.engagement.archived_at is not None:
        raise UserError(f"{before.engagement.name} is archived; it can no longer be edited.")
    if data.handle != before.engagement.handle:  # its own handle is free to keep
        _ensure_handle_free(session=session, team_id=team_id, data=data, except_id=engagement_id)
    old = before.snapshot()
    engagement = before.engagement
    # `before` keeps the row as it was (a detached copy): the row itself is updated in place,
    # and whoever compares before with after (a new channel is greeted) must see both.
    before = replace(before, engagement=Engagement.model_validate(engagement.model_dump()))
    engagement.sqlmodel_update(columns(data), update={"updated_at": now})
    session.add(engagement)
    try:
        session.flush()
    except IntegrityError as e:
        raise FieldErrors({"name": f"`{data.handle}` was just taken: choose another name."}) from e
    _write_children(session=session, engagement=engagement, data=data, now=now, stored=before)
    session.flush()
    after = _as_written(engagement, data)
    changed_before, changed_after = audit.changes(old, after.snapshot())
    if CLOCK_SETTINGS & changed_after.keys():  # its deliverables' reminders move with them
        deliverable_clocks.replan_engagement(session, engagement, now)
    if CONTRACT_SETTINGS & changed_after.keys():
        contract_clocks.plan(session, engagement, now)
    if changed_after:
        audit.record(
            session=session,
            team_id=team_id,
            actor=actor,
            entity_type="engagement",
            entity_id=engagement_id,
            action="update",
            now=now,
            before=changed_before,
            after=changed_after,
        )
    return before, after


def archive(
    *,
    session: Session,
    team_id: str,
    actor: str,
    engagement_id: int,
    now: datetime,
    admins: Iterable[str],
) -> EngagementDetails:
    """Archive (only by a lead or admin). Archiving twice is refused with a clear message."""
    details = get(session=session, team_id=team_id, engagement_id=engagement_id)
    require_manager(details, actor, admins)
    engagement = details.engagement
    if engagement.archived_at is not None:
        raise UserError(f"{engagement.name} is already archived.")
    engagement.archived_at = engagement.updated_at = now
    session.add(engagement)
    audit.record(
        session=session,
        team_id=team_id,
        actor=actor,
        entity_type="engagement",
        entity_id=engagement_id,
        action="archive",
        now=now,
        before={"archived": False},
        after={"archived": True},
    )
    contract_clocks.plan(session, engagement, now)  # an archived engagement is reminded of nothing
    session.flush()
    return details
