"""The concern register: risks and issues raised against an engagement, their owner, their
lifecycle (open → acknowledged → resolved, resolved → reopened, reassigned at any time) and
their response SLA.

Independent of Slack payload shapes. Every change is checked against who may make it, writes a
ConcernEvent (what the card's thread shows) and an audit event (before → after), and plans the
jobs it causes in the same transaction: the card in the channel posted or edited, a line in its
thread, a DM to a new owner, an alert to the leads for a serious security concern, and one
deadline job per clock (acknowledge, resolve, escalate) that alerts once if it is still not met.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from functools import cache
from typing import Any, NamedTuple

from sqlalchemy import Select, bindparam, case, func
from sqlmodel import Session, col, select

from bot.domain import audit, concern_clock, engagements, home
from bot.domain.engagements import DEFAULT_RESOLVE_HOURS, SEVERITIES, EngagementDetails
from bot.domain.errors import FieldErrors, NotAllowed, NotFound, UserError
from storage import job_keys, jobs
from storage.jobs import JobKind
from storage.models import Concern, ConcernEvent, ConcernSla, Engagement, EngagementMember

CATEGORIES = ("security", "delivery", "quality", "communication", "contractual", "other")
ESCALATION_DELAY = timedelta(hours=24)  # after the resolve deadline, the escalation goes up
MAX_TITLE = 150
MAX_TEXT = 3000
ALERT_AT_ONCE = {"critical", "high"}  # a security concern this serious alerts the leads at once


class ConcernStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    REOPENED = "reopened"


OPEN_STATUSES = (ConcernStatus.OPEN, ConcernStatus.ACKNOWLEDGED, ConcernStatus.REOPENED)
WAITING_FOR_ACK = (ConcernStatus.OPEN, ConcernStatus.REOPENED)


class Stage(StrEnum):
    """The clocks of a concern, each alerting once when its deadline passes unmet."""

    ACKNOWLEDGE = "acknowledge"
    RESOLVE = "resolve"
    ESCALATE = "escalate"


@dataclass(frozen=True)
class ConcernInput:
    """A complete, valid concern (the form's fields after validation)."""

    title: str
    severity: str
    category: str
    description: str = ""
    owner: str | None = None
    due_on: date | None = None


def validate(raw: Mapping[str, Any], *, today: date) -> ConcernInput:
    """Check the concern form (by action_id); FieldErrors names every field to fix."""
    errors: dict[str, str] = {}
    title = " ".join(str(raw.get("title") or "").split())
    if not title:
        errors["title"] = "Say in a few words what the concern is, e.g. VPN keys shared by email."
    elif len(title) > MAX_TITLE:
        errors["title"] = f"A title has at most {MAX_TITLE} characters (this has {len(title)})."
    description = str(raw.get("description") or "").strip()
    if len(description) > MAX_TEXT:
        errors["description"] = f"At most {MAX_TEXT} characters here (this has {len(description)})."
    severity = str(raw.get("severity") or "")
    if severity not in SEVERITIES:
        errors["severity"] = "Choose how severe it is: low, medium, high or critical."
    category = str(raw.get("category") or "")
    if category not in CATEGORIES:
        errors["category"] = "Choose what it is about."
    owner = raw.get("owner") or None
    due_on = None
    if raw.get("due_on"):
        try:
            due_on = date.fromisoformat(str(raw["due_on"]))
        except ValueError:
            errors["due_on"] = "Pick a date, or leave it empty."
        else:
            if due_on < today:
                errors["due_on"] = "The date is in the past: pick a later one, or leave it empty."
    if errors:
        raise FieldErrors(errors)
    return ConcernInput(title, severity, category, description, owner, due_on)


# --- who may do what ---------------------------------------------------------------------------


def members(details: EngagementDetails) -> set[str]:
    return {*details.leads, *details.vendor_contacts, *details.stakeholders}


def side_of(details: EngagementDetails, user_id: str) -> str:
    """Which side of the engagement a person is on (for the record: who raised it)."""
    if user_id in details.vendor_contacts:
        return "vendor"
    if user_id in details.leads or user_id in details.stakeholders:
        return "client"
    return "admin"


def require_member(details: EngagementDetails, user_id: str, admins: Iterable[str]) -> None:
    if user_id not in members(details) and user_id not in set(admins):
        raise NotAllowed(
            f"Concerns about {details.engagement.name} are raised by the people on it: its "
            "leads, vendor contacts and stakeholders. Ask a lead to add you if you should."
        )


def require_reader(details: EngagementDetails, user_id: str, admins: Iterable[str]) -> None:
    """Who may read an engagement's concerns: the people on it and Cadence admins. Said to
    anyone else without a word of the register."""
    if user_id not in members(details) and user_id not in set(admins):
        raise NotAllowed(
            f"The concerns of {details.engagement.name} are for the people on it: its leads, "
            "vendor contacts and stakeholders, and Cadence admins. Ask a lead to add you if "
            "you should see them."
        )


def may_handle(concern: Concern, details: EngagementDetails, user_id: str, admins) -> bool:
    """The owner and the leads (and Cadence admins) acknowledge, resolve and reassign."""
    return user_id == concern.owner_user_id or engagements.may_manage(details, user_id, admins)


def require_handler(concern: Concern, details: EngagementDetails, user_id: str, admins) -> None:
    if not may_handle(concern, details, user_id, admins):
        owner = f"<@{concern.owner_user_id}>" if concern.owner_user_id else "its owner"
        leads = ", ".join(f"<@{u}>" for u in details.leads)
        raise NotAllowed(
            f"Only {owner} or a lead of {details.engagement.name} ({leads}) can do that to "
            f"concern #{concern.id}."
        )


def required_note(note: str | None, missing: str) -> str:
    """A note the change needs (a resolution, a mitigation, a comment), within the limit."""
    text = (note or "").strip()
    if not text:
        raise FieldErrors({"note": missing})
    if len(text) > MAX_TEXT:
        raise FieldErrors({"note": f"At most {MAX_TEXT} characters here (this has {len(text)})."})
    return text


# --- reads -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ConcernDetails:
    concern: Concern
    details: EngagementDetails
    events: tuple[ConcernEvent, ...] = ()

    @property
    def engagement(self) -> Engagement:
        return self.details.engagement


def get(
    *, session: Session, team_id: str, concern_id: int, for_update: bool = False
) -> ConcernDetails:
    """A concern of this workspace (ids from buttons and forms are re-checked here)."""
    query = select(Concern).where(Concern.team_id == team_id).where(Concern.id == concern_id)
    concern = session.exec(query.with_for_update() if for_update else query).first()
    if concern is None:
        raise NotFound("That concern no longer exists.")
    details = engagements.get(session=session, team_id=team_id, engagement_id=concern.engagement_id)
    events = session.exec(
        select(ConcernEvent).where(ConcernEvent.concern_id == concern_id).order_by(ConcernEvent.id)
    ).all()
    return ConcernDetails(concern, details, tuple(events))


def hours_for(session: Session, engagement_id: int, severity: str) -> tuple[int, int]:
    """(acknowledge within, resolve within) in hours for a severity on an engagement."""
    row = session.exec(
        select(ConcernSla)
        .where(ConcernSla.engagement_id == engagement_id)
        .where(ConcernSla.severity == severity)
    ).first()
    acknowledge = row.response_hours if row else engagements.DEFAULT_SLA_HOURS[severity]
    resolve = (row.resolve_hours if row else None) or DEFAULT_RESOLVE_HOURS[severity]
    return acknowledge, max(resolve, acknowledge)


SEVERITY_RANK = {s: i for i, s in enumerate(SEVERITIES)}  # critical first


@dataclass(frozen=True)
class ConcernPage:
    """Open concerns, worst first, as many as were asked for, and how many there are in all."""

    rows: tuple[tuple[Concern, Engagement], ...]
    total: int


def list_open(
    *,
    session: Session,
    team_id: str,
    engagement_id: int | None = None,
    severity: str | None = None,
    category: str | None = None,
    person: str | None = None,
    limit: int = 20,
    reader: str | None = None,
    admins: Iterable[str] = (),
) -> ConcernPage:
    """Open concerns, most severe and oldest first, paged in the query (two queries whatever
    the number of engagements). `person`: only those they own or raised. `reader`: only those
    of engagements the reader is on (a concern is its engagement's business; Cadence admins
    read them all)."""
    rank = case({s: i for s, i in SEVERITY_RANK.items()}, value=col(Concern.severity), else_=9)
    query = (
        select(Concern, Engagement)
        .join(Engagement, col(Engagement.id) == col(Concern.engagement_id))
        .where(Concern.team_id == team_id)
        .where(col(Concern.status).in_(OPEN_STATUSES))
        .where(col(Engagement.archived_at).is_(None))
    )
    if engagement_id is not None:
        query = query.where(Concern.engagement_id == engagement_id)
    if severity is not None:
        query = query.where(Concern.severity == severity)
    if category is not None:
        query = query.where(Concern.category == category)
    if person is not None:
        query = query.where((Concern.owner_user_id == person) | (Concern.raised_by == person))
    if reader is not None and reader not in set(admins):
        theirs = select(EngagementMember.engagement_id).where(EngagementMember.user_id == reader)
        query = query.where(col(Concern.engagement_id).in_(theirs))
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(
        query.order_by(rank, col(Concern.raised_at), col(Concern.id)).limit(limit)
    ).all()
    return ConcernPage(tuple((c, e) for c, e in rows), int(total))


class HomeConcern(NamedTuple):
    """What the Home tab shows of an open concern (`bot/blocks/home.py`)."""

    id: int
    title: str
    severity: str
    category: str
    owner_user_id: str | None
    raised_at: datetime
    sla_due_at: datetime | None
    engagement_name: str


@dataclass(frozen=True)
class HomeConcerns:
    """The first open concerns a person owns or raised, worst first, and how many in all."""

    rows: tuple[HomeConcern, ...]
    total: int


def open_of_person(*, session: Session, team_id: str, person: str, limit: int) -> HomeConcerns:
    """`list_open(person=…)` for the Home tab: the columns it shows, as plain rows, of two
    statements built once per process (building them cost more than running them, and every
    Home tab runs them)."""
    values = {"team_id": team_id, "person": person, "limit": limit}
    page, count = _home_statements()
    total = session.exec(count, params=values).one()
    rows = tuple(HomeConcern(*row) for row in session.exec(page, params=values)) if total else ()
    return HomeConcerns(rows, int(total))


@cache
def _home_statements() -> tuple[Select, Select]:
    """`open_of_person`'s page and count (their parameters bound at execution)."""
    person = bindparam("person")
    query = (
        select(
            Concern.id,
            Concern.title,
            Concern.severity,
            Concern.category,
            Concern.owner_user_id,
            Concern.raised_at,
            Concern.sla_due_at,
            Engagement.name,
        )
        .join(Engagement, col(Engagement.id) == col(Concern.engagement_id))
        .where(col(Concern.team_id) == bindparam("team_id"))
        .where(col(Concern.status).in_(OPEN_STATUSES))
        .where(col(Engagement.archived_at).is_(None))
        .where((col(Concern.owner_user_id) == person) | (col(Concern.raised_by) == person))
    )
    rank = case({s: i for s, i in SEVERITY_RANK.items()}, value=col(Concern.severity), else_=9)
    page = query.order_by(rank, col(Concern.raised_at), col(Concern.id)).limit(bindparam("limit"))
    return page, select(func.count()).select_from(query.subquery())


# --- writes ------------------------------------------------------------------------------------


def snapshot(concern: Concern) -> dict[str, Any]:
    return concern.model_dump(
        mode="json",
        include={"title", "description", "severity", "category", "owner_user_id", "due_on",
                 "status", "resolution_note"},
    )  # fmt: skip


def raise_concern(
    *,
    session: Session,
    team_id: str,
    actor: str,
    engagement_id: int,
    data: ConcernInput,
    now: datetime,
    admins: Iterable[str],
    source: str = "command",
    source_ref: str | None = None,
    quote: str = "",
) -> Concern:
    """Record a new concern and plan what it causes: its card, its owner's DM, its clocks, and
    the leads' alert at once for a serious security concern."""
    details = engagements.get(session=session, team_id=team_id, engagement_id=engagement_id)
    if details.engagement.archived_at is not None:
        raise UserError(f"{details.engagement.name} is archived; it takes no new concerns.")
    require_member(details, actor, admins)
    owner = data.owner or (details.vendor_contacts[0] if details.vendor_contacts else None)
    if owner is None:
        owner = details.leads[0] if details.leads else actor
    concern = Concern(
        team_id=team_id,
        engagement_id=details.id,
        title=data.title,
        description=data.description,
        severity=data.severity,
        category=data.category,
        owner_user_id=owner,
        raised_by=actor,
        raised_side=side_of(details, actor),
        source=source,
        source_ref=(source_ref or None) and source_ref[:500],
        quote=quote[:MAX_TEXT],
        due_on=data.due_on,
        status=ConcernStatus.OPEN,
        raised_at=now,
    )
    session.add(concern)
    session.flush()
    assert concern.id is not None
    _start_clocks(session, concern, now)
    event = _event(session, concern, actor, "raised", None, now)
    audit.record(
        session=session, team_id=team_id, actor=actor, entity_type="concern",
        entity_id=concern.id, action="raise", after=snapshot(concern), now=now,
    )  # fmt: skip
    _plan_card(session, concern, details, event, now, thread_line=False)
    _plan_notice(session, concern, owner, "owner", now)
    home.plan_refresh(session, team_id=team_id, user_ids=[owner, actor],
                      cause=f"concern={concern.id}:event={event.id}", now=now)  # fmt: skip
    if concern.category == "security" and concern.severity in ALERT_AT_ONCE:
        for lead in details.leads:
            _plan_notice(session, concern, lead, "security", now)
    return concern


def acknowledge(
    *, session: Session, team_id: str, actor: str, concern_id: int, now: datetime, admins
) -> Concern:
    found = _for_change(session, team_id, concern_id, actor, admins)
    concern = found.concern
    if concern.status not in WAITING_FOR_ACK:
        raise UserError(
            f"Concern #{concern.id} is {concern.status} already; there is nothing to acknowledge."
        )
    before = snapshot(concern)
    concern.status, concern.acknowledged_at = ConcernStatus.ACKNOWLEDGED, now
    concern.sla_due_at = concern.resolve_due_at
    _cancel_clocks(session, concern, now, (Stage.ACKNOWLEDGE,))
    return _changed(session, found, actor, "acknowledged", before, now)


def resolve(
    *, session: Session, team_id: str, actor: str, concern_id: int, note: str, now: datetime,
    admins,
) -> Concern:  # fmt: skip
    """Resolve with a note saying how (required: the register is read months later)."""
    note = required_note(note, "Say how it was resolved: the register is read months later.")
    found = _for_change(session, team_id, concern_id, actor, admins)
    concern = found.concern
    if concern.status == ConcernStatus.RESOLVED:
        raise UserError(f"Concern #{concern.id} is resolved already.")
    before = snapshot(concern)
    concern.status, concern.resolved_at, concern.resolution_note = (
        ConcernStatus.RESOLVED, now, note,
    )  # fmt: skip
    concern.sla_due_at = None
    _cancel_clocks(session, concern, now, tuple(Stage))
    return _changed(session, found, actor, "resolved", before, now, note=note)


def reopen(
    *, session: Session, team_id: str, actor: str, concern_id: int, now: datetime, admins,
    note: str = "",
) -> Concern:  # fmt: skip
    """Reopen a resolved concern (its leads, owner, or whoever raised it); the clocks start
    again from now."""
    found = get(session=session, team_id=team_id, concern_id=concern_id, for_update=True)
    concern = found.concern
    if actor != concern.raised_by:
        require_handler(concern, found.details, actor, admins)
    if concern.status != ConcernStatus.RESOLVED:
        raise UserError(f"Concern #{concern.id} is not resolved, so it cannot be reopened.")
    before = snapshot(concern)
    concern.status, concern.round = ConcernStatus.REOPENED, concern.round + 1
    concern.acknowledged_at = concern.resolved_at = None
    _start_clocks(session, concern, now)
    return _changed(session, found, actor, "reopened", before, now, note=note.strip())


def reassign(
    *, session: Session, team_id: str, actor: str, concern_id: int, owner: str, now: datetime,
    admins,
) -> Concern:  # fmt: skip
    found = _for_change(session, team_id, concern_id, actor, admins)
    concern = found.concern
    if not owner:
        raise FieldErrors({"owner": "Choose who owns it now."})
    if owner == concern.owner_user_id:
        raise FieldErrors({"owner": f"<@{owner}> owns it already: choose someone else."})
    before = snapshot(concern)
    concern.owner_user_id = owner
    changed = _changed(session, found, actor, "reassigned", before, now, note=f"<@{owner}>")
    _plan_notice(session, concern, owner, f"owner:{len(found.events)}", now)
    return changed


def comment(
    *, session: Session, team_id: str, actor: str, concern_id: int, note: str, now: datetime,
    admins,
) -> Concern:  # fmt: skip
    """Anyone on the engagement may comment: a line in the card's thread, kept in its history."""
    note = required_note(note, "Write the comment.")
    found = get(session=session, team_id=team_id, concern_id=concern_id)
    require_member(found.details, actor, admins)
    concern = found.concern
    event = _event(session, concern, actor, "commented", concern.status, now, note)
    _plan_line(session, concern, found.details, event, now)
    return concern


def mitigate(
    *, session: Session, team_id: str, actor: str, concern_id: int, note: str, now: datetime,
    admins,
) -> Concern:  # fmt: skip
    """Mitigated (a risk review's answer): the risk is reduced but not gone, so the concern
    stays open and its resolve clock keeps running; only a resolution with a note closes it.
    One still waiting for acknowledgement becomes acknowledged: whoever mitigated it has
    plainly taken it on, and an alert that nobody has would be wrong. The owner and the leads
    only, as for resolving; the note is kept in its event, its thread line and its audit."""
    note = required_note(note, "Say what was done to reduce it.")
    found = _for_change(session, team_id, concern_id, actor, admins)
    concern = found.concern
    if concern.status == ConcernStatus.RESOLVED:
        raise UserError(f"Concern #{concern.id} is resolved already.")
    assert concern.id is not None
    before = snapshot(concern)
    if concern.status in WAITING_FOR_ACK:
        concern.status, concern.acknowledged_at = ConcernStatus.ACKNOWLEDGED, now
        concern.sla_due_at = concern.resolve_due_at
        _cancel_clocks(session, concern, now, (Stage.ACKNOWLEDGE,))
    return _changed(
        session, found, actor, "mitigated", before, now, note=note, audit_extra={"mitigation": note}
    )


def _for_change(
    session: Session, team_id: str, concern_id: int, actor: str, admins
) -> ConcernDetails:
    """The concern, locked for the change, once its owner, a lead or an admin asks."""
    found = get(session=session, team_id=team_id, concern_id=concern_id, for_update=True)
    require_handler(found.concern, found.details, actor, admins)
    return found


def _changed(
    session: Session,
    found: ConcernDetails,
    actor: str,
    action: str,
    before: dict[str, Any],
    now: datetime,
    *,
    note: str = "",
    audit_extra: dict[str, Any] | None = None,
) -> Concern:
    """Record a change: its event and audit, the card edited, a line in its thread."""
    concern = found.concern
    assert concern.id is not None
    session.add(concern)
    event = _event(session, concern, actor, action, before.get("status"), now, note)
    changed_before, changed_after = audit.changes(before, snapshot(concern))
    audit.record(
        session=session, team_id=concern.team_id, actor=actor, entity_type="concern",
        entity_id=concern.id, action=action, before=changed_before or None,
        after={**changed_after, **(audit_extra or {})} or None, now=now,
    )  # fmt: skip
    _plan_card(session, concern, found.details, event, now, thread_line=True)
    home.plan_refresh(
        session, team_id=concern.team_id, cause=f"concern={concern.id}:event={event.id}", now=now,
        user_ids=[concern.owner_user_id, concern.raised_by, before.get("owner_user_id") or ""],
    )  # fmt: skip
    return concern


def _event(
    session: Session, concern: Concern, actor: str, action: str, from_status, now, note=""
) -> ConcernEvent:
    assert concern.id is not None
    event = ConcernEvent(
        team_id=concern.team_id,
        concern_id=concern.id,
        actor_user_id=actor,
        action=action,
        from_status=from_status,
        to_status=concern.status,
        note=note[:MAX_TEXT],
        at=now,
    )
    session.add(event)
    session.flush()
    return event


# --- the jobs a change causes ------------------------------------------------------------------


def deadlines(
    engagement: Engagement, acknowledge_hours: int, resolve_hours: int, start: datetime
) -> dict[Stage, datetime]:
    """When each clock of a concern runs out, counted from `start` (raised or reopened): every
    hour counts, unless the engagement runs its clocks in working hours only."""

    def after(hours: float, since: datetime) -> datetime:
        return concern_clock.deadline(
            since,
            hours,
            tz=engagement.timezone,
            pauses=engagement.concern_clock_pauses,
            holidays=engagement.holidays or (),
        )

    resolve_by = after(resolve_hours, start)
    return {
        Stage.ACKNOWLEDGE: after(acknowledge_hours, start),
        Stage.RESOLVE: resolve_by,
        Stage.ESCALATE: after(ESCALATION_DELAY.total_seconds() / 3600, resolve_by),
    }


def clock_key(concern: Concern, stage: Stage) -> str:
    return job_keys.concern_due(concern.id, concern.round, stage)


def _start_clocks(session: Session, concern: Concern, now: datetime) -> None:
    acknowledge_hours, resolve_hours = hours_for(session, concern.engagement_id, concern.severity)
    engagement = session.get(Engagement, concern.engagement_id)
    assert engagement is not None
    due = deadlines(engagement, acknowledge_hours, resolve_hours, now)
    concern.acknowledge_due_at, concern.resolve_due_at = due[Stage.ACKNOWLEDGE], due[Stage.RESOLVE]
    concern.sla_due_at = concern.acknowledge_due_at
    session.add(concern)
    for stage, at in due.items():
        jobs.plan(
            session,
            team_id=concern.team_id,
            key=clock_key(concern, stage),
            kind=JobKind.CONCERN_DUE,
            due_at=at,
            now=now,
            payload={
                "concern_id": concern.id,
                "engagement_id": concern.engagement_id,
                "round": concern.round,
                "stage": stage.value,
            },
        )


def _cancel_clocks(
    session: Session, concern: Concern, now: datetime, stages: Sequence[Stage]
) -> None:
    jobs.cancel(session, now=now, keys=[clock_key(concern, stage) for stage in stages])


def _plan_card(
    session: Session,
    concern: Concern,
    details: EngagementDetails,
    event: ConcernEvent,
    now: datetime,
    *,
    thread_line: bool,
) -> None:
    channel = concern.channel_id or details.engagement.channel_id
    jobs.plan(
        session,
        team_id=concern.team_id,
        key=job_keys.concern_card(concern.id, event.id),
        kind=JobKind.CONCERN_CARD,
        due_at=now,
        now=now,
        payload={
            "concern_id": concern.id,
            "engagement_id": concern.engagement_id,
            "channel": channel,
        },
    )
    if thread_line:
        _plan_line(session, concern, details, event, now)


def _plan_line(
    session: Session,
    concern: Concern,
    details: EngagementDetails,
    event: ConcernEvent,
    now: datetime,
) -> None:
    jobs.plan(
        session,
        team_id=concern.team_id,
        key=job_keys.concern_line(event.id),
        kind=JobKind.CONCERN_LINE,
        due_at=now,
        now=now,
        payload={
            "concern_id": concern.id,
            "engagement_id": concern.engagement_id,
            "event_id": event.id,
            "channel": concern.channel_id or details.engagement.channel_id,
        },
    )


def _plan_notice(session: Session, concern: Concern, to: str, reason: str, now: datetime) -> None:
    jobs.plan(
        session,
        team_id=concern.team_id,
        key=job_keys.concern_notice(concern.id, reason, to),
        kind=JobKind.CONCERN_NOTICE,
        due_at=now,
        now=now,
        payload={
            "concern_id": concern.id,
            "engagement_id": concern.engagement_id,
            "reason": reason.split(":")[0],
        },
        user_id=to,
    )


def set_card(*, session: Session, concern_id: int, channel_id: str, message_ts: str) -> None:
    """Remember where the card was posted (so each change edits that message)."""
    concern = session.get(Concern, concern_id)
    if concern is not None and concern.message_ts is None:
        concern.channel_id, concern.message_ts = channel_id, message_ts
        session.add(concern)
