"""The assurance register: a vendor's security evidence on an engagement, item by item.

Lifecycle: requested (added by a lead, or by due diligence: `request`) → received (its owner
provides it: a link, a Slack file, a note, with the dates it is valid) → accepted (a reviewer;
its clocks watch the expiry) or rejected (a reviewer, with the reason: owed again by its
owner). A lead waives an item that is not needed, with the reason. An accepted item whose
evidence lapses turns expired (`expiry.expire`, run by its clock) and is owed again.

Every change is checked here against who may make it (at click and again at submit), and lands
in one transaction with its `AssuranceEvent`, its audit record, its clocks brought in line
(`clocks.plan`), the card in the engagement channel (posted, then edited in place) with a line
in its thread, and a Home refresh for those it shows on. Who sees an engagement's register:
its people and Cadence admins only (`require_reader`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from bot.domain import audit, deliverables, engagements, home, moments
from bot.domain.assurance import clocks
from bot.domain.assurance.types import EvidenceType, known
from bot.domain.engagements import EngagementDetails
from bot.domain.errors import FieldErrors, NotAllowed, NotFound, UserError
from storage import job_keys, jobs
from storage.assurance_statuses import OWED, AssuranceStatus
from storage.jobs import JobKind
from storage.models import AssuranceEvent, AssuranceItem, AssuranceType, Engagement

MAX_TITLE = 150
MAX_TEXT = 3000
MAX_REVIEWERS = 10
MAX_FINDINGS = 100_000
# The steps a person may take on an item, in the order buttons and menus show them.
STEPS = ("provide", "accept", "reject", "waive")
WAIVABLE = frozenset({*OWED, AssuranceStatus.RECEIVED})


def local_today(now: datetime, tz: str) -> date:
    return now.astimezone(ZoneInfo(tz)).date()


# --- the kinds a workspace knows ---------------------------------------------------------------


def custom_types(session: Session, team_id: str) -> tuple[EvidenceType, ...]:
    """The workspace's own kinds of evidence (beside the built-in ones)."""
    rows = session.exec(
        select(AssuranceType)
        .where(AssuranceType.team_id == team_id)
        .order_by(col(AssuranceType.id))
    ).all()
    return tuple(EvidenceType(r.key, r.name, expires=r.expires) for r in rows)


def kinds(session: Session, team_id: str) -> dict[str, EvidenceType]:
    return known(custom_types(session, team_id))


def kind_of(item: AssuranceItem, known_kinds: Mapping[str, EvidenceType]) -> EvidenceType:
    """The item's kind (one a workspace removed since reads as an expiring kind of that key)."""
    return known_kinds.get(item.type_key) or EvidenceType(item.type_key, item.title)


# --- who may do what ---------------------------------------------------------------------------


def members(details: EngagementDetails) -> set[str]:
    return {*details.leads, *details.vendor_contacts, *details.stakeholders}


def _who(users: Sequence[str]) -> str:
    return ", ".join(f"<@{u}>" for u in users) or "nobody yet"


def require_reader(details: EngagementDetails, user_id: str, admins: Iterable[str]) -> None:
    """An engagement's register is read by its people and Cadence admins, nobody else: it
    holds the vendor's security evidence and links to it."""
    if user_id not in members(details) and user_id not in set(admins):
        raise NotAllowed(
            f"You are not on {details.engagement.name}: its evidence is for its people only. "
            "Ask a lead to add you if you should see it."
        )


def require_manager(details: EngagementDetails, user_id: str, admins: Iterable[str]) -> None:
    """The engagement's leads and Cadence admins add items and waive them."""
    if not engagements.may_manage(details, user_id, admins):
        raise NotAllowed(
            f"Only the leads of {details.engagement.name} ({_who(details.leads)}) or a Cadence "
            "admin add or waive evidence items. Ask one of them."
        )


def reviewers_of(item: AssuranceItem, details: EngagementDetails) -> tuple[str, ...]:
    """Who reviews it: those named, else the engagement's leads."""
    return tuple(item.reviewers or ()) or details.leads


