"""Check-ins: one row per occurrence of a cadence, and who was asked and who answered.

Answering is what the engine watches: an answer marks the person answered (late when after the
window), cancels their pending reminder, and leaves them out of overdue alerts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, select

from bot.domain.errors import NotAllowed, NotFound
from storage import jobs
from storage.models import Cadence, CheckIn, CheckInRecipient, Engagement

OPEN, OVERDUE, CLOSED, MISSED, SKIPPED, HOLIDAY, EXCUSED = (
    "open",
    "overdue",
    "closed",
    "missed",
    "skipped",
    "holiday",
    "excused",
)
PENDING, ANSWERED, AWAY = "pending", "answered", "away"
KIND_LABELS = {
    "status_update": "status update",
    "feedback_survey": "feedback survey",
    "risk_review": "risk review",
}


@dataclass(frozen=True)
class CheckInContext:
    """A check-in with its cadence and engagement, as an answer form needs them."""

    checkin: CheckIn
    cadence: Cadence
    engagement: Engagement
    recipient: CheckInRecipient | None

    @property
    def kind(self) -> str:
        return self.cadence.kind

    def is_late(self, now: datetime) -> bool:
        return now > self.checkin.window_closes_at


def load(
    *, session: Session, team_id: str, checkin_id: int, user_id: str | None = None
) -> CheckInContext:
    """A check-in of this workspace (ids from buttons are re-checked here)."""
    checkin = session.exec(
        select(CheckIn).where(CheckIn.team_id == team_id).where(CheckIn.id == checkin_id)
    ).first()
    if checkin is None:
        raise NotFound("That check-in no longer exists.")
    cadence = session.get(Cadence, checkin.cadence_id)
    engagement = session.get(Engagement, checkin.engagement_id)
    assert cadence is not None and engagement is not None
    recipient = None
    if user_id is not None:
        recipient = session.exec(
            select(CheckInRecipient)
            .where(CheckInRecipient.checkin_id == checkin_id)
            .where(CheckInRecipient.user_id == user_id)
        ).first()
    return CheckInContext(checkin, cadence, engagement, recipient)


def pending_for(*, session: Session, team_id: str, engagement_id: int, user_id: str, kind: str):
    """The person's newest open or overdue check-in of `kind` on an engagement, if any."""
    return session.exec(
        select(CheckIn)
        .join(Cadence, col(Cadence.id) == col(CheckIn.cadence_id))
        .join(CheckInRecipient, col(CheckInRecipient.checkin_id) == col(CheckIn.id))
        .where(CheckIn.team_id == team_id)
        .where(CheckIn.engagement_id == engagement_id)
        .where(Cadence.kind == kind)
        .where(col(CheckIn.status).in_((OPEN, OVERDUE)))
        .where(CheckInRecipient.user_id == user_id)
        .where(CheckInRecipient.status == PENDING)
        .order_by(col(CheckIn.scheduled_for).desc())
    ).first()


def pending_context(
    *, session: Session, team_id: str, engagement_id: int, user_id: str, kinds: tuple[str, ...]
) -> CheckInContext | None:
    """The person's newest pending check-in of one of `kinds` on an engagement, loaded."""
    for kind in kinds:
        pending = pending_for(
            session=session,
            team_id=team_id,
            engagement_id=engagement_id,
            user_id=user_id,
            kind=kind,
        )
        if pending is not None and pending.id is not None:
            return load(session=session, team_id=team_id, checkin_id=pending.id, user_id=user_id)
    return None


def record_answer(
    *, session: Session, team_id: str, checkin_id: int, user_id: str, now: datetime
) -> bool:
    """Mark `user_id`'s answer to a check-in; returns True when it came after the window.

    Only people the check-in asked may answer it. Their pending reminder is cancelled; when
    everyone has answered, the check-in is closed (and its overdue alert finds nobody missing).
    """
    context = load(session=session, team_id=team_id, checkin_id=checkin_id, user_id=user_id)
    recipient = context.recipient
    if recipient is None:
        raise NotAllowed("This check-in was not sent to you, so you cannot answer it.")
    late = context.is_late(now)
    if recipient.status != ANSWERED:
        recipient.status = ANSWERED
        recipient.answered_at = now
        session.add(recipient)
    jobs.cancel(
        session,
        now=now,
        checkin_id=checkin_id,
        user_id=user_id,
        kinds=("reminder", "prompt"),
    )
    session.flush()
    still_pending = session.exec(
        select(CheckInRecipient.id)
        .where(CheckInRecipient.checkin_id == checkin_id)
        .where(CheckInRecipient.status == PENDING)
    ).first()
    if still_pending is None and context.checkin.status == OPEN:
        context.checkin.status = CLOSED
        session.add(context.checkin)
    return late


def waiting_on(
    *, session: Session, team_id: str, user_id: str, limit: int = 20
) -> list[tuple[CheckIn, Cadence, Engagement]]:
    """Check-ins still waiting for this person's answer, oldest first (for the Home tab)."""
    rows = session.exec(
        select(CheckIn, Cadence, Engagement)
        .join(CheckInRecipient, col(CheckInRecipient.checkin_id) == col(CheckIn.id))
        .join(Cadence, col(Cadence.id) == col(CheckIn.cadence_id))
        .join(Engagement, col(Engagement.id) == col(CheckIn.engagement_id))
        .where(CheckIn.team_id == team_id)
        .where(col(CheckIn.status).in_((OPEN, OVERDUE)))
        .where(CheckInRecipient.user_id == user_id)
        .where(CheckInRecipient.status == PENDING)
        .where(col(Engagement.archived_at).is_(None))
        .order_by(col(CheckIn.scheduled_for))
        .limit(limit)
    ).all()
    return [tuple(r) for r in rows]
