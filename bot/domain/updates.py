"""Structured status updates: who may send one, what a valid one is, saving
it with its revision history and KPI figures, and reading it back for the channel summary.

Independent of Slack payload shapes: the handlers hand in the form's values keyed by action_id
and get back ids, or a `FieldErrors` naming the fields to fix. Nothing is written unless all of
it is valid; an answer to a check-in is recorded in the same transaction as the update.

An update carries its evidence: an amber or red says what would make it green, each KPI figure
is met, within its amber tolerance or missed (one pure function, `kpi_outcome`), and the
blockers are kept line by line, each with the date it was first reported and how many updates
carried it over since, so a blocker that stays open is visible as such. "Previous" always means
the author's own latest update of the same kind on the same engagement: it fills in the next
form and says what the blockers were last time.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from sqlmodel import Session, col, select

from bot.domain import checkin_kinds, checkins, engagements
from bot.domain.checkin_kinds import CheckInKind, FormFamily, kinds_answered_with
from bot.domain.engagements import format_number
from bot.domain.errors import FieldErrors, NotAllowed, NotFound, UserError
from storage.models import (
    Cadence,
    CheckIn,
    Engagement,
    EngagementMember,
    KpiDefinition,
    KpiValue,
    StatusUpdate,
    UpdateRevision,
)

STATUS_UPDATE = CheckInKind.STATUS_UPDATE
UPDATE_KINDS = kinds_answered_with(FormFamily.UPDATE)
RAGS = ("green", "amber", "red")
RAG_EMOJI = {"green": "🟢", "amber": "🟠", "red": "🔴"}
CONFIDENCE_LEVELS = (1, 2, 3, 4, 5)
MAX_TEXT = 3000
TEXT_FIELDS = ("summary", "accomplishments", "next_steps", "blockers", "reason")
NEEDS_REASON = ("amber", "red")
LONG_OPEN_AFTER = 2  # a blocker carried over this many times is highlighted to the leads
MAX_CARRIED_CHOICES = 10  # Slack's checkboxes hold at most 10 options


class KpiOutcome(StrEnum):
    MET = "met"
    WITHIN = "within"  # short of the target, but within its amber tolerance
    MISSED = "missed"


def kpi_outcome(
    value: float, target: float, higher_is_better: bool, tolerance: float | None = None
) -> KpiOutcome:
    """How a reported figure stands against its target in the KPI's direction: met (reaching
    the target exactly counts), within the amber tolerance (reaching it exactly counts), or
    missed. A tolerance on the wrong side of the target never applies (the parser refuses one)."""
    sign = 1.0 if higher_is_better else -1.0
    if sign * value >= sign * target:
        return KpiOutcome.MET
    if tolerance is not None and sign * value >= sign * tolerance:
        return KpiOutcome.WITHIN
    return KpiOutcome.MISSED


def outcome_of_content(kpi: Mapping[str, Any]) -> KpiOutcome:
    """A KPI's outcome as a revision recorded it (revisions before tolerances: met or missed)."""
    try:
        return KpiOutcome(kpi.get("outcome"))
    except ValueError:
        return KpiOutcome.MET if kpi.get("met_target") else KpiOutcome.MISSED


# --- blockers, line by line (pure) -------------------------------------------------------------


@dataclass(frozen=True)
class Blocker:
    """A blocker line: first reported on `since`, carried over (`still blocks`) `carried` times."""

    text: str
    since: date
    carried: int = 0

    @property
    def long_open(self) -> bool:
        return self.carried >= LONG_OPEN_AFTER

    @property
    def choice(self) -> str:
        """The value of its "still blocks" checkbox: names the line itself, not its position,
        so a form opened before the author's latest update cannot carry over the wrong one."""
        return hashlib.sha256(self.text.encode()).hexdigest()[:16]

    def as_json(self) -> dict[str, Any]:
        return {"text": self.text, "since": self.since.isoformat(), "carried": self.carried}

    @classmethod
    def from_json(cls, raw: Mapping[str, Any], fallback: date) -> Blocker:
        try:
            since = date.fromisoformat(str(raw.get("since")))
        except ValueError:
            since = fallback
        return cls(str(raw.get("text") or ""), since, int(raw.get("carried") or 0))


def blocker_texts(text: str) -> list[str]:
    """The blockers typed in a text, one per line (bullets dropped, repeats once)."""
    lines: list[str] = []
    for raw in text.splitlines():
        line = raw.strip().lstrip("•-* ").strip()
        if line and line.lower() not in {seen.lower() for seen in lines}:
            lines.append(line)
    return lines


