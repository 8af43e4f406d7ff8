"""Deliverables: what the vendor agreed to deliver by when, and what "accepted" means for it.

Lifecycle: planned → in progress (the owner) → submitted (the owner, with evidence) →
accepted (an acceptor) or rejected back to in progress (an acceptor, with a reason; the rework
counted). Re-planned (a lead or the owner: a new date and a reason, each slip kept) and
cancelled (a lead, with a reason) from any open status. Independent of Slack payload shapes.

Every change is checked here against who may make it (at click and again at submit), and lands
in one transaction with its `DeliverableEvent`, its audit event, and the jobs it causes: the
card in the engagement channel posted or edited in place, and a line in its thread.

A deliverable is due at the end of its due date in the engagement's zone (`due_moment`): "due
Friday" is late from Saturday 00:00 there. The clocks (reminders, overdue alerts) read
`due_at` and `submitted_at`; they are planned by the engine, not here.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Row, Select, String, bindparam, case, cast, func, or_
from sqlmodel import Session, col, select

from bot.domain import audit, deliverable_clocks, engagements, home, moments
from bot.domain.command_reference import shorten
from bot.domain.engagements import EngagementDetails
from bot.domain.errors import FieldErrors, NotAllowed, NotFound, UserError
from storage import job_keys, jobs
from storage.deliverable_statuses import CLOSED, DeliverableStatus
from storage.jobs import JobKind
from storage.models import Deliverable, DeliverableEvent, Engagement, EngagementMember

MAX_TITLE = 150
MAX_TEXT = 3000
MAX_MILESTONE = 80
MAX_LINK = 500
MAX_ACCEPTORS = 10
DUE_SOON = timedelta(days=3)  # the list marks what falls due within this as due soon
OPEN = (DeliverableStatus.PLANNED, DeliverableStatus.IN_PROGRESS, DeliverableStatus.SUBMITTED)
NOT_SUBMITTED = (DeliverableStatus.PLANNED, DeliverableStatus.IN_PROGRESS)


def due_moment(due_on: date, tz: str) -> datetime:
    """The end of `due_on` in the engagement's zone (midnight as the next day begins), in UTC.
    Built from the local date, so a DST change that day moves it with the wall clock."""
    local = datetime.combine(due_on + timedelta(days=1), time(0), tzinfo=ZoneInfo(tz))
    return local.astimezone(ZoneInfo("UTC"))


def local_today(now: datetime, tz: str) -> date:
    return now.astimezone(ZoneInfo(tz)).date()


# --- the form ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeliverableInput:
    """A complete, valid deliverable (the form's fields after validation)."""

    title: str
    due_on: date
    owner: str
    description: str = ""
    acceptance_criteria: str = ""
    milestone: str = ""
    acceptors: tuple[str, ...] = ()


def _text(raw: Mapping[str, Any], key: str) -> str:
    value = raw.get(key)
    return value.strip() if isinstance(value, str) else ""


def _limited(errors: dict[str, str], key: str, text: str, limit: int) -> str:
    if len(text) > limit:
        errors[key] = f"At most {limit} characters here (this has {len(text)})."
    return text


def _due_date(errors: dict[str, str], key: str, raw: Any, today: date) -> date | None:
    """A due date from a date picker: given, a date, and not before today (the engagement's)."""
    if not raw:
        errors[key] = "Pick the date it is due."
        return None
    try:
        due_on = date.fromisoformat(str(raw))
    except ValueError:
        errors[key] = "Pick a date from the calendar."
        return None
    if due_on < today:
        errors[key] = f"That date is in the past (today is {moments.day(today)}): pick a later one."
        return None
    return due_on


def validate(
    raw: Mapping[str, Any], *, details: EngagementDetails, now: datetime
) -> DeliverableInput:
    """Check the deliverable form (by action_id); FieldErrors names every field to fix. The
    owner is one of the engagement's vendor contacts; acceptors are among its leads and
    stakeholders (none: its leads accept)."""
    errors: dict[str, str] = {}
    title = " ".join(_text(raw, "title").split())
    if not title:
        errors["title"] = "Say in a few words what will be delivered, e.g. Cutover runbook."
    _limited(errors, "title", title, MAX_TITLE)
    description = _limited(errors, "description", _text(raw, "description"), MAX_TEXT)
    criteria = _limited(errors, "acceptance", _text(raw, "acceptance"), MAX_TEXT)
    milestone = _limited(
        errors, "milestone", " ".join(_text(raw, "milestone").split()), MAX_MILESTONE
    )
    due_on = _due_date(
        errors, "due_on", raw.get("due_on"), local_today(now, details.engagement.timezone)
    )
    owner = raw.get("owner") if isinstance(raw.get("owner"), str) else ""
    contacts = details.vendor_contacts
    if not contacts:
        errors["owner"] = (
            f"{details.engagement.name} has no vendor contacts yet: a lead adds them with "
            "`/cadence engagement edit` first."
        )
    elif owner not in contacts:
        named = ", ".join(f"<@{u}>" for u in contacts)
        errors["owner"] = f"The owner is one of the vendor contacts: {named}."
    chosen = raw.get("acceptors") if isinstance(raw.get("acceptors"), list) else []
    acceptors = tuple(dict.fromkeys(u for u in chosen if isinstance(u, str) and u))
    allowed = {*details.leads, *details.stakeholders}
    strangers = [u for u in acceptors if u not in allowed]
    if strangers:
        errors["acceptors"] = (
            "Acceptors are the engagement's leads or stakeholders; "
            + ", ".join(f"<@{u}>" for u in strangers)
            + " is not one."
        )
    elif len(acceptors) > MAX_ACCEPTORS:
        errors["acceptors"] = f"At most {MAX_ACCEPTORS} acceptors."
    if errors or due_on is None:
        raise FieldErrors(errors)
    return DeliverableInput(title, due_on, owner, description, criteria, milestone, acceptors)


def _step_text(raw: Mapping[str, Any], key: str, missing: str = "") -> str:
    """The one text field of a step's form (a reason, a note), within MAX_TEXT; required when
    `missing` says what to write in it."""
    text = _text(raw, key)
    errors = {key: missing} if missing and not text else {}
    _limited(errors, key, text, MAX_TEXT)
    if errors:
        raise FieldErrors(errors)
    return text


@dataclass(frozen=True)
class Evidence:
    link: str = ""
    note: str = ""
    file_id: str | None = None  # a file shared in Slack: its id and permalink, never its bytes
    file_permalink: str | None = None
    file_name: str = ""


# A file chosen in the form's file input, as Slack describes it: its id and its permalink in the
# workspace (https://<workspace>.slack.com/files/…, or an Enterprise Grid's enterprise domain),
# in URL characters only: nothing that could close or relabel a Slack link (<, >, |).
SLACK_FILE_ID = re.compile(r"^F[A-Z0-9]{2,30}$")
SLACK_PERMALINK = re.compile(
    r"^https://[a-z0-9-]+(\.enterprise)?\.slack\.com/files/[A-Za-z0-9._~/%+=-]{1,400}$"
)


def _file(raw: Mapping[str, Any], errors: dict[str, str]) -> tuple[str | None, str | None, str]:
    """The first file of the form's file input (it allows one), checked for shape."""
    files = raw.get("file")
    chosen = files[0] if isinstance(files, list) and files else None
    if not isinstance(chosen, Mapping):
        return None, None, ""
    file_id, permalink = str(chosen.get("id") or ""), str(chosen.get("permalink") or "")
    if not SLACK_FILE_ID.match(file_id) or not SLACK_PERMALINK.match(permalink):
        errors["file"] = "Slack did not describe that file as expected; choose it again."
        return None, None, ""
    return file_id, permalink, shorten(str(chosen.get("name") or ""), 150)


def validate_evidence(raw: Mapping[str, Any]) -> Evidence:
    """A submission's evidence: a link (http or https), a note, a file shared in Slack, or
    several; at least one."""
    errors: dict[str, str] = {}
    link = _text(raw, "link")
    note = _limited(errors, "note", _text(raw, "note"), MAX_TEXT)
    if link and not link.lower().startswith(("https://", "http://")):
        errors["link"] = "A link starts with https:// (or leave it empty and write a note)."
    _limited(errors, "link", link, MAX_LINK)
    file_id, permalink, name = _file(raw, errors)
    if not link and not note and not file_id and not errors:
        errors["link"] = (
            "Give the evidence: a link to what was delivered, a file, or a note (or several)."
        )
    if errors:
        raise FieldErrors(errors)
    return Evidence(link, note, file_id, permalink, name)


# --- who may do what ---------------------------------------------------------------------------


def members(details: EngagementDetails) -> set[str]:
    return {*details.leads, *details.vendor_contacts, *details.stakeholders}


def require_creator(details: EngagementDetails, user_id: str, admins: Iterable[str]) -> None:
    """The engagement's leads and Cadence admins agree deliverables with the vendor."""
    if not engagements.may_manage(details, user_id, admins):
        leads = ", ".join(f"<@{u}>" for u in details.leads)
        raise NotAllowed(
            f"Only the leads of {details.engagement.name} ({leads}) or a Cadence admin add "
            "deliverables. Ask one of them."
        )


def acceptors_of(deliverable: Deliverable, details: EngagementDetails) -> tuple[str, ...]:
    """Who accepts it: those named, else the engagement's leads."""
    return tuple(deliverable.acceptors or ()) or details.leads


def _who(users: Sequence[str]) -> str:
    return ", ".join(f"<@{u}>" for u in users) or "nobody yet"


def require_owner(deliverable: Deliverable, user_id: str) -> None:
    if user_id != deliverable.owner_user_id:
        raise NotAllowed(
            f"Only <@{deliverable.owner_user_id}>, its owner, starts and submits deliverable "
            f"#{deliverable.id}."
        )


def require_acceptor(deliverable: Deliverable, details: EngagementDetails, user_id: str) -> None:
    acceptors = acceptors_of(deliverable, details)
    if user_id not in acceptors:
        raise NotAllowed(
            f"Only {_who(acceptors)}, its acceptors, accept or reject deliverable "
            f"#{deliverable.id}."
        )


def require_planner(
    deliverable: Deliverable, details: EngagementDetails, user_id: str, admins: Iterable[str]
) -> None:
    """A new due date: the owner, the leads and Cadence admins."""
    if user_id != deliverable.owner_user_id and not engagements.may_manage(
        details, user_id, admins
    ):
        raise NotAllowed(
            f"Only <@{deliverable.owner_user_id}> or a lead of {details.engagement.name} "
            f"({_who(details.leads)}) re-plans deliverable #{deliverable.id}."
        )


def require_canceller(
    deliverable: Deliverable, details: EngagementDetails, user_id: str, admins: Iterable[str]
) -> None:
    if not engagements.may_manage(details, user_id, admins):
        raise NotAllowed(
            f"Only the leads of {details.engagement.name} ({_who(details.leads)}) or a "
            f"Cadence admin cancel deliverable #{deliverable.id}."
        )


def require_reader(details: EngagementDetails, user_id: str, only_for: str | None) -> None:
    """A person of another organisation reads the deliverables of the engagements they are on
    only (`Request.only_for`); the installed workspace's members and admins read them all."""
    if only_for is not None and only_for not in members(details):
        raise NotAllowed(
            f"You are not on {details.engagement.name}. Ask a lead to add you if you should "
            "see its deliverables."
        )


# The checks each step makes at click and at submit (the listener calls `check` on a click).
def check(
    what: str, deliverable: Deliverable, details: EngagementDetails, user_id: str, admins
) -> None:
    """Whether `user_id` may take step `what` on the deliverable now: who, and its status."""
    status = DeliverableStatus(deliverable.status)
    if status in CLOSED:
        raise UserError(f"Deliverable #{deliverable.id} is {status.value} already.")
    if what in ("start", "submit"):
        require_owner(deliverable, user_id)
        if what == "start" and status != DeliverableStatus.PLANNED:
            raise UserError(f"Deliverable #{deliverable.id} is {_words(status)} already.")
        if what == "submit" and status not in NOT_SUBMITTED:
            raise UserError(f"Deliverable #{deliverable.id} is submitted already.")
    elif what in ("accept", "reject"):
        require_acceptor(deliverable, details, user_id)
        if status != DeliverableStatus.SUBMITTED:
            raise UserError(f"Deliverable #{deliverable.id} is not submitted yet.")
    elif what == "replan":
        require_planner(deliverable, details, user_id, admins)
    elif what == "cancel":
        require_canceller(deliverable, details, user_id, admins)
    else:
        raise NotFound("That button is out of date; run `/cadence deliverables` again.")


def _words(status: DeliverableStatus) -> str:
    return status.value.replace("_", " ")


# --- reads -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DeliverableDetails:
    deliverable: Deliverable
    details: EngagementDetails
    events: tuple[DeliverableEvent, ...] = ()

    @property
    def engagement(self) -> Engagement:
        return self.details.engagement


def get(
    *, session: Session, team_id: str, deliverable_id: int, for_update: bool = False
) -> DeliverableDetails:
    """A deliverable of this workspace (ids from buttons and forms are re-checked here)."""
    query = (
        select(Deliverable)
        .where(Deliverable.team_id == team_id)
        .where(Deliverable.id == deliverable_id)
    )
    deliverable = session.exec(query.with_for_update() if for_update else query).first()
    if deliverable is None:
        raise NotFound("That deliverable no longer exists.")
    details = engagements.get(
        session=session, team_id=team_id, engagement_id=deliverable.engagement_id
    )
    events = session.exec(
        select(DeliverableEvent)
        .where(DeliverableEvent.deliverable_id == deliverable_id)
        .order_by(col(DeliverableEvent.id))
    ).all()
    return DeliverableDetails(deliverable, details, tuple(events))


@dataclass(frozen=True)
class DeliverablePage:
    """Deliverables, overdue and due soon first, one page of them, and how many in all."""

    rows: tuple[tuple[Deliverable, Engagement], ...]
    total: int
    offset: int
    milestones: tuple[Milestone, ...] = ()  # one engagement's, on its list's first page


def list_page(
    *,
    session: Session,
    team_id: str,
    now: datetime,
    engagement_id: int | None = None,
    mine: str | None = None,
    overdue: bool = False,
    only_for: str | None = None,
    offset: int = 0,
    limit: int = 20,
) -> DeliverablePage:
    """Deliverables of live engagements, paged in the query: open ones by due moment (so the
    overdue come first, then those due soon), then accepted and cancelled ones, newest first.
    `mine`: those the person owns or accepts (named, or as a lead when none are named).
    `overdue`: open and past due, not submitted. `only_for`: only engagements they are on."""
    query = (
        select(Deliverable, Engagement)
        .join(Engagement, col(Engagement.id) == col(Deliverable.engagement_id))
        .where(Deliverable.team_id == team_id)
        .where(col(Engagement.archived_at).is_(None))
    )
    if engagement_id is not None:
        query = query.where(Deliverable.engagement_id == engagement_id)
    if only_for is not None:
        theirs = select(EngagementMember.engagement_id).where(EngagementMember.user_id == only_for)
        query = query.where(col(Deliverable.engagement_id).in_(theirs))
    if mine is not None:
        leading = (
            select(EngagementMember.engagement_id)
            .where(EngagementMember.user_id == mine)
            .where(EngagementMember.role == "lead")
        )
        named = cast(col(Deliverable.acceptors), String)
        query = query.where(
            or_(
                col(Deliverable.owner_user_id) == mine,
                named.like(f'%"{mine}"%'),
                (named == "[]") & col(Deliverable.engagement_id).in_(leading),
            )
        )
    if overdue:
        query = query.where(col(Deliverable.status).in_(NOT_SUBMITTED)).where(
            col(Deliverable.due_at) <= now
        )
    closed = case((col(Deliverable.status).in_(CLOSED), 1), else_=0)
    total = session.exec(select(func.count()).select_from(query.subquery())).one()
    rows = session.exec(
        query.order_by(
            closed,
            case((closed == 0, col(Deliverable.due_at)), else_=None),
            col(Deliverable.updated_at).desc(),
            col(Deliverable.id),
        )
        .offset(offset)
        .limit(limit)
    ).all()
    return DeliverablePage(tuple((d, e) for d, e in rows), int(total), offset)


@dataclass(frozen=True)
class Milestone:
    """A named date whose status follows its deliverables (the cancelled ones aside): its date
    is the latest of their due dates; it is done when all are accepted, late when one is past
    due and not accepted, at risk when one slipped or was sent back, else on track."""

    name: str
    on: date
    status: str
    accepted: int
    total: int


MILESTONE_ORDER = {"late": 0, "at risk": 1, "on track": 2, "done": 3}


def milestone_of(name: str, rows: Sequence[Deliverable], now: datetime) -> Milestone | None:
    """The milestone's status from its deliverables (pure); None when all were cancelled."""
    live = [d for d in rows if d.status != DeliverableStatus.CANCELLED]
    if not live:
        return None
    accepted = sum(1 for d in live if d.status == DeliverableStatus.ACCEPTED)
    waiting = [d for d in live if d.status != DeliverableStatus.ACCEPTED]
    if not waiting:
        status = "done"
    elif any(d.due_at <= now and d.status in NOT_SUBMITTED for d in waiting):
        status = "late"
    elif any(d.slip_count or d.rework_count for d in waiting):
        status = "at risk"
    else:
        status = "on track"
    return Milestone(name, max(d.due_on for d in live), status, accepted, len(live))


def milestones(*, session: Session, engagement_id: int, now: datetime) -> tuple[Milestone, ...]:
    """An engagement's milestones, in date order (one SELECT)."""
    rows = session.exec(
        select(Deliverable)
        .where(Deliverable.engagement_id == engagement_id)
        .where(Deliverable.milestone != "")
    ).all()
    grouped: dict[str, list[Deliverable]] = {}
    for d in rows:
        grouped.setdefault(d.milestone, []).append(d)
    found = [milestone_of(name, group, now) for name, group in grouped.items()]
    return tuple(sorted((m for m in found if m), key=lambda m: (m.on, m.name)))


def due_for(
    *, session: Session, engagement_id: int, owner: str, until: datetime
) -> Sequence[Row[tuple[int, str, date, datetime]]]:
    """The owner's deliverables on the engagement not submitted yet and due by `until` (the
    overdue among them), soonest first: what their status update asks about, as rows of
    `id, title, due_on, due_at` (the form shows no more; read at every click of a prompt)."""
    return session.exec(
        _due_for_statement(),
        params={"engagement_id": engagement_id, "owner": owner, "until": until},
    ).all()


@cache
def _due_for_statement() -> Select:
    """`due_for`'s statement, built once per process (building it cost more than running it)."""
    return (
        select(Deliverable.id, Deliverable.title, Deliverable.due_on, Deliverable.due_at)
        .where(col(Deliverable.engagement_id) == bindparam("engagement_id"))
        .where(col(Deliverable.owner_user_id) == bindparam("owner"))
        .where(col(Deliverable.status).in_(NOT_SUBMITTED))
        .where(col(Deliverable.due_at) <= bindparam("until"))
        .order_by(col(Deliverable.due_at), col(Deliverable.id))
    )


# --- writes ------------------------------------------------------------------------------------


def snapshot(deliverable: Deliverable) -> dict[str, Any]:
    return deliverable.model_dump(
        mode="json",
        include={
            "title",
            "description",
            "acceptance_criteria",
            "milestone",
            "due_on",
            "owner_user_id",
            "acceptors",
            "status",
            "rework_count",
            "slip_count",
            "days_slipped",
            "evidence_link",
            "evidence_note",
        },
    )


def create(
    *,
    session: Session,
    team_id: str,
    actor: str,
    engagement_id: int,
    raw: Mapping[str, Any],
    now: datetime,
    admins: Iterable[str],
) -> Deliverable:
    """Add a deliverable (a lead or a Cadence admin), validated against the engagement's people
    as they are now; its card goes to the engagement channel."""
    details = engagements.get(session=session, team_id=team_id, engagement_id=engagement_id)
    if details.engagement.archived_at is not None:
        raise UserError(f"{details.engagement.name} is archived; it takes no new deliverables.")
    require_creator(details, actor, admins)
    data = validate(raw, details=details, now=now)
    deliverable = Deliverable(
        team_id=team_id,
        engagement_id=details.id,
        title=data.title,
        description=data.description,
        acceptance_criteria=data.acceptance_criteria,
        milestone=data.milestone,
        due_on=data.due_on,
        due_at=due_moment(data.due_on, details.engagement.timezone),
        original_due_on=data.due_on,
        owner_user_id=data.owner,
        acceptors=list(data.acceptors),
        status=DeliverableStatus.PLANNED,
        created_by=actor,
        created_at=now,
        updated_at=now,
    )
    session.add(deliverable)
    session.flush()
    assert deliverable.id is not None
    event = _event(session, deliverable, actor, "created", None, now)
    audit.record(
        session=session,
        team_id=team_id,
        actor=actor,
        entity_type="deliverable",
        entity_id=deliverable.id,
        action="create",
        after=snapshot(deliverable),
        now=now,
    )
    _plan_card(session, deliverable, details, event, now, thread_line=False)
    _refresh_homes(session, deliverable, details, event, now)
    deliverable_clocks.plan(session, deliverable, now)
    return deliverable


def start(
    *,
    session: Session,
    team_id: str,
    actor: str,
    deliverable_id: int,
    now: datetime,
    admins: Iterable[str],
) -> Deliverable:
    change = _for_change(session, team_id, deliverable_id, "start", actor, admins, now)
    change.deliverable.status = DeliverableStatus.IN_PROGRESS
    return _changed(change, "started")


def submit(
    *,
    session: Session,
    team_id: str,
    actor: str,
    deliverable_id: int,
    now: datetime,
    admins: Iterable[str],
    raw: Mapping[str, Any],
) -> Deliverable:
    """The owner hands it over with evidence (a link, a Slack file, a note); the acceptance clock
    starts."""
    evidence = validate_evidence(raw)
    change = _for_change(session, team_id, deliverable_id, "submit", actor, admins, now)
    deliverable = change.deliverable
    deliverable.status = DeliverableStatus.SUBMITTED
    deliverable.evidence_link, deliverable.evidence_note = evidence.link, evidence.note
    deliverable.evidence_file_id = evidence.file_id
    deliverable.evidence_file_permalink = evidence.file_permalink
    deliverable.submitted_at = now
    shared = (
        evidence.file_permalink and f"{evidence.file_name or 'a file'}: {evidence.file_permalink}"
    )
    note = " · ".join(p for p in (evidence.link, shared, evidence.note) if p)
    return _changed(change, "submitted", note=note, data={"late": now > deliverable.due_at})


def accept(
    *,
    session: Session,
    team_id: str,
    actor: str,
    deliverable_id: int,
    now: datetime,
    admins: Iterable[str],
    raw: Mapping[str, Any],
) -> Deliverable:
    """An acceptor accepts it (an optional note); it is done."""
    note = _step_text(raw, "note")
    change = _for_change(session, team_id, deliverable_id, "accept", actor, admins, now)
    deliverable = change.deliverable
    deliverable.status = DeliverableStatus.ACCEPTED
    deliverable.accepted_at = now
    return _changed(
        change, "accepted", note=note, data={"first_time": deliverable.rework_count == 0}
    )


def reject(
    *,
    session: Session,
    team_id: str,
    actor: str,
    deliverable_id: int,
    now: datetime,
    admins: Iterable[str],
    raw: Mapping[str, Any],
) -> Deliverable:
    """An acceptor sends it back with the reason: in progress again, one more rework."""
    reason = _step_text(raw, "reason", "Say what is missing: the owner reworks it from this.")
    change = _for_change(session, team_id, deliverable_id, "reject", actor, admins, now)
    deliverable = change.deliverable
    deliverable.status = DeliverableStatus.IN_PROGRESS
    deliverable.rework_count += 1
    deliverable.submitted_at = None
    return _changed(change, "rejected", note=reason, data={"rework": deliverable.rework_count})


def replan(
    *,
    session: Session,
    team_id: str,
    actor: str,
    deliverable_id: int,
    now: datetime,
    admins: Iterable[str],
    raw: Mapping[str, Any],
) -> Deliverable:
    """A new due date with its reason; a later date is a slip (counted, with its days), and
    every change of date is kept in its event (old and new)."""
    change = _for_change(session, team_id, deliverable_id, "replan", actor, admins, now)
    deliverable, tz = change.deliverable, change.found.engagement.timezone
    errors: dict[str, str] = {}
    due_on = _due_date(errors, "due_on", raw.get("due_on"), local_today(now, tz))
    reason = _text(raw, "reason")
    if not reason:
        errors["reason"] = "Say why the date moves: the register is read months later."
    _limited(errors, "reason", reason, MAX_TEXT)
    if due_on is not None and due_on == deliverable.due_on:
        errors["due_on"] = f"It is due {moments.day(due_on)} already: pick another date."
    if errors or due_on is None:
        raise FieldErrors(errors)
    old = deliverable.due_on
    days = (due_on - old).days
    deliverable.due_on = due_on
    deliverable.due_at = due_moment(due_on, tz)
    if days > 0:
        deliverable.slip_count += 1
        deliverable.days_slipped += days
    data = {"from": old.isoformat(), "to": due_on.isoformat(), "days": days}
    return _changed(change, "replanned", note=reason, data=data)


def cancel(
    *,
    session: Session,
    team_id: str,
    actor: str,
    deliverable_id: int,
    now: datetime,
    admins: Iterable[str],
    raw: Mapping[str, Any],
) -> Deliverable:
    reason = _step_text(
        raw, "reason", "Say why it is cancelled: the register is read months later."
    )
    change = _for_change(session, team_id, deliverable_id, "cancel", actor, admins, now)
    change.deliverable.status = DeliverableStatus.CANCELLED
    change.deliverable.cancelled_at = now
    return _changed(change, "cancelled", note=reason)


@dataclass(frozen=True)
class _Change:
    """A step under way: the deliverable locked and checked, how it stood before, who takes
    the step and when (what `_changed` records)."""

    session: Session
    found: DeliverableDetails
    before: dict[str, Any]
    actor: str
    now: datetime

    @property
    def deliverable(self) -> Deliverable:
        return self.found.deliverable


def _for_change(
    session: Session,
    team_id: str,
    deliverable_id: int,
    what: str,
    actor: str,
    admins: Iterable[str],
    now: datetime,
) -> _Change:
    """The deliverable, locked for the change, once `actor` may take step `what` now."""
    found = get(session=session, team_id=team_id, deliverable_id=deliverable_id, for_update=True)
    if found.engagement.archived_at is not None:
        raise UserError(f"{found.engagement.name} is archived; its deliverables are closed.")
    check(what, found.deliverable, found.details, actor, admins)
    return _Change(session, found, snapshot(found.deliverable), actor, now)


def _changed(
    change: _Change, action: str, *, note: str = "", data: dict[str, Any] | None = None
) -> Deliverable:
    """Record a change: its event and audit, the card edited, a line in its thread."""
    session, deliverable, actor, now = change.session, change.deliverable, change.actor, change.now
    assert deliverable.id is not None
    deliverable.updated_at = now
    session.add(deliverable)
    before = change.before
    event = _event(session, deliverable, actor, action, before.get("status"), now, note, data)
    changed_before, changed_after = audit.changes(before, snapshot(deliverable))
    audit.record(
        session=session,
        team_id=deliverable.team_id,
        actor=actor,
        entity_type="deliverable",
        entity_id=deliverable.id,
        action=action,
        before=changed_before or None,
        after={**changed_after, **({"note": note} if note else {})} or None,
        now=now,
    )
    _plan_card(session, deliverable, change.found.details, event, now, thread_line=True)
    _refresh_homes(session, deliverable, change.found.details, event, now)
    deliverable_clocks.plan(session, deliverable, now)  # the clocks follow every change
    return deliverable


def _event(
    session: Session,
    deliverable: Deliverable,
    actor: str,
    action: str,
    from_status: str | None,
    now: datetime,
    note: str = "",
    data: dict[str, Any] | None = None,
) -> DeliverableEvent:
    assert deliverable.id is not None
    event = DeliverableEvent(
        team_id=deliverable.team_id,
        deliverable_id=deliverable.id,
        actor_user_id=actor,
        action=action,
        from_status=from_status,
        to_status=deliverable.status,
        note=note[:MAX_TEXT],
        data=data or {},
        at=now,
    )
    session.add(event)
    session.flush()
    return event


# --- the jobs a change causes ------------------------------------------------------------------


def _refresh_homes(
    session: Session,
    deliverable: Deliverable,
    details: EngagementDetails,
    event: DeliverableEvent,
    now: datetime,
) -> None:
    home.plan_refresh(
        session,
        team_id=deliverable.team_id,
        now=now,
        cause=f"deliverable={deliverable.id}:event={event.id}",
        user_ids=[deliverable.owner_user_id, *acceptors_of(deliverable, details)],
    )


def _plan_card(
    session: Session,
    deliverable: Deliverable,
    details: EngagementDetails,
    event: DeliverableEvent,
    now: datetime,
    *,
    thread_line: bool,
) -> None:
    """The card posted (or edited in place) and, for a change, a line in its thread: planned
    in the change's transaction, sent after its commit."""
    channel = deliverable.channel_id or details.engagement.channel_id
    payload = {
        "deliverable_id": deliverable.id,
        "engagement_id": deliverable.engagement_id,
        "channel": channel,
    }
    jobs.plan(
        session,
        team_id=deliverable.team_id,
        now=now,
        due_at=now,
        key=job_keys.deliverable_card(deliverable.id, event.id),
        kind=JobKind.DELIVERABLE_CARD,
        payload=payload,
    )
    if thread_line:
        jobs.plan(
            session,
            team_id=deliverable.team_id,
            now=now,
            due_at=now,
            key=job_keys.deliverable_line(event.id),
            kind=JobKind.DELIVERABLE_LINE,
            payload={**payload, "event_id": event.id},
        )


def set_card(*, session: Session, deliverable_id: int, channel_id: str, message_ts: str) -> None:
    """Remember where the card was posted (so each change edits that message)."""
    deliverable = session.get(Deliverable, deliverable_id)
    if deliverable is not None and deliverable.message_ts is None:
        deliverable.channel_id, deliverable.message_ts = channel_id, message_ts
        session.add(deliverable)