def check(
    what: str,
    item: AssuranceItem,
    details: EngagementDetails,
    user_id: str,
    admins: Iterable[str],
) -> None:
    """Whether `user_id` may take step `what` on the item now: who, and its status."""
    status = AssuranceStatus(item.status)
    if what == "provide":
        if user_id != item.owner_user_id:
            raise NotAllowed(
                f"Only <@{item.owner_user_id}>, its owner, provides evidence item #{item.id}."
            )
        if status not in OWED:
            raise UserError(f"Evidence item #{item.id} is {status.value}: nothing to provide.")
    elif what in ("accept", "reject"):
        reviewers = reviewers_of(item, details)
        if user_id not in reviewers:
            raise NotAllowed(
                f"Only {_who(reviewers)}, its reviewers, accept or reject evidence item #{item.id}."
            )
        if status != AssuranceStatus.RECEIVED:
            raise UserError(f"Evidence item #{item.id} is {status.value}: nothing to review.")
    elif what == "waive":
        require_manager(details, user_id, admins)
        if status not in WAIVABLE:
            raise UserError(f"Evidence item #{item.id} is {status.value}: it cannot be waived.")
    else:
        raise NotFound("That button is out of date; run `/cadence assurance` again.")


# --- reads -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemDetails:
    item: AssuranceItem
    details: EngagementDetails
    kind: EvidenceType
    events: tuple[AssuranceEvent, ...] = ()

    @property
    def engagement(self) -> Engagement:
        return self.details.engagement


def get(*, session: Session, team_id: str, item_id: int, for_update: bool = False) -> ItemDetails:
    """An item of this workspace (ids from buttons and forms are re-checked here)."""
    query = (
        select(AssuranceItem)
        .where(AssuranceItem.team_id == team_id)
        .where(AssuranceItem.id == item_id)
    )
    item = session.exec(query.with_for_update() if for_update else query).first()
    if item is None:
        raise NotFound("That evidence item no longer exists.")
    details = engagements.get(session=session, team_id=team_id, engagement_id=item.engagement_id)
    events = session.exec(
        select(AssuranceEvent)
        .where(AssuranceEvent.item_id == item_id)
        .order_by(col(AssuranceEvent.id))
    ).all()
    return ItemDetails(item, details, kind_of(item, kinds(session, team_id)), tuple(events))


# --- the forms ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemInput:
    kind: EvidenceType
    title: str
    owner: str
    reviewers: tuple[str, ...] = ()


def _text(raw: Mapping[str, Any], key: str) -> str:
    value = raw.get(key)
    return value.strip() if isinstance(value, str) else ""


def validate_item(
    raw: Mapping[str, Any], *, details: EngagementDetails, known_kinds: Mapping[str, EvidenceType]
) -> ItemInput:
    """The add form (by action_id): a known kind, a title (the kind's name when empty), the
    owner one of the vendor contacts, reviewers among the leads and stakeholders."""
    errors: dict[str, str] = {}
    kind = known_kinds.get(_text(raw, "type"))
    if kind is None:
        errors["type"] = "Choose the kind of evidence from the list."
    title = " ".join(_text(raw, "title").split()) or (kind.name if kind else "")
    if len(title) > MAX_TITLE:
        errors["title"] = f"At most {MAX_TITLE} characters here (this has {len(title)})."
    owner = _text(raw, "owner")
    if not details.vendor_contacts:
        errors["owner"] = (
            f"{details.engagement.name} has no vendor contacts yet: a lead adds them with "
            "`/cadence engagement edit` first."
        )
    elif owner not in details.vendor_contacts:
        errors["owner"] = (
            f"The owner is one of the vendor contacts: {_who(details.vendor_contacts)}."
        )
    chosen = raw.get("reviewers") if isinstance(raw.get("reviewers"), list) else []
    reviewers = tuple(dict.fromkeys(u for u in chosen if isinstance(u, str) and u))
    strangers = [u for u in reviewers if u not in {*details.leads, *details.stakeholders}]
    if strangers:
        errors["reviewers"] = (
            f"Reviewers are the engagement's leads or stakeholders; {_who(strangers)} is not one."
        )
    elif len(reviewers) > MAX_REVIEWERS:
        errors["reviewers"] = f"At most {MAX_REVIEWERS} reviewers."
    if errors or kind is None:
        raise FieldErrors(errors)
    return ItemInput(kind, title, owner, reviewers)


def _day(errors: dict[str, str], key: str, raw: Any) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(str(raw))
    except ValueError:
        errors[key] = "Pick a date from the calendar."
        return None


