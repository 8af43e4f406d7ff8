"""Job kinds of a deliverable's clocks: the clock running out (a database job that decides who
hears of it, once) and the alert to each of them (built when it is sent).

Both check that the clock is still live, the first when it runs and the second when it sends,
so a deliverable submitted, accepted, re-planned or cancelled meanwhile says nothing.
"""

from __future__ import annotations

import logging
from datetime import datetime

from slack_sdk.errors import SlackApiError
from sqlmodel import Session, select

from bot.blocks.deliverable_alerts import Reading, clock_alert
from bot.domain import deliverable_clocks, home
from bot.domain.deliverable_clocks import Stage
from bot.engine.delivery import Message, Sender, finish, leads_of
from storage import job_keys, jobs
from storage.jobs import JobKind, JobStatus
from storage.models import Deliverable, Engagement, Person

log = logging.getLogger(__name__)


def _live(
    session: Session, payload: dict, key: str, now: datetime
) -> tuple[Deliverable, Engagement] | None:
    """The deliverable and its engagement, if the clock named `key` still applies to them (a
    due-soon reminder run late, once the due moment has passed, is left to the overdue alert)."""
    deliverable = session.get(Deliverable, payload["deliverable_id"])
    if deliverable is None:
        return None
    engagement = session.get(Engagement, deliverable.engagement_id)
    if engagement is None or engagement.archived_at is not None:
        return None
    if not deliverable_clocks.is_live(deliverable, engagement, key):
        return None
    if payload["stage"] == Stage.DUE_SOON and now >= deliverable.due_at:
        return None
    return deliverable, engagement


def targets(
    session: Session, deliverable: Deliverable, engagement: Engagement, stage: Stage
) -> list[str]:
    """Who hears of a clock: the owner (due soon); the owner and the leads (overdue); the
    acceptors, else the leads (acceptance); the leads and the escalation contact (escalated)."""
    leads = leads_of(session, engagement)
    if stage == Stage.DUE_SOON:
        people = [deliverable.owner_user_id]
    elif stage == Stage.OVERDUE:
        people = [deliverable.owner_user_id, *leads]
    elif stage == Stage.ACCEPTANCE:
        people = list(deliverable.acceptors or ()) or leads
    else:
        people = [*leads, engagement.escalation_user_id or ""]
    return [p for p in dict.fromkeys(people) if p]


def clock(session: Session, job: jobs.ClaimedJob, now: datetime) -> str:
    """A deliverable's clock ran out: if it is still live, plan one alert per person, each
    under a key that follows from this job's (so a second run plans nothing more)."""
    found = _live(session, job.payload, job.key, now)
    if found is None:
        return f"{job.key}: moot (the deliverable changed since), no alert"
    deliverable, engagement = found
    stage = Stage(job.payload["stage"])
    people = targets(session, deliverable, engagement, stage)
    for person in people:
        jobs.plan(
            session,
            team_id=job.team_id,
            key=job_keys.to_person(job.key, person),
            kind=JobKind.DELIVERABLE_ALERT,
            due_at=now,
            now=now,
            payload={**job.payload, "clock_key": job.key},
            user_id=person,
        )
    if stage == Stage.OVERDUE:  # "waiting on you" on their Home tabs now says overdue
        home.plan_refresh(session, team_id=job.team_id, user_ids=people, cause=job.key, now=now)
    return f"{job.key}: {stage} alert planned for {', '.join(people) or 'nobody'}"


def alert(sender: Sender, job: jobs.ClaimedJob) -> Message | None:
    """A clock's alert to one person (`job.user_id`), from the deliverable as it is now."""
    with sender.db.read_session() as session:
        found = _live(session, job.payload, job.payload["clock_key"], sender.now)
        reader_tz = session.exec(
            select(Person.tz)
            .where(Person.team_id == job.team_id)
            .where(Person.user_id == job.user_id)
        ).first()
    if found is None or job.user_id is None:
        finish(sender, job, JobStatus.CANCELLED, error="moot: the deliverable changed since")
        return None
    deliverable, engagement = found
    stage = Stage(job.payload["stage"])
    reading = Reading(
        reader=job.user_id,
        reader_tz=reader_tz or zone_from_slack(sender, job),
        card_link=card_link(sender, job, deliverable),
        working_days=working_days(deliverable, engagement, stage, sender.now),
    )
    return Message(
        job.user_id,
        clock_alert(deliverable, engagement, stage, reading),
        f"{stage} alert of deliverable {deliverable.id} to {job.user_id}",
    )


def working_days(
    deliverable: Deliverable, engagement: Engagement, stage: Stage, now: datetime
) -> int:
    """The working days the alert speaks of: left until the due date, counting today and the
    due day (due soon), or waited since the submission (acceptance, escalated)."""
    if stage == Stage.ACCEPTANCE:
        return engagement.deliverable_acceptance_days
    if stage == Stage.ESCALATE:
        return engagement.deliverable_acceptance_days + deliverable_clocks.ESCALATION_WORKING_DAYS
    return deliverable_clocks.working_days_until(deliverable, engagement, now)


def zone_from_slack(sender: Sender, job: jobs.ClaimedJob) -> str | None:
    """The reader's time zone as Slack says it, when Cadence has not learnt it yet (None, as
    when Slack will not say, while users.info's tier is spent in the workspace)."""
    if not sender.may_call(job.team_id, "users.info"):
        return None
    try:
        found = sender.client_for(job.team_id).users_info(user=job.user_id)
    except (SlackApiError, OSError) as e:
        log.info("no time zone for %s: %s", job.user_id, e)
        return None
    return (found.get("user") or {}).get("tz")


def card_link(sender: Sender, job: jobs.ClaimedJob, deliverable: Deliverable) -> str | None:
    """The card's permalink, if it was posted and Slack gives one."""
    if not (deliverable.channel_id and deliverable.message_ts):
        return None
    if not sender.may_call(job.team_id, "chat.getPermalink"):  # its tier: go without
        return None
    try:
        found = sender.client_for(job.team_id).chat_getPermalink(
            channel=deliverable.channel_id, message_ts=deliverable.message_ts
        )
    except (SlackApiError, OSError) as e:
        log.info("no permalink for deliverable %s's card: %s", deliverable.id, e)
        return None
    return found.get("permalink")
