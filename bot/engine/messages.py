"""Message kinds that a request causes: a prepared message, the welcome in an engagement's
channel, and an update's summary (posted, then edited in place).

Each builds its Slack call from the state as it is when the job runs, so a job that waited for
a later pass (Slack down, the process restarted) still sends what is true now.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import Session

from bot.blocks import checkins as checkin_blocks
from bot.blocks.engagements import created_notice, welcome_message
from bot.blocks.updates import not_posted_notice
from bot.blocks.updates import update_summary as render_summary
from bot.domain import checkins, engagements, moments, updates
from bot.domain.errors import NotFound
from bot.engine.delivery import Message, finish_after
from bot.engine.outbox import plan_message
from bot.engine.retries import finish
from bot.engine.sender import Sender
from storage import job_keys, jobs
from storage.jobs import JobStatus

log = logging.getLogger(__name__)


def prepared(sender: Sender, job: jobs.ClaimedJob) -> Message:
    """A message built when it was planned (alerts, notices, confirmations). To a public
    channel Cadence is not in (an executive digest channel, say), it joins first."""
    channel = job.payload["channel"]
    return Message(
        channel,
        dict(job.payload["message"]),
        job.payload.get("describe", job.key),
        quiet=bool(job.payload.get("quiet") or job.payload.get("notice")),
        may_rejoin=channel[:1] == "C",
    )


# --- the welcome -------------------------------------------------------------------------------


def welcome(sender: Sender, job: jobs.ClaimedJob) -> Message | None:
    """Get into the engagement's channel and greet it; then tell the lead who set it up how it
    went (with the steps to take when Cadence could not get in)."""
    actor = job.payload["actor"]
    with sender.db.read_session() as session:
        try:
            details = engagements.get(
                session=session, team_id=job.team_id, engagement_id=job.payload["engagement_id"]
            )
        except NotFound:
            details = None
    if details is None or details.engagement.archived_at is not None:
        finish(sender, job, JobStatus.CANCELLED, error="engagement gone or archived")
        return None
    channel_id = details.engagement.channel_id

    def tell_creator(session: Session, note: str | None) -> None:
        plan_message(
            session,
            job,
            key=job_keys.to_creator(job.key, actor),
            to=actor,
            message=created_notice(details, note),
            describe=f"set-up notice for {details.engagement.handle} to {actor}",
            now=sender.now,
            quiet=True,
        )

    note = channel_access(sender.client_for(job.team_id), channel_id)
    if note is not None:
        finish_after(
            sender, job, lambda session: tell_creator(session, note), status=JobStatus.DONE
        )
        sender.say(f"welcome {details.engagement.handle} not posted: {note}")
        return None
    return Message(
        channel_id,
        welcome_message(details),
        f"welcome {details.engagement.handle} in {channel_id}",
        on_sent=lambda session, _response: tell_creator(session, None),
        on_failed=lambda session, error: tell_creator(
            session, f"Cadence could not post in <#{channel_id}> ({error})."
        ),
    )


def channel_access(client: WebClient, channel_id: str) -> str | None:
    """Join `channel_id` if it is public and Cadence is not in it yet.

    None when Cadence can post there; else a sentence for the lead saying what to do.
    """
    try:
        info = client.conversations_info(channel=channel_id)["channel"]
    except SlackApiError as e:
        error = e.response.get("error")
        if error == "channel_not_found":
            return (
                f"Cadence cannot see <#{channel_id}>: if it is private, open it and type "
                "`/invite @Cadence`, then Cadence will post there."
            )
        log.warning("conversations.info failed for %s: %s", channel_id, error)
        return f"Cadence could not check <#{channel_id}> ({error})."
    if info.get("is_archived"):
        return f"<#{channel_id}> is archived: pick another channel with `/cadence engagement edit`."
    if info.get("is_member"):
        return None
    if info.get("is_private"):
        return (
            f"<#{channel_id}> is private, so Cadence cannot join it by itself: open the "
            "channel and type `/invite @Cadence`."
        )
    try:
        client.conversations_join(channel=channel_id)
    except SlackApiError as e:
        error = e.response.get("error")
        log.warning("conversations.join failed for %s: %s", channel_id, error)
        return (
            f"Cadence could not join <#{channel_id}> ({error}): open the channel and type "
            "`/invite @Cadence`."
        )
    return None


# --- a check-in's thread ----------------------------------------------------------------------


def checkin_thread(sender: Sender, job: jobs.ClaimedJob) -> Message | None:
    """The check-in's own message in the engagement channel (for a check-in asked by DM): its
    answers' summaries go in its thread, so the channel stays quiet."""
    context = sender.checkin_context(job.checkin_id)
    if context is None:
        finish(sender, job, JobStatus.CANCELLED, error="check-in gone")
        return None
    checkin, cadence, engagement = context
    if checkin.thread_ts:
        finish(sender, job, JobStatus.CANCELLED, error="the check-in has its message already")
        return None
    checkin_id = checkin.id
    assert checkin_id is not None
    return Message(
        engagement.channel_id,
        checkin_blocks.thread_starter(
            kind=cadence.kind,
            engagement_name=engagement.name,
            slot=(  # its readers' zones are unknown: Slack shows each theirs
                moments.slot(checkin.occurrence_key, cadence.timezone, each_person=True)
                if cadence.recipient_local_time
                else moments.for_everyone(checkin.scheduled_for, cadence.timezone)
            ),
        ),
        f"thread of check-in {checkin_id} in {engagement.channel_id}",
        may_rejoin=True,
        # Recorded at once, not with other sent outcomes (`thread_of`): the summary that asked
        # for it is sent next and must find it.
        on_sent=lambda session, response: checkins.set_threads(
            session, [(checkin_id, response["ts"])]
        ),
    )


# --- an update's summary -----------------------------------------------------------------------


def update_summary(sender: Sender, job: jobs.ClaimedJob) -> Message | None:
    """Post the summary in the engagement channel, or edit it in place after an edit.

    The update is saved whatever Slack says; when the summary cannot be posted, the author is
    told by DM.
    """
    update_id = job.payload["update_id"]
    with sender.db.read_session() as session:
        try:
            summary = updates.load_summary(
                session=session, team_id=job.team_id, update_id=update_id
            )
        except NotFound:
            summary = None
        _, thread_ts = checkins.summary_thread(session, update_id=update_id)
    if summary is None:
        finish(sender, job, JobStatus.CANCELLED, error="update gone")
        return None
    payload = render_summary(summary)
    describe = f"summary of update {update_id} (revision {summary.revision})"

    def remember_where(session: Session, response: dict[str, Any]) -> None:
        updates.set_message(
            session=session,
            team_id=job.team_id,
            update_id=update_id,
            channel_id=response["channel"],
            message_ts=response["ts"],
        )

    def tell_author(session: Session, error: str) -> None:
        plan_message(
            session,
            job,
            key=job_keys.not_posted(job.key),
            to=summary.author,
            message=not_posted_notice(summary, error),
            describe=f"summary of update {update_id} not posted: told {summary.author}",
            now=sender.now,
            quiet=True,
        )

    post = Message(
        summary.engagement_channel_id,
        {**payload, "thread_ts": thread_ts} if thread_ts else payload,
        describe,
        may_rejoin=True,
        on_sent=remember_where,
        on_failed=tell_author,
    )
    if summary.channel_id and summary.message_ts:
        # Edited in place; deleted meanwhile, or the bot left: posted anew.
        return Message(
            summary.channel_id,
            payload,
            f"{describe}, edited in place",
            ts=summary.message_ts,
            fallback=post,
        )
    return post