@dataclass(frozen=True)
class Provided:
    link: str
    note: str
    file_id: str | None
    file_permalink: str | None
    file_name: str
    valid_from: date | None
    valid_until: date | None
    open_findings: int | None


def validate_provided(raw: Mapping[str, Any], *, kind: EvidenceType, today: date) -> Provided:
    """The provide form: the evidence (a link, a Slack file, a note: at least one), the dates
    it is valid (until: required for a kind that expires, after from and not past), and for a
    penetration test the findings still open."""
    errors: dict[str, str] = {}
    try:
        evidence = deliverables.validate_evidence(raw)
    except FieldErrors as e:
        errors.update(e.errors)
        evidence = None
    valid_from = _day(errors, "valid_from", raw.get("valid_from"))
    valid_until = _day(errors, "valid_until", raw.get("valid_until"))
    if kind.expires and valid_until is None and "valid_until" not in errors:
        errors["valid_until"] = "Pick the last day this evidence is valid (it expires)."
    if valid_until is not None and valid_from is not None and valid_until <= valid_from:
        errors["valid_until"] = "The last valid day comes after the first."
    elif valid_until is not None and valid_until < today:
        errors["valid_until"] = (
            f"That day has passed (today is {moments.day(today)}): provide evidence still valid."
        )
    findings: int | None = None
    if kind.findings:
        text = _text(raw, "findings")
        if not text.isdigit() or int(text) > MAX_FINDINGS:
            errors["findings"] = (
                "How many of its findings are still open: a whole number, 0 for none."
            )
        else:
            findings = int(text)
    if errors or evidence is None:
        raise FieldErrors(errors)
    return Provided(
        evidence.link,
        evidence.note,
        evidence.file_id,
        evidence.file_permalink,
        evidence.file_name,
        valid_from,
        valid_until,
        findings,
    )


def _step_text(raw: Mapping[str, Any], key: str, missing: str = "") -> str:
    text = _text(raw, key)
    errors = {key: missing} if missing and not text else {}
    if len(text) > MAX_TEXT:
        errors[key] = f"At most {MAX_TEXT} characters here (this has {len(text)})."
    if errors:
        raise FieldErrors(errors)
    return text


# --- writes ------------------------------------------------------------------------------------


