"""A workspace Cadence serves, and its digest: when it goes out, where, and what it covers.

The weekly digest is the workspace's, not an engagement's: one pass posts it to every
executive digest channel at the configured local day and time (default Monday 09:00). Each
engagement goes to its own digest channel, or to the workspace's when it names none; an
engagement with neither is in no scheduled digest (a preview still shows it to its people).
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlmodel import Session, col, select

from bot.domain import audit, recurrence, roles
from bot.domain.errors import FieldErrors, NotAllowed
from storage.jobs import insert_ignoring_conflict
from storage.models import AuditEvent, Engagement, EngagementMember, Workspace

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


def latest_slot(workspace: Workspace, now: datetime) -> datetime | None:
    """The latest digest time at or before `now` (None: never scheduled yet). After a pause
    of weeks this is the last slot missed, so the one digest sent is named after it."""
    slot = workspace.digest_next_run_at
    if slot is None or slot > now:
        return None
    for _ in range(1000):  # a weekly rule: a thousand steps is twenty years of downtime
        following = next_digest(workspace, slot)
        if following is None or following > now:
            break
        slot = following
    return slot


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
            .where(col(Workspace.uninstalled_at).is_(None))  # none for a workspace that left
            .order_by(col(Workspace.id))
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
    )


def digest_channel(session: Session, *, team_id: str, engagement: Engagement) -> str | None:
    """The digest channel of one engagement, by the rule of `digest_routes` (None: it is in
    no scheduled digest)."""
    if engagement.digest_channel_id:
        return engagement.digest_channel_id
    return session.exec(
        select(Workspace.digest_channel_id).where(Workspace.team_id == team_id)
    ).first()


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


def since_last(workspace: Workspace | None, now: datetime) -> datetime:
    """Where "what changed" starts: the last digest, else a week ago (never further back than
    the figures are loaded for, nor in the future)."""
    week_ago = now - timedelta(days=PREVIEW_DAYS)
    last = workspace.digest_last_run_at if workspace is not None else None
    if last is None or last >= now:
        return week_ago
    return max(last, now - timedelta(weeks=8))


# --- the digest schedule (`/cadence digest schedule`) ----------------------------------------

SCHEDULE_ACTION = "digest_schedule"  # the audit event's action when the schedule is saved
UPCOMING = 3  # how many send times the form shows


@dataclass(frozen=True)
class DigestSchedule:
    """When the digest goes out (weekdays 0 = Monday, local "HH:MM", an IANA zone) and the
    workspace's default digest channel (None: only engagements' own digest channels)."""

    weekdays: tuple[int, ...]
    local_time: str
    timezone: str
    channel_id: str | None = None

    @property
    def rule(self) -> recurrence.Rule:
        return recurrence.Rule(kind="weekly", weekdays=self.weekdays)

    @staticmethod
    def of(workspace: Workspace) -> DigestSchedule:
        """What the workspace has stored, as the form shows it."""
        return DigestSchedule(
            weekdays=rule_of(workspace).weekdays,
            local_time=workspace.digest_local_time,
            timezone=workspace.digest_timezone,
            channel_id=workspace.digest_channel_id,
        )


def validate_schedule(raw: Mapping[str, Any]) -> DigestSchedule:
    """The schedule form's values (by action_id: weekdays, local_time, timezone, channel) as a
    DigestSchedule, or FieldErrors naming every field to fix."""
    errors: dict[str, str] = {}
    days: list[int] = []
    for value in raw.get("weekdays") or []:
        text = str(value).strip()
        if not text.isdigit() or not 0 <= int(text) <= 6:
            errors["weekdays"] = "Days of the week must be Monday to Sunday."
            break
        days.append(int(text))
    if not days and "weekdays" not in errors:
        errors["weekdays"] = "Pick at least one day of the week."
    local_time = ""
    try:
        parsed = recurrence.parse_local_time(str(raw.get("local_time") or ""))
        local_time = parsed.strftime("%H:%M")
    except recurrence.RuleError as e:
        errors["local_time"] = e.message
    timezone = canonical_timezone(str(raw.get("timezone") or ""))
    if timezone is None:
        typed = str(raw.get("timezone") or "").strip()
        errors["timezone"] = (
            f"“{typed[:64]}” is not a time zone Cadence knows. " if typed else "Give a time zone. "
        ) + "Use an IANA name such as Europe/Berlin or America/New_York."
    channel = str(raw.get("channel") or "").strip() or None
    if channel is not None and not channel.startswith(("C", "G")):
        errors["channel"] = "Choose a channel (public or private), not a direct message."
    if errors:
        raise FieldErrors(errors)
    assert timezone is not None
    return DigestSchedule(
        weekdays=tuple(sorted(set(days))),
        local_time=local_time,
        timezone=timezone,
        channel_id=channel,
    )


@cache
def _zone_names() -> dict[str, str]:
    return {z.lower(): z for z in zoneinfo.available_timezones()}


def canonical_timezone(value: str) -> str | None:
    """The IANA name for `value` as spelled in the tz database (case-insensitive), or None."""
    return _zone_names().get(value.strip().lower()) if value.strip() else None


def upcoming(schedule: DigestSchedule, after: datetime, count: int = UPCOMING) -> list[datetime]:
    """The next `count` send times (UTC) of a schedule, strictly after `after`."""
    found = recurrence.occurrences(
        schedule.rule,
        recurrence.parse_local_time(schedule.local_time),
        schedule.timezone,
        after,
        count,
    )
    return [o.at for o in found]


def require_scheduler(actor: roles.Actor) -> None:
    """Who may choose when and where the digest goes out: the workspace's stewards."""
    roles.require_steward(actor, "choose when and where the digest goes out")


