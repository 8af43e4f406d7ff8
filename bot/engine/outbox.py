"""The outbox: every message a request causes is a job, written in the request's transaction.

A listener answers its own request (ack, respond, views.*) and nothing more. What else the
change means (the welcome in a new engagement's channel, an update's summary, the leads'
notices, the feedback DMs, confirmations) is planned here as jobs under unique keys, in the
same transaction as the change. After the commit `Outbox.send_soon` runs those jobs on a
background thread through the engine's own runner; if that fails or the process dies, the next
pass sends them. So a saved change never loses its message, and a retried request (same key)
never sends it twice.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any

from sqlmodel import Session

from bot.blocks import checkins as checkin_blocks
from bot.blocks.common import plain_message
from bot.blocks.engagements import archived_notice, saved_notice
from bot.blocks.updates import alert_line, leads_alert
from bot.domain import audit, checkins, home, notifications
from bot.domain.engagements import EngagementDetails, people_with_role
from bot.domain.updates.save import LeadsAlert, Saved
from storage import job_keys, jobs
from storage.jobs import JobKind
from storage.models import Cadence, CheckIn, Engagement, StatusUpdate

log = logging.getLogger(__name__)


# --- message jobs a job plans (notices to the leads, results, alerts) --------------------------


def tell_leads_once(
    session: Session, job: jobs.ClaimedJob, *, target: str, error: str, now: datetime
) -> None:
    """Tell the engagement's leads about a permanent failure, once per (target, cause)."""
    engagement = engagement_of(session, job)
    if engagement is None:
        return
    notice = checkin_blocks.failure_notice(
        engagement_name=engagement.name, target=target, error=error
    )
    for lead in leads_of(session, engagement):
        if lead != target:
            plan_message(
                session,
                job,
                key=job_keys.notice(engagement.id, target, error, lead),
                to=lead,
                message=notice,
                describe=f"failure notice to {lead} ({error} at {target})",
                now=now,
                quiet=True,
            )


def plan_message(
    session: Session,
    job: jobs.ClaimedJob,
    *,
    key: str,
    to: str,
    message: dict[str, Any],
    describe: str,
    now: datetime,
    quiet: bool = False,
) -> None:
    """A message job planned by another job (its own key makes it happen once)."""
    plan_prepared(
        session,
        team_id=job.team_id,
        key=key,
        to=to,
        payload=message,
        describe=describe,
        now=now,
        quiet=quiet,
        checkin_id=job.checkin_id,
        cadence_id=job.cadence_id,
    )


def plan_prepared(
    session: Session,
    *,
    team_id: str,
    key: str,
    to: str,
    payload: dict[str, Any],
    describe: str,
    now: datetime,
    quiet: bool = False,
    checkin_id: int | None = None,
    cadence_id: int | None = None,
) -> None:
    """A message built now and sent by the MESSAGE kind (`messages.prepared`), once per key:
    to a channel, or to a person's DM (`to` a user id). `quiet`: its failure is not reported
    to the leads (notices about notices, confirmations)."""
    jobs.plan(
        session,
        team_id=team_id,
        key=key,
        kind=JobKind.MESSAGE,
        due_at=now,
        now=now,
        payload={"channel": to, "message": payload, "describe": describe, "quiet": quiet},
        checkin_id=checkin_id,
        cadence_id=cadence_id,
        user_id=to if to[:1] in "UW" else None,
    )


def leads_of(session: Session, engagement: Engagement) -> list[str]:
    assert engagement.id is not None
    return people_with_role(session=session, engagement_id=engagement.id, role="lead")


def engagement_of(session: Session, job: jobs.ClaimedJob) -> Engagement | None:
    if job.checkin_id is not None:
        checkin = session.get(CheckIn, job.checkin_id)
        return session.get(Engagement, checkin.engagement_id) if checkin else None
    if job.cadence_id is not None:
        cadence = session.get(Cadence, job.cadence_id)
        return session.get(Engagement, cadence.engagement_id) if cadence else None
    engagement_id = job.payload.get("engagement_id")
    return session.get(Engagement, engagement_id) if engagement_id else None


# --- what a change plans (called inside the request's transaction) ----------------------------


message = plan_prepared  # a prepared message to a channel or a person, once per key


def engagement_saved(
    session: Session,
    *,
    before: EngagementDetails | None,
    after: EngagementDetails,
    actor: str,
    request: str,
    now: datetime,
) -> None:
    """A new engagement (or a new channel): get in and greet it, then tell the lead how it
    went. Another edit: tell the lead what changed."""
    earlier = (*before.leads, *before.vendor_contacts, *before.stakeholders) if before else ()
    # Its members' Home tabs, and those of anyone the edit removed: named here, as `after`
    # holds them, rather than by the engagement (a query for its members).
    home.plan_refresh(
        session,
        team_id=after.engagement.team_id,
        cause=f"engagement={after.id}:request={request}",
        now=now,
        user_ids=(*earlier, *after.leads, *after.vendor_contacts, *after.stakeholders),
    )
    channel_id = after.engagement.channel_id
    if before is None or before.engagement.channel_id != channel_id:
        jobs.plan(
            session,
            team_id=after.engagement.team_id,
            key=job_keys.welcome(after.id, request),
            kind=JobKind.WELCOME,
            due_at=now,
            now=now,
            payload={"engagement_id": after.id, "actor": actor, "channel": channel_id},
        )
        return
    _, changed = audit.changes(before.snapshot(), after.snapshot())
    message(
        session,
        team_id=after.engagement.team_id,
        key=job_keys.saved(after.id, request),
        to=actor,
        payload=saved_notice(after, [k.replace("_", " ") for k in changed]),
        describe=f"saved notice {after.engagement.handle} to {actor}",
        now=now,
        quiet=True,
    )


