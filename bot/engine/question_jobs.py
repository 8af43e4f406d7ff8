"""Job kinds of custom questions' rules: a survey answer's rule acting once the survey closes
(a database job), and a rule's alert to one lead (built when it is sent, so its link goes to
the answer's summary once that is posted).

Which rule fired, and that it fires once per check-in and question, is the domain's
(`bot/domain/questions/rules.py`); these only carry it out.
"""

from __future__ import annotations

import logging
from datetime import datetime

from slack_sdk.errors import SlackApiError
from sqlmodel import Session, col, select

from bot.blocks.questions import rule_alert, rule_alert_lines
from bot.domain.questions import rules
from bot.engine.delivery import Message
from bot.engine.retries import finish
from bot.engine.sender import Sender
from storage import jobs
from storage.jobs import JobKind, JobStatus
from storage.models import CheckIn, Engagement, QuestionRuleFired, ScheduledJob, StatusUpdate

log = logging.getLogger(__name__)


def act(session: Session, job: jobs.ClaimedJob, now: datetime) -> str:
    """The survey has closed: the rule raises its concern or plans the leads' alerts now."""
    return f"{job.key}: {rules.act(session, fired_id=job.payload['fired_id'], now=now)}"


def alert(sender: Sender, job: jobs.ClaimedJob) -> Message | None:
    """One lead's alert: the question, the answer, and a link to where the answer is read
    (the update's summary, else the check-in's thread, else the channel; a survey's answers
    are read in its results)."""
    payload = job.payload
    with sender.db.read_session() as session:
        fired = session.get(QuestionRuleFired, payload["fired_id"])
        engagement = session.get(Engagement, payload["engagement_id"])
        where = _where(session, payload, job.checkin_id, engagement)
    if fired is None or engagement is None or job.user_id is None:
        finish(sender, job, JobStatus.CANCELLED, error="engagement or rule gone")
        return None
    if engagement.archived_at is not None:
        finish(sender, job, JobStatus.CANCELLED, error="engagement archived")
        return None
    channel, ts = where
    link = _permalink(sender, job, channel, ts) if channel and ts else None
    source = payload.get("source", "")
    return Message(
        job.user_id,
        rule_alert(
            engagement_name=engagement.name,
            record=rules.RECORD_WORDS.get(source, "check-in"),
            question=payload.get("question", ""),
            answer=payload.get("answer", ""),
            author=payload.get("author"),
            link=link,
            channel_id=channel,
        ),
        f"question alert {fired.scope} {fired.question_key} to {job.user_id}",
    )


def _where(
    session: Session, payload: dict, checkin_id: int | None, engagement: Engagement | None
) -> tuple[str | None, str | None]:
    """The channel and message an answer is read at: a survey's nowhere (its results)."""
    source = payload.get("source")
    if engagement is None or source == "feedback":
        return None, None
    if source == "update":
        update = session.get(StatusUpdate, payload.get("source_id"))
        if update is not None and update.message_ts:
            return update.channel_id or engagement.channel_id, update.message_ts
    checkin = session.get(CheckIn, checkin_id) if checkin_id is not None else None
    if checkin is not None and checkin.thread_ts:
        return engagement.channel_id, checkin.thread_ts
    return engagement.channel_id, None


def _permalink(sender: Sender, job: jobs.ClaimedJob, channel: str, ts: str) -> str | None:
    if not sender.may_call(job.team_id, "chat.getPermalink"):  # its tier: go without
        return None
    try:
        found = sender.client_for(job.team_id).chat_getPermalink(channel=channel, message_ts=ts)
    except (SlackApiError, OSError) as e:
        log.info("no permalink for %s in %s: %s", ts, channel, e)
        return None
    return found.get("permalink")


def take_held(session: Session, job: jobs.ClaimedJob, now: datetime) -> list[str]:
    """For the round-up `job`: the rule alerts held for it (planned `held_for` its key, due a
    day later), each as the round-up's entry, cancelled as jobs of their own in the same
    transaction (only those still pending: one sent alone is not told twice)."""
    held = session.exec(
        select(ScheduledJob)
        .where(ScheduledJob.team_id == job.team_id)
        .where(ScheduledJob.user_id == job.user_id)
        .where(ScheduledJob.kind == JobKind.QUESTION_ALERT)
        .where(ScheduledJob.status == JobStatus.PENDING)
        .order_by(col(ScheduledJob.id))
    ).all()
    lines, keys = [], []
    for row in held:
        payload = row.payload or {}
        if payload.get("held_for") != job.key:
            continue
        engagement = session.get(Engagement, payload.get("engagement_id"))
        keys.append(row.key)
        if engagement is None or engagement.archived_at is not None:
            continue
        channel, _ = _where(session, payload, row.checkin_id, engagement)
        entry = rule_alert_lines(
            engagement_name=engagement.name,
            record=rules.RECORD_WORDS.get(payload.get("source", ""), "check-in"),
            question=payload.get("question", ""),
            answer=payload.get("answer", ""),
            author=payload.get("author"),
            link=None,
            channel_id=channel,
        )
        lines.append("\n".join(entry))
    if keys:
        jobs.cancel(session, now=now, keys=keys)
    return lines
