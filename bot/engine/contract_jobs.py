"""The job kind of the contract's dates: a reminder is due, and if the engagement's dates are
still the ones it was planned from, each lead gets one message (planned under a key that
follows from this job's, so a second run plans nothing more)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot.blocks.contract import reminder
from bot.domain import contract_clocks
from bot.engine.outbox import leads_of, plan_message
from storage import job_keys, jobs
from storage.models import Engagement


def clock(session: Session, job: jobs.ClaimedJob, now: datetime) -> str:
    engagement = session.get(Engagement, job.payload["engagement_id"])
    if engagement is None or not contract_clocks.is_live(engagement, job.key):
        return f"{job.key}: moot (the contract's dates changed since), no reminder"
    found = next(c for c in contract_clocks.clocks(engagement) if c.key == job.key)
    contract = contract_clocks.contract_of(engagement)
    text = reminder(engagement, contract, found.stage, found.days_left)
    leads = leads_of(session, engagement)
    for lead in leads:
        plan_message(
            session,
            job,
            key=job_keys.to_person(job.key, lead),
            to=lead,
            message=text,
            describe=f"contract reminder ({found.stage}) of {engagement.handle} to {lead}",
            now=now,
        )
    return f"{job.key}: reminded {', '.join(leads) or 'nobody'}"