def stored_or_default(session: Session, *, team_id: str) -> Workspace:
    """The workspace's row, or (for a team not served yet) an unsaved one with the defaults:
    for reading, where `ensure` would write."""
    found = session.exec(select(Workspace).where(Workspace.team_id == team_id)).first()
    if found is not None:
        return found
    return Workspace(
        team_id=team_id,
        digest_rule=DEFAULT_RULE,
        digest_local_time=DEFAULT_LOCAL_TIME,
        digest_timezone=DEFAULT_TIMEZONE,
    )


def schedule_saved(session: Session, *, team_id: str) -> bool:
    """Whether anyone has saved the digest schedule yet (else it is still the default)."""
    return (
        session.exec(
            select(AuditEvent.id)
            .where(AuditEvent.team_id == team_id)
            .where(AuditEvent.entity_type == "workspace")
            .where(AuditEvent.action == SCHEDULE_ACTION)
            .limit(1)
        ).first()
        is not None
    )


def save_schedule(
    session: Session,
    *,
    team_id: str,
    actor: roles.Actor,
    schedule: DigestSchedule,
    now: datetime,
) -> Workspace:
    """Store the schedule (who may: the stewards, `require_scheduler`), move the next send to
    the first one after `now` under it, and record who changed what."""
    require_scheduler(actor)
    ensure(session, team_id=team_id, now=now)
    workspace = session.exec(
        select(Workspace)
        .where(Workspace.team_id == team_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    before = _schedule_snapshot(workspace)
    workspace.digest_rule = schedule.rule.to_rrule()
    workspace.digest_local_time = schedule.local_time
    workspace.digest_timezone = schedule.timezone
    workspace.digest_channel_id = schedule.channel_id
    workspace.digest_next_run_at = next_digest(workspace, now)
    session.add(workspace)
    session.flush()
    old, new = audit.changes(before, _schedule_snapshot(workspace))
    assert workspace.id is not None
    audit.record(
        session=session,
        team_id=team_id,
        actor=actor.user_id,
        entity_type="workspace",
        entity_id=workspace.id,
        action=SCHEDULE_ACTION,
        now=now,
        before=old,
        after=new,
    )
    return workspace


# --- posting the digest now (`/cadence digest send`) -------------------------------------------

# One manual digest per workspace per gap: each posts to every digest channel, so without a
# limit one person could make Cadence post there as often as they type.
MANUAL_SEND_GAP = timedelta(minutes=15)


def claim_manual_send(session: Session, *, team_id: str, actor: roles.Actor, now: datetime) -> None:
    """Check who asks (the stewards) and the limit, and record this send, under the
    workspace's row lock so two people at once cannot both pass the check."""
    roles.require_steward(actor, "post the digest now")
    ensure(session, team_id=team_id, now=now)
    workspace = session.exec(
        select(Workspace)
        .where(Workspace.team_id == team_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    last = workspace.digest_manual_sent_at
    if last is not None and last <= now < last + MANUAL_SEND_GAP:
        wait = last + MANUAL_SEND_GAP - now
        minutes = max(1, -(-int(wait.total_seconds()) // 60))
        raise NotAllowed(
            f"The digest was posted {_ago(now - last)}; it can be posted again in "
            f"{minutes} minute{'s' if minutes != 1 else ''}. "
            "`/cadence digest preview` shows it to you alone at any time."
        )
    workspace.digest_manual_sent_at = now
    session.add(workspace)


def _ago(delta: timedelta) -> str:
    minutes = int(delta.total_seconds()) // 60
    if minutes < 1:
        return "just now"
    return f"{minutes} minute{'s' if minutes != 1 else ''} ago"


def _schedule_snapshot(workspace: Workspace) -> dict[str, Any]:
    nxt = workspace.digest_next_run_at
    return {
        "digest_rule": workspace.digest_rule,
        "digest_local_time": workspace.digest_local_time,
        "digest_timezone": workspace.digest_timezone,
        "digest_channel_id": workspace.digest_channel_id,
        "digest_next_run_at": nxt.isoformat() if nxt else None,
    }
