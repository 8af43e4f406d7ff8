"""Reading engagements: by id or handle (a mistyped handle suggests only what the asker could
list), a workspace's list and a person's, paged in the query, and the details of any number of
engagements in three SELECTs (`load_many`), never a query per engagement."""

from __future__ import annotations

import difflib
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

from sqlalchemy import ColumnElement, Select, bindparam, case, func, or_
from sqlmodel import Session, col, select

from bot.domain.command_reference import echo
from bot.domain.engagements.definition import (
    DEFAULT_RESOLVE_HOURS,
    MAX_VENDOR,
    EngagementDetails,
    EngagementLine,
    KpiSpec,
    Managers,
    slugify,
)
from bot.domain.errors import NotFound
from storage.models import (
    ENGAGEMENT_BRIEF,
    ConcernSla,
    Engagement,
    EngagementMember,
    KpiDefinition,
    StatusUpdate,
)


def people_with_role(*, session: Session, engagement_id: int, role: str) -> list[str]:
    """The people holding `role` on an engagement, by ID, in the order they were added."""
    return list(
        session.exec(
            select(EngagementMember.user_id)
            .where(EngagementMember.engagement_id == engagement_id)
            .where(EngagementMember.role == role)
            .order_by(col(EngagementMember.id))
        ).all()
    )


def load_details(*, session: Session, engagement: Engagement) -> EngagementDetails:
    (details,) = load_many(session=session, engagements=[engagement])
    return details


def _details_selects(named: Any) -> tuple[Select, Select, Select]:
    """`load_many`'s three SELECTs (people, active KPIs, SLAs) of the engagements `named` (a
    SELECT of ids, or an expanding parameter)."""
    people = (
        select(EngagementMember.engagement_id, EngagementMember.user_id, EngagementMember.role)
        .where(col(EngagementMember.engagement_id).in_(named))
        .order_by(col(EngagementMember.id))
    )
    kpis = (
        select(
            KpiDefinition.engagement_id,
            KpiDefinition.name,
            KpiDefinition.unit,
            KpiDefinition.target,
            KpiDefinition.higher_is_better,
            KpiDefinition.tolerance,
        )
        .where(col(KpiDefinition.engagement_id).in_(named))
        .where(col(KpiDefinition.retired_at).is_(None))  # retired ones only keep history
        .order_by(col(KpiDefinition.position), col(KpiDefinition.id))  # stored order
    )
    slas = select(
        ConcernSla.engagement_id,
        ConcernSla.severity,
        ConcernSla.response_hours,
        ConcernSla.resolve_hours,
    ).where(col(ConcernSla.engagement_id).in_(named))
    return people, kpis, slas


@cache
def _details_statements() -> tuple[Select, Select, Select]:
    """`_details_selects` of a list of ids bound at execution, built once per process."""
    return _details_selects(bindparam("ids", expanding=True))


