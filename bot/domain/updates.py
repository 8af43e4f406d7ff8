"""Structured status updates (and risk reviews): who may send one, what a valid one is, saving
it with its revision history and KPI figures, and reading it back for the channel summary.

Independent of Slack payload shapes: the handlers hand in the form's values keyed by action_id
and get back ids, or a `FieldErrors` naming the fields to fix. Nothing is written unless all of
it is valid; an answer to a check-in is recorded in the same transaction as the update.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
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
    KpiDefinition,
    KpiValue,
    StatusUpdate,
    UpdateRevision,
)

STATUS_UPDATE, RISK_REVIEW = CheckInKind.STATUS_UPDATE, CheckInKind.RISK_REVIEW
UPDATE_KINDS = kinds_answered_with(FormFamily.UPDATE)
RAGS = ("green", "amber", "red")
RAG_EMOJI = {"green": "🟢", "amber": "🟠", "red": "🔴"}
CONFIDENCE_LEVELS = (1, 2, 3, 4, 5)
MAX_TEXT = 3000
TEXT_FIELDS = ("summary", "accomplishments", "next_steps", "blockers")


def kpi_met(value: float, target: float, higher_is_better: bool) -> bool:
    """Whether a reported figure meets its target (reaching the target exactly counts)."""
    return value >= target if higher_is_better else value <= target


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

    @property
    def action_id(self) -> str:
        return kpi_action_id(self.id)

    def target_text(self) -> str:
        op = "≥" if self.higher_is_better else "≤"
        unit = f" {self.unit}" if self.unit and self.unit != "%" else self.unit
        return f"{op} {format_number(self.target)}{unit}"

    def label(self) -> str:
        """`Uptime (%) — target ≥ 99.9`."""
        unit = f" ({self.unit})" if self.unit else ""
        op = "≥" if self.higher_is_better else "≤"
        return f"{self.name}{unit} — target {op} {format_number(self.target)}"


def kpi_action_id(kpi_id: int) -> str:
    return f"kpi_{kpi_id}"


@dataclass(frozen=True)
class UpdateInput:
    """A complete, valid update (the form's fields after validation)."""

    rag: str
    summary: str
    accomplishments: str = ""
    next_steps: str = ""
    blockers: str = ""
    confidence: int | None = None
    kpi_values: Mapping[int, float] = field(default_factory=dict)

    def content(self, kpis: Sequence[KpiField]) -> dict[str, Any]:
        """What a revision records: every field, and each KPI figure with its target then."""
        return {
            "rag": self.rag,
            "summary": self.summary,
            "accomplishments": self.accomplishments,
            "next_steps": self.next_steps,
            "blockers": self.blockers,
            "confidence": self.confidence,
            "kpis": [
                {
                    "kpi_id": k.id,
                    "name": k.name,
                    "unit": k.unit,
                    "value": self.kpi_values[k.id],
                    "target": k.target,
                    "higher_is_better": k.higher_is_better,
                    "met_target": kpi_met(self.kpi_values[k.id], k.target, k.higher_is_better),
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


def validate(raw: Mapping[str, Any], kpis: Sequence[KpiField]) -> UpdateInput:
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
    )


# --- the form: what to ask, for whom -----------------------------------------------------------


@dataclass(frozen=True)
class UpdateForm:
    """Everything the update modal needs, and the hint it carries in private_metadata."""

    engagement_id: int
    engagement_name: str
    kind: str
    kpis: tuple[KpiField, ...]
    checkin_id: int | None = None
    update_id: int | None = None
    initial: UpdateInput | None = None
    late: bool = False

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
        KpiField(k.id, k.name, k.unit, k.target, k.higher_is_better, k.retired_at is not None)
        for k in rows
        if k.id is not None
    )
    return tuple(sorted(fields, key=lambda k: k.retired))  # stable: order kept within each


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
    return UpdateForm(
        engagement_id=engagement_id,
        engagement_name=context.engagement.name,
        kind=context.kind,
        kpis=kpis_of(session=session, engagement_id=engagement_id),
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
) -> UpdateForm:
    """`/cadence update <eng>`: answers the person's pending check-in, else an ad hoc update."""
    details = engagements.find(session=session, team_id=team_id, handle=handle)
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
        raise NotAllowed(
            f"Status updates for {details.engagement.name} come from its vendor contacts "
            f"({_people(details.vendor_contacts)}) and leads ({_people(details.leads)}). "
            "Ask a lead to add you if you should send them."
        )
    return UpdateForm(
        engagement_id=details.id,
        engagement_name=details.engagement.name,
        kind=STATUS_UPDATE,
        kpis=kpis_of(session=session, engagement_id=details.id),
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
    return UpdateForm(
        engagement_id=details.id,
        engagement_name=details.engagement.name,
        kind=_kind_of_checkin(session, update.checkin_id),
        kpis=kpis_of(session=session, engagement_id=details.id),
        checkin_id=update.checkin_id,
        update_id=update_id,
        initial=UpdateInput(
            rag=update.rag,
            summary=update.summary,
            accomplishments=update.accomplishments,
            next_steps=update.next_steps,
            blockers=update.blockers,
            confidence=update.confidence,
            kpi_values=_stored_values(session, update_id),
        ),
        late=update.late,
    )


# --- writes ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Saved:
    update_id: int
    created: bool
    revision: int


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
                met_target=kpi_met(value, kpi.target, kpi.higher_is_better),
            )
        )


def _apply(update: StatusUpdate, data: UpdateInput) -> None:
    update.rag, update.summary = data.rag, data.summary
    update.accomplishments, update.next_steps = data.accomplishments, data.next_steps
    update.blockers, update.confidence = data.blockers, data.confidence


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
    An edit: the next revision (history kept), the fields and KPI figures replaced.
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
        form = UpdateForm(
            engagement_id=details.id,
            engagement_name=details.engagement.name,
            kind=STATUS_UPDATE,
            kpis=kpis_of(session=session, engagement_id=details.id),
        )
    data = validate(raw, form.kpis)
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
    _apply(update, data)
    session.add(update)
    session.flush()
    assert update.id is not None
    session.add(
        UpdateRevision(
            team_id=team_id,
            update_id=update.id,
            revision=1,
            editor_user_id=actor,
            content=data.content(form.kpis),
            created_at=now,
        )
    )
    _write_kpis(session, team_id=team_id, update_id=update.id, kpis=form.kpis, data=data)
    session.flush()
    return Saved(update_id=update.id, created=True, revision=1)


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
    kpis = kpis_of(session=session, engagement_id=details.id)
    data = validate(raw, kpis)
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
    update.revision += 1
    update.updated_at = now
    _apply(update, data)
    session.add(update)
    session.add(
        UpdateRevision(
            team_id=team_id,
            update_id=update_id,
            revision=update.revision,
            editor_user_id=actor,
            content=data.content(kpis),
            created_at=now,
        )
    )
    _write_kpis(session, team_id=team_id, update_id=update_id, kpis=kpis, data=data)
    session.flush()
    return Saved(update_id=update_id, created=False, revision=update.revision)


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
class KpiResult:
    kpi: KpiField
    value: float
    met: bool


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


def load_summary(*, session: Session, team_id: str, update_id: int) -> UpdateSummary:
    update = _get_update(session, team_id, update_id)
    engagement = session.get(Engagement, update.engagement_id)
    assert engagement is not None
    # Retired KPIs too: an update shows what it reported, whatever became of the KPI since.
    definitions = {
        k.id: k
        for k in kpis_of(session=session, engagement_id=engagement.id or 0, include_retired=True)
    }
    values = session.exec(select(KpiValue).where(KpiValue.update_id == update_id)).all()
    results = [
        KpiResult(definitions[v.kpi_id], v.value, v.met_target)
        for v in values
        if v.kpi_id in definitions
    ]
    order = list(definitions)
    results.sort(key=lambda r: order.index(r.kpi.id))
    last_editor = session.exec(
        select(UpdateRevision.editor_user_id)
        .where(UpdateRevision.update_id == update_id)
        .order_by(col(UpdateRevision.revision).desc())
    ).first()
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
        last_editor=last_editor or update.author_user_id,
        kpis=tuple(results),
        channel_id=update.channel_id,
        message_ts=update.message_ts,
    )
