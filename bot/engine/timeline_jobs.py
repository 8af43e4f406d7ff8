"""The deliverables' timeline picture as a job: planned by `/cadence deliverables <eng> chart`
in the request's transaction, drawn and uploaded to the asker's DM by the engine.

Why a job: drawing a PNG takes longer than Slack's 3 seconds allow a request, and an upload may
need retrying; the request only checks who asks and plans this under its own key (a retried
delivery plans nothing more). The picture shows the engagement as of the moment it was asked
for, so a retry draws the same one.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot.blocks import timeline
from bot.blocks.common import escape
from bot.domain import deliverable_timeline
from bot.domain.errors import NotFound
from bot.engine.delivery import Message
from bot.engine.retries import finish
from bot.engine.sender import Sender
from storage import job_keys, jobs
from storage.jobs import JobKind, JobStatus


def plan(
    session: Session,
    *,
    team_id: str,
    requester: str,
    engagement_id: int,
    request: str,
    now: datetime,
) -> None:
    """The timeline of `engagement_id`, drawn as of `now` and sent to `requester`."""
    jobs.plan(
        session,
        team_id=team_id,
        key=job_keys.deliverable_timeline(request),
        kind=JobKind.DELIVERABLE_TIMELINE,
        due_at=now,
        now=now,
        payload={"engagement_id": engagement_id, "as_of": now.isoformat()},
        user_id=requester,
    )


def send_timeline(sender: Sender, job: jobs.ClaimedJob) -> Message | None:
    """`DELIVERABLE_TIMELINE`: the PNG, its alt text, and the same words as its message."""
    to = job.user_id
    if to is None:
        finish(sender, job, JobStatus.FAILED, error="nobody to send the timeline to")
        return None
    as_of = datetime.fromisoformat(job.payload["as_of"])
    try:
        with sender.db.read_session() as session:
            drawn = deliverable_timeline.load(
                session=session,
                team_id=job.team_id,
                engagement_id=int(job.payload["engagement_id"]),
                now=as_of,
            )
    except NotFound:
        finish(sender, job, JobStatus.DONE, error="the engagement no longer exists")
        return None
    alt = timeline.timeline_alt_text(drawn)
    return Message(
        to,
        {"text": escape(alt), "alt_txt": alt},  # titles are typed by people: never mrkdwn
        f"deliverables' timeline of {drawn.handle} to {to}",
        quiet=True,
        upload=(timeline.timeline_filename(drawn), timeline.timeline_png(drawn)),
    )
