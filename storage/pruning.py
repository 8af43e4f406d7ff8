"""Pruning the engine's own bookkeeping: finished jobs, request receipts, heartbeats and
abandoned OAuth states.

These rows are operational, not a workspace's data (what people answered is kept by the
workspace's retention, `bot/domain/retention.py`), and each pass of the engine would otherwise
add to them for ever: a year of a large installation is millions of finished jobs. The engine
deletes them on a fixed age, not configurable, in batches of `BATCH` rows a table in one short
transaction, at most `MAX_BATCHES` of them a pass (the next pass goes on), so a first run over a
year of rows never holds a long transaction.

- **Finished jobs** (sent, done, failed, cancelled) `FINISHED_KEPT` after they finished
  (`updated_at`), of the kinds in `PRUNABLE` only. A job's unique key is what makes planning
  its occurrence twice a no-op, so a job is pruned only where something else makes the key
  impossible to plan again: a check-in's jobs are planned once, when its row is inserted (the
  check-in's unique (cadence, slot) is the guard, and check-ins are never pruned); a request's
  jobs, by a request Slack retries within minutes; a card's or a line's, by its event, created
  once; a job that follows from another (a lead's copy of an alert, a digest's post), by that
  job's run, which happens once; a Home refresh, a digest, a round-up or a retention batch, by a
  moment (a window, a slot, a day) long past; a concern's clocks and notices, by its round or
  its events. The kinds in `KEPT` are planned again from a record's current state (a
  deliverable's, a contract's and an evidence item's clocks, an evidence request's round):
  their finished rows are what stop a second alert, so they are kept (a few per record, not
  per week). Two messages' keys are kept too (`KEPT_KEYS`: the leads' one notice that Cadence
  cannot post somewhere, and an engagement's archive notice, each once ever), and a check-in's
  thread that failed (the check-in has no message, so its next answer plans it again).
  Nothing any figure, export or health card reads is a job: they read the check-ins and the
  answers. A pending or claimed job is never pruned, whatever its age.
- **Request receipts** (`storage/requests.py`) past `requests.REMEMBERED`: Slack retries a
  delivery within minutes, so a day is plenty.
- **Heartbeats** of processes that have not finished a pass for `HEARTBEAT_KEPT` (wall clock):
  gone processes (one row per host and pid).
- **OAuth states** that expired `STATES_KEPT` ago (wall clock; slack_sdk's state store writes one
  for every visit to the install page and deletes it only when an install comes back with it):
  installs started and never finished, which anyone can start without signing in.

Each batch reads an index (migration 0032: finished jobs by kind and finish; receipts by
moment), so a pass with nothing to prune costs an index probe per table (per prunable kind for
the jobs) however large the tables (tests/test_year_of_data.py checks the plans with EXPLAIN
on a year-old database). The pass's report counts what it deleted; its line says so when
finished jobs went (`Pruned.line`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, delete, literal_column, not_, or_, select, text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import NullType
from sqlmodel import col

from storage.db import Database
from storage.jobs import JobKind
from storage.models import SLACK_OAUTH_STATES, ScheduledJob, SlackRequest, TickerHeartbeat
from storage.requests import REMEMBERED
from storage.statuses import FINISHED_JOBS, JobStatus

FINISHED_KEPT = timedelta(days=30)  # a month of history to look back on; no key needs more
HEARTBEAT_KEPT = timedelta(days=1)  # a process silent this long is gone: its row is let go
STATES_KEPT = timedelta(hours=1)  # past its expiry, an OAuth state opens nothing: let go
BATCH = 1_000  # rows of one table deleted in one transaction
MAX_BATCHES = 10  # transactions a pass spends on it; what is left waits for the next pass

# Every kind is in exactly one of these (tests/test_year_of_data.py), so a new kind is a choice.
PRUNABLE: dict[JobKind, str] = {
    JobKind.PROMPT: "a check-in's: planned when its row is inserted",
    JobKind.REMINDER: "a check-in's",
    JobKind.OVERDUE: "a check-in's",
    JobKind.ESCALATE: "a check-in's",
    JobKind.SURVEY_RESULTS: "a check-in's",
    JobKind.MISSED_SUMMARY: "the missed check-ins' rows are the guard",
    JobKind.CHECKIN_THREAD: "sent or cancelled: the check-in holds its thread's ts",
    JobKind.MESSAGE: "follows from a request, a job's run or an answer (but KEPT_KEYS)",
    JobKind.WELCOME: "a request's",
    JobKind.UPDATE_SUMMARY: "an update's revision, saved once",
    JobKind.EXPORT: "a request's",
    JobKind.HOME: "a coalescing window long past",
    JobKind.CONCERN_CARD: "an event's, created once",
    JobKind.CONCERN_LINE: "an event's",
    JobKind.DELIVERABLE_CARD: "an event's",
    JobKind.DELIVERABLE_LINE: "an event's",
    JobKind.DELIVERABLE_ALERT: "follows from a clock's run (the clock is kept)",
    JobKind.DELIVERABLE_TIMELINE: "a request's",
    JobKind.ASSURANCE_CARD: "an event's",
    JobKind.ASSURANCE_LINE: "an event's",
    JobKind.DIGEST: "a slot long past (the workspace's next run moved on)",
    JobKind.DIGEST_POST: "follows from the digest's run",
    JobKind.DIGEST_CHART: "follows from the post's run",
    JobKind.QUESTION_RULE: "the fired rule's unique row is the guard",
    JobKind.QUESTION_ALERT: "the fired rule's unique row is the guard",
    JobKind.RETENTION: "a day long past",
    JobKind.ROUNDUP: "a day long past",
    JobKind.STEP_END: "an execution's, whose event Slack retries within minutes",
    JobKind.CONCERN_DUE: "a concern's round: planned when it is raised or reopened (round + 1)",
    JobKind.CONCERN_NOTICE: "planned once when it is raised, or keyed by a reassignment's event",
}
KEPT: dict[JobKind, str] = {
    JobKind.DELIVERABLE_CLOCK: "planned again from the deliverable's state (overdue: at once)",
    JobKind.CONTRACT_CLOCK: "planned again while its date is ahead: a sent one's key stops it",
    JobKind.ASSURANCE_CLOCK: "planned again from the item's state (expiry: at once)",
    JobKind.ASSURANCE_REQUEST: "once per item, round and owner: an owner given it back is not asked",
}
# Messages told once ever (storage/job_keys.notice, job_keys.archived): kept.
KEPT_KEYS: tuple[str, ...] = ("notice:", "archived:")


@dataclass
class Pruned:
    """What a pass pruned: rows deleted from each table, and whether some are left for the
    next pass (`MAX_BATCHES` reached)."""

    jobs: int = 0
    receipts: int = 0
    heartbeats: int = 0
    states: int = 0
    more: bool = False

    @property
    def total(self) -> int:
        return self.jobs + self.receipts + self.heartbeats + self.states

    def line(self, at: datetime) -> str | None:
        """The pass's line, when it pruned finished jobs or left some for the next pass. Receipts,
        heartbeats and OAuth states alone are not worth one: they age by the minute, so nearly
        every pass of a running deployment prunes a few (counted here all the same)."""
        if not self.jobs and not self.more:
            return None
        line = (
            f"{at.isoformat()} pruned {self.jobs} finished jobs, {self.receipts} request "
            f"receipts, {self.heartbeats} heartbeats, {self.states} OAuth states"
        )
        return line + ("; more in the next pass" if self.more else "")


def _literals(values: Sequence[str]):
    """`IN ('a', 'b')` written into the SQL, not bound, as the index's condition is (SQLite
    never looks at bound values; PostgreSQL's generic plan of a prepared statement would not
    either), so the planner sees which kinds it reads."""
    return [literal_column(f"'{value}'") for value in values]


class unlikely(FunctionElement):
    """A condition that few rows meet, said so to SQLite's planner (`likelihood(X, 0.001)`: X
    itself, with a hint). Without statistics of value ranges, SQLite guesses a quarter of the
    finished jobs finished before the cutoff and, with an index probe per kind, prefers reading
    the whole table; once pruning runs, none are. `unlikely(X)`'s one in sixteen was not enough
    where most finished jobs are of one kind (the index's first column then narrows nothing):
    with a million prompts, every pass read the whole table, 300 ms (bench/engine.py (a)).
    PostgreSQL, which knows the range from its statistics, is given the bare condition."""

    type = NullType()  # not Boolean, which SQLite's dialect would compare with 1
    name = "unlikely"
    inherit_cache = True


@compiles(unlikely)
def _bare(element: unlikely, compiler: Any, **kw: Any) -> str:
    return f"({compiler.process(element.clauses, **kw)})"


@compiles(unlikely, "sqlite")
def _hinted(element: unlikely, compiler: Any, **kw: Any) -> str:
    return f"likelihood({compiler.process(element.clauses, **kw)}, 0.001)"


def prunable_jobs(cutoff: datetime):
    """Finished jobs of a prunable kind that finished before `cutoff`, but the keys kept. The
    finished condition is the partial index's own text (`statuses.FINISHED_JOBS`)."""
    kind = col(ScheduledJob.kind)
    status = col(ScheduledJob.status)
    return and_(
        text(FINISHED_JOBS),
        kind.in_(_literals(sorted(PRUNABLE))),
        unlikely(col(ScheduledJob.updated_at) < cutoff),
        not_(or_(*(col(ScheduledJob.key).startswith(prefix) for prefix in KEPT_KEYS))),
        not_(
            and_(
                kind == literal_column(f"'{JobKind.CHECKIN_THREAD}'"),
                status == literal_column(f"'{JobStatus.FAILED}'"),
            )
        ),
    )


def jobs_statement(now: datetime, batch: int = BATCH):
    """One batch of finished jobs: DELETE … WHERE id IN (SELECT id … LIMIT batch), the
    SELECT skipping rows another process is deleting (PostgreSQL's SKIP LOCKED)."""
    chosen = (
        select(ScheduledJob.id)
        .where(prunable_jobs(now - FINISHED_KEPT))
        .limit(batch)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    return delete(ScheduledJob).where(col(ScheduledJob.id).in_(chosen))


def receipts_statement(now: datetime, batch: int = BATCH):
    """One batch of request receipts older than Slack's retries (by their moment's index).

    The moment's condition is repeated outside the batch's subquery: with a day's receipts left
    after a prune, SQLite's planner otherwise may read the whole table to match it against the
    batch's ids (tests/test_year_of_data.py saw it under load); with it, either way is an index."""
    cutoff = now - REMEMBERED
    chosen = (
        select(SlackRequest.id)
        .where(col(SlackRequest.at) < cutoff)
        .limit(batch)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    return delete(SlackRequest).where(
        col(SlackRequest.id).in_(chosen), col(SlackRequest.at) < cutoff
    )


def heartbeats_statement(wall: datetime):
    """Heartbeats of processes silent for `HEARTBEAT_KEPT` (a few rows: one per process)."""
    return delete(TickerHeartbeat).where(col(TickerHeartbeat.last_tick_at) < wall - HEARTBEAT_KEPT)


def states_statement(wall: datetime, batch: int = BATCH):
    """One batch of OAuth states expired `STATES_KEPT` before `wall` (slack_sdk stores
    `expire_at` as naive UTC)."""
    states = SLACK_OAUTH_STATES.c
    cutoff = (wall - STATES_KEPT).astimezone(UTC).replace(tzinfo=None)
    chosen = (
        select(states.id)
        .where(states.expire_at < cutoff)
        .limit(batch)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    return delete(SLACK_OAUTH_STATES).where(states.id.in_(chosen))


def prune_batch(
    connection: Connection, *, now: datetime, wall: datetime, batch: int = BATCH
) -> Pruned:
    """One batch of each table, in the caller's transaction. `now` is the pass's moment (jobs
    and receipts are stamped with it); `wall` the wall clock (heartbeats are)."""
    return Pruned(
        jobs=connection.execute(jobs_statement(now, batch)).rowcount,
        receipts=connection.execute(receipts_statement(now, batch)).rowcount,
        heartbeats=connection.execute(heartbeats_statement(wall)).rowcount,
        states=connection.execute(states_statement(wall, batch)).rowcount,
    )


def prune(
    db: Database,
    *,
    now: datetime,
    wall: datetime,
    batch: int = BATCH,
    max_batches: int = MAX_BATCHES,
) -> Pruned:
    """Prune in batches, one transaction each, until a batch finds less than `batch` rows of
    every table or `max_batches` were run; the counts, for the pass's report."""
    total = Pruned()
    for _ in range(max_batches):
        with db.begin() as connection:
            done = prune_batch(connection, now=now, wall=wall, batch=batch)
        total.jobs += done.jobs
        total.receipts += done.receipts
        total.heartbeats += done.heartbeats
        total.states += done.states
        if done.jobs < batch and done.receipts < batch and done.states < batch:
            return total
    total.more = True
    return total