def blockers_now(
    previous: Sequence[Blocker], still: Sequence[str], typed: str, reported_on: date
) -> tuple[Blocker, ...]:
    """This update's blockers: last time's lines the author says still block (their date kept,
    carried once more), then the lines typed now (reported on `reported_on`). A typed line
    that repeats a carried one is the same blocker."""
    by_text = {b.text: b for b in previous}
    lines: list[Blocker] = []
    seen: set[str] = set()
    for text in still:
        earlier = by_text.get(text)
        if earlier is not None and text.lower() not in seen:
            lines.append(Blocker(earlier.text, earlier.since, earlier.carried + 1))
            seen.add(text.lower())
    for text in blocker_texts(typed):
        if text.lower() not in seen:
            lines.append(Blocker(text, reported_on))
            seen.add(text.lower())
    return tuple(lines)


def blockers_of(update: StatusUpdate) -> tuple[Blocker, ...]:
    """An update's blocker lines (an update from before lines were kept: its text's lines)."""
    reported = update.submitted_at.date()
    if update.blocker_lines:
        return tuple(Blocker.from_json(raw, reported) for raw in update.blocker_lines)
    return tuple(Blocker(text, reported) for text in blocker_texts(update.blockers))


@dataclass(frozen=True)
class KpiField:
    """A KPI of the engagement as the form asks for it (by its row id); a retired one is only
    read back, for the figures reported against it before it was retired."""

    id: int
    name: str
    unit: str
    target: float
    higher_is_better: bool
    retired: bool = False
    tolerance: float | None = None

    @property
    def action_id(self) -> str:
        return kpi_action_id(self.id)

    def outcome(self, value: float) -> KpiOutcome:
        return kpi_outcome(value, self.target, self.higher_is_better, self.tolerance)

    def target_text(self) -> str:
        """`≥ 99.9%`, or `≥ 99.9%, amber ≥ 99.5%` with a tolerance."""
        op = "≥" if self.higher_is_better else "≤"
        unit = f" {self.unit}" if self.unit and self.unit != "%" else self.unit
        amber = (
            f", amber {op} {format_number(self.tolerance)}{unit}"
            if self.tolerance is not None
            else ""
        )
        return f"{op} {format_number(self.target)}{unit}{amber}"

    def label(self) -> str:
        """`Uptime (%) — target ≥ 99.9` (`… (amber ≥ 99.5)` with a tolerance)."""
        unit = f" ({self.unit})" if self.unit else ""
        op = "≥" if self.higher_is_better else "≤"
        amber = (
            f" (amber {op} {format_number(self.tolerance)})" if self.tolerance is not None else ""
        )
        return f"{self.name}{unit} — target {op} {format_number(self.target)}{amber}"


def kpi_action_id(kpi_id: int) -> str:
    return f"kpi_{kpi_id}"


@dataclass(frozen=True)
class UpdateInput:
    """A complete, valid update (the form's fields after validation). `blockers` is what was
    typed; `still_blocking` the texts of last time's blockers the author ticked."""

    rag: str
    summary: str
    accomplishments: str = ""
    next_steps: str = ""
    blockers: str = ""
    confidence: int | None = None
    kpi_values: Mapping[int, float] = field(default_factory=dict)
    reason: str = ""
    still_blocking: tuple[str, ...] = ()

    def content(self, kpis: Sequence[KpiField], blockers: Sequence[Blocker]) -> dict[str, Any]:
        """What a revision records: every field, the blocker lines, and each KPI figure with
        its target and tolerance then and how it stood against them."""
        return {
            "rag": self.rag,
            "reason": self.reason,
            "summary": self.summary,
            "accomplishments": self.accomplishments,
            "next_steps": self.next_steps,
            "blockers": "\n".join(b.text for b in blockers),
            "blocker_lines": [b.as_json() for b in blockers],
            "confidence": self.confidence,
            "kpis": [
                {
                    "kpi_id": k.id,
                    "name": k.name,
                    "unit": k.unit,
                    "value": self.kpi_values[k.id],
                    "target": k.target,
                    "tolerance": k.tolerance,
                    "higher_is_better": k.higher_is_better,
                    "met_target": k.outcome(self.kpi_values[k.id]) is KpiOutcome.MET,
                    "outcome": k.outcome(self.kpi_values[k.id]).value,
                }
                for k in kpis
                if k.id in self.kpi_values
            ],
        }


