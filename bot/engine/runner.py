"""Running claimed jobs: build the message from current state, send it, record the outcome.

Jobs come in two sorts. Control jobs (overdue, escalate, missed_summary) read the state and plan
the message jobs that carry the news, each under its own unique key. Message jobs (prompt,
reminder, message) make exactly one Slack call. Slack's answers decide what happens next:
- 429 and 5xx are retried by slack_sdk's handlers (honouring Retry-After); if they persist the
  job goes back to pending with a backoff. Nothing is lost.
- Permanent errors (channel_not_found, not_in_channel, user_not_found, account_inactive,
  is_archived, …) stop that job, are recorded, and the leads are told once per cause.
- A DM that Slack refuses (people from another organisation over Slack Connect often cannot be
  DMed) falls back to mentioning the person in the engagement channel.
Every message carries metadata naming its job, so a message in Slack can be traced to its row.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlmodel import Session, col, select

from bot.blocks import checkins as checkin_blocks
from bot.domain import checkins
from bot.domain.checkins import ANSWERED, AWAY, PENDING
from bot.domain.engagements import people_with_role
from storage import jobs
from storage.db import Database
from storage.models import Cadence, CheckIn, CheckInRecipient, Engagement

log = logging.getLogger(__name__)

PERMANENT = {
    "channel_not_found",
    "not_in_channel",
    "user_not_found",
    "account_inactive",
    "is_archived",
    "invalid_blocks",
    "msg_too_long",
    "no_text",
    "restricted_action",
    "cannot_dm_bot",
    "user_disabled",
    "team_access_not_granted",
}
DM_REFUSED = {"channel_not_found", "cannot_dm_bot", "user_not_found", "not_allowed_token_type"}
CONTROL_KINDS = {"overdue", "escalate", "missed_summary"}
MAX_ROUNDS = 200


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
    report: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    _checkins: dict[int, tuple[CheckIn, Cadence, Engagement] | None] = field(default_factory=dict)
    _rendered: dict[tuple, dict[str, Any]] = field(default_factory=dict)

    def say(self, line: str) -> None:
        with self._lock:
            self.report.append(f"{self.now.isoformat()} {line}")

    def checkin_context(self, checkin_id: int | None) -> tuple[CheckIn, Cadence, Engagement] | None:
        """A check-in with its cadence and engagement, read once per pass."""
        if checkin_id is None:
            return None
        if checkin_id not in self._checkins:
            with self.db.read_session() as session:
                checkin = session.get(CheckIn, checkin_id)
                found = None
                if checkin is not None:
                    cadence = session.get(Cadence, checkin.cadence_id)
                    engagement = session.get(Engagement, checkin.engagement_id)
                    if cadence is not None and engagement is not None:
                        found = (checkin, cadence, engagement)
            self._checkins[checkin_id] = found
        return self._checkins[checkin_id]

    def prefetch(self, checkin_ids: Sequence[int]) -> None:
        """Read the contexts of a claimed batch's check-ins in three queries, not three each."""
        wanted = sorted({i for i in checkin_ids if i not in self._checkins})
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
                self._checkins[checkin.id] = (checkin, cadence, engagement)

    def rendered(self, key: tuple, build: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """Block Kit built once per pass for messages that are the same for everyone."""
        if key not in self._rendered:
            self._rendered[key] = build()
        return self._rendered[key]


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


def run_due(sender: Sender, planning: threading.Event | None = None) -> int:
    """Claim and run due jobs until none are left; returns how many were run.

    Sending is pipelined: the next batch is claimed while the pool still sends the last one, so
    the bounded concurrency stays busy; the pacer keeps each channel's messages apart. With
    `planning` (an Event set when planning is over), sending starts while occurrences are still
    being planned and stops only once planning is done and nothing is left.
    """
    total = rounds = 0
    pacer = Pacer(sender.pace_seconds)
    with ThreadPoolExecutor(max_workers=sender.concurrency) as pool:
        in_flight: set[Future] = set()
        while rounds < MAX_ROUNDS:
            while len(in_flight) >= 2 * sender.concurrency:
                _, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
            still_planning = planning is not None and not planning.is_set()
            claimed = jobs.claim(sender.db, owner=sender.owner, now=sender.now, limit=sender.batch)
            if not claimed:
                if in_flight:
                    # What is still sending may plan more (a DM refused → a channel mention).
                    _, in_flight = wait(in_flight, timeout=0.5, return_when=FIRST_COMPLETED)
                elif still_planning:
                    planning.wait(timeout=0.05)
                else:
                    break
                continue
            rounds += 1
            total += len(claimed)
            sender.prefetch([j.checkin_id for j in claimed if j.checkin_id is not None])
            by_lane: dict[str, list[jobs.ClaimedJob]] = defaultdict(list)
            for job in claimed:
                if job.kind in CONTROL_KINDS:
                    _guard(sender, job, run_control)
                else:
                    by_lane[lane(job)].append(job)
            for lane_name, lane_jobs in by_lane.items():
                in_flight.add(pool.submit(_run_lane, sender, pacer, lane_name, lane_jobs))
        wait(in_flight)
    return total


def lane(job: jobs.ClaimedJob) -> str:
    """Jobs to one channel (or one person's DM) go one after another, paced. Jobs that post in
    a channel name it in their payload when planned."""
    return job.payload.get("channel") or job.user_id or f"checkin:{job.checkin_id}"


def _run_lane(
    sender: Sender, pacer: Pacer, lane_name: str, lane_jobs: Sequence[jobs.ClaimedJob]
) -> None:
    for job in lane_jobs:
        with pacer.turn(lane_name):
            _guard(sender, job, run_message)


def _guard(sender: Sender, job: jobs.ClaimedJob, run: Callable) -> None:
    """One job's failure never stops the others; unexpected errors retry later."""
    try:
        run(sender, job)
    except Exception as e:
        log.exception("job %s failed unexpectedly", job.key)
        retry(sender, job, f"{type(e).__name__}: {e}")


def finish(sender: Sender, job: jobs.ClaimedJob, status: str, **outcome: Any) -> None:
    with sender.db.begin() as connection:
        recorded = jobs.finish(
            connection, job, owner=sender.owner, now=sender.now, status=status, **outcome
        )
    if not recorded:
        log.warning("lost the lease on %s before recording %s", job.key, status)


def retry(sender: Sender, job: jobs.ClaimedJob, error: str) -> None:
    if job.attempts >= jobs.MAX_ATTEMPTS:
        finish(sender, job, jobs.FAILED, error=f"gave up after {job.attempts} attempts: {error}")
        sender.say(f"{job.key} failed for good: {error}")
        return
    backoff = timedelta(seconds=min(3600, 30 * 2 ** (job.attempts - 1)))
    finish(sender, job, jobs.PENDING, error=error, retry_at=sender.now + backoff)
    sender.say(f"{job.key} will be retried in {int(backoff.total_seconds())} s: {error}")


# --- message jobs ------------------------------------------------------------------------------


@dataclass
class Message:
    channel: str
    payload: dict[str, Any]
    describe: str
    on_dm_refused: Callable[[Session], None] | None = None


def run_message(sender: Sender, job: jobs.ClaimedJob) -> None:
    message = build_message(sender, job)
    if message is None:
        return
    send(sender, job, message)


def build_message(sender: Sender, job: jobs.ClaimedJob) -> Message | None:
    if job.kind == "message":
        payload = dict(job.payload["message"])
        return Message(job.payload["channel"], payload, job.payload.get("describe", job.key))
    if job.kind in ("prompt", "reminder"):
        return build_prompt(sender, job)
    finish(sender, job, jobs.FAILED, error=f"unknown job kind {job.kind}")
    return None


def build_prompt(sender: Sender, job: jobs.ClaimedJob) -> Message | None:
    """A prompt or reminder, from the check-in as it stands now (answers since count).

    What does not change within a pass (the check-in's cadence and engagement, the rendered
    blocks) is read and built once per check-in; the check-in's status and the recipients are
    read for every job.
    """
    reminder = job.kind == "reminder"
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
        finish(sender, job, jobs.CANCELLED, error="check-in closed or everyone answered")
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
        )
    recipient = recipients[0] if recipients else None
    if recipient is None or recipient.status != PENDING:
        finish(sender, job, jobs.CANCELLED, error="answered or away")
        return None
    if sender.away_emoji and is_away_by_status(sender, job.team_id, job.user_id):
        mark_recipient(sender.db, checkin.id, job.user_id, status=AWAY)
        finish(sender, job, jobs.CANCELLED, error="away (Slack status)")
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
        recipient_row = session.exec(
            select(CheckInRecipient)
            .where(CheckInRecipient.checkin_id == checkin.id)
            .where(CheckInRecipient.user_id == job.user_id)
        ).one()
        recipient_row.delivered_via = "channel"
        session.add(recipient_row)

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


