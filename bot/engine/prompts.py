"""Prompts and reminders: a check-in's question, built from the check-in as it stands now.

A DM that Slack refuses (often someone from another organisation) is planned again as a mention
in the engagement channel; people away by their Slack status are not asked.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

from slack_sdk.errors import SlackApiError
from sqlalchemy import Row, and_, or_
from sqlmodel import Session, col, select

from bot.blocks import checkins as checkin_blocks
from bot.domain import checkins
from bot.domain.checkins import PENDING
from bot.engine.delivery import Message
from bot.engine.retries import finish, put_off
from bot.engine.sender import Sender
from bot.platform.rate_limits import wait_seconds
from storage import job_keys, jobs
from storage.db import Database
from storage.jobs import JobKind, JobStatus
from storage.models import CheckIn, CheckInRecipient

ASKING = (JobKind.PROMPT, JobKind.REMINDER)


def prefetch(sender: Sender, claimed: Sequence[jobs.ClaimedJob]) -> None:
    """Read whom a claimed batch's prompts and reminders ask, in one query for the batch
    rather than one transaction per job; each job takes its rows when it is built."""
    wanted = [j for j in claimed if j.kind in ASKING and j.checkin_id is not None]
    if wanted:
        sender.prefetched.update(asked_by_job(sender.db, wanted))


def asked_by_job(db: Database, claimed: Sequence[jobs.ClaimedJob]) -> dict[int, list[Row]]:
    """For each prompt or reminder, the recipients it asks while its check-in is open: a DM
    job, its person's row; a channel job, everyone still pending (in the order they were
    asked). Empty when the check-in closed."""
    r = CheckInRecipient.__table__.c
    to_people = [j for j in claimed if j.user_id is not None]
    in_channel = [j for j in claimed if j.user_id is None]
    which = []
    if to_people:
        which.append(
            and_(
                r.checkin_id.in_(sorted({j.checkin_id for j in to_people})),
                r.user_id.in_(sorted({j.user_id for j in to_people})),
            )
        )
    if in_channel:
        which.append(
            and_(r.checkin_id.in_(sorted({j.checkin_id for j in in_channel})), r.status == PENDING)
        )
    with db.read() as connection:
        rows = connection.execute(
            select(r.checkin_id, r.user_id, r.status, r.delivered_via)
            .join(CheckIn, col(CheckIn.id) == r.checkin_id)
            .where(CheckIn.status == checkins.OPEN)
            .where(or_(*which))
            .order_by(r.id)
        ).all()
    by_checkin: dict[int, list[Row]] = defaultdict(list)
    for row in rows:
        by_checkin[row.checkin_id].append(row)
    return {
        j.id: [
            row
            for row in by_checkin.get(j.checkin_id or 0, ())
            if (row.user_id == j.user_id if j.user_id is not None else row.status == PENDING)
        ]
        for j in claimed
    }


def build_prompt(sender: Sender, job: jobs.ClaimedJob) -> Message | None:
    """A prompt or reminder, from the check-in as it stands now (answers since count).

    What does not change within a pass (the check-in's cadence and engagement, the rendered
    blocks) is read and built once per check-in; the check-in's status and the recipients are
    read once per claimed batch (`prefetch`, just before its jobs run: seconds), or for the
    job alone when it was not prefetched.
    """
    reminder = job.kind == JobKind.REMINDER
    context = sender.checkin_context(job.checkin_id)
    recipients = sender.prefetched.pop(job.id, None)
    if recipients is None:
        recipients = asked_by_job(sender.db, [job])[job.id]
    if context is None or not recipients:
        # The check-in closed, or nobody it asked is still waiting: nothing to send.
        finish(sender, job, JobStatus.CANCELLED, error="check-in closed or everyone answered")
        return None
    checkin, cadence, engagement = context
    common = {
        "checkin_id": checkin.id,
        "kind": cadence.kind,
        "engagement_name": engagement.name,
        "closes_at": checkin.window_closes_at,
        "tz": cadence.timezone,
        "reminder": reminder,
    }
    label = f"{'reminder' if reminder else 'prompt'} {engagement.handle} {checkin.occurrence_key}"
    if job.user_id is None:
        users = [r.user_id for r in recipients]
        return Message(
            engagement.channel_id,
            sender.rendered(
                ("prompt", checkin.id, reminder, tuple(users)),
                lambda: checkin_blocks.prompt(user_ids=users, **common),
            ),
            f"{label} in channel {engagement.channel_id} for {', '.join(users)}",
            thread_of=checkin.id,  # the check-in's message in the channel: answers go in its thread
        )
    recipient = recipients[0] if recipients else None
    if recipient is None or recipient.status != PENDING:
        finish(sender, job, JobStatus.CANCELLED, error="answered or away")
        return None
    if sender.away_emoji and not sender.may_call(job.team_id, "users.info"):
        # Whether they are away is asked first (users.info, paced by its tier): later.
        later = sender.budgets.wait(job.team_id, "users.info")
        put_off(sender, job, wait_seconds(later), "users.info rate-limited")
        return None
    if sender.away_emoji and is_away_by_status(sender, job.team_id, job.user_id):
        with sender.db.session() as session:
            checkins.mark_away(session, checkin_id=checkin.id, user_id=job.user_id)
        finish(sender, job, JobStatus.CANCELLED, error="away (Slack status)")
        sender.say(f"{label} not sent: {job.user_id} is away (Slack status)")
        return None
    if recipient.delivered_via == "channel":  # their DMs were refused before
        return Message(
            engagement.channel_id,
            checkin_blocks.prompt(user_ids=[job.user_id], **common),
            f"{label} to {job.user_id} in channel {engagement.channel_id}",
        )

    def fall_back_to_channel(session: Session) -> None:
        jobs.plan(
            session,
            team_id=job.team_id,
            key=job_keys.in_channel(job.kind, checkin.id, job.user_id),
            kind=job.kind,
            due_at=sender.now,
            now=sender.now,
            payload={"channel": engagement.channel_id},  # paced with the channel's other posts
            cadence_id=job.cadence_id,
            checkin_id=checkin.id,
            user_id=job.user_id,
        )
        checkins.ask_in_channel(session, checkin_id=checkin.id, user_id=job.user_id)

    return Message(
        job.user_id,
        sender.rendered(
            ("prompt", checkin.id, reminder, ()), lambda: checkin_blocks.prompt(**common)
        ),
        f"{label} to {job.user_id}",
        on_dm_refused=fall_back_to_channel,
    )


def is_away_by_status(sender: Sender, team_id: str, user_id: str) -> bool:
    try:
        profile = sender.client_for(team_id).users_info(user=user_id)["user"].get("profile", {})
    except SlackApiError:
        return False
    return profile.get("status_emoji", "") in sender.away_emoji
