"""Job kinds of the concern register: the card in the engagement channel (posted, then edited
in place), a line in its thread for each change, a DM about a concern, and its deadlines.

Each builds from the concern as it is when the job runs, so a card edited twice in a row shows
the latest state, and a deadline whose concern was acknowledged or resolved meanwhile says
nothing.
"""

from __future__ import annotations

import logging
from datetime import datetime
from functools import partial

from slack_sdk.errors import SlackApiError
from sqlmodel import Session

from bot.blocks.concerns import concern_card, due_alert, notice, thread_line
from bot.domain import concerns
from bot.domain.concerns import ConcernStatus, Stage
from bot.domain.errors import NotFound
from bot.engine import cards
from bot.engine.delivery import Message
from bot.engine.outbox import leads_of, plan_message
from bot.engine.retries import finish
from bot.engine.sender import Sender
from storage import job_keys, jobs
from storage.jobs import JobStatus
from storage.models import Concern, Engagement

log = logging.getLogger(__name__)


def _load(sender: Sender, job: jobs.ClaimedJob) -> concerns.ConcernDetails | None:
    with sender.db.read_session() as session:
        try:
            return concerns.get(
                session=session, team_id=job.team_id, concern_id=job.payload["concern_id"]
            )
        except NotFound:
            return None


def card(sender: Sender, job: jobs.ClaimedJob) -> Message | None:
    """The concern's card: posted the first time, then edited in place (posted anew if the
    message was deleted or the bot left the channel)."""
    found = _load(sender, job)
    if found is None:
        finish(sender, job, JobStatus.CANCELLED, error="concern gone")
        return None
    concern, engagement = found.concern, found.engagement
    payload = concern_card(concern, engagement, permalink(sender, job, concern))
    describe = f"card of concern {concern.id} ({concern.status})"
    set_card = partial(concerns.set_card, concern_id=concern.id)
    return cards.card_message(concern, engagement.channel_id, payload, describe, set_card)


def permalink(sender: Sender, job: jobs.ClaimedJob, concern: Concern) -> str | None:
    """A link to the message a concern was raised from (`slack:<channel>:<ts>`), if Slack
    gives one; the card is posted without it otherwise."""
    ref = concern.source_ref or ""
    if not ref.startswith("slack:"):
        return None
    _, channel, ts = [*ref.split(":", 2), "", ""][:3]
    if not sender.may_call(job.team_id, "chat.getPermalink"):  # its tier: the card goes without
        return None
    try:
        found = sender.client_for(job.team_id).chat_getPermalink(channel=channel, message_ts=ts)
    except (SlackApiError, OSError) as e:
        log.info("no permalink for concern %s: %s", concern.id, e)
        return None
    return found.get("permalink")


def line(sender: Sender, job: jobs.ClaimedJob) -> Message | None:
    """Who changed what, when: a reply in the card's thread (in the channel when the card could
    not be posted)."""
    found = _load(sender, job)
    event = cards.line_event(found.events, job) if found else None
    if found is None or event is None:
        finish(sender, job, JobStatus.CANCELLED, error="concern or event gone")
        return None
    concern, engagement = found.concern, found.engagement
    return cards.thread_message(
        concern,
        engagement.channel_id,
        thread_line(event, engagement.timezone),
        f"thread line of concern {concern.id}: {event.action}",
    )


def dm(sender: Sender, job: jobs.ClaimedJob) -> Message | None:
    """A DM about a concern to `job.user_id`: they own it now, or it is a serious security
    concern a lead must hear of at once."""
    found = _load(sender, job)
    if found is None or job.user_id is None:
        finish(sender, job, JobStatus.CANCELLED, error="concern gone")
        return None
    reason = job.payload.get("reason", "owner")
    if reason == "owner" and found.concern.owner_user_id != job.user_id:
        finish(sender, job, JobStatus.CANCELLED, error="no longer the owner")
        return None
    return Message(
        job.user_id,
        notice(found.concern, found.engagement, reason),
        f"{reason} notice of concern {found.concern.id} to {job.user_id}",
    )


def due(session: Session, job: jobs.ClaimedJob, now: datetime) -> str:
    """A concern's deadline passed: if it is still unmet, alert once — the owner and the leads
    (acknowledge, resolve), or upwards (escalate: the engagement's escalation contact, else its
    executive digest channel, else the leads)."""
    concern = session.get(Concern, job.payload["concern_id"])
    if concern is None:
        return f"{job.key}: concern gone"
    stage = Stage(job.payload["stage"])
    if concern.round != job.payload.get("round", 0):
        return f"{job.key}: reopened since; a newer clock runs"
    if concern.status == ConcernStatus.RESOLVED or (
        stage == Stage.ACKNOWLEDGE and concern.status == ConcernStatus.ACKNOWLEDGED
    ):
        return f"{job.key}: met ({concern.status}), no alert"
    engagement = session.get(Engagement, concern.engagement_id)
    assert engagement is not None
    leads = leads_of(session, engagement)
    if stage == Stage.ESCALATE:
        # The escalation contact, else the executive digest channel, else the leads.
        upwards = engagement.escalation_user_id or engagement.digest_channel_id
        targets = [upwards] if upwards else leads
    else:
        targets = list(dict.fromkeys([concern.owner_user_id, *leads]))
    alert = due_alert(concern, engagement, stage)
    for target in targets:
        if target:
            plan_message(
                session,
                job,
                key=job_keys.to_person(job.key, target),
                to=target,
                message=alert,
                describe=f"{stage} alert of concern {concern.id} to {target}",
                now=now,
            )
    return f"{job.key}: {stage} alert planned for {', '.join(t for t in targets if t)}"
