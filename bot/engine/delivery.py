"""Delivering one job: build nothing here, send one Slack call outside any transaction, then
record what Slack said (fenced by the lease), and apply the failure policy of `slack_errors`.

Every message carries metadata naming its job, so a message in Slack can be traced to its row,
and one whose outcome is unknown is looked for by it (`lookups`) before it is sent again.
The kinds of job and how each builds its message live in `job_kinds`; claiming and pacing in
`runner`; the sender and its caches in `sender`; retries in `retries`; the message jobs a job
plans (notices to the leads) in `outbox`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import Session

from bot.engine.lookups import JOB_EVENT, StillUnknown
from bot.engine.outbox import leads_of, plan_message, plan_prepared, tell_leads_once
from bot.engine.retries import MAX_LOOKUPS, backoff, finish, put_off, retry, retry_lookup
from bot.engine.sender import CACHED, Lru, Pacer, Sender
from bot.engine.slack_errors import Verdict, classify, error_code
from bot.platform.rate_limits import wait_seconds
from bot.platform.slack import without_rate_waits
from storage import jobs
from storage.jobs import JobStatus

__all__ = [  # what callers imported from here before the sender, retries and planning moved
    "CACHED",
    "MAX_LOOKUPS",
    "Lru",
    "Message",
    "Pacer",
    "Sender",
    "backoff",
    "finish",
    "leads_of",
    "plan_message",
    "plan_prepared",
    "record_sent",
    "retry",
    "retry_lookup",
    "send",
]

log = logging.getLogger(__name__)


@dataclass
class Message:
    """One Slack call a job makes, and what to do with each outcome.

    `ts` set: edit that message (chat.update) instead of posting. The callbacks run in the
    transaction that records the outcome, so what they write lands with it or not at all.
    """

    channel: str
    payload: dict[str, Any]
    describe: str
    ts: str | None = None
    may_rejoin: bool = False  # not_in_channel: join the (public) channel once and try again
    on_sent: Callable[[Session, dict[str, Any]], None] | None = None
    on_dm_refused: Callable[[Session], None] | None = None  # a DM that can fall back
    on_failed: Callable[[Session, str], None] | None = None  # instead of telling the leads
    fallback: Message | None = None  # a refused edit: post this instead
    quiet: bool = False  # never tell the leads about this one failing (notices about notices)
    upload: tuple[str, bytes] | None = None  # a file (name, content) sent with the text
    # A Home tab to publish (views.publish) for `channel`, a user id: no ts comes back, and
    # publishing again is harmless, so an unknown outcome is not looked for first.
    home_view: dict[str, Any] | None = None
    # The check-in whose message in the channel this is: its ts becomes the check-in's thread
    # (`checkins.set_threads`), written with other sent outcomes in one transaction, within
    # RECORD_WITHIN. For a prompt, whose thread waits for a person's answer; a message that
    # something sent at once must find (a summary's thread) records it with `on_sent`.
    thread_of: int | None = None
    # A call that posts no message (a Workflow Builder step's end: `step_ends`), made as it is
    # with the job's client. Nothing to look for: an unknown outcome is settled by calling
    # again, and Slack's errors in `done_if` say an earlier attempt did it already.
    call: Callable[[WebClient], Any] | None = None
    done_if: frozenset[str] = frozenset()

    @property
    def looked_for(self) -> bool:
        """An unknown outcome of it is looked for in Slack before it is sent again."""
        return self.ts is None and self.home_view is None and self.call is None


def send(sender: Sender, job: jobs.ClaimedJob, message: Message) -> None:
    """One Slack call, outside any transaction; then record what Slack said.

    When an earlier attempt's outcome is unknown, Slack is asked first whether it already has
    the message (by the job named in its metadata), so it is not posted twice.
    """
    client = sender.client_for(job.team_id)
    if job.outcome_unknown and message.looked_for:
        try:
            found = sender.lookups.find(
                without_rate_waits(client),
                job,
                message.channel,
                message.payload.get("thread_ts"),
            )
        except StillUnknown as e:
            retry_lookup(sender, job, str(e), retry_after=e.retry_after, read_below=e.read_below)
            return
        if found is not None:
            record_sent(sender, job, message, found)
            sender.say(
                f"{message.describe} was already in Slack (ts {found['ts']}): not sent again"
            )
            return
    sender.calling(job)
    try:
        response = _call(client, job, message)
    except SlackApiError as e:
        if error_code(e) in message.done_if:  # an earlier attempt reached Slack: done
            record_sent(sender, job, message, {})
            sender.say(f"{message.describe}: done by an earlier attempt ({error_code(e)})")
            return
        verdict = classify(
            e, to_person=message.on_dm_refused is not None, may_rejoin=message.may_rejoin
        )
        if verdict is Verdict.REJOIN:
            try:
                client.conversations_join(channel=message.channel)
                response = _call(client, job, message)
            except SlackApiError as again:
                _failed(sender, job, message, again)
                return
            except OSError as again:
                retry(sender, job, f"{jobs.OUTCOME_UNKNOWN}: connection: {again}")
                return
        elif message.fallback is not None and verdict is not Verdict.RETRY:
            log.info("%s refused (%s); posting it anew", message.describe, error_code(e))
            send(sender, job, message.fallback)
            return
        else:
            _failed(sender, job, message, e)
            return
    except OSError as e:  # connection trouble that outlasted the retry handler
        # A timeout may come after Slack took the message: the next attempt looks first.
        retry(sender, job, f"{jobs.OUTCOME_UNKNOWN}: connection: {e}")
        return
    record_sent(sender, job, message, response.data)


class _LeaseLost(Exception):
    """Another process took the job over: what its outcome would have written is rolled back."""


def finish_after(
    sender: Sender,
    job: jobs.ClaimedJob,
    write: Callable[[Session], None],
    *,
    status: JobStatus,
    **outcome: Any,
) -> bool:
    """Run `write` (what the job's outcome changes: a check-in's thread, a recipient moved to
    the channel, a notice planned), then record the outcome, in one transaction; False, and
    nothing written, when the lease was lost.

    The job's row comes last, after what `write` left to plan later too: a request locks its
    rows (a check-in being answered) and then plans jobs, and planning a key waits on any
    transaction that holds the job row of that key. Holding the job's row while waiting for the
    request's check-in was a deadlock on PostgreSQL (a second answer's submission against the
    first answer's check-in thread being recorded; tests/test_outbox_locks.py)."""
    try:
        with sender.db.session() as session:
            write(session)
            planned = jobs.planned_keys(session)  # what `write` planned for later, now
            if not jobs.finish(
                session, job, owner=sender.owner, now=sender.now, status=status, **outcome
            ):
                raise _LeaseLost
    except _LeaseLost:
        return False
    sender.planned.extend(planned)
    return True