# --- validation (pure) -------------------------------------------------------------------------


def parse_number(value: Any) -> float | None:
    """A KPI figure as typed (`99.95`, `99,95`, ` 8 `); None when empty; ValueError otherwise."""
    if value is None:
        return None
    text = str(value).strip().replace(",", ".")
    if not text:
        return None
    number = float(text)  # raises ValueError for anything that is not a number
    if not math.isfinite(number):
        raise ValueError(text)
    return number


def _ticked(raw: Any, previous: Sequence[Blocker]) -> tuple[str, ...]:
    """The texts of last time's blockers ticked "still blocks" (one no longer offered: none)."""
    chosen = {str(c) for c in raw if c} if isinstance(raw, list) else set()
    return tuple(b.text for b in previous[:MAX_CARRIED_CHOICES] if b.choice in chosen)


def validate(
    raw: Mapping[str, Any], kpis: Sequence[KpiField], previous_blockers: Sequence[Blocker] = ()
) -> UpdateInput:
    """Check the form's values (by action_id); raise FieldErrors naming each one to fix."""
    errors: dict[str, str] = {}
    rag = (raw.get("rag") or "").strip().lower()
    if rag not in RAGS:
        errors["rag"] = "Choose a status: green, amber or red."
    texts: dict[str, str] = {}
    for key in TEXT_FIELDS:
        texts[key] = (raw.get(key) or "").strip()
        if len(texts[key]) > MAX_TEXT:
            errors[key] = f"At most {MAX_TEXT} characters here (this has {len(texts[key])})."
    if not texts["summary"] and "summary" not in errors:
        errors["summary"] = "Say in a few sentences where things stand."
    if rag in NEEDS_REASON and not texts["reason"] and "reason" not in errors:
        errors["reason"] = (
            f"For {rag}, say what would make it green: what has to happen, and who can make "
            "it happen."
        )
    still = _ticked(raw.get("still_blocking"), previous_blockers)
    together = len("\n".join((*still, texts["blockers"])))
    if together > MAX_TEXT and "blockers" not in errors:
        errors["blockers"] = (
            f"At most {MAX_TEXT} characters of blockers, with those still blocking ({together})."
        )
    confidence: int | None = None
    if raw.get("confidence") not in (None, ""):
        try:
            confidence = int(raw["confidence"])
        except (TypeError, ValueError):
            confidence = 0
        if confidence not in CONFIDENCE_LEVELS:
            errors["confidence"] = "Choose a confidence from 1 to 5."
    values: dict[int, float] = {}
    for kpi in kpis:
        try:
            number = parse_number(raw.get(kpi.action_id))
        except ValueError:
            errors[kpi.action_id] = (
                f"“{str(raw.get(kpi.action_id))[:40]}” is not a number. Give {kpi.name} as a "
                "number such as 99.9, or leave it empty."
            )
            continue
        if number is not None:
            values[kpi.id] = number
    if errors:
        raise FieldErrors(errors)
    return UpdateInput(
        rag=rag,
        summary=texts["summary"],
        accomplishments=texts["accomplishments"],
        next_steps=texts["next_steps"],
        blockers=texts["blockers"],
        confidence=confidence,
        kpi_values=values,
        # Only an amber or red says what would make it green; a green has nothing to say there.
        reason=texts["reason"] if rag in NEEDS_REASON else "",
        still_blocking=still,
    )


# --- the form: what to ask, for whom -----------------------------------------------------------


