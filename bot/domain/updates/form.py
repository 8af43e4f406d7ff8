"""The update form: who may open one (a check-in's recipient, a vendor contact or lead ad
hoc, the author or a lead to edit), and what it asks, filled in from the author's previous
update so a repeat takes seconds."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select

from bot.domain import checkin_kinds, checkins, deliverables, engagements
from bot.domain.errors import NotAllowed, UserError
from bot.domain.questions import answering
from bot.domain.updates.deliverable_answers import (
    HORIZON,
    MAX_ASKED,
    Asked,
    DeliverableAnswer,
    DeliverableField,
    answers_of,
    fields_of,
)
from bot.domain.updates.evidence import MAX_CARRIED_CHOICES, Blocker, KpiField, blockers_of
from bot.domain.updates.records import (
    STATUS_UPDATE,
    UPDATE_KINDS,
    get_update,
    kind_of_checkin,
    kpis_of,
    previous_update,
    previous_with_values,
    stored_values,
)
from bot.domain.updates.validation import UpdateInput
from storage.models import CheckIn, Engagement, StatusUpdate, UpdateRevision


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
    asked: Asked = field(default_factory=Asked)
    # The check-in's custom questions (an edit: those the update answered), filled in.
    questions: answering.Asking = field(default_factory=answering.Asking)

    def metadata(self) -> dict[str, Any]:
        return {
            "engagement_id": self.engagement_id,
            "checkin_id": self.checkin_id,
            "update_id": self.update_id,
            **self.questions.metadata(),
        }


def _prefilled(
    previous: StatusUpdate | None, values: dict[int, float], kpis: Sequence[KpiField]
) -> UpdateInput | None:
    """A new form filled in from the previous update and its KPI figures (`values`), so a
    repeat takes seconds: what stands (summary, next steps, what would make it green,
    confidence, KPI figures) but not the status, nor the accomplishments (new each time);
    last time's blockers are asked about."""
    if previous is None or previous.id is None:
        return None
    return UpdateInput(
        rag="",
        summary=previous.summary,
        next_steps=previous.next_steps,
        reason=previous.reason,
        confidence=previous.confidence,
        kpi_values={k.id: values[k.id] for k in kpis if k.id in values},
    )


def asked_of(session: Session, *, engagement_id: int, author: str, now: datetime) -> Asked:
    """The author's deliverables a new update asks about: overdue or due within two weeks,
    not submitted yet; the first `MAX_ASKED` of them (soonest first), and how many more."""
    due = deliverables.due_for(
        session=session, engagement_id=engagement_id, owner=author, until=now + HORIZON
    )
    fields = tuple(
        DeliverableField(d.id, d.title, d.due_on, overdue=d.due_at <= now)
        for d in due[:MAX_ASKED]
        if d.id is not None
    )
    return Asked(fields, more=max(0, len(due) - MAX_ASKED))


def latest_content(session: Session, update_id: int) -> dict[str, Any] | None:
    """What an update's latest revision records."""
    return session.exec(
        select(UpdateRevision.content)
        .where(UpdateRevision.update_id == update_id)
        .order_by(col(UpdateRevision.revision).desc())
    ).first()


def recorded_answers(session: Session, update_id: int) -> tuple[DeliverableAnswer, ...]:
    """The deliverable answers of an update as its latest revision records them."""
    return answers_of(latest_content(session, update_id))


def cadence_of(session: Session, checkin_id: int | None) -> int | None:
    """The cadence whose questions a check-in's form asks (None: an ad hoc form asks none)."""
    if checkin_id is None:
        return None
    checkin = session.get(CheckIn, checkin_id)
    return checkin.cadence_id if checkin is not None else None


def new_form(
    session: Session,
    *,
    engagement_id: int,
    engagement_name: str,
    kind: str,
    author: str,
    now: datetime,
    checkin_id: int | None = None,
    cadence_id: int | None = None,
    late: bool = False,
) -> UpdateForm:
    """A new form; for a check-in (`cadence_id`), with its cadence's questions, each filled
    with the author's last answer where the question is unchanged."""
    kpis = kpis_of(session=session, engagement_id=engagement_id)
    previous, values = previous_with_values(
        session=session, engagement_id=engagement_id, author=author, kind=kind
    )
    return UpdateForm(
        engagement_id=engagement_id,
        engagement_name=engagement_name,
        kind=kind,
        kpis=kpis,
        checkin_id=checkin_id,
        late=late,
        initial=_prefilled(previous, values, kpis),
        previous_blockers=blockers_of(previous)[:MAX_CARRIED_CHOICES] if previous else (),
        prefilled_on=previous.submitted_at.date() if previous else None,
        asked=asked_of(session, engagement_id=engagement_id, author=author, now=now),
        questions=(
            answering.for_checkin(
                session, engagement_id=engagement_id, cadence_id=cadence_id, author=author
            )
            if cadence_id is not None
            else answering.Asking()
        ),
    )


def require_active(engagement: Engagement) -> None:
    if engagement.archived_at is not None:
        raise UserError(f"{engagement.name} is archived; it takes no more updates.")


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
    require_active(context.engagement)
    engagement_id = context.engagement.id
    assert engagement_id is not None
    return new_form(
        session,
        engagement_id=engagement_id,
        engagement_name=context.engagement.name,
        kind=context.kind,
        author=user_id,
        checkin_id=context.checkin.id,
        cadence_id=context.checkin.cadence_id,
        late=context.is_late(now),
        now=now,
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
    return new_form(
        session,
        engagement_id=details.id,
        engagement_name=details.engagement.name,
        kind=STATUS_UPDATE,
        author=user_id,
        now=now,
    )


def _people(user_ids: Sequence[str]) -> str:
    return ", ".join(f"<@{u}>" for u in user_ids) or "nobody yet"


def may_edit(
    update: StatusUpdate,
    details: engagements.EngagementDetails,
    user_id: str,
    admins: Iterable[str],
) -> bool:
    return update.author_user_id == user_id or engagements.may_manage(details, user_id, admins)


def require_editor(
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


def form_for_edit(
    *, session: Session, team_id: str, update_id: int, user_id: str, admins: Iterable[str]
) -> UpdateForm:
    """The same form, filled with the update as it stands (author, leads and admins only)."""
    update = get_update(session, team_id, update_id)
    details = engagements.get(session=session, team_id=team_id, engagement_id=update.engagement_id)
    require_editor(update, details, user_id, admins)
    require_active(details.engagement)
    kind = kind_of_checkin(session, update.checkin_id)
    previous = previous_update(
        session=session,
        engagement_id=details.id,
        author=update.author_user_id,
        kind=kind,
        before_id=update_id,
    )
    lines = blockers_of(update)
    content = latest_content(session, update_id)
    answered = answers_of(content)
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
            kpi_values=stored_values(session, update_id),
            reason=update.reason,
            still_blocking=tuple(b.text for b in lines if b.carried),
            deliverables=answered,
        ),
        late=update.late,
        previous_blockers=blockers_of(previous)[:MAX_CARRIED_CHOICES] if previous else (),
        asked=Asked(fields_of(answered)),
        questions=answering.for_record(
            session,
            team_id=team_id,
            cadence_id=cadence_of(session, update.checkin_id),
            content=(content or {}).get("questions"),
        ),
    )