def mark_recipient(db: Database, checkin_id: int, user_id: str, *, status: str) -> None:
    with db.session() as session:
        row = session.exec(
            select(CheckInRecipient)
            .where(CheckInRecipient.checkin_id == checkin_id)
            .where(CheckInRecipient.user_id == user_id)
        ).first()
        if row is not None and row.status == PENDING:
            row.status = status
            session.add(row)


def send(sender: Sender, job: jobs.ClaimedJob, message: Message) -> None:
    """One Slack call, outside any transaction; then record what Slack said."""
    payload = {
        **message.payload,
        "metadata": {"event_type": "cadence_job", "event_payload": {"job": job.key}},
    }
    try:
        response = sender.client_for(job.team_id).chat_postMessage(
            channel=message.channel, **payload
        )
    except SlackApiError as e:
        error = e.response.get("error") or f"http_{e.response.status_code}"
        status = e.response.status_code
        if status == 429 or status >= 500 or error in ("ratelimited", "internal_error"):
            retry(sender, job, f"HTTP {status} {error}")
            return
        refused_dm = message.on_dm_refused is not None and error in DM_REFUSED
        with sender.db.session() as session:
            jobs.finish(
                session, job, owner=sender.owner, now=sender.now, status=jobs.FAILED, error=error
            )
            if refused_dm:
                message.on_dm_refused(session)
            elif error in PERMANENT:
                tell_leads_once(session, job, target=message.channel, error=error, now=sender.now)
        if refused_dm:
            sender.say(f"{message.describe}: DM refused ({error}); mentioning them in the channel")
        else:
            sender.say(f"{message.describe} failed: {error}")
        return
    except OSError as e:  # connection trouble that outlasted the retry handler
        retry(sender, job, f"connection: {e}")
        return
    finish(sender, job, jobs.SENT, channel=response.get("channel"), ts=response.get("ts"))
    sender.say(f"{message.describe} sent (ts {response.get('ts')})")


