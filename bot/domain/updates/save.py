"""Saving an update: a new one (revision 1, its KPI figures and, for a check-in, the answer in
the same transaction) or an edit (the next revision, history kept), re-checking everything the
form's hint claims; and what the leads are told about it (`LeadsAlert`, planned by the caller)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select

from bot.domain import checkins, deliverables, engagements
from bot.domain.errors import FieldErrors, NotAllowed, NotFound, UserError
from bot.domain.questions import answering, rules
from bot.domain.updates.deliverable_answers import (
    LATE,
    DeliverableAnswer,
    answers_of,
    fields_of,
)
from bot.domain.updates.evidence import (
    MAX_CARRIED_CHOICES,
    Blocker,
    KpiField,
    KpiOutcome,
    KpiResult,
    blockers_now,
    blockers_of,
    outcome_of_content,
)
from bot.domain.updates.form import (
    cadence_of,
    form_for_checkin,
    latest_content,
    may_send_ad_hoc,
    new_form,
    recorded_answers,
    require_active,
    require_editor,
)
from bot.domain.updates.records import (
    STATUS_UPDATE,
    get_update,
    kind_of_checkin,
    kpis_of,
    previous_update,
    stored_values,
)
from bot.domain.updates.validation import UpdateInput, validate
from storage.models import Engagement, KpiValue, Question, StatusUpdate, UpdateRevision


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


def _replan(
    session: Session,
    *,
    team_id: str,
    actor: str,
    answers: Sequence[DeliverableAnswer],
    before: Sequence[DeliverableAnswer] = (),
    admins: Iterable[str],
    now: datetime,
) -> None:
    """Re-plan each "will be late" through the register's own re-plan (its slip counted, its
    event, audit, card, thread line and clocks), in the update's transaction. An edit that
    keeps the date the update already gave re-plans nothing: one slip, however often it is
    saved."""
    already = {a.deliverable_id: a.new_due_on for a in before if a.answer == LATE}
    for answer in answers:
        new_due = answer.new_due_on
        if (
            answer.answer != LATE
            or new_due is None
            or already.get(answer.deliverable_id) == new_due
        ):
            continue
        found = deliverables.get(
            session=session, team_id=team_id, deliverable_id=answer.deliverable_id
        )
        if found.deliverable.due_on == new_due:
            continue  # re-planned to that date already (from its card, say)
        try:
            deliverables.replan(
                session=session,
                team_id=team_id,
                actor=actor,
                deliverable_id=answer.deliverable_id,
                now=now,
                admins=admins,
                raw={"due_on": new_due.isoformat(), "reason": answer.reason},
            )
        except FieldErrors as e:  # on this form, the fields are the deliverable's own
            keys = {"due_on": "_due", "reason": "_reason"}
            raise FieldErrors(
                {
                    f"deliverable_{answer.deliverable_id}{keys.get(k, '')}": v
                    for k, v in e.errors.items()
                }
            ) from e


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


def _validated(
    raw: Mapping[str, Any], questions: Sequence[Question], check: Any
) -> tuple[UpdateInput, dict[int, Any]]:
    """The update's fields (`check()`, the update's own validation) and its questions'
    answers, every error of both named at once."""
    errors: dict[str, str] = {}
    data = None
    try:
        data = check()
    except FieldErrors as e:
        errors.update(e.errors)
    values, problems = answering.check(raw, questions)
    errors.update(problems)
    if errors or data is None:
        raise FieldErrors(errors)
    return data, values


def _answer_questions(
    session: Session,
    *,
    update: StatusUpdate,
    questions: Sequence[Question],
    values: Mapping[int, Any],
    content: dict[str, Any],
    now: datetime,
) -> None:
    """Store the answers (an edit's replace its own), keep them in the revision's content,
    and let each rule that fires raise its alarm, once per check-in and question."""
    if not questions:
        return
    assert update.id is not None
    stored = answering.store(
        session,
        team_id=update.team_id,
        engagement_id=update.engagement_id,
        checkin_id=update.checkin_id,
        source="update",
        source_id=update.id,
        author=update.author_user_id,
        questions=questions,
        values=values,
        at=now,
    )
    content["questions"] = answering.snapshot(questions, values)
    rules.fire(
        session,
        team_id=update.team_id,
        engagement_id=update.engagement_id,
        checkin_id=update.checkin_id,
        stored=stored,
        now=now,
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
    question_ids: Any = None,
) -> Saved:
    """Save a new update or an edit, re-checking everything the form's hint claims
    (`question_ids`: the custom questions the form says it asked).

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
        require_active(details.engagement)
        if not may_send_ad_hoc(details, actor, admins):
            raise NotAllowed(
                f"Status updates for {details.engagement.name} come from its vendor contacts "
                "and leads."
            )
        form = new_form(
            session,
            engagement_id=details.id,
            engagement_name=details.engagement.name,
            kind=STATUS_UPDATE,
            author=actor,
            now=now,
        )
    previous = previous_update(
        session=session, engagement_id=form.engagement_id, author=actor, kind=form.kind
    )
    engagement = session.get(Engagement, form.engagement_id)
    assert engagement is not None
    today = deliverables.local_today(now, engagement.timezone)
    questions = answering.recheck(
        session, team_id=team_id, cadence_id=cadence_of(session, checkin_id), ids=question_ids
    )
    data, values = _validated(
        raw,
        questions,
        lambda: validate(raw, form.kpis, form.previous_blockers, form.asked.fields, today),
    )
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
    _answer_questions(
        session, update=update, questions=questions, values=values, content=content, now=now
    )
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
    _replan(
        session, team_id=team_id, actor=actor, answers=data.deliverables, admins=admins, now=now
    )
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
    require_editor(update, details, actor, admins)
    require_active(details.engagement)
    kind = kind_of_checkin(session, update.checkin_id)
    previous = previous_update(
        session=session,
        engagement_id=details.id,
        author=update.author_user_id,
        kind=kind,
        before_id=update_id,
    )
    previous_blockers = blockers_of(previous)[:MAX_CARRIED_CHOICES] if previous else ()
    kpis = kpis_of(session=session, engagement_id=details.id)
    answered = recorded_answers(session, update_id)
    today = deliverables.local_today(now, details.engagement.timezone)
    # An edit asks again the questions the update answered (the versions it recorded).
    asking = answering.for_record(
        session,
        team_id=team_id,
        cadence_id=cadence_of(session, update.checkin_id),
        content=(latest_content(session, update_id) or {}).get("questions"),
    )
    data, values = _validated(
        raw,
        asking.questions,
        lambda: validate(raw, kpis, previous_blockers, fields_of(answered), today),
    )
    # A blocker typed in an edit was reported by this update: it dates from the update.
    blockers = blockers_now(
        previous_blockers, data.still_blocking, data.blockers, update.submitted_at.date()
    )
    # A KPI retired since the update was sent is not on the form, yet its figure is part of the
    # update: carry it over unchanged, so the edit neither loses it nor leaves it out of the
    # revision.
    stored = stored_values(session, update_id)
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
    _answer_questions(
        session, update=update, questions=asking.questions, values=values, content=content,
        now=now,
    )  # fmt: skip
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
    _replan(
        session, team_id=team_id, actor=actor, answers=data.deliverables,
        before=answers_of(before), admins=admins, now=now,
    )  # fmt: skip
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
    update = get_update(session, team_id, update_id)
    update.channel_id, update.message_ts = channel_id, message_ts
    session.add(update)