@dataclass(frozen=True)
class UpdateForm:
    """Everything the update modal needs, and the hint it carries in private_metadata.

    A new form is filled in from the author's previous update (`prefilled_on` says when that
    was), all but its status: an old green must not slip through unread. `previous_blockers`
    are last time's blockers, each asked about ("still blocks?")."""

    engagement_id: int
    engagement_name: str
    kind: str
    kpis: tuple[KpiField, ...]
    checkin_id: int | None = None
    update_id: int | None = None
    initial: UpdateInput | None = None
    late: bool = False
    previous_blockers: tuple[Blocker, ...] = ()
    prefilled_on: date | None = None

    def metadata(self) -> dict[str, Any]:
        return {
            "engagement_id": self.engagement_id,
            "checkin_id": self.checkin_id,
            "update_id": self.update_id,
        }


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
    edit), of the same kind: each kind the update form answers follows its own."""
    query = (
        select(StatusUpdate, Cadence.kind)
        .outerjoin(CheckIn, col(CheckIn.id) == col(StatusUpdate.checkin_id))
        .outerjoin(Cadence, col(Cadence.id) == col(CheckIn.cadence_id))
        .where(StatusUpdate.engagement_id == engagement_id)
        .where(StatusUpdate.author_user_id == author)
    )
    if before_id is not None:
        query = query.where(col(StatusUpdate.id) < before_id)
    for update, cadence_kind in session.exec(query.order_by(col(StatusUpdate.id).desc()).limit(50)):
        if (cadence_kind if cadence_kind in UPDATE_KINDS else STATUS_UPDATE) == kind:
            return update
    return None


def _prefilled(
    session: Session, previous: StatusUpdate | None, kpis: Sequence[KpiField]
) -> UpdateInput | None:
    """A new form filled in from the previous update, so a repeat takes seconds: what stands
    (summary, next steps, what would make it green, confidence, KPI figures) but not the
    status, nor the accomplishments (new each time); last time's blockers are asked about."""
    if previous is None or previous.id is None:
        return None
    values = _stored_values(session, previous.id)
    return UpdateInput(
        rag="",
        summary=previous.summary,
        next_steps=previous.next_steps,
        reason=previous.reason,
        confidence=previous.confidence,
        kpi_values={k.id: values[k.id] for k in kpis if k.id in values},
    )


def _new_form(
    session: Session,
    *,
    engagement_id: int,
    engagement_name: str,
    kind: str,
    author: str,
    checkin_id: int | None = None,
    late: bool = False,
) -> UpdateForm:
    kpis = kpis_of(session=session, engagement_id=engagement_id)
    previous = previous_update(
        session=session, engagement_id=engagement_id, author=author, kind=kind
    )
    return UpdateForm(
        engagement_id=engagement_id,
        engagement_name=engagement_name,
        kind=kind,
        kpis=kpis,
        checkin_id=checkin_id,
        late=late,
        initial=_prefilled(session, previous, kpis),
        previous_blockers=blockers_of(previous)[:MAX_CARRIED_CHOICES] if previous else (),
        prefilled_on=previous.submitted_at.date() if previous else None,
    )


def _require_active(engagement: Engagement) -> None:
    if engagement.archived_at is not None:
        raise UserError(f"{engagement.name} is archived; it takes no more updates.")


def _kind_of_checkin(session: Session, checkin_id: int | None) -> str:
    if checkin_id is None:
        return STATUS_UPDATE
    kind = session.exec(
        select(Cadence.kind)
        .join(CheckIn, col(CheckIn.cadence_id) == col(Cadence.id))
        .where(CheckIn.id == checkin_id)
    ).first()
    return kind if kind in UPDATE_KINDS else STATUS_UPDATE


def _answered_message(
    session: Session, context: checkins.CheckInContext, user_id: str
) -> UserError:
    existing = session.exec(
        select(StatusUpdate)
        .where(StatusUpdate.checkin_id == context.checkin.id)
        .where(StatusUpdate.author_user_id == user_id)
        .order_by(col(StatusUpdate.id).desc())
    ).first()
    label = checkin_kinds.label(context.kind)
    where = (
        f" under it in <#{existing.channel_id}>"
        if existing is not None and existing.channel_id
        else f" under the summary in <#{context.engagement.channel_id}>"
    )
    return UserError(
        f"You already sent your {label} for this check-in, thank you. To change it, use the "
        f"Edit button{where}."
    )


def form_for_checkin(
    *, session: Session, context: checkins.CheckInContext, user_id: str, now: datetime
) -> UpdateForm:
    """The form a recipient opens from a check-in prompt; refused when not asked or answered."""
    if context.kind not in UPDATE_KINDS:
        raise UserError("That check-in does not ask for a status update.")
    if context.recipient is None:
        raise NotAllowed(
            f"This check-in for {context.engagement.name} was not sent to you, so there is "
            "nothing for you to answer."
        )
    if context.recipient.status == checkins.ANSWERED:
        raise _answered_message(session, context, user_id)
    _require_active(context.engagement)
    engagement_id = context.engagement.id
    assert engagement_id is not None
    return _new_form(
        session,
        engagement_id=engagement_id,
        engagement_name=context.engagement.name,
        kind=context.kind,
        author=user_id,
        checkin_id=context.checkin.id,
        late=context.is_late(now),
    )


