"""When a job is tried again: a failed send with a backoff up to `jobs.MAX_ATTEMPTS`, and a
lookup of a message whose outcome is unknown, which costs no attempt (`retry_lookup`); `finish`
records a job's outcome if the lease is still held.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from bot.engine.sender import Sender
from storage import jobs
from storage.jobs import JobStatus

log = logging.getLogger(__name__)
# Failed lookups in a row before a job whose outcome is unknown stops, unsent: with the backoff
# of other retries (capped at an hour), about six hours of Slack not answering.
MAX_LOOKUPS = 12


def finish(sender: Sender, job: jobs.ClaimedJob, status: JobStatus, **outcome: Any) -> None:
    """Record the outcome (if the lease is still held). An unknown outcome is dated when it was
    met: when its call began (`Sender.met_at`), since the lookup that follows reads up to a pass's
    span after that date."""
    error = str(outcome.get("error") or "")
    at = sender.met_at(job) if error.startswith(jobs.OUTCOME_UNKNOWN) else sender.now
    with sender.db.begin() as connection:
        recorded = jobs.finish(
            connection, job, owner=sender.owner, now=at, status=status, **outcome
        )
    if not recorded:
        log.warning("lost the lease on %s before recording %s", job.key, status)


def backoff(tries: int) -> timedelta:
    """How long to wait after the `tries`-th failure in a row: 30 s, doubling, at most an hour."""
    return timedelta(seconds=min(3600, 30 * 2 ** (max(1, tries) - 1)))


def retry(
    sender: Sender, job: jobs.ClaimedJob, error: str, *, wait_at_least: int | None = None
) -> None:
    if job.attempts >= jobs.MAX_ATTEMPTS:
        finish(
            sender, job, JobStatus.FAILED, error=f"gave up after {job.attempts} attempts: {error}"
        )
        sender.say(f"{job.key} failed for good: {error}")
        sender.failed.append(job.key)
        return
    wait = max(backoff(job.attempts), timedelta(seconds=wait_at_least or 0))  # a Retry-After
    finish(sender, job, JobStatus.PENDING, error=error, retry_at=sender.now + wait)
    sender.say(f"{job.key} will be retried in {int(wait.total_seconds())} s: {error}")


def retry_lookup(
    sender: Sender,
    job: jobs.ClaimedJob,
    error: str,
    *,
    retry_after: int | None = None,
    read_below: str | None = None,
) -> None:
    """Slack did not say whether it has the message: its outcome stays unknown and it is
    looked for again later, with the backoff of other retries. A lookup sends nothing, so it
    is not one of the job's send attempts (`refund`): a prompt is not given up because Slack
    failed to answer questions about it. Only after MAX_LOOKUPS failures in a row does the job
    stop, unsent (it may be in Slack: sending again could post it twice).

    A rate limit (`retry_after`, Slack's Retry-After) is not a failure: Slack answered, and
    said when to ask. The job waits exactly that long, and it neither grows the backoff nor
    counts towards MAX_LOOKUPS: outside the Marketplace a workspace's lookups are read one a
    minute, so a long backlog waits its turn rather than being given up.

    `read_below`: how far down the window this lookup read (the next goes on below it); else
    where an earlier one got to is kept."""
    rate_limited = retry_after is not None
    tries = job.lookups_failed if rate_limited else job.lookups_failed + 1
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
    wait = timedelta(seconds=retry_after) if rate_limited else backoff(tries)
    with sender.db.begin() as connection:
        recorded = jobs.finish(
            connection,
            job,
            owner=sender.owner,
            now=sender.now,
            status=JobStatus.PENDING,
            error=f"{jobs.OUTCOME_UNKNOWN}: "
            + (
                f"lookup waits its turn: {error}"
                if rate_limited
                else f"lookup {tries} failed: {error}"
            ),
            retry_at=sender.now + wait,
            refund=True,
            lookups_failed=tries,
            lookup_below=read_below if read_below is not None else job.lookup_below,
        )
    if not recorded:
        log.warning("lost the lease on %s before recording a failed lookup", job.key)
    sender.say(
        f"{job.key} will be looked for in Slack again in {int(wait.total_seconds())} s: {error}"
    )


def put_off(sender: Sender, job: jobs.ClaimedJob, seconds: int, why: str) -> None:
    """Run the job again in `seconds` without counting this claim as an attempt and without
    touching its error (an unknown outcome is still looked for first): it called nothing,
    held back by a rate limit of its workspace (bot/platform/rate_limits.py)."""
    finish(
        sender,
        job,
        JobStatus.PENDING,
        retry_at=sender.now + timedelta(seconds=seconds),
        refund=True,
    )
    sender.say(f"{job.key} put off {seconds} s: {why}")


def put_off_many(sender: Sender, later: Sequence[tuple[jobs.ClaimedJob, int]], why: str) -> None:
    """`put_off` for several jobs, each by its seconds, in one transaction: a throttled
    workspace's share of a claimed batch costs one commit, not one each (on SQLite, every
    commit waits for the one writer the other workspaces' outcomes need too)."""
    lost = 0
    with sender.db.begin() as connection:
        for job, seconds in later:
            recorded = jobs.finish(
                connection,
                job,
                owner=sender.owner,
                now=sender.now,
                status=JobStatus.PENDING,
                retry_at=sender.now + timedelta(seconds=seconds),
                refund=True,
            )
            lost += not recorded
    if lost:
        log.warning("lost the lease on %d jobs before putting them off", lost)
    teams = sorted({job.team_id for job, _ in later})
    sender.say(f"{len(later)} jobs put off: {why} in {', '.join(teams)}")
