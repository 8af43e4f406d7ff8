"""Delivering one job: build nothing here, send one Slack call outside any transaction, then
record what Slack said (fenced by the lease), and apply the failure policy of `slack_errors`.

Every message carries metadata naming its job, so a message in Slack can be traced to its row.
The kinds of job and how each builds its message live in `job_kinds`; claiming and pacing in
`runner`.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import Session, col, select

from bot.blocks import checkins as checkin_blocks
from bot.domain.engagements import people_with_role
from bot.engine.slack_errors import Verdict, classify, error_code
from bot.platform.services import Services
from storage import jobs
from storage.db import Database
from storage.jobs import JobKind, JobStatus
from storage.models import Cadence, CheckIn, Engagement

log = logging.getLogger(__name__)
CACHED = 500  # check-ins (and their rendered blocks) kept by a sender: 10 claimed batches
RECORD_WITHIN = 1.0  # seconds a sent message's outcome may wait to be written with others
JOB_EVENT = "cadence_job"  # the metadata event type naming the job that sent a message
HISTORY_LOOKBACK = 200  # latest messages of a channel searched for one whose outcome is unknown
# Failed lookups in a row before a job whose outcome is unknown stops, unsent: with the backoff
# of other retries (capped at an hour), about six hours of Slack not answering.
MAX_LOOKUPS = 12


@dataclass
class Sender:
    """Everything a pass needs to deliver: database, Slack, pacing, who holds the leases."""

    db: Database
    client_for: Callable[[str], WebClient]
    owner: str
    now: datetime
    pace_seconds: float = 1.0
    concurrency: int = 8
    away_emoji: frozenset[str] = frozenset()
    batch: int = 50
    outcomes: list[str] = field(default_factory=list)
    planned: list[str] = field(default_factory=list)  # keys of jobs the jobs run here planned
    failed: list[str] = field(default_factory=list)  # keys of jobs that failed for good here
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # Read or built once per check-in, kept for the latest CACHED check-ins only: a pass that
    # sends 10,000 prompts must not hold 10,000 check-ins and their blocks until it ends.
    _checkins: Lru = field(default_factory=lambda: Lru(CACHED))
    _rendered: Lru = field(default_factory=lambda: Lru(CACHED))
    # Rows a claimed batch's jobs need, read for the whole batch at once, by job id; each job
    # takes (pops) its own when it runs, so this holds only jobs claimed and not yet run.
    prefetched: dict[int, Any] = field(default_factory=dict)
    # Outcomes of sent messages, recorded together (one UPDATE) rather than one transaction each.
    _unrecorded: list[Sent] = field(default_factory=list)
    _unrecorded_since: float = 0.0
    _recording: threading.Lock = field(default_factory=threading.Lock)
    # Jobs whose Slack call was started in this run: should anything fail after it (recording
    # the outcome, an `on_sent` write), Slack may have the message (`may_have_sent`).
    _called: set[int] = field(default_factory=set)

    @classmethod
    def for_services(cls, services: Services, now: datetime, *, owner: str) -> Sender:
        """A sender for one pass (or one request's outbox) with the deployment's settings;
        `owner` names the process holding the leases (made unique per sender)."""
        settings = services.settings
        clients: dict[str, WebClient] = {}

        def client_for(team_id: str) -> WebClient:
            if team_id not in clients:
                clients[team_id] = services.slack_client(team_id)
            return clients[team_id]

        return cls(
            db=services.db,
            client_for=client_for,
            owner=f"{owner}:{uuid.uuid4().hex[:8]}"[-64:],
            now=now,
            pace_seconds=settings.channel_pace_seconds,
            concurrency=settings.send_concurrency,
            away_emoji=settings.away_emoji,
            batch=max(50, 4 * settings.send_concurrency),
        )

    def calling(self, job: jobs.ClaimedJob) -> None:
        """The job's Slack call is about to be made: from now on it may be in Slack."""
        with self._lock:
            self._called.add(job.id)

    def may_have_sent(self, job: jobs.ClaimedJob) -> bool:
        """Whether Slack may have this job's message: its call was made in this run, or an
        earlier attempt's outcome is still unknown."""
        with self._lock:
            return job.id in self._called or job.outcome_unknown

    def forget_call(self, job: jobs.ClaimedJob) -> None:
        """The job's run is over (its outcome recorded or its retry planned)."""
        with self._lock:
            self._called.discard(job.id)

    def say(self, line: str) -> None:
        with self._lock:
            self.outcomes.append(f"{self.now.isoformat()} {line}")

    def checkin_context(self, checkin_id: int | None) -> tuple[CheckIn, Cadence, Engagement] | None:
        """A check-in with its cadence and engagement, read once per pass."""
        if checkin_id is None:
            return None
        hit, found = self._checkins.get(checkin_id)
        if not hit:
            with self.db.read_session() as session:
                checkin = session.get(CheckIn, checkin_id)
                found = None
                if checkin is not None:
                    cadence = session.get(Cadence, checkin.cadence_id)
                    engagement = session.get(Engagement, checkin.engagement_id)
                    if cadence is not None and engagement is not None:
                        found = (checkin, cadence, engagement)
            self._checkins.put(checkin_id, found)
        return found

    def prefetch(self, checkin_ids: Sequence[int]) -> None:
        """Read the contexts of a claimed batch's check-ins in three queries, not three each."""
        wanted = sorted({i for i in set(checkin_ids) if i not in self._checkins})
        if not wanted:
            return
        with self.db.read_session() as session:
            found = session.exec(select(CheckIn).where(col(CheckIn.id).in_(wanted))).all()
            cadence_ids = {c.cadence_id for c in found}
            engagement_ids = {c.engagement_id for c in found}
            by_cadence = {
                c.id: c
                for c in session.exec(select(Cadence).where(col(Cadence.id).in_(cadence_ids)))
            }
            by_engagement = {
                e.id: e
                for e in session.exec(
                    select(Engagement).where(col(Engagement.id).in_(engagement_ids))
                )
            }
        for checkin in found:
            cadence = by_cadence.get(checkin.cadence_id)
            engagement = by_engagement.get(checkin.engagement_id)
            if cadence is not None and engagement is not None and checkin.id is not None:
                self._checkins.put(checkin.id, (checkin, cadence, engagement))

    def rendered(self, key: tuple, build: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """Block Kit built once per pass for messages that are the same for everyone."""
        hit, found = self._rendered.get(key)
        if not hit:
            found = build()
            self._rendered.put(key, found)
        return found

    def record_sent_later(self, job: jobs.ClaimedJob, response: dict[str, Any]) -> None:
        """Queue a sent message's outcome; written with others by `record_now` (at once when
        `batch` are waiting, else by the runner within RECORD_WITHIN seconds, and at the end of
        every run). Should this process die first, the lease runs out and the job's next
        attempt finds the message in Slack by its metadata before sending again."""
        with self._lock:
            if not self._unrecorded:
                self._unrecorded_since = time.monotonic()
            self._unrecorded.append(Sent(job, response.get("channel"), response.get("ts")))
            full = len(self._unrecorded) >= self.batch
        if full:
            try:
                self.record_now()
            except Exception:  # kept queued: the runner writes them later, or the pass fails
                log.warning("could not record sent messages yet", exc_info=True)

    def record_due(self) -> bool:
        """Outcomes have waited long enough to be written."""
        with self._lock:
            return bool(self._unrecorded) and (
                time.monotonic() - self._unrecorded_since >= RECORD_WITHIN
            )

    def record_now(self) -> None:
        """Write every queued outcome in one UPDATE, fenced by the lease as `jobs.finish`."""
        with self._recording:
            with self._lock:
                waiting, self._unrecorded = self._unrecorded, []
            if not waiting:
                return
            try:
                with self.db.begin() as connection:
                    recorded = jobs.finish_sent(
                        connection,
                        [(s.job.id, s.channel, s.ts) for s in waiting],
                        owner=self.owner,
                        now=self.now,
                    )
            except Exception:
                with self._lock:  # not lost: written by the next try
                    self._unrecorded[:0] = waiting
                raise
            for lost in (s for s in waiting if s.job.id not in recorded):
                log.warning("lost the lease on %s before recording it sent", lost.job.key)


@dataclass(frozen=True)
class Sent:
    """A message Slack took whose outcome is not written yet."""

    job: jobs.ClaimedJob
    channel: str | None
    ts: str | None


class Lru:
    """A mapping that keeps its `size` most recently used entries (thread-safe)."""

    def __init__(self, size: int):
        self.size = size
        self._entries: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> tuple[bool, Any]:
        """(True, value) when present (and now the most recent), else (False, None)."""
        with self._lock:
            if key not in self._entries:
                return False, None
            self._entries.move_to_end(key)
            return True, self._entries[key]

    def put(self, key: Any, value: Any) -> None:
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def __contains__(self, key: Any) -> bool:
        with self._lock:
            return key in self._entries

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


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


class Pacer:
    """Slack takes about one message per second per channel: messages to one lane (a channel,
    or a person's DM) go one at a time, `seconds` apart, whichever thread sends them."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self._locks: dict[str, threading.Lock] = defaultdict(threading.Lock)
        self._last: dict[str, float] = {}
        self._guard = threading.Lock()

    @contextmanager
    def turn(self, lane_name: str) -> Iterator[None]:
        with self._guard:
            lock = self._locks[lane_name]
        with lock:
            wait = self._last.get(lane_name, float("-inf")) + self.seconds - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            try:
                yield
            finally:
                self._last[lane_name] = time.monotonic()


def finish(sender: Sender, job: jobs.ClaimedJob, status: JobStatus, **outcome: Any) -> None:
    with sender.db.begin() as connection:
        recorded = jobs.finish(
            connection, job, owner=sender.owner, now=sender.now, status=status, **outcome
        )
    if not recorded:
        log.warning("lost the lease on %s before recording %s", job.key, status)


def backoff(tries: int) -> timedelta:
    """How long to wait after the `tries`-th failure in a row: 30 s, doubling, at most an hour."""
    return timedelta(seconds=min(3600, 30 * 2 ** (max(1, tries) - 1)))


def retry(sender: Sender, job: jobs.ClaimedJob, error: str) -> None:
    if job.attempts >= jobs.MAX_ATTEMPTS:
        finish(
            sender, job, JobStatus.FAILED, error=f"gave up after {job.attempts} attempts: {error}"
        )
        sender.say(f"{job.key} failed for good: {error}")
        sender.failed.append(job.key)
        return
    wait = backoff(job.attempts)
    finish(sender, job, JobStatus.PENDING, error=error, retry_at=sender.now + wait)
    sender.say(f"{job.key} will be retried in {int(wait.total_seconds())} s: {error}")


def retry_lookup(sender: Sender, job: jobs.ClaimedJob, error: str) -> None:
    """Slack did not say whether it has the message: its outcome stays unknown and it is
    looked for again later, with the backoff of other retries. A lookup sends nothing, so it
    is not one of the job's send attempts (`refund`): a prompt is not given up because Slack
    failed to answer questions about it. Only after MAX_LOOKUPS failures in a row does the job
    stop, unsent (it may be in Slack: sending again could post it twice)."""
    tries = job.lookups_failed + 1
    if tries >= MAX_LOOKUPS:
        finish(
            sender,
            job,
            JobStatus.FAILED,
            error=f"{jobs.OUTCOME_UNKNOWN}: gave up after {tries} failed lookups: {error}",
            lookups_failed=tries,
        )
        sender.say(f"{job.key} failed for good: its outcome is unknown ({error})")
        sender.failed.append(job.key)
        return
    wait = backoff(tries)
    with sender.db.begin() as connection:
        recorded = jobs.finish(
            connection,
            job,
            owner=sender.owner,
            now=sender.now,
            status=JobStatus.PENDING,
            error=f"{jobs.OUTCOME_UNKNOWN}: lookup {tries} failed: {error}",
            retry_at=sender.now + wait,
            refund=True,
            lookups_failed=tries,
        )
    if not recorded:
        log.warning("lost the lease on %s before recording a failed lookup", job.key)
    sender.say(
        f"{job.key} will be looked for in Slack again in {int(wait.total_seconds())} s: {error}"
    )


def send(sender: Sender, job: jobs.ClaimedJob, message: Message) -> None:
    """One Slack call, outside any transaction; then record what Slack said.

    When an earlier attempt's outcome is unknown, Slack is asked first whether it already has
    the message (by the job named in its metadata), so it is not posted twice.
    """
    client = sender.client_for(job.team_id)
    if job.outcome_unknown and message.ts is None and message.home_view is None:
        try:
            found = find_sent(client, job.key, message.channel)
        except StillUnknown as e:
            retry_lookup(sender, job, str(e))
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


def record_sent(
    sender: Sender, job: jobs.ClaimedJob, message: Message, response: dict[str, Any]
) -> None:
    """Record the message as sent (if this process still holds the lease), with its callback
    in the same transaction; without a callback, together with others (`record_sent_later`)."""
    if message.on_sent is None:
        sender.record_sent_later(job, response)
        sender.say(f"{message.describe} sent (ts {response.get('ts')})")
        return
    with sender.db.session() as session:
        recorded = jobs.finish(
            session,
            job,
            owner=sender.owner,
            now=sender.now,
            status=JobStatus.SENT,
            channel=response.get("channel"),
            ts=response.get("ts"),
        )
        if recorded and message.on_sent is not None:
            message.on_sent(session, dict(response))
        sender.planned.extend(jobs.planned_keys(session))
    if not recorded:
        log.warning("lost the lease on %s before recording it sent", job.key)
    sender.say(f"{message.describe} sent (ts {response.get('ts')})")


class StillUnknown(Exception):
    """Slack did not answer whether it has a message (a timeout, a dropped connection, a rate
    limit or server error that outlasted the client's retries): ask again later."""


def find_sent(client: WebClient, key: str, channel: str) -> dict[str, Any] | None:
    """The message the job `key` posted in `channel` (a person's DM for a user id), looked up
    by its metadata among the channel's latest messages; None when Slack has none, or refuses
    for good to say (no history scope, no access: then sending again is the lesser harm).
    Raises StillUnknown when the lookup failed for a passing reason: sending now could post the
    message twice."""
    try:
        if channel[:1] in "UW":
            channel = client.conversations_open(users=channel)["channel"]["id"]
        history = client.conversations_history(
            channel=channel, limit=HISTORY_LOOKBACK, include_all_metadata=True
        )
    except SlackApiError as e:
        if classify(e, to_person=False) is Verdict.RETRY:
            raise StillUnknown(f"lookup: {error_code(e)}") from e
        log.info("could not look for %s in %s: %s", key, channel, error_code(e))
        return None
    except OSError as e:
        raise StillUnknown(f"lookup: connection: {e}") from e
    for found in history.get("messages") or []:
        metadata = found.get("metadata") or {}
        if (
            metadata.get("event_type") == JOB_EVENT
            and (metadata.get("event_payload") or {}).get("job") == key
        ):
            return {"channel": channel, "ts": found["ts"]}
    return None


def _call(client: WebClient, job: jobs.ClaimedJob, message: Message):
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
        retry(
            sender, job, f"HTTP {e.response.status_code if e.response is not None else 0} {error}"
        )
        return
    refused_dm = verdict is Verdict.DM_REFUSED and message.on_dm_refused is not None
    with sender.db.session() as session:
        recorded = jobs.finish(
            session, job, owner=sender.owner, now=sender.now, status=JobStatus.FAILED, error=error
        )
        if recorded and refused_dm:
            message.on_dm_refused(session)
        elif recorded and message.on_failed is not None:
            message.on_failed(session, error)
        elif recorded and verdict is Verdict.PERMANENT and not message.quiet:
            tell_leads_once(session, job, target=message.channel, error=error, now=sender.now)
        sender.planned.extend(jobs.planned_keys(session))
    if refused_dm:
        sender.say(f"{message.describe}: DM refused ({error}); mentioning them in the channel")
    else:
        sender.say(f"{message.describe} failed: {error}")
        sender.failed.append(job.key)


def tell_leads_once(
    session: Session, job: jobs.ClaimedJob, *, target: str, error: str, now: datetime
) -> None:
    """Tell the engagement's leads about a permanent failure, once per (target, cause)."""
    engagement = engagement_of(session, job)
    if engagement is None:
        return
    notice = checkin_blocks.failure_notice(
        engagement_name=engagement.name, target=target, error=error
    )
    for lead in leads_of(session, engagement):
        if lead != target:
            plan_message(
                session,
                job,
                key=f"notice:engagement={engagement.id}:target={target}:cause={error}:lead={lead}",
                to=lead,
                message=notice,
                describe=f"failure notice to {lead} ({error} at {target})",
                now=now,
                quiet=True,
            )


def plan_message(
    session: Session,
    job: jobs.ClaimedJob,
    *,
    key: str,
    to: str,
    message: dict[str, Any],
    describe: str,
    now: datetime,
    quiet: bool = False,
) -> None:
    """A message job planned by another job (its own key makes it happen once)."""
    plan_prepared(
        session,
        team_id=job.team_id,
        key=key,
        to=to,
        payload=message,
        describe=describe,
        now=now,
        quiet=quiet,
        checkin_id=job.checkin_id,
        cadence_id=job.cadence_id,
    )


def plan_prepared(
    session: Session,
    *,
    team_id: str,
    key: str,
    to: str,
    payload: dict[str, Any],
    describe: str,
    now: datetime,
    quiet: bool = False,
    checkin_id: int | None = None,
    cadence_id: int | None = None,
) -> None:
    """A message built now and sent by the MESSAGE kind (`messages.prepared`), once per key:
    to a channel, or to a person's DM (`to` a user id). `quiet`: its failure is not reported
    to the leads (notices about notices, confirmations)."""
    jobs.plan(
        session,
        team_id=team_id,
        key=key,
        kind=JobKind.MESSAGE,
        due_at=now,
        now=now,
        payload={"channel": to, "message": payload, "describe": describe, "quiet": quiet},
        checkin_id=checkin_id,
        cadence_id=cadence_id,
        user_id=to if to[:1] in "UW" else None,
    )


def leads_of(session: Session, engagement: Engagement) -> list[str]:
    assert engagement.id is not None
    return people_with_role(session=session, engagement_id=engagement.id, role="lead")


def engagement_of(session: Session, job: jobs.ClaimedJob) -> Engagement | None:
    if job.checkin_id is not None:
        checkin = session.get(CheckIn, job.checkin_id)
        return session.get(Engagement, checkin.engagement_id) if checkin else None
    if job.cadence_id is not None:
        cadence = session.get(Cadence, job.cadence_id)
        return session.get(Engagement, cadence.engagement_id) if cadence else None
    engagement_id = job.payload.get("engagement_id")
    return session.get(Engagement, engagement_id) if engagement_id else None