def may_send_ad_hoc(
    details: engagements.EngagementDetails, user_id: str, admins: Iterable[str]
) -> bool:
    return user_id in details.vendor_contacts or user_id in details.leads or user_id in set(admins)


def form_for_person(
    *,
    session: Session,
    team_id: str,
    handle: str,
    user_id: str,
    admins: Iterable[str],
    now: datetime,
    only_for: str | None = None,
) -> UpdateForm:
    """`/cadence update <eng>`: answers the person's pending check-in, else an ad hoc update.
    (`only_for`: whose engagements a mistyped handle's suggestion may name, engagements.find.)"""
    details = engagements.find(session=session, team_id=team_id, handle=handle, only_for=only_for)
    context = checkins.pending_context(
        session=session,
        team_id=team_id,
        engagement_id=details.id,
        user_id=user_id,
        kinds=tuple(UPDATE_KINDS),
    )
    if context is not None:
        return form_for_checkin(session=session, context=context, user_id=user_id, now=now)
    if not may_send_ad_hoc(details, user_id, admins):
        # Who its vendor contacts are is the engagement's business: only the leads (whom to
        # ask) are named to someone who is not on it.
        raise NotAllowed(
            f"Status updates for {details.engagement.name} come from its vendor contacts "
            f"and leads. Ask a lead ({_people(details.leads)}) to add you if you should send them."
        )
    return _new_form(
        session,
        engagement_id=details.id,
        engagement_name=details.engagement.name,
        kind=STATUS_UPDATE,
        author=user_id,
    )


def _people(user_ids: Sequence[str]) -> str:
    return ", ".join(f"<@{u}>" for u in user_ids) or "nobody yet"


def _get_update(session: Session, team_id: str, update_id: int) -> StatusUpdate:
    update = session.exec(
        select(StatusUpdate)
        .where(StatusUpdate.team_id == team_id)
        .where(StatusUpdate.id == update_id)
    ).first()
    if update is None:
        raise NotFound("That update no longer exists.")
    return update


def may_edit(
    update: StatusUpdate,
    details: engagements.EngagementDetails,
    user_id: str,
    admins: Iterable[str],
) -> bool:
    return update.author_user_id == user_id or engagements.may_manage(details, user_id, admins)


def _require_editor(
    update: StatusUpdate,
    details: engagements.EngagementDetails,
    user_id: str,
    admins: Iterable[str],
) -> None:
    if not may_edit(update, details, user_id, admins):
        raise NotAllowed(
            f"Only <@{update.author_user_id}>, who wrote this update, or a lead of "
            f"{details.engagement.name} ({_people(details.leads)}) can edit it."
        )


def _stored_values(session: Session, update_id: int) -> dict[int, float]:
    return {
        v.kpi_id: v.value
        for v in session.exec(select(KpiValue).where(KpiValue.update_id == update_id))
    }


def form_for_edit(
    *, session: Session, team_id: str, update_id: int, user_id: str, admins: Iterable[str]
) -> UpdateForm:
    """The same form, filled with the update as it stands (author, leads and admins only)."""
    update = _get_update(session, team_id, update_id)
    details = engagements.get(session=session, team_id=team_id, engagement_id=update.engagement_id)
    _require_editor(update, details, user_id, admins)
    _require_active(details.engagement)
    kind = _kind_of_checkin(session, update.checkin_id)
    previous = previous_update(
        session=session,
        engagement_id=details.id,
        author=update.author_user_id,
        kind=kind,
        before_id=update_id,
    )
    lines = blockers_of(update)
    return UpdateForm(
        engagement_id=details.id,
        engagement_name=details.engagement.name,
        kind=kind,
        kpis=kpis_of(session=session, engagement_id=details.id),
        checkin_id=update.checkin_id,
        update_id=update_id,
        initial=UpdateInput(
            rag=update.rag,
            summary=update.summary,
            accomplishments=update.accomplishments,
            next_steps=update.next_steps,
            blockers="\n".join(b.text for b in lines if not b.carried),
            confidence=update.confidence,
            kpi_values=_stored_values(session, update_id),
            reason=update.reason,
            still_blocking=tuple(b.text for b in lines if b.carried),
        ),
        late=update.late,
        previous_blockers=blockers_of(previous)[:MAX_CARRIED_CHOICES] if previous else (),
    )


# --- writes ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class KpiResult:
    kpi: KpiField
    value: float
    outcome: KpiOutcome

    @property
    def met(self) -> bool:
        return self.outcome is KpiOutcome.MET


