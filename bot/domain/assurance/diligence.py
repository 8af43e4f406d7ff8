"""Due diligence at an engagement's start: the kinds of evidence its criticality requires are
requested of its vendor as soon as it is created, and "due diligence 4 of 6" says how much of
that is in hand and current.

What a criticality requires is the workspace's own choice (`AssuranceRequirement` rows, set by
its stewards with `/cadence assurance requirements`); a workspace that has set none at all gets
`types.DEFAULT_REQUIREMENTS`. Once it has set any, its choice is the whole of it: a criticality
it left empty requires nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select

from bot.domain import audit, roles, workspaces
from bot.domain.assurance import clocks, register
from bot.domain.assurance.types import BY_KEY, CRITICALITIES, DEFAULT_REQUIREMENTS, EvidenceType
from bot.domain.engagements.definition import EngagementDetails
from bot.domain.errors import FieldErrors
from storage.assurance_statuses import AssuranceStatus
from storage.models import (
    AssuranceItem,
    AssuranceRequirement,
    AssuranceType,
    Workspace,
)


def requirements(session: Session, team_id: str) -> dict[str, tuple[str, ...]]:
    """Per criticality, the kinds every new engagement of it asks for (in the order set)."""
    rows = session.exec(
        select(AssuranceRequirement.criticality, AssuranceRequirement.type_key)
        .where(AssuranceRequirement.team_id == team_id)
        .order_by(col(AssuranceRequirement.id))
    ).all()
    if not rows:
        return {c: tuple(DEFAULT_REQUIREMENTS.get(c, ())) for c in CRITICALITIES}
    chosen: dict[str, list[str]] = {c: [] for c in CRITICALITIES}
    for criticality, type_key in rows:
        chosen.setdefault(criticality, []).append(type_key)
    return {c: tuple(dict.fromkeys(keys)) for c, keys in chosen.items()}


def is_default(session: Session, team_id: str) -> bool:
    """Whether the workspace still uses the built-in requirements (it has set none)."""
    return (
        session.exec(
            select(AssuranceRequirement.id).where(AssuranceRequirement.team_id == team_id).limit(1)
        ).first()
        is None
    )


def request_at_start(
    session: Session, details: EngagementDetails, actor: str, now: datetime
) -> list[AssuranceItem]:
    """Request of the first vendor contact each kind the engagement's criticality requires
    and it has no item of yet (each owner gets a DM with a Provide button:
    `register.request`), in the caller's transaction: at its creation, and again when an edit
    raises its criticality or names its first vendor contact. An engagement without vendor
    contacts has nobody to ask yet: nothing is requested."""
    engagement = details.engagement
    if not details.vendor_contacts or engagement.archived_at is not None:
        return []
    owner = details.vendor_contacts[0]
    held = set(
        session.exec(
            select(AssuranceItem.type_key).where(AssuranceItem.engagement_id == engagement.id)
        ).all()
    )
    kinds = requirements(session, engagement.team_id).get(engagement.criticality, ())
    return [
        register.request(session, engagement, type_key, owner, True, actor, now)
        for type_key in kinds
        if type_key not in held
    ]


# What the clocks of the vendor's evidence are computed from.
ASSURANCE_SETTINGS = ("timezone", "holidays", "assurance_expiry_days", "assurance_window_days")


def follow_engagement(
    session: Session,
    before: EngagementDetails | None,
    after: EngagementDetails,
    actor: str,
    now: datetime,
) -> None:
    """What an engagement's creation or edit means for its evidence, in the same transaction
    (the caller saves the engagement, then calls this: the engagement knows nothing of the
    register built on it). A new engagement asks for what its criticality requires; an edit
    that raises its criticality or names its first vendor contact asks for what is missing; new
    evidence settings (or zone, or holidays) move its items' clocks."""
    if before is None:
        request_at_start(session, after, actor, now)
        return
    old, new = before.engagement, after.engagement
    if any(getattr(old, f) != getattr(new, f) for f in ASSURANCE_SETTINGS):
        clocks.replan_engagement(session, new, now)
    if old.criticality != new.criticality or (after.vendor_contacts and not before.vendor_contacts):
        request_at_start(session, after, actor, now)


@dataclass(frozen=True)
class Coverage:
    """Required items in hand and current, of all required items ("due diligence 4 of 6")."""

    valid: int
    required: int

    @property
    def complete(self) -> bool:
        return self.valid >= self.required

    def __str__(self) -> str:
        return f"due diligence {self.valid} of {self.required}"


def is_valid(item: AssuranceItem, today: date) -> bool:
    """Accepted and not past its last valid day (an item that does not expire stays valid)."""
    return item.status == AssuranceStatus.ACCEPTED and (
        item.valid_until is None or item.valid_until >= today
    )


def coverage(items: Iterable[AssuranceItem], today: date) -> Coverage:
    """Pure: of the required items (waived ones are not required any more), how many are
    accepted and valid on `today` (the engagement's day)."""
    required = [i for i in items if i.required and i.status != AssuranceStatus.WAIVED]
    return Coverage(sum(is_valid(i, today) for i in required), len(required))


def coverage_by_engagement(
    items: Iterable[AssuranceItem], today: Mapping[int, date] | date
) -> dict[int, Coverage]:
    """Pure: `coverage` per engagement of a set of items (each engagement's own day when a
    mapping is given)."""
    grouped: dict[int, list[AssuranceItem]] = {}
    for item in items:
        grouped.setdefault(item.engagement_id, []).append(item)
    return {
        eid: coverage(group, today[eid] if isinstance(today, Mapping) else today)
        for eid, group in grouped.items()
    }


