"""An update read back as the channel summary shows it: each KPI figure as it stood when
reported (the revision records it; the target may move since), its blockers, its leads, and
what it said of each deliverable asked about and its answers to the check-in's own questions
(the revision records those too, each question as it was asked)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session, col, select

from bot.domain.questions.answering import Answered, answered_of
from bot.domain.updates.deliverable_answers import DeliverableAnswer, answers_of
from bot.domain.updates.evidence import (
    Blocker,
    KpiOutcome,
    KpiResult,
    blockers_of,
    outcome_of_content,
)
from bot.domain.updates.records import get_update, kind_of_checkin, kpis_of
from storage.models import Engagement, EngagementMember, KpiValue, UpdateRevision


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
    deliverables: tuple[DeliverableAnswer, ...] = ()
    answers: tuple[Answered, ...] = ()  # the check-in's custom questions, as asked

    @property
    def long_open(self) -> tuple[Blocker, ...]:
        """Blockers carried over at least twice: highlighted to the leads."""
        return tuple(b for b in self.blocker_lines if b.long_open)


def load_summary(*, session: Session, team_id: str, update_id: int) -> UpdateSummary:
    update = get_update(session, team_id, update_id)
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
        kind=kind_of_checkin(session, update.checkin_id),
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
        deliverables=answers_of(latest.content if latest else None),
        answers=answered_of((latest.content if latest else {}).get("questions")),
    )
