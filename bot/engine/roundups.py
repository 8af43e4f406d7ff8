"""The daily round-up as a job kind (`JobKind.ROUNDUP`, a database kind): at its hour it takes
every line held for the person (`notifications.collect`, which deletes them) and the rule
alerts held for it (`question_jobs.take_held`, which cancels them) and plans one DM
carrying them, under the round-up's own key, in the same transaction as finishing the job: it
commits whole or not at all, and the job's unique key (person and day) means one round-up, in
any number of processes.
Planned by `bot/domain/notifications.hold` with the first notice of the person's day.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Session

from bot.blocks.roundup import roundup
from bot.domain import notifications
from bot.engine import question_jobs
from bot.engine.outbox import plan_message
from storage import job_keys, jobs


def plan_roundup(session: Session, job: jobs.ClaimedJob, now: datetime) -> str:
    user_id = job.user_id
    if user_id is None:
        return f"{job.key}: no person"
    lines = notifications.collect(
        session, team_id=job.team_id, user_id=user_id, roundup_key=job.key
    )
    lines += question_jobs.take_held(session, job, now)
    if not lines:  # an earlier round-up (the day before's, run late) took them
        return f"{job.key}: nothing held"
    plan_message(
        session,
        job,
        key=job_keys.roundup_dm(job.key),
        to=user_id,
        message=roundup(lines, day=date.fromisoformat(job.payload["day"])),
        describe=f"round-up of {len(lines)} to {user_id}",
        now=now,
    )
    return f"{job.key}: {len(lines)} held notices to {user_id}"
