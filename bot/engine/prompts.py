"""Prompts and reminders: a check-in's question, built from the check-in as it stands now.

A DM that Slack refuses (often someone from another organisation) is planned again as a mention
in the engagement channel; people away by their Slack status are not asked.
"""

from __future__ import annotations

from slack_sdk.errors import SlackApiError
from sqlmodel import Session, col, select

from bot.blocks import checkins as checkin_blocks
from bot.domain import checkins
from bot.domain.checkins import PENDING
from bot.engine.delivery import Message, Sender, finish
from storage import jobs
from storage.jobs import JobKind, JobStatus
from storage.models import CheckIn, CheckInRecipient


def build_prompt(sender: Sender, job: jobs.ClaimedJob) -> Message | None:
    """A prompt or reminder, from the check-in as it stands now (answers since count).

    What does not change within a pass (the check-in's cadence and engagement, the rendered
    blocks) is read and built once per check-in; the check-in's status and the recipients are
    read for every job.
    """
    reminder = job.kind == JobKind.REMINDER
    context = sender.checkin_context(job.checkin_id)
    recipient_table = CheckInRecipient.__table__.c
    asked = (
        select(recipient_table.user_id, recipient_table.status, recipient_table.delivered_via)
        .join(CheckIn, col(CheckIn.id) == recipient_table.checkin_id)
        .where(recipient_table.checkin_id == job.checkin_id)
        .where(CheckIn.status == checkins.OPEN)
        .order_by(recipient_table.id)
    )
    if job.user_id is None:  # channel delivery: everyone still pending
        asked = asked.where(recipient_table.status == PENDING)
    else:  # a DM: only this person's row
        asked = asked.where(recipient_table.user_id == job.user_id)
    with sender.db.read() as connection:
        recipients = connection.execute(asked).all()
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
            # The prompt is the check-in's message in the channel: answers go in its thread.
            on_sent=lambda session, response: checkins.set_thread(
                session, checkin_id=checkin.id, ts=response["ts"]
            ),
        )
    recipient = recipients[0] if recipients else None
    if recipient is None or recipient.status != PENDING:
        finish(sender, job, JobStatus.CANCELLED, error="answered or away")
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
            key=f"{job.kind}-in-channel:checkin={checkin.id}:user={job.user_id}",
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