def engagement_archived(
    session: Session, *, details: EngagementDetails, actor: str, now: datetime
) -> None:
    """Say in the channel that Cadence stops here (the archive stands whatever Slack says)."""
    archived = f"engagement={details.id}:archived"  # its members' Home tabs, without it
    team_id = details.engagement.team_id
    home.plan_refresh(session, team_id=team_id, engagement_id=details.id, cause=archived, now=now)
    message(
        session,
        team_id=details.engagement.team_id,
        key=job_keys.archived(details.id),
        to=details.engagement.channel_id,
        payload=archived_notice(details, actor),
        describe=f"archive notice {details.engagement.handle}",
        now=now,
        quiet=True,
    )


def update_saved(
    session: Session, *, team_id: str, saved: Saved, channel_id: str, now: datetime
) -> None:
    """Post the update's summary, or edit it in place for a new revision. A summary that goes
    in its check-in's thread and finds none yet (a check-in asked by DM) is preceded by the
    check-in's own message in the channel, planned once per check-in and run first."""
    checkin_id, thread_ts = checkins.summary_thread(session, update_id=saved.update_id)
    if saved.created and checkin_id is not None and thread_ts is None:
        jobs.plan(
            session,
            team_id=team_id,
            key=job_keys.checkin_thread(checkin_id),
            kind=JobKind.CHECKIN_THREAD,
            due_at=now,
            now=now,
            payload={"checkin_id": checkin_id, "channel": channel_id},
            checkin_id=checkin_id,
        )
    jobs.plan(
        session,
        team_id=team_id,
        key=job_keys.update_summary(saved.update_id, saved.revision),
        kind=JobKind.UPDATE_SUMMARY,
        due_at=now,
        now=now,
        payload={"update_id": saved.update_id, "channel": channel_id},
    )
    update = session.get(StatusUpdate, saved.update_id)
    if update is not None:  # its RAG and the score on its members' Home tabs
        revision = f"update={saved.update_id}:revision={saved.revision}"
        engagement_id = update.engagement_id
        home.plan_refresh(
            session, team_id=team_id, engagement_id=engagement_id, cause=revision, now=now
        )


def update_alerted(session: Session, *, team_id: str, alert: LeadsAlert, now: datetime) -> None:
    """Tell each lead that an update is red or missed a KPI: by DM, in their daily round-up or
    not at all, as each chose (`bot/domain/notifications.py`). The key names the update
    and its revision, and only a revision with something new to tell has an alert, so neither
    a retried request nor an edit tells the same thing twice."""
    update = session.get(StatusUpdate, alert.update_id)
    engagement = session.get(Engagement, update.engagement_id) if update else None
    modes = notifications.modes_of(session, team_id=team_id, user_ids=alert.leads)
    for lead in alert.leads:
        key = job_keys.update_alert(alert.update_id, alert.revision, lead)

        def send(lead: str = lead, key: str = key) -> None:
            message(
                session,
                team_id=team_id,
                key=key,
                to=lead,
                payload=leads_alert(alert),
                describe=f"alert on update {alert.update_id} (revision {alert.revision}) to {lead}",
                now=now,
            )

        notifications.notice(  # by the lead's choice: at once, in the round-up, or not
            session,
            team_id=team_id,
            user_id=lead,
            found=notifications.Notice(
                key=key,
                line=alert_line(alert),
                send=send,
                engagement_id=engagement.id if engagement else None,
            ),
            fallback_tz=engagement.timezone if engagement else None,
            now=now,
            mode=modes[lead],
        )


def export_requested(
    session: Session,
    *,
    team_id: str,
    requester: str,
    engagement_id: int,
    start: date | None,
    end: date | None,
    request: str,
    now: datetime,
) -> None:
    """An engagement's record as CSV files, built as a job and sent to whoever asked."""
    jobs.plan(
        session,
        team_id=team_id,
        key=job_keys.export(request),
        kind=JobKind.EXPORT,
        due_at=now,
        now=now,
        payload={
            "engagement_id": engagement_id,
            "start": start.isoformat() if start else None,
            "end": end.isoformat() if end else None,
        },
        user_id=requester,
    )


def confirmation(
    session: Session, *, team_id: str, to: str, text: str, request: str, now: datetime
) -> None:
    """A short DM confirming what a submitted form did (one per submission)."""
    message(
        session,
        team_id=team_id,
        key=job_keys.confirm(request),
        to=to,
        payload=plain_message(text),
        describe=f"confirmation to {to}",
        now=now,
        quiet=True,
    )
