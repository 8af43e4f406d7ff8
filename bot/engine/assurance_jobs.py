"""The job kind of an assurance item's clocks (a database job): if the clock is still live, an
expiry reminder or the provide window's reminder to the item's owner, the escalation to the
leads, or the expiry itself (`expiry.expire`: the item expired, one security concern raised).

The item's row is locked before the clock is checked, so a second run of the same job (a lease
taken over) finds the clock moot; each message is planned under a key that follows from the
job's, so it goes once however often the job runs.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import Session

from bot.blocks import assurance_alerts
from bot.domain.assurance import clocks, expiry
from bot.domain.assurance.clocks import Stage
from bot.engine.outbox import leads_of, plan_message
from storage import job_keys, jobs
from storage.models import Engagement


def clock(session: Session, job: jobs.ClaimedJob, now: datetime) -> str:
    item = expiry.locked(session, job.payload["item_id"])
    engagement = session.get(Engagement, item.engagement_id) if item is not None else None
    found = (
        clocks.clock_named(item, engagement, job.key)
        if item is not None and engagement is not None
        else None
    )
    if item is None or engagement is None or found is None:
        return f"{job.key}: moot (the item changed since), nothing done"
    if found.stage == Stage.EXPIRE:
        concern = expiry.expire(session, item, now)
        if concern is None:
            return f"{job.key}: moot (no longer accepted), nothing done"
        return f"{job.key}: item {item.id} expired, concern #{concern.id} raised"
    if found.stage == Stage.ESCALATE:
        people = leads_of(session, engagement)
        text = assurance_alerts.escalated(item, engagement, found.days)
    elif found.stage == Stage.PROVIDE:
        people = [item.owner_user_id]
        text = assurance_alerts.owed(item, engagement, found.days)
    else:
        # Said from today (a pass run late says how long is really left); once the item's
        # expiry is due, the expiry speaks instead.
        assert item.valid_until is not None
        today = now.astimezone(ZoneInfo(engagement.timezone)).date()
        left = (item.valid_until - today).days
        if left < 0:
            return f"{job.key}: moot (past its last valid day), no reminder"
        people = [item.owner_user_id]
        text = assurance_alerts.expiring(item, engagement, left)
    for person in dict.fromkeys(people):
        plan_message(
            session,
            job,
            key=job_keys.to_person(job.key, person),
            to=person,
            message=text,
            describe=f"assurance {found.stage} of item {item.id} to {person}",
            now=now,
        )
    return f"{job.key}: {found.stage} to {', '.join(people) or 'nobody'}"