def load_many(
    *,
    session: Session,
    engagements: Sequence[Engagement],
    within: Select | None = None,
) -> list[EngagementDetails]:
    """The details of `engagements`, in their order: three SELECTs whatever their number (their
    people, their active KPIs, their SLAs), joined here, never a query per engagement.

    `within` (a SELECT of engagement ids) names them in the queries instead of a list of ids,
    so an unbounded read (every engagement of a workspace) sends no list of thousands of ids."""
    ids = [e.id for e in engagements if e.id is not None]
    if not ids:
        return []
    # Plain columns, not ORM rows: a list of a thousand engagements reads ten thousand of these,
    # and an ORM object each would cost more than the queries. Named by a list of ids, the
    # statements are built once per process (the ids bound at execution).
    if within is None:
        of_people, of_kpis, of_slas = _details_statements()
        values: dict[str, Any] | None = {"ids": ids}
    else:
        of_people, of_kpis, of_slas = _details_selects(within)
        values = None
    people: dict[int, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for engagement_id, user_id, role in session.exec(of_people, params=values):
        people[engagement_id][role].append(user_id)
    kpis: dict[int, list[KpiSpec]] = defaultdict(list)
    for engagement_id, name, unit, target, higher_is_better, tolerance in session.exec(
        of_kpis, params=values
    ):
        kpis[engagement_id].append(KpiSpec(name, unit, target, higher_is_better, tolerance))
    sla_hours: dict[int, dict[str, int]] = defaultdict(dict)
    resolve_hours: dict[int, dict[str, int]] = defaultdict(dict)
    for engagement_id, severity, response, resolve in session.exec(of_slas, params=values):
        sla_hours[engagement_id][severity] = response
        resolve_hours[engagement_id][severity] = resolve or DEFAULT_RESOLVE_HOURS.get(
            severity, response
        )
    return [
        EngagementDetails(
            engagement=e,
            leads=tuple(people[e.id]["lead"]),
            vendor_contacts=tuple(people[e.id]["vendor"]),
            stakeholders=tuple(people[e.id]["stakeholder"]),
            kpis=tuple(kpis[e.id]),
            sla_hours=sla_hours[e.id],
            resolve_hours=resolve_hours[e.id],
        )
        for e in engagements
        if e.id is not None
    ]


def get(*, session: Session, team_id: str, engagement_id: int) -> EngagementDetails:
    """By id, only within the workspace (ids from Slack payloads are never trusted alone)."""
    engagement = session.exec(
        select(Engagement)
        .where(Engagement.team_id == team_id)
        .where(Engagement.id == engagement_id)
    ).first()
    if engagement is None:
        raise NotFound("That engagement no longer exists.")
    return load_details(session=session, engagement=engagement)


def managers(*, session: Session, team_id: str, engagement_id: int) -> Managers:
    """An engagement's name and leads, by id within the workspace, in one SELECT: what a
    permission check reads (`permissions.require_lead_or_admin`)."""
    rows = session.exec(
        select(Engagement.name, EngagementMember.user_id)
        .outerjoin(
            EngagementMember,
            (col(EngagementMember.engagement_id) == col(Engagement.id))
            & (col(EngagementMember.role) == "lead"),
        )
        .where(Engagement.team_id == team_id)
        .where(Engagement.id == engagement_id)
        .order_by(col(EngagementMember.id))
    ).all()
    if not rows:
        raise NotFound("That engagement no longer exists.")
    return Managers(rows[0][0], tuple(user for _, user in rows if user is not None))


def find(
    *,
    session: Session,
    team_id: str,
    handle: str,
    include_archived: bool = False,
    only_for: str | None = None,
) -> EngagementDetails:
    """By handle (or by name: the handle is made from it); NotFound suggests the closest handle
    and how to list them. Text that makes no handle (no letter or digit a handle keeps) is
    refused without a query, whatever it holds (thousands of characters, NUL, any script).

    The suggestion is chosen only among what the asker could list (`only_for`, the rule of
    `engagement list`: a person of another organisation sees the engagements they are on), so
    a mistyped handle never names an engagement the asker may not see."""
    wanted = slugify(handle)
    if not wanted:
        raise NotFound(
            f"“{echo(handle)}” is not an engagement handle: a handle is lowercase letters, digits "
            "and dashes, like `acme-payments`. `/cadence engagement list` shows the handles."
        )
    engagement = session.exec(
        select(Engagement).where(Engagement.team_id == team_id).where(Engagement.handle == wanted)
    ).first()
    if engagement is None:
        visible = [member_of(team_id, only_for)] if only_for is not None else []
        handles = session.exec(
            select(Engagement.handle)
            .where(Engagement.team_id == team_id)
            .where(col(Engagement.archived_at).is_(None))
            .where(*visible)
        ).all()
        close = difflib.get_close_matches(wanted, handles, n=1, cutoff=0.6)
        hint = f" Did you mean `{close[0]}`?" if close else ""
        raise NotFound(
            f"There is no engagement `{wanted}` in this workspace.{hint} "
            "`/cadence engagement list` shows the handles."
        )
    if engagement.archived_at is not None and not include_archived:
        raise NotFound(f"{engagement.name} (`{engagement.handle}`) is archived.")
    return load_details(session=session, engagement=engagement)


@dataclass(frozen=True)
class EngagementPage:
    """One page of a list (as many as a message shows) and how many there are in all."""

    rows: tuple[EngagementDetails, ...]
    total: int

    @property
    def more(self) -> int:
        return max(0, self.total - len(self.rows))


def _listed(
    team_id: str, *, include_archived: bool = False, matching: str = ""
) -> list[ColumnElement[bool]]:
    """The conditions of a workspace's list: unarchived unless asked, and with `matching`
    only those whose name, handle or vendor holds it (case-insensitive)."""
    conditions: list[ColumnElement[bool]] = [col(Engagement.team_id) == team_id]
    if not include_archived:
        conditions.append(col(Engagement.archived_at).is_(None))
    # PostgreSQL refuses a NUL character in a string parameter; no name, vendor or handle
    # holds one, so it is dropped from the word rather than sent.
    needle = matching.replace("\x00", "").strip().lower()[:MAX_VENDOR]
    if needle:
        conditions.append(
            or_(
                func.lower(col(Engagement.name)).contains(needle, autoescape=True),
                func.lower(col(Engagement.vendor)).contains(needle, autoescape=True),
                col(Engagement.handle).contains(slugify(needle) or needle, autoescape=True),
            )
        )
    return conditions


def page(
    *,
    session: Session,
    team_id: str,
    limit: int,
    matching: str = "",
    include_archived: bool = False,
    only_for: str | None = None,
) -> EngagementPage:
    """The first `limit` engagements by name (those `matching` a word, if given) and how many
    there are: a COUNT, the page, and the page's details (three more), whatever the total.
    With `only_for` (a person who may not read the whole workspace's list), only those that
    person is on, in the same statements."""
    conditions = _listed(team_id, include_archived=include_archived, matching=matching)
    if only_for is not None:
        conditions.append(member_of(team_id, only_for))
    total = session.exec(select(func.count()).select_from(Engagement).where(*conditions)).one()
    engagements = session.exec(
        select(Engagement)
        .where(*conditions)
        .order_by(col(Engagement.name), col(Engagement.id))
        .limit(limit)
    ).all()
    return EngagementPage(tuple(load_many(session=session, engagements=engagements)), int(total))


@dataclass(frozen=True)
class LinePage:
    """One page of a list's lines and how many engagements there are in all."""

    rows: tuple[EngagementLine, ...]
    total: int


def list_page(
    *,
    session: Session,
    team_id: str,
    limit: int,
    matching: str = "",
    include_archived: bool = False,
    only_for: str | None = None,
) -> LinePage:
    """`page`'s engagements as the lines a list shows: a COUNT, then the page's columns with
    their leads in one SELECT (the page a subquery, its leads joined to it), two statements
    whatever the total, plain tuples (no ORM objects, no JSON columns decoded, none of the
    people, KPIs and SLAs a line does not show). Its text is the same for every page, so the
    driver's parsed-query cache serves it (a list of the page's ids would make it long and
    new each time)."""
    conditions = _listed(team_id, include_archived=include_archived, matching=matching)
    if only_for is not None:
        conditions.append(member_of(team_id, only_for))
    total = session.exec(select(func.count()).select_from(Engagement).where(*conditions)).one()
    shown = (
        select(
            Engagement.id,
            Engagement.name,
            Engagement.handle,
            Engagement.vendor,
            Engagement.channel_id,
            Engagement.archived_at,
        )
        .where(*conditions)
        .order_by(col(Engagement.name), col(Engagement.id))
        .limit(limit)
        .subquery()
    )
    leads = (
        select(EngagementMember.id, EngagementMember.engagement_id, EngagementMember.user_id)
        .where(EngagementMember.team_id == team_id)
        .where(EngagementMember.role == "lead")
        .subquery()
    )
    lines: dict[int, tuple[tuple[Any, ...], list[str]]] = {}
    for *row, lead in session.exec(
        select(*shown.c, leads.c.user_id)
        .outerjoin(leads, leads.c.engagement_id == shown.c.id)
        .order_by(shown.c.name, shown.c.id, leads.c.id)
    ):
        _, found = lines.setdefault(row[0], (tuple(row), []))
        if lead is not None:
            found.append(lead)
    return LinePage(
        tuple(EngagementLine(*row, leads=tuple(found)) for row, found in lines.values()),
        int(total),
    )


def _roles(details: EngagementDetails, user_id: str) -> tuple[str, ...]:
    return tuple(
        role
        for role, people in (
            ("lead", details.leads),
            ("vendor contact", details.vendor_contacts),
            ("stakeholder", details.stakeholders),
        )
        if user_id in people
    )


def member_of(team_id: str, user_id: str) -> ColumnElement[bool]:
    """The condition (on Engagement.id) of the engagements a person is on, in any role: a
    subquery, so a list narrowed to a person costs no statement more than the whole list."""
    members = (
        select(EngagementMember.engagement_id)
        .where(EngagementMember.team_id == team_id)
        .where(EngagementMember.user_id == user_id)
    )
    return col(Engagement.id).in_(members)


@dataclass(frozen=True)
class PersonPage:
    """The first of a person's engagements, worst first, with their roles; how many in all."""

    rows: tuple[tuple[EngagementDetails, tuple[str, ...]], ...]
    total: int


RAG_RANK = {"red": 0, "amber": 1, "green": 2}  # worst first; no update yet after green


@cache
def _person_statements() -> tuple[Select, Select]:
    """`page_for_person`'s page and count, built once per process (their parameters bound at
    execution): building them cost more than running them, and every Home tab runs them."""
    team_id, user_id = bindparam("team_id"), bindparam("user_id")
    members = (
        select(EngagementMember.engagement_id)
        .where(col(EngagementMember.team_id) == team_id)
        .where(col(EngagementMember.user_id) == user_id)
    )
    conditions = (
        col(Engagement.team_id) == team_id,
        col(Engagement.archived_at).is_(None),
        col(Engagement.id).in_(members),
    )
    in_force = (
        select(StatusUpdate.rag)
        .where(col(StatusUpdate.engagement_id) == col(Engagement.id))
        .where(col(StatusUpdate.submitted_at) <= bindparam("now"))
        .order_by(col(StatusUpdate.submitted_at).desc(), col(StatusUpdate.id).desc())
        .limit(1)
        .correlate(Engagement)
        .scalar_subquery()
    )
    rank = case(RAG_RANK, value=in_force, else_=len(RAG_RANK))
    page = (
        select(*ENGAGEMENT_BRIEF)
        .where(*conditions)
        .order_by(rank, col(Engagement.name), col(Engagement.id))
        .limit(bindparam("limit"))
    )
    return page, select(func.count()).select_from(Engagement).where(*conditions)


def page_for_person(
    *, session: Session, team_id: str, user_id: str, limit: int, now: datetime
) -> PersonPage:
    """The first `limit` of a person's active engagements, worst first (the RAG of the update
    in force at `now`: red, amber, green, none yet; then by name), and how many they have:
    five SELECTs whatever the number, so a Home tab costs the same for someone on a thousand."""
    values = {"team_id": team_id, "user_id": user_id, "now": now, "limit": limit}
    page, count = _person_statements()
    total = session.exec(count, params=values).one()
    # Plain rows of the columns a Home shows (`ENGAGEMENT_BRIEF`), not ORM instances.
    engagements = session.exec(page, params=values).all() if total else []
    return PersonPage(
        tuple(
            (details, _roles(details, user_id))
            for details in load_many(session=session, engagements=engagements)
        ),
        int(total),
    )