def record_sent(
    sender: Sender, job: jobs.ClaimedJob, message: Message, response: dict[str, Any]
) -> None:
    """Record the message as sent (if this process still holds the lease), with its callback
    in the same transaction; without a callback, together with others (`record_sent_later`)."""
    on_sent = message.on_sent
    if on_sent is None:
        sender.record_sent_later(job, response, thread_of=message.thread_of)
        sender.say(f"{message.describe} sent (ts {response.get('ts')})")
        return
    recorded = finish_after(
        sender,
        job,
        lambda session: on_sent(session, dict(response)),
        status=JobStatus.SENT,
        channel=response.get("channel"),
        ts=response.get("ts"),
    )
    if not recorded:
        log.warning("lost the lease on %s before recording it sent", job.key)
    sender.say(f"{message.describe} sent (ts {response.get('ts')})")


def _call(client: WebClient, job: jobs.ClaimedJob, message: Message):
    if message.call is not None:
        return message.call(client)
    if message.home_view is not None:
        return client.views_publish(user_id=message.channel, view=message.home_view)
    if message.upload is not None:  # files_upload_v2: the upload URL, the bytes, completing it
        channel = message.channel
        if channel[:1] in "UW":
            channel = client.conversations_open(users=channel)["channel"]["id"]
        filename, content = message.upload
        return client.files_upload_v2(
            channel=channel,
            file=content,
            filename=filename,
            title=filename,
            initial_comment=message.payload.get("text", ""),
            alt_txt=message.payload.get("alt_txt"),
        )
    metadata = {"event_type": JOB_EVENT, "event_payload": {"job": job.key}}
    if message.ts is not None:
        return client.chat_update(
            channel=message.channel, ts=message.ts, metadata=metadata, **message.payload
        )
    return client.chat_postMessage(channel=message.channel, metadata=metadata, **message.payload)


def _failed(sender: Sender, job: jobs.ClaimedJob, message: Message, e: SlackApiError) -> None:
    """Apply the verdict on a refused call: retry later, fall back, or stop and tell."""
    verdict = classify(e, to_person=message.on_dm_refused is not None)
    error = error_code(e)
    if verdict is Verdict.RETRY:
        status = e.response.status_code if e.response is not None else 0
        if status == 429:
            # A 429 the client handed back (a long Retry-After, or Slack refusing the workspace
            # again and again): not before Slack said, and not a failed attempt (Slack took
            # nothing), so ten minutes of throttling cannot use up a prompt's attempts.
            later = int(e.response.headers.get("Retry-After", 0) or 0)
            put_off(sender, job, wait_seconds(later), f"HTTP 429 {error} in {job.team_id}")
            return
        retry(sender, job, f"HTTP {status} {error}")
        return
    on_dm_refused = message.on_dm_refused if verdict is Verdict.DM_REFUSED else None
    refused_dm = on_dm_refused is not None

    def what_failing_changes(session: Session) -> None:
        if on_dm_refused is not None:
            on_dm_refused(session)
        elif message.on_failed is not None:
            message.on_failed(session, error)
        elif verdict is Verdict.PERMANENT and not message.quiet:
            tell_leads_once(session, job, target=message.channel, error=error, now=sender.now)

    if not finish_after(sender, job, what_failing_changes, status=JobStatus.FAILED, error=error):
        log.warning("lost the lease on %s before recording it failed", job.key)
    if refused_dm:
        sender.say(f"{message.describe}: DM refused ({error}); mentioning them in the channel")
    else:
        sender.say(f"{message.describe} failed: {error}")
        sender.failed.append(job.key)