@dataclass(frozen=True)
class LeadsAlert:
    """What the leads are told by DM about an update: it is red (and whether it turned red
    since the author's previous update), or KPIs it missed. Only what is new in this revision:
    an edit that changes nothing of it tells nobody again."""

    update_id: int
    revision: int
    engagement_name: str
    channel_id: str
    kind: str
    author: str
    rag: str
    red: bool
    was: str | None  # the status of the author's previous update, when it was not red
    was_on: date | None
    reason: str
    missed: tuple[KpiResult, ...]
    leads: tuple[str, ...]


@dataclass(frozen=True)
class Saved:
    update_id: int
    created: bool
    revision: int
    alert: LeadsAlert | None = None


def _write_kpis(
    session: Session, *, team_id: str, update_id: int, kpis: Sequence[KpiField], data: UpdateInput
) -> None:
    for row in session.exec(select(KpiValue).where(KpiValue.update_id == update_id)):
        session.delete(row)
    session.flush()
    for kpi in kpis:
        if kpi.id not in data.kpi_values:
            continue
        value = data.kpi_values[kpi.id]
        session.add(
            KpiValue(
                team_id=team_id,
                update_id=update_id,
                kpi_id=kpi.id,
                value=value,
                met_target=kpi.outcome(value) is KpiOutcome.MET,
            )
        )


def _apply(update: StatusUpdate, data: UpdateInput, blockers: Sequence[Blocker]) -> None:
    update.rag, update.summary, update.reason = data.rag, data.summary, data.reason
    update.accomplishments, update.next_steps = data.accomplishments, data.next_steps
    update.blockers = "\n".join(b.text for b in blockers)
    update.blocker_lines = [b.as_json() for b in blockers]
    update.confidence = data.confidence


def alerting(content: Mapping[str, Any]) -> set[str]:
    """What in a revision's content the leads hear about: a red status, each missed KPI."""
    found = {"red"} if content.get("rag") == "red" else set()
    return found | {
        f"missed:{k.get('kpi_id')}"
        for k in content.get("kpis") or ()
        if outcome_of_content(k) is KpiOutcome.MISSED
    }


def _alert(
    *,
    update: StatusUpdate,
    details: engagements.EngagementDetails,
    kind: str,
    kpis: Sequence[KpiField],
    data: UpdateInput,
    content: Mapping[str, Any],
    before: Mapping[str, Any] | None,
    previous: StatusUpdate | None,
    actor: str,
) -> LeadsAlert | None:
    """The leads' alert for this revision, or None: nothing new to tell, or nobody to tell
    (the person who made the change is not told what they just did)."""
    new = alerting(content) - (alerting(before) if before is not None else set())
    leads = tuple(lead for lead in details.leads if lead != actor)
    if not new or not leads:
        return None
    assert update.id is not None
    missed = tuple(
        KpiResult(k, data.kpi_values[k.id], KpiOutcome.MISSED)
        for k in kpis
        if f"missed:{k.id}" in new and k.id in data.kpi_values
    )
    was = previous.rag if previous is not None and previous.rag != "red" else None
    return LeadsAlert(
        update_id=update.id,
        revision=update.revision,
        engagement_name=details.engagement.name,
        channel_id=update.channel_id or details.engagement.channel_id,
        kind=kind,
        author=update.author_user_id,
        rag=update.rag,
        red="red" in new,
        was=was,
        was_on=previous.submitted_at.date() if was and previous is not None else None,
        reason=update.reason,
        missed=missed,
        leads=leads,
    )


