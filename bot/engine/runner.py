"""Running claimed jobs: claim in batches, dispatch each through the job-kind registry, send
paced per channel with bounded concurrency.

A pass runs everything due (`run_due`); the outbox runs the jobs a request just planned
(`run_keys`), by the same path, so a message sent at once and one sent by a later pass get the
same retries, pacing, failure notices and exactly-once recording.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

from bot.engine import job_kinds, prompts
from bot.engine.delivery import Message, send
from bot.engine.retries import finish, put_off, put_off_many, retry
from bot.engine.sender import Pacer, Sender
from bot.platform.logs import log_context
from bot.platform.rate_limits import SHORT_WAIT_SECONDS, wait_seconds
from storage import jobs
from storage.jobs import JobStatus

log = logging.getLogger(__name__)

# A pass runs until nothing due is left. Past this long it stops claiming (what it holds is
# finished) and says so loudly, so a job that plans itself again and again cannot hold a
# process forever; the next pass goes on with what is left.
PASS_LIMIT_SECONDS = 30 * 60


def run_due(
    sender: Sender,
    planning: threading.Event | None = None,
    *,
    stopping: threading.Event | None = None,
    limit_seconds: float = PASS_LIMIT_SECONDS,
) -> int:
    """Claim and run due jobs until none are left; returns how many were run.

    Sending is pipelined: the next batch is claimed while the pool still sends the last one, so
    the bounded concurrency stays busy; the pacer keeps each channel's messages apart. With
    `planning` (an Event set when planning is over), sending starts while occurrences are still
    being planned and stops only once planning is done and nothing is left. Sent messages'
    outcomes are written in batches (`Sender.record_now`), all of them before this returns.

    Once `stopping` is set (SIGTERM, or a pass abandoned), nothing more is claimed or started:
    the Slack calls in flight finish and are recorded, and the jobs claimed but not started are
    handed back (`jobs.release`), so another process sends them without waiting for a lease to
    run out.
    """
    total = rounds = 0
    started = time.monotonic()
    pacer = Pacer(sender.pace_seconds)
    stop = Stop(stopping)
    try:
        with ThreadPoolExecutor(max_workers=sender.concurrency) as pool:
            in_flight: set[Future] = set()
            while not stop.asked:
                if sender.record_due():
                    sender.record_now()
                while len(in_flight) >= 2 * sender.concurrency:
                    _, in_flight = wait(in_flight, return_when=FIRST_COMPLETED)
                if stop.asked:
                    break
                if time.monotonic() - started > limit_seconds:
                    log.error(
                        "PASS STOPPED EARLY: %d jobs run in %d claim rounds over %.0f s, the "
                        "limit; jobs may still be due and wait for the next pass",
                        total,
                        rounds,
                        time.monotonic() - started,
                    )
                    break
                still_planning = planning is not None and not planning.is_set()
                claimed = jobs.claim(
                    sender.db, owner=sender.owner, now=sender.now, limit=sender.batch
                )
                if not claimed:
                    if in_flight:
                        # What is still sending may plan more (a DM refused → a channel post).
                        _, in_flight = wait(in_flight, timeout=0.5, return_when=FIRST_COMPLETED)
                    elif still_planning:
                        planning.wait(timeout=0.05)
                    else:
                        break
                    continue
                rounds += 1
                total += len(claimed)
                for lane_name, lane_jobs in _by_lane(sender, claimed, stop).items():
                    in_flight.add(pool.submit(_run_lane, sender, pacer, lane_name, lane_jobs, stop))
            wait(in_flight)
    finally:
        try:
            stop.hand_back(sender)
        finally:
            sender.record_now()
    return total - len(stop.unstarted)


class Stop:
    """A pass asked to stop, and the claimed jobs it therefore never started."""

    def __init__(self, event: threading.Event | None):
        self.event = event
        self.unstarted: list[jobs.ClaimedJob] = []
        self._lock = threading.Lock()

    @property
    def asked(self) -> bool:
        return self.event is not None and self.event.is_set()

    def skip(self, skipped: Sequence[jobs.ClaimedJob]) -> None:
        with self._lock:
            self.unstarted.extend(skipped)

    def hand_back(self, sender: Sender) -> None:
        """Give the jobs never started back to pending (after every lane has ended)."""
        if not self.unstarted:
            return
        for job in self.unstarted:
            sender.prefetched.pop(job.id, None)
        try:
            released = jobs.release(
                sender.db,
                owner=sender.owner,
                now=sender.now,
                ids=[j.id for j in self.unstarted],
            )
        except Exception:  # their leases run out instead; the next pass takes them then
            log.warning(
                "stopping: could not hand back %d jobs not started",
                len(self.unstarted),
                exc_info=True,
            )
            return
        log.info("stopping: handed back %d claimed jobs not started", len(released))


def run_keys(sender: Sender, keys: Sequence[str], pacer: Pacer) -> int:
    """Run the named jobs now, if still pending and due (a request's outbox). Jobs they plan in
    turn (a refused DM's channel mention, a notice) are run too; whatever is left (a lease held
    by another process, a retry with backoff) waits for the next pass."""
    total = 0
    wanted = list(keys)
    while wanted:
        claimed = jobs.claim(
            sender.db,
            owner=sender.owner,
            now=sender.now,
            limit=len(wanted),
            keys=wanted,
            leased_at=sender.met_at(),  # the clock now: the request's moment may be long past
        )
        if not claimed:
            break
        total += len(claimed)
        before = len(sender.planned)
        for lane_name, lane_jobs in _by_lane(sender, claimed).items():
            _run_lane(sender, pacer, lane_name, lane_jobs)
        sender.record_now()  # what was sent, before looking for what it planned
        wanted = sender.planned[before:]
    return total


def _by_lane(
    sender: Sender, claimed: Sequence[jobs.ClaimedJob], stop: Stop | None = None
) -> dict[str, list]:
    """Database jobs run at once; message jobs are grouped by the channel they go to."""
    sender.prefetch([j.checkin_id for j in claimed if j.checkin_id is not None])
    prompts.prefetch(sender, claimed)
    by_lane: dict[str, list[jobs.ClaimedJob]] = defaultdict(list)
    for job in put_off_if_throttled(sender, claimed):
        handler = job_kinds.handler_for(job.kind)
        if handler is not None and handler.in_database:
            if stop is not None and stop.asked:
                stop.skip([job])
            else:
                _guard(sender, job)
        else:
            by_lane[lane(job)].append(job)
    for lane_jobs in by_lane.values():
        sender.lookups.widen(lane_jobs)  # one read for the lost messages of a conversation
    return by_lane


def lane(job: jobs.ClaimedJob) -> str:
    """Jobs to one channel (or one person's DM) go one after another, paced. Jobs that post in
    a channel name it in their payload when planned; a call that posts nothing names its own
    lane (a step's end: its execution)."""
    payload = job.payload
    return (
        payload.get("channel") or payload.get("lane") or job.user_id or f"checkin:{job.checkin_id}"
    )


def _run_lane(
    sender: Sender,
    pacer: Pacer,
    lane_name: str,
    lane_jobs: Sequence[jobs.ClaimedJob],
    stop: Stop | None = None,
) -> None:
    for index, job in enumerate(lane_jobs):
        with pacer.turn(lane_name):
            if stop is not None and stop.asked:
                stop.skip(lane_jobs[index:])
                return
            _guard(sender, job)


def _guard(sender: Sender, job: jobs.ClaimedJob) -> None:
    """One job's failure never stops the others; unexpected errors retry later.

    An error after the job's Slack call (its outcome or `on_sent` write failing, the database
    down) keeps the job's outcome unknown, so the next attempt looks for the message in Slack
    by its metadata before sending again; a plain error there would post it twice."""
    with log_context(workspace=job.team_id, job=job.key):  # on every line about this job
        try:
            run_job(sender, job)
        except Exception as e:
            log.exception("job %s failed unexpectedly", job.key)
            error = f"{type(e).__name__}: {e}"
            if sender.may_have_sent(job):
                error = f"{jobs.OUTCOME_UNKNOWN}: failed after the Slack call: {error}"
            retry(sender, job, error)
        finally:
            sender.forget_call(job)


def run_job(sender: Sender, job: jobs.ClaimedJob) -> None:
    """Dispatch one claimed job to its kind's handler."""
    handler = job_kinds.handler_for(job.kind)
    if handler is None:
        finish(sender, job, JobStatus.FAILED, error=f"unknown job kind {job.kind}")
        return
    if (works := handler.works_in_database) is not None:
        with sender.db.session() as session:
            done = works(session, job, sender.now)
            jobs.finish(session, job, owner=sender.owner, now=sender.now, status=JobStatus.DONE)
            sender.planned.extend(jobs.planned_keys(session))
        sender.say(done)
        return
    builds = handler.builds_message
    assert builds is not None
    message = builds(sender, job)
    if message is not None and not held_back(sender, job, message):
        send(sender, job, message)


def put_off_if_throttled(
    sender: Sender, claimed: Sequence[jobs.ClaimedJob]
) -> list[jobs.ClaimedJob]:
    """The claimed jobs to run now. A message job of a workspace Slack holds back from posting
    (a long Retry-After running, or 429s again and again: `RateBudgets.throttled`) is put off
    at once, all of them in one transaction, before it takes a place in a lane: it would only
    wait there, on a thread and a channel's turn the other workspaces' messages need. Posting
    is what nearly every message job does (an edit is put off with them); a Home, whose
    views.publish has a budget of its own, is put off when its turn comes (`held_back`)."""
    method = "chat.postMessage"
    waits: dict[str, float] = {}
    run, later = [], []
    for job in claimed:
        if job.team_id not in waits:
            wait = sender.budgets.wait(job.team_id, method)
            if wait <= SHORT_WAIT_SECONDS and not sender.budgets.throttled(job.team_id, method):
                wait = 0
            waits[job.team_id] = wait
        handler = job_kinds.handler_for(job.kind)
        in_database = handler is not None and handler.in_database
        if waits[job.team_id] and not in_database and job.kind != jobs.JobKind.HOME:
            later.append((job, wait_seconds(waits[job.team_id])))
        else:
            run.append(job)
    if later:
        put_off_many(sender, later, f"{method} rate-limited")
    return run


def held_back(sender: Sender, job: jobs.ClaimedJob, message: Message) -> bool:
    """Slack's rate limit for the message's method in its workspace (a 429's Retry-After
    still running, or the minute's Home refreshes spent: bot/platform/rate_limits.py): a short
    wait is waited out here; a longer one plans the job again once it is over, without
    counting an attempt or touching its outcome (an unknown one is still looked for first);
    so is a short one when Slack keeps refusing that workspace (`RateBudgets.throttled`).
    Only that workspace and method wait: the pass goes on with everything else."""
    method = slack_method(message)
    pause = sender.budgets.take(job.team_id, method)
    if pause == 0:
        return False
    if pause <= SHORT_WAIT_SECONDS and not sender.budgets.throttled(job.team_id, method):
        time.sleep(pause)
        if sender.budgets.take(job.team_id, method) == 0:
            return False
    seconds = wait_seconds(max(pause, sender.budgets.wait(job.team_id, method)))
    put_off(sender, job, seconds, f"{method} rate-limited in {job.team_id}")
    return True


def slack_method(message: Message) -> str:
    """The Web API method `delivery.send` calls for `message` (its `_call`)."""
    if message.home_view is not None:
        return "views.publish"
    if message.upload is not None:
        return "files.getUploadURLExternal"
    return "chat.update" if message.ts is not None else "chat.postMessage"