def snapshot(item: AssuranceItem) -> dict[str, Any]:
    return item.model_dump(
        mode="json",
        include={
            "type_key",
            "title",
            "required",
            "status",
            "owner_user_id",
            "reviewers",
            "valid_from",
            "valid_until",
            "evidence_link",
            "evidence_note",
            "evidence_file_id",
            "reason",
            "open_findings",
            "rounds",
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
) -> AssuranceItem:
    """Add an item (a lead or a Cadence admin): requested of its owner, who is asked by DM."""
    details = engagements.get(session=session, team_id=team_id, engagement_id=engagement_id)
    if details.engagement.archived_at is not None:
        raise UserError(f"{details.engagement.name} is archived; it takes no new evidence items.")
    require_manager(details, actor, admins)
    data = validate_item(raw, details=details, known_kinds=kinds(session, team_id))
    return _new_item(
        session, details, data.kind, data.title, data.owner, data.reviewers, False, actor, now
    )


def request(
    session: Session,
    engagement: Engagement,
    type_key: str,
    owner: str,
    required: bool,
    actor: str,
    now: datetime,
) -> AssuranceItem:
    """A requested item created by Cadence for `actor` (due diligence at an engagement's
    start): the caller has decided it is owed; its owner is asked by DM with a Provide button,
    its card posted, its clocks planned, all in the caller's transaction."""
    assert engagement.id is not None
    details = engagements.get(
        session=session, team_id=engagement.team_id, engagement_id=engagement.id
    )
    known_kinds = kinds(session, engagement.team_id)
    kind = known_kinds.get(type_key) or EvidenceType(type_key, type_key.replace("_", " "))
    return _new_item(session, details, kind, kind.name, owner, (), required, actor, now)


def _new_item(
    session: Session,
    details: EngagementDetails,
    kind: EvidenceType,
    title: str,
    owner: str,
    reviewers: Sequence[str],
    required: bool,
    actor: str,
    now: datetime,
) -> AssuranceItem:
    team_id = details.engagement.team_id
    item = AssuranceItem(
        team_id=team_id,
        engagement_id=details.id,
        type_key=kind.key,
        title=title[:MAX_TITLE],
        required=required,
        status=AssuranceStatus.REQUESTED,
        owner_user_id=owner,
        reviewers=list(reviewers),
        created_by=actor,
        created_at=now,
        updated_at=now,
        requested_at=now,
    )
    session.add(item)
    session.flush()
    assert item.id is not None
    event = _event(session, item, actor, "requested", None, now)
    audit.record(
        session=session, team_id=team_id, actor=actor, entity_type="assurance_item",
        entity_id=item.id, action="create", after=snapshot(item), now=now,
    )  # fmt: skip
    _plan_card(session, item, details, event, now, thread_line=False)
    _plan_request(session, item, now)
    _refresh_homes(session, item, details, event, now)
    clocks.plan(session, item, now)
    return item


def provide(
    *,
    session: Session,
    team_id: str,
    actor: str,
    item_id: int,
    now: datetime,
    admins: Iterable[str],
    raw: Mapping[str, Any],
) -> AssuranceItem:
    """Its owner provides the evidence: received, waiting for a reviewer."""
    change = _for_change(session, team_id, item_id, "provide", actor, admins, now)
    item = change.item
    today = local_today(now, change.found.engagement.timezone)
    given = validate_provided(raw, kind=change.found.kind, today=today)
    item.status = AssuranceStatus.RECEIVED
    item.evidence_link, item.evidence_note = given.link, given.note
    item.evidence_file_id, item.evidence_file_permalink = given.file_id, given.file_permalink
    item.valid_from, item.valid_until = given.valid_from, given.valid_until
    item.open_findings = given.open_findings
    item.rounds += 1
    item.received_at = now
    shared = given.file_permalink and f"{given.file_name or 'a file'}: {given.file_permalink}"
    note = " · ".join(p for p in (given.link, shared, given.note) if p)
    return _changed(change, "provided", note=note, data={"round": item.rounds})


def accept(
    *,
    session: Session,
    team_id: str,
    actor: str,
    item_id: int,
    now: datetime,
    admins: Iterable[str],
    raw: Mapping[str, Any],
) -> AssuranceItem:
    """A reviewer accepts it (a note optional); a renewal resolves the concern its lapse
    raised (`clocks.on_accepted`)."""
    note = _step_text(raw, "note")
    change = _for_change(session, team_id, item_id, "accept", actor, admins, now)
    item = change.item
    item.status = AssuranceStatus.ACCEPTED
    item.reviewed_at = now
    clocks.on_accepted(session, item, actor, now)
    return _changed(change, "accepted", note=note)


def reject(
    *,
    session: Session,
    team_id: str,
    actor: str,
    item_id: int,
    now: datetime,
    admins: Iterable[str],
    raw: Mapping[str, Any],
) -> AssuranceItem:
    """A reviewer sends it back with the reason: owed again, its owner asked again."""
    reason = _step_text(raw, "reason", "Say what is wrong: its owner provides it again from this.")
    change = _for_change(session, team_id, item_id, "reject", actor, admins, now)
    item = change.item
    item.status = AssuranceStatus.REJECTED
    item.reason = reason
    item.reviewed_at = now
    item.requested_at = now  # owed again from now: its provide window starts again
    _plan_request(session, item, now)
    return _changed(change, "rejected", note=reason, data={"round": item.rounds})


def waive(
    *,
    session: Session,
    team_id: str,
    actor: str,
    item_id: int,
    now: datetime,
    admins: Iterable[str],
    raw: Mapping[str, Any],
) -> AssuranceItem:
    """A lead or Cadence admin decides it is not needed here, with the reason."""
    reason = _step_text(raw, "reason", "Say why it is not needed: the register is read later.")
    change = _for_change(session, team_id, item_id, "waive", actor, admins, now)
    change.item.status = AssuranceStatus.WAIVED
    change.item.reason = reason
    return _changed(change, "waived", note=reason)


@dataclass(frozen=True)
class _Change:
    session: Session
    found: ItemDetails
    before: dict[str, Any]
    actor: str
    now: datetime

    @property
    def item(self) -> AssuranceItem:
        return self.found.item


def _for_change(
    session: Session,
    team_id: str,
    item_id: int,
    what: str,
    actor: str,
    admins: Iterable[str],
    now: datetime,
) -> _Change:
    """The item, locked for the change, once `actor` may take step `what` now."""
    found = get(session=session, team_id=team_id, item_id=item_id, for_update=True)
    if found.engagement.archived_at is not None:
        raise UserError(f"{found.engagement.name} is archived; its evidence items are closed.")
    check(what, found.item, found.details, actor, admins)
    return _Change(session, found, snapshot(found.item), actor, now)


def _changed(
    change: _Change, action: str, *, note: str = "", data: dict[str, Any] | None = None
) -> AssuranceItem:
    """Record a change: its event and audit, its clocks, the card edited, a thread line."""
    session, item, actor, now = change.session, change.item, change.actor, change.now
    assert item.id is not None
    item.updated_at = now
    session.add(item)
    event = _event(session, item, actor, action, change.before.get("status"), now, note, data)
    before, after = audit.changes(change.before, snapshot(item))
    audit.record(
        session=session, team_id=item.team_id, actor=actor, entity_type="assurance_item",
        entity_id=item.id, action=action, before=before or None,
        after={**after, **({"note": note} if note else {})} or None, now=now,
    )  # fmt: skip
    _plan_card(session, item, change.found.details, event, now, thread_line=True)
    _refresh_homes(session, item, change.found.details, event, now)
    clocks.plan(session, item, now)  # the clocks follow every change
    return item


def _event(
    session: Session,
    item: AssuranceItem,
    actor: str,
    action: str,
    from_status: str | None,
    now: datetime,
    note: str = "",
    data: dict[str, Any] | None = None,
) -> AssuranceEvent:
    assert item.id is not None
    event = AssuranceEvent(
        team_id=item.team_id,
        item_id=item.id,
        actor_user_id=actor,
        action=action,
        from_status=from_status,
        to_status=item.status,
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
    item: AssuranceItem,
    details: EngagementDetails,
    event: AssuranceEvent,
    now: datetime,
) -> None:
    """Its owner (evidence they owe) and its reviewers (evidence to review)."""
    home.plan_refresh(
        session,
        team_id=item.team_id,
        now=now,
        cause=f"assurance={item.id}:event={event.id}",
        user_ids=[item.owner_user_id, *reviewers_of(item, details)],
    )


def _plan_card(
    session: Session,
    item: AssuranceItem,
    details: EngagementDetails,
    event: AssuranceEvent,
    now: datetime,
    *,
    thread_line: bool,
) -> None:
    """The card posted (or edited in place) and, for a change, a line in its thread."""
    assert item.id is not None and event.id is not None
    payload = {
        "item_id": item.id,
        "engagement_id": item.engagement_id,
        "channel": item.channel_id or details.engagement.channel_id,
    }
    jobs.plan(
        session, team_id=item.team_id, now=now, due_at=now,
        key=job_keys.assurance_card(item.id, event.id), kind=JobKind.ASSURANCE_CARD,
        payload=payload,
    )  # fmt: skip
    if thread_line:
        jobs.plan(
            session, team_id=item.team_id, now=now, due_at=now,
            key=job_keys.assurance_line(event.id), kind=JobKind.ASSURANCE_LINE,
            payload={**payload, "event_id": event.id},
        )  # fmt: skip


def _plan_request(session: Session, item: AssuranceItem, now: datetime) -> None:
    """A DM asking the owner to provide it (with a Provide button), once per round owed."""
    assert item.id is not None
    jobs.plan(
        session,
        team_id=item.team_id,
        now=now,
        due_at=now,
        key=job_keys.assurance_request(item.id, item.rounds, item.owner_user_id),
        kind=JobKind.ASSURANCE_REQUEST,
        payload={"item_id": item.id, "engagement_id": item.engagement_id},
        user_id=item.owner_user_id,
    )


def announce(session: Session, item: AssuranceItem, event: AssuranceEvent, now: datetime) -> None:
    """For a change made outside this module (its expiry, by its clock): the card edited, a
    line in its thread and the Home refreshes, as for a change made here."""
    details = engagements.get(
        session=session, team_id=item.team_id, engagement_id=item.engagement_id
    )
    _plan_card(session, item, details, event, now, thread_line=True)
    _refresh_homes(session, item, details, event, now)


def set_card(*, session: Session, item_id: int, channel_id: str, message_ts: str) -> None:
    """Remember where the card was posted (so each change edits that message)."""
    item = session.get(AssuranceItem, item_id)
    if item is not None and item.message_ts is None:
        item.channel_id, item.message_ts = channel_id, message_ts
        session.add(item)
