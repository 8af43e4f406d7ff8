"""The audit trail: every configuration change, who made it, when, and before → after.

Each event is linked into its workspace's hash chain when its transaction commits
(`storage/audit_chain.py`), so an edit made outside Cadence shows in `audit verify`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlmodel import Session, select

from storage import audit_chain
from storage.models import AuditEvent


def record(
    *,
    session: Session,
    team_id: str,
    actor: str,
    entity_type: str,
    entity_id: int,
    action: str,
    now: datetime,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit event to the caller's transaction (it lands with the change or not at all)."""
    event = AuditEvent(
        team_id=team_id,
        actor_user_id=actor,
        entity_type=entity_type,
        entity_id=entity_id,
        action=action,
        before=before,
        after=after,
        at=now,
    )
    audit_chain.add(session, event)
    return event


def changes(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict, dict]:
    """Only the fields that changed, on both sides, so the trail reads as a diff."""
    keys = [k for k in after if before.get(k) != after.get(k)]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


def history(
    *, session: Session, team_id: str, entity_type: str, entity_id: int
) -> list[AuditEvent]:
    query = (
        select(AuditEvent)
        .where(AuditEvent.team_id == team_id)
        .where(AuditEvent.entity_type == entity_type)
        .where(AuditEvent.entity_id == entity_id)
        .order_by(AuditEvent.id)
    )
    return list(session.exec(query))
