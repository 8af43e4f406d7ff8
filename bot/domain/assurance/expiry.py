"""An accepted item whose evidence is no longer valid: it turns expired (owed again by its
owner) and one security concern is raised for it, owned by the item's owner.

Run by its clock's job (`bot.engine.assurance_jobs`) once the job has checked the clock is
still live; the item's row is locked first, so of two runs (a lease taken over) the second
finds it expired and does nothing.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, select

from bot.domain import audit, concerns, engagements, moments
from bot.domain.assurance import clocks, register
from bot.domain.concerns import ConcernInput
from storage.assurance_statuses import AssuranceStatus
from storage.models import AssuranceEvent, AssuranceItem, Concern

SOURCE = "assurance"  # a concern's `source`: raised by an item's expiry
CATEGORY = "security"


def severity_of(item: AssuranceItem) -> str:
    """A lapse of due diligence (a required item) is high; of anything else, medium."""
    return "high" if item.required else "medium"


def locked(session: Session, item_id: int) -> AssuranceItem | None:
    """The item, its row locked for the change (PostgreSQL; SQLite's writer lock does it)."""
    return session.exec(
        select(AssuranceItem).where(AssuranceItem.id == item_id).with_for_update()
    ).first()


def expire(session: Session, item: AssuranceItem, now: datetime) -> Concern | None:
    """Turn an accepted item expired and raise its security concern: its event and audit, its
    card edited with a thread line and the Homes refreshed (`register.announce`), its clocks
    (the provide window starts) and a DM asking its owner again; None when it is no longer
    accepted (nothing done)."""
    if item.status != AssuranceStatus.ACCEPTED:
        return None
    assert item.id is not None
    details = engagements.get(
        session=session, team_id=item.team_id, engagement_id=item.engagement_id
    )
    # Raised from the client's side, as its register's keeper: the engagement's first lead.
    actor = details.leads[0] if details.leads else item.owner_user_id
    until = moments.day(item.valid_until) if item.valid_until else "its last valid day"
    concern = concerns.raise_concern(
        session=session,
        team_id=item.team_id,
        actor=actor,
        engagement_id=item.engagement_id,
        data=ConcernInput(
            title=f"{item.title} expired"[: concerns.MAX_TITLE],
            severity=severity_of(item),
            category=CATEGORY,
            description=(
                f"Raised by Cadence: the vendor's evidence “{item.title}” was valid until "
                f"{until} and has not been renewed. "
                "It resolves itself when a renewal is accepted."
            )[: concerns.MAX_TEXT],
            owner=item.owner_user_id,
        ),
        now=now,
        admins=(actor,),
        source=SOURCE,
        source_ref=f"assurance:item:{item.id}",
    )
    item.status = AssuranceStatus.EXPIRED
    item.requested_at = item.updated_at = now  # asked again: its provide window starts now
    item.concern_id = concern.id
    session.add(item)
    event = AssuranceEvent(
        team_id=item.team_id,
        item_id=item.id,
        actor_user_id=actor,
        action="expired",
        from_status=AssuranceStatus.ACCEPTED,
        to_status=AssuranceStatus.EXPIRED,
        note=f"Valid until {until}: expired; concern #{concern.id} raised.",
        data={"concern_id": concern.id},
        at=now,
    )
    session.add(event)
    session.flush()
    audit.record(
        session=session, team_id=item.team_id, actor=actor, entity_type="assurance_item",
        entity_id=item.id, action="expired", before={"status": AssuranceStatus.ACCEPTED.value},
        after={"status": AssuranceStatus.EXPIRED.value, "concern_id": concern.id}, now=now,
    )  # fmt: skip
    register.announce(session, item, event, now)
    register._plan_request(session, item, now)  # the owner's DM with its Provide button
    clocks.plan(session, item, now)
    return concern