def tell_leads_once(
    session: Session, job: jobs.ClaimedJob, *, target: str, error: str, now: datetime
) -> None:
    """Tell the engagement's leads about a permanent failure, once per (target, cause)."""
    engagement = engagement_of(session, job)
    if engagement is None or (job.kind == "message" and job.payload.get("notice")):
        return  # never a notice about a notice
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
                notice=True,
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
    notice: bool = False,
) -> None:
    """A message job planned by another job (its own key makes it happen once)."""
    jobs.plan(
        session,
        team_id=job.team_id,
        key=key,
        kind="message",
        due_at=now,
        now=now,
        payload={"channel": to, "message": message, "describe": describe, "notice": notice},
        checkin_id=job.checkin_id,
        cadence_id=job.cadence_id,
        user_id=to,
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


# --- control jobs ------------------------------------------------------------------------------


def run_control(sender: Sender, job: jobs.ClaimedJob) -> None:
    with sender.db.session() as session:
        if job.kind == "missed_summary":
            planned = plan_missed_summary(session, job, sender.now)
        else:
            planned = plan_overdue_alerts(session, job, sender.now)
        jobs.finish(session, job, owner=sender.owner, now=sender.now, status=jobs.DONE)
    sender.say(planned)


def plan_overdue_alerts(session: Session, job: jobs.ClaimedJob, now: datetime) -> str:
    """At window close: mark the check-in overdue and alert the leads once, naming who is
    missing and who is away. After the escalation delay: the escalation target, once."""
    escalation = job.kind == "escalate"
    checkin = session.get(CheckIn, job.checkin_id)
    if checkin is None:
        return f"{job.key}: check-in gone"
    cadence = session.get(Cadence, checkin.cadence_id)
    engagement = session.get(Engagement, checkin.engagement_id)
    assert cadence is not None and engagement is not None
    recipients = session.exec(
        select(CheckInRecipient)
        .where(CheckInRecipient.checkin_id == checkin.id)
        .order_by(col(CheckInRecipient.id))
    ).all()
    missing = [r.user_id for r in recipients if r.status == PENDING]
    if not escalation:
        jobs.cancel(session, now=now, checkin_id=checkin.id, kinds=("prompt", "reminder"))
        if checkin.status == checkins.OPEN:
            checkin.status = checkins.OVERDUE if missing else checkins.CLOSED
            session.add(checkin)
    if not missing:
        return f"{job.key}: everyone answered, no alert"
    leads = leads_of(session, engagement)
    targets = list(cadence.escalation_user_ids or leads) if escalation else leads
    alert = checkin_blocks.overdue_alert(
        engagement_name=engagement.name,
        handle=engagement.handle,
        kind=cadence.kind,
        slot=checkin.occurrence_key.replace("T", " "),
        missing=missing,
        away=[r.user_id for r in recipients if r.status == AWAY],
        answered=[r.user_id for r in recipients if r.status == ANSWERED],
        via_channel=[r.user_id for r in recipients if r.delivered_via == "channel"],
        escalation=escalation,
    )
    label = "escalation" if escalation else "overdue alert"
    for target in targets:
        plan_message(
            session,
            job,
            key=f"{job.kind}-alert:checkin={checkin.id}:user={target}",
            to=target,
            message=alert,
            describe=f"{label} {engagement.handle} {checkin.occurrence_key} to {target}",
            now=now,
        )
    return f"{job.key}: {label} planned for {', '.join(targets)} (missing {', '.join(missing)})"


def plan_missed_summary(session: Session, job: jobs.ClaimedJob, now: datetime) -> str:
    cadence = session.get(Cadence, job.cadence_id)
    if cadence is None:
        return f"{job.key}: cadence gone"
    engagement = session.get(Engagement, cadence.engagement_id)
    assert engagement is not None
    leads = leads_of(session, engagement)
    summary = checkin_blocks.missed_summary(
        engagement_name=engagement.name,
        kind=cadence.kind,
        slots=[s.replace("T", " ") for s in job.payload.get("slots", [])],
        tz=cadence.timezone,
    )
    for lead in leads:
        plan_message(
            session,
            job,
            key=f"{job.key}:lead={lead}",
            to=lead,
            message=summary,
            describe=f"missed summary {engagement.handle} to {lead}",
            now=now,
        )
    return f"{job.key}: summary planned for {', '.join(leads)}"