def save(
    *,
    session: Session,
    team_id: str,
    actor: str,
    raw: Mapping[str, Any],
    engagement_id: int | None,
    checkin_id: int | None,
    update_id: int | None,
    admins: Iterable[str],
    now: datetime,
) -> Saved:
    """Save a new update or an edit, re-checking everything the form's hint claims.

    A new update: the StatusUpdate, revision 1, its KPI figures and (for a check-in) the answer.
    An edit: the next revision (history kept), the fields and KPI figures replaced. Either way
    `Saved.alert` says what the leads should hear about (planned by the caller, in the same
    transaction).
    """
    if update_id is not None:
        return _save_edit(
            session=session, team_id=team_id, actor=actor, raw=raw, update_id=update_id,
            admins=admins, now=now,
        )  # fmt: skip
    late = False
    if checkin_id is not None:
        context = checkins.load_for_answer(
            session=session, team_id=team_id, checkin_id=checkin_id, user_id=actor
        )
        form = form_for_checkin(session=session, context=context, user_id=actor, now=now)
    else:
        if engagement_id is None:
            raise UserError("This form is damaged; open it again with `/cadence update`.")
        details = engagements.get(session=session, team_id=team_id, engagement_id=engagement_id)
        _require_active(details.engagement)
        if not may_send_ad_hoc(details, actor, admins):
            raise NotAllowed(
                f"Status updates for {details.engagement.name} come from its vendor contacts "
                "and leads."
            )
        form = _new_form(
            session,
            engagement_id=details.id,
            engagement_name=details.engagement.name,
            kind=STATUS_UPDATE,
            author=actor,
        )
    previous = previous_update(
        session=session, engagement_id=form.engagement_id, author=actor, kind=form.kind
    )
    data = validate(raw, form.kpis, form.previous_blockers)
    blockers = blockers_now(form.previous_blockers, data.still_blocking, data.blockers, now.date())
    if checkin_id is not None:
        late = checkins.record_answer(
            session=session, team_id=team_id, checkin_id=checkin_id, user_id=actor, now=now
        )
    update = StatusUpdate(
        team_id=team_id,
        engagement_id=form.engagement_id,
        checkin_id=checkin_id,
        author_user_id=actor,
        rag=data.rag,
        late=late,
        revision=1,
        submitted_at=now,
        updated_at=now,
    )
    _apply(update, data, blockers)
    session.add(update)
    session.flush()
    assert update.id is not None
    content = data.content(form.kpis, blockers)
    session.add(
        UpdateRevision(
            team_id=team_id,
            update_id=update.id,
            revision=1,
            editor_user_id=actor,
            content=content,
            created_at=now,
        )
    )
    _write_kpis(session, team_id=team_id, update_id=update.id, kpis=form.kpis, data=data)
    session.flush()
    details = engagements.get(session=session, team_id=team_id, engagement_id=form.engagement_id)
    alert = _alert(
        update=update, details=details, kind=form.kind, kpis=form.kpis, data=data,
        content=content, before=None, previous=previous, actor=actor,
    )  # fmt: skip
    return Saved(update_id=update.id, created=True, revision=1, alert=alert)


def _save_edit(
    *,
    session: Session,
    team_id: str,
    actor: str,
    raw: Mapping[str, Any],
    update_id: int,
    admins: Iterable[str],
    now: datetime,
) -> Saved:
    update = session.exec(
        select(StatusUpdate)
        .where(StatusUpdate.team_id == team_id)
        .where(StatusUpdate.id == update_id)
        .with_for_update()
    ).first()
    if update is None:
        raise NotFound("That update no longer exists.")
    details = engagements.get(session=session, team_id=team_id, engagement_id=update.engagement_id)
    _require_editor(update, details, actor, admins)
    _require_active(details.engagement)
    kind = _kind_of_checkin(session, update.checkin_id)
    previous = previous_update(
        session=session,
        engagement_id=details.id,
        author=update.author_user_id,
        kind=kind,
        before_id=update_id,
    )
    previous_blockers = blockers_of(previous)[:MAX_CARRIED_CHOICES] if previous else ()
    kpis = kpis_of(session=session, engagement_id=details.id)
    data = validate(raw, kpis, previous_blockers)
    # A blocker typed in an edit was reported by this update: it dates from the update.
    blockers = blockers_now(
        previous_blockers, data.still_blocking, data.blockers, update.submitted_at.date()
    )
    # A KPI retired since the update was sent is not on the form, yet its figure is part of the
    # update: carry it over unchanged, so the edit neither loses it nor leaves it out of the
    # revision.
    stored = _stored_values(session, update_id)
    retired = tuple(
        k
        for k in kpis_of(session=session, engagement_id=details.id, include_retired=True)
        if k.retired and k.id in stored
    )
    if retired:
        kept = {k.id: stored[k.id] for k in retired}
        data = replace(data, kpi_values={**data.kpi_values, **kept})
        kpis = (*kpis, *retired)
    before = session.exec(
        select(UpdateRevision.content)
        .where(UpdateRevision.update_id == update_id)
        .order_by(col(UpdateRevision.revision).desc())
    ).first()
    update.revision += 1
    update.updated_at = now
    _apply(update, data, blockers)
    session.add(update)
    content = data.content(kpis, blockers)
    session.add(
        UpdateRevision(
            team_id=team_id,
            update_id=update_id,
            revision=update.revision,
            editor_user_id=actor,
            content=content,
            created_at=now,
        )
    )
    _write_kpis(session, team_id=team_id, update_id=update_id, kpis=kpis, data=data)
    session.flush()
    alert = _alert(
        update=update, details=details, kind=kind, kpis=kpis, data=data, content=content,
        before=before or {}, previous=previous, actor=actor,
    )  # fmt: skip
    return Saved(update_id=update_id, created=False, revision=update.revision, alert=alert)


