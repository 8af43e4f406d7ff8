"""Who delivers and what it keeps for a pass: the `Sender` (database, Slack clients per
workspace, who holds the leases, the outcomes it has to record, check-ins and Block Kit cached
for the latest batches only) and the `Pacer` that spaces messages to one channel.
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
from datetime import datetime
from typing import Any

from slack_sdk import WebClient
from sqlmodel import col, select

from bot.domain import checkins
from bot.engine.lookups import Lookups
from bot.platform.rate_limits import RateBudgets
from bot.platform.services import Services
from storage import jobs
from storage.db import Database
from storage.encryption import Keys
from storage.models import Cadence, CheckIn, Engagement

log = logging.getLogger(__name__)
CACHED = 500  # check-ins (and their rendered blocks) kept by a sender: 10 claimed batches
RECORD_WITHIN = 1.0  # seconds a sent message's outcome may wait to be written with others


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
    keys: Keys | None = None  # CADENCE_ENCRYPTION_KEYS: what opens a job's sealed secret
    budgets: RateBudgets = field(default_factory=RateBudgets)  # the process's, shared
    # The clock as it reads now (`Services.clock`): `now` is the pass's start or a request's
    # moment, and a job's call may start well after it (see `met_at`).
    clock: Callable[[], datetime] | None = None
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
    _called: dict[int, datetime] = field(default_factory=dict)  # job id -> call began
    # What this pass read of each conversation looking for lost messages (one read serves
    # every unknown outcome there); its rate limits are the process's `budgets`.
    lookups: Lookups = field(init=False)

    def __post_init__(self) -> None:
        self.lookups = Lookups(self.budgets)

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
            budgets=services.rate_budgets,
            clock=services.clock,
            keys=services.keys if settings.encryption_keys else None,
        )

    def met_at(self, job: jobs.ClaimedJob | None = None) -> datetime:
        """The later of `now` and the clock when `job`'s Slack call began (without a job: the
        clock as it reads now). `now` is the pass's start or, for the outbox, the request's
        moment, which a claim or a call may follow by a queue's wait. An unknown outcome is
        dated with it (a lookup reads up to a pass's span after that date, which covers the
        call's own timeout and the SDK's Retry-After waits), and the outbox's lease runs
        from it."""
        if job is None:
            began = self.clock() if self.clock is not None else None
        else:
            with self._lock:
                began = self._called.get(job.id)
        return max(self.now, began) if began is not None else self.now

    def calling(self, job: jobs.ClaimedJob) -> None:
        """The job's Slack call is about to be made: from now on it may be in Slack."""
        with self._lock:
            self._called[job.id] = self.clock() if self.clock is not None else self.now

    def may_have_sent(self, job: jobs.ClaimedJob) -> bool:
        """Whether Slack may have this job's message: its call was made in this run, or an
        earlier attempt's outcome is still unknown."""
        with self._lock:
            return job.id in self._called or job.outcome_unknown

    def forget_call(self, job: jobs.ClaimedJob) -> None:
        """The job's run is over (its outcome recorded or its retry planned)."""
        with self._lock:
            self._called.pop(job.id, None)

    def may_call(self, team_id: str, method: str) -> bool:
        """Whether a call Cadence can do without (a lookup) fits the workspace's rate budget
        now (and is counted); when not, the caller goes without it this time."""
        return self.budgets.take(team_id, method) == 0

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

    def record_sent_later(
        self, job: jobs.ClaimedJob, response: dict[str, Any], *, thread_of: int | None = None
    ) -> None:
        """Queue a sent message's outcome; written with others by `record_now` (at once when
        `batch` are waiting, else by the runner within RECORD_WITHIN seconds, and at the end of
        every run). Should this process die first, the lease runs out and the job's next
        attempt finds the message in Slack by its metadata before sending again."""
        with self._lock:
            if not self._unrecorded:
                self._unrecorded_since = time.monotonic()
            self._unrecorded.append(
                Sent(job, response.get("channel"), response.get("ts"), thread_of)
            )
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
        """Write every queued outcome in one UPDATE, fenced by the lease as `jobs.finish`;
        the check-in threads they start first, in the same transaction (rows of what a job
        changes before the job's own, as `finish_after`). A thread is kept even for a job
        whose lease was lost: its message is in the channel all the same."""
        with self._recording:
            with self._lock:
                waiting, self._unrecorded = self._unrecorded, []
            if not waiting:
                return
            threads = [(s.thread_of, s.ts) for s in waiting if s.thread_of is not None and s.ts]
            try:
                with self.db.begin() as connection:
                    checkins.set_threads(connection, threads)
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
    thread_of: int | None = None  # the check-in whose thread this message starts


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
