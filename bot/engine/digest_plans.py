"""The executive digest's planning (`digests.py` builds and posts it): due digests each pass,
one `DIGEST` job per workspace and slot, that job's posts (one `DIGEST_POST` per digest
channel), and `/cadence digest send` and `preview`. Apart from the building so that the
command plans without importing it (tests/test_web_memory.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session

from bot.domain import workspaces
from storage import job_keys, jobs
from storage.db import Database
from storage.jobs import JobKind


def plan_due(db: Database, now: datetime) -> list[str]:
    """Plan the digest of every workspace whose time has come (and schedule the first run of
    those never scheduled); one line per digest planned."""
    lines: list[str] = []
    with db.session() as session:
        for workspace in workspaces.due_for_digest(session, now):
            slot = workspaces.latest_slot(workspace, now)
            workspace.digest_next_run_at = workspaces.next_digest(workspace, now)
            session.add(workspace)
            if slot is None:
                continue
            key = job_keys.digest(workspace.team_id, slot)
            if plan_digest(session, team_id=workspace.team_id, key=key, now=now):
                lines.append(f"{now.isoformat()} digest of {workspace.team_id} planned ({key})")
    return lines


def plan_digest(session: Session, *, team_id: str, key: str, now: datetime) -> bool:
    """The workspace's digest, posted to every digest channel (scheduled, or `digest send`)."""
    return (
        jobs.plan(session, team_id=team_id, key=key, kind=JobKind.DIGEST, due_at=now, now=now)
        is not None
    )


def plan_preview(
    session: Session,
    *,
    team_id: str,
    to: str,
    engagement_ids: Sequence[int],
    request: str,
    now: datetime,
) -> None:
    """The digest of the engagements the person may see, to their DM only."""
    workspace = workspaces.ensure(session, team_id=team_id, now=now)
    _plan_post(
        session,
        team_id=team_id,
        key=job_keys.digest_preview(request),
        to=to,
        engagement_ids=engagement_ids,
        now=now,
        since=workspaces.since_last(workspace, now),
        preview=True,
    )


def plan_posts(session: Session, job: jobs.ClaimedJob, now: datetime) -> str:
    """`DIGEST`: one post per digest channel, each with the engagements it covers."""
    workspace = workspaces.ensure(session, team_id=job.team_id, now=now)
    since = workspaces.since_last(workspace, now)
    routes = workspaces.digest_routes(session, team_id=job.team_id)
    for channel, engagement_ids in routes.items():
        _plan_post(
            session,
            team_id=job.team_id,
            key=job_keys.digest_post(job.key, channel),
            to=channel,
            engagement_ids=engagement_ids,
            now=now,
            since=since,
            preview=False,
        )
    workspace.digest_last_run_at = now
    session.add(workspace)
    if not routes:
        return f"{job.key}: no engagement has a digest channel; nothing to post"
    return f"{job.key}: posts planned for {', '.join(routes)}"


def _plan_post(
    session: Session,
    *,
    team_id: str,
    key: str,
    to: str,
    engagement_ids: Sequence[int],
    now: datetime,
    since: datetime,
    preview: bool,
) -> None:
    jobs.plan(
        session,
        team_id=team_id,
        key=key,
        kind=JobKind.DIGEST_POST,
        due_at=now,
        now=now,
        payload={
            "channel": to,
            "engagement_ids": list(engagement_ids),
            "as_of": now.isoformat(),
            "since": since.isoformat(),
            "preview": preview,
        },
        user_id=to if to[:1] in "UW" else None,
    )
