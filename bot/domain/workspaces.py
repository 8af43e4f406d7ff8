"""A workspace Cadence serves, and its digest: when it goes out, where, and what it covers.

The weekly digest is the workspace's, not an engagement's: one pass posts it to every
executive digest channel at the configured local day and time (default Monday 09:00). Each
engagement goes to its own digest channel, or to the workspace's when it names none; an
engagement with neither is in no scheduled digest (a preview still shows it to its people).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from sqlmodel import Session, col, select

from bot.domain import recurrence
from storage.jobs import insert_ignoring_conflict
from storage.models import Engagement, EngagementMember, Workspace

DEFAULT_RULE = "FREQ=WEEKLY;BYDAY=MO"
DEFAULT_LOCAL_TIME = "09:00"
DEFAULT_TIMEZONE = "UTC"
PREVIEW_DAYS = 7  # `/cadence digest preview`: "the last seven days"


def ensure(session: Session, *, team_id: str, now: datetime) -> Workspace:
    """The workspace's row, created with the default digest schedule the first time (safe
    when two requests create it at once: the unique team id decides, nobody fails)."""
    found = session.exec(select(Workspace).where(Workspace.team_id == team_id)).first()
    if found is not None:
        return found
    insert_ignoring_conflict(
        session,
        Workspace,
        {
            "team_id": team_id,
            "name": "",
            "digest_rule": DEFAULT_RULE,
            "digest_local_time": DEFAULT_LOCAL_TIME,
            "digest_timezone": DEFAULT_TIMEZONE,
            "digest_next_run_at": None,
            "created_at": now,
        },
        ["team_id"],
    )
    workspace = session.exec(select(Workspace).where(Workspace.team_id == team_id)).one()
    if workspace.digest_next_run_at is None:
        workspace.digest_next_run_at = next_digest(workspace, now)
        session.add(workspace)
        session.flush()
    return workspace


def rule_of(workspace: Workspace) -> recurrence.Rule:
    return recurrence.rule_from_storage("weekly", workspace.digest_rule)


def next_digest(workspace: Workspace, after: datetime) -> datetime | None:
    """When the digest next goes out, strictly after `after` (UTC)."""
    occurrence = recurrence.next_occurrence(
        rule_of(workspace),
        recurrence.parse_local_time(workspace.digest_local_time),
        workspace.digest_timezone,
        after,
    )
    return occurrence.at if occurrence else None


def due_for_digest(session: Session, now: datetime, limit: int = 100) -> list[Workspace]:
    """Workspaces whose digest is due, locked for this pass (others skip them on PostgreSQL),
    and those never scheduled (their first run is set without sending anything)."""
    return list(
        session.exec(
            select(Workspace)
            .where(
                (col(Workspace.digest_next_run_at) <= now)
                | col(Workspace.digest_next_run_at).is_(None)
            )
            .order_by(col(Workspace.id))
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
    )


def digest_routes(session: Session, *, team_id: str) -> dict[str, list[int]]:
    """Each digest channel and the engagements (unarchived) it covers, in engagement order:
    an engagement's own digest channel, else the workspace's."""
    default = session.exec(
        select(Workspace.digest_channel_id).where(Workspace.team_id == team_id)
    ).first()
    routes: dict[str, list[int]] = {}
    for engagement_id, own in session.exec(
        select(Engagement.id, Engagement.digest_channel_id)
        .where(Engagement.team_id == team_id)
        .where(col(Engagement.archived_at).is_(None))
        .order_by(col(Engagement.id))
    ).all():
        channel = own or default
        if channel and engagement_id is not None:
            routes.setdefault(channel, []).append(engagement_id)
    return routes


def visible_engagements(
    session: Session, *, team_id: str, user_id: str, admins: Iterable[str]
) -> list[int]:
    """The unarchived engagements a person may see figures of: all of them for an admin,
    otherwise those they are part of (lead, vendor contact or stakeholder)."""
    query = (
        select(Engagement.id)
        .where(Engagement.team_id == team_id)
        .where(col(Engagement.archived_at).is_(None))
    )
    if user_id not in set(admins):
        members = select(EngagementMember.engagement_id).where(EngagementMember.user_id == user_id)
        query = query.where(col(Engagement.id).in_(members))
    return [i for i in session.exec(query.order_by(col(Engagement.id))).all() if i is not None]


def leads_anything(session: Session, *, team_id: str, user_id: str) -> bool:
    """Whether the person leads at least one unarchived engagement (who may send the digest)."""
    return (
        session.exec(
            select(EngagementMember.engagement_id)
            .join(Engagement, col(Engagement.id) == col(EngagementMember.engagement_id))
            .where(Engagement.team_id == team_id)
            .where(col(Engagement.archived_at).is_(None))
            .where(EngagementMember.user_id == user_id)
            .where(EngagementMember.role == "lead")
            .limit(1)
        ).first()
        is not None
    )


def since_last(workspace: Workspace | None, now: datetime) -> datetime:
    """Where "what changed" starts: the last digest, else a week ago (never further back than
    the figures are loaded for, nor in the future)."""
    week_ago = now - timedelta(days=PREVIEW_DAYS)
    last = workspace.digest_last_run_at if workspace is not None else None
    if last is None or last >= now:
        return week_ago
    return max(last, now - timedelta(weeks=8))