# --- the workspace's requirements (`/cadence assurance requirements`, its stewards) -------------

MAX_OWN_KINDS = 50  # a workspace's own kinds: with the built-in ones, within a menu's 100 options
MAX_KIND_NAME = 80
REQUIRE_FIELD = "require_{}"  # the form's multi-select per criticality
NEW_KIND_NAME, NEW_KIND_EXPIRES, NEW_KIND_FOR = "new_kind_name", "new_kind_expires", "new_kind_for"
EXPIRES = "expires"  # the new kind's checkbox: valid until a date


@dataclass(frozen=True)
class RequirementsInput:
    """The form's choice: per criticality the kinds it requires, and a kind of the
    workspace's own to add (already counted in `chosen` for the criticalities it was ticked for)."""

    chosen: Mapping[str, tuple[str, ...]]
    new_kind: EvidenceType | None = None


def kind_key(name: str) -> str:
    """A new kind's key from its name: `Red team exercise` → `red_team_exercise`."""
    return "_".join(re.findall(r"[a-z0-9]+", name.lower()))[:40].strip("_")


def validate_requirements(
    raw: Mapping[str, Any], known_kinds: Mapping[str, EvidenceType]
) -> RequirementsInput:
    """Check the form; FieldErrors names each field to fix (by action_id)."""
    errors: dict[str, str] = {}
    chosen: dict[str, list[str]] = {}
    for criticality in CRITICALITIES:
        field = REQUIRE_FIELD.format(criticality)
        keys = [k for k in raw.get(field) or () if isinstance(k, str)]
        unknown = [k for k in keys if k not in known_kinds]
        if unknown:
            errors[field] = "Choose among the kinds listed."
        chosen[criticality] = list(dict.fromkeys(keys))
    name = " ".join(str(raw.get(NEW_KIND_NAME) or "").split())
    ticked = [c for c in raw.get(NEW_KIND_FOR) or () if c in CRITICALITIES]
    new_kind = None
    if name:
        key = kind_key(name)
        names = {k.name.lower() for k in known_kinds.values()}
        own = sum(1 for k in known_kinds if k not in BY_KEY)
        if len(name) > MAX_KIND_NAME:
            errors[NEW_KIND_NAME] = f"At most {MAX_KIND_NAME} characters (this has {len(name)})."
        elif not key:
            errors[NEW_KIND_NAME] = "Give the kind a name with letters or digits."
        elif key in known_kinds or name.lower() in names:
            errors[NEW_KIND_NAME] = f"“{name}” is a kind already: choose it in the lists above."
        elif own >= MAX_OWN_KINDS:
            errors[NEW_KIND_NAME] = f"This workspace has {own} kinds of its own, the most it keeps."
        else:
            new_kind = EvidenceType(key, name, expires=EXPIRES in (raw.get(NEW_KIND_EXPIRES) or ()))
            for criticality in ticked:
                chosen[criticality].append(key)
    elif ticked:
        errors[NEW_KIND_NAME] = "Name the kind to require it."
    if errors:
        raise FieldErrors(errors)
    return RequirementsInput({c: tuple(k) for c, k in chosen.items()}, new_kind)


def save_requirements(
    session: Session, *, team_id: str, actor: roles.Actor, data: RequirementsInput, now: datetime
) -> dict[str, tuple[str, ...]]:
    """Make the workspace's requirements `data` (its stewards only), adding its new kind, with
    one audit event; under the workspace's row lock, so two stewards saving at once write one
    after the other. What every criticality requires now is returned."""
    roles.require_steward(actor, "choose which evidence each criticality requires")
    workspaces.ensure(session, team_id=team_id, now=now)
    workspace = session.exec(
        select(Workspace).where(Workspace.team_id == team_id).with_for_update()
    ).one()
    before = requirements(session, team_id)
    was_default = is_default(session, team_id)
    if data.new_kind is not None:
        kind = data.new_kind
        session.add(
            AssuranceType(
                team_id=team_id,
                key=kind.key,
                name=kind.name,
                expires=kind.expires,
                created_by=actor.user_id,
                created_at=now,
            )
        )
    stored = {
        (r.criticality, r.type_key): r
        for r in session.exec(
            select(AssuranceRequirement).where(AssuranceRequirement.team_id == team_id)
        )
    }
    wanted = [(c, k) for c, keys in data.chosen.items() for k in keys]
    for pair, row in stored.items():
        if pair not in wanted:
            session.delete(row)
    session.flush()
    for criticality, key in wanted:
        if (criticality, key) not in stored:
            session.add(
                AssuranceRequirement(
                    team_id=team_id,
                    criticality=criticality,
                    type_key=key,
                    created_by=actor.user_id,
                    created_at=now,
                )
            )
    session.flush()
    after = requirements(session, team_id)
    assert workspace.id is not None
    audit.record(
        session=session,
        team_id=team_id,
        actor=actor.user_id,
        entity_type="workspace",
        entity_id=workspace.id,
        action="assurance_requirements",
        now=now,
        before={"requirements": {c: list(k) for c, k in before.items()}, "default": was_default},
        after={
            "requirements": {c: list(k) for c, k in after.items()},
            "default": is_default(session, team_id),
            **({"new_kind": vars(data.new_kind)} if data.new_kind else {}),
        },
    )
    return after