def channel_of(*, session: Session, update_id: int) -> str:
    """Where an update's summary goes: where it was posted, else its engagement's channel."""
    row = session.exec(
        select(StatusUpdate.channel_id, Engagement.channel_id)
        .join(Engagement, col(Engagement.id) == col(StatusUpdate.engagement_id))
        .where(StatusUpdate.id == update_id)
    ).one()
    return row[0] or row[1]


def set_message(
    *, session: Session, team_id: str, update_id: int, channel_id: str, message_ts: str
) -> None:
    """Remember where the summary was posted (so an edit updates that message)."""
    update = _get_update(session, team_id, update_id)
    update.channel_id, update.message_ts = channel_id, message_ts
    session.add(update)


# --- reads for the summary ---------------------------------------------------------------------


@dataclass(frozen=True)
class UpdateSummary:
    """An update as the channel summary shows it."""

    update_id: int
    engagement_name: str
    engagement_handle: str
    engagement_channel_id: str
    kind: str
    author: str
    rag: str
    summary: str
    accomplishments: str
    next_steps: str
    blockers: str
    confidence: int | None
    late: bool
    revision: int
    last_editor: str
    kpis: tuple[KpiResult, ...]
    channel_id: str | None
    message_ts: str | None
    reason: str = ""
    blocker_lines: tuple[Blocker, ...] = ()
    leads: tuple[str, ...] = ()

    @property
    def long_open(self) -> tuple[Blocker, ...]:
        """Blockers carried over at least twice: highlighted to the leads."""
        return tuple(b for b in self.blocker_lines if b.long_open)


def load_summary(*, session: Session, team_id: str, update_id: int) -> UpdateSummary:
    update = _get_update(session, team_id, update_id)
    engagement = session.get(Engagement, update.engagement_id)
    assert engagement is not None
    # Retired KPIs too: an update shows what it reported, whatever became of the KPI since.
    definitions = {
        k.id: k
        for k in kpis_of(session=session, engagement_id=engagement.id or 0, include_retired=True)
    }
    latest = session.exec(
        select(UpdateRevision)
        .where(UpdateRevision.update_id == update_id)
        .order_by(col(UpdateRevision.revision).desc())
    ).first()
    # Each figure as it stood when reported (the revision records it; the target may move).
    recorded = {
        k.get("kpi_id"): outcome_of_content(k)
        for k in (latest.content if latest else {}).get("kpis") or ()
    }
    values = session.exec(select(KpiValue).where(KpiValue.update_id == update_id)).all()
    results = [
        KpiResult(
            definitions[v.kpi_id],
            v.value,
            recorded.get(v.kpi_id) or (KpiOutcome.MET if v.met_target else KpiOutcome.MISSED),
        )
        for v in values
        if v.kpi_id in definitions
    ]
    order = list(definitions)
    results.sort(key=lambda r: order.index(r.kpi.id))
    leads = session.exec(
        select(EngagementMember.user_id)
        .where(EngagementMember.engagement_id == update.engagement_id)
        .where(EngagementMember.role == "lead")
        .order_by(col(EngagementMember.id))
    ).all()
    return UpdateSummary(
        update_id=update_id,
        engagement_name=engagement.name,
        engagement_handle=engagement.handle,
        engagement_channel_id=engagement.channel_id,
        kind=_kind_of_checkin(session, update.checkin_id),
        author=update.author_user_id,
        rag=update.rag,
        summary=update.summary,
        accomplishments=update.accomplishments,
        next_steps=update.next_steps,
        blockers=update.blockers,
        confidence=update.confidence,
        late=update.late,
        revision=update.revision,
        last_editor=latest.editor_user_id if latest else update.author_user_id,
        kpis=tuple(results),
        channel_id=update.channel_id,
        message_ts=update.message_ts,
        reason=update.reason,
        blocker_lines=blockers_of(update),
        leads=tuple(leads),
    )
