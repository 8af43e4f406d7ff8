"""The job table: every outgoing message and timed action, named by a unique key.

- `plan` inserts a job unless its key exists (INSERT … ON CONFLICT DO NOTHING): two processes
  planning the same occurrence create it once.
- `claim` takes due jobs as leases in one short transaction (PostgreSQL: FOR UPDATE SKIP LOCKED,
  so several processes take disjoint batches; SQLite: BEGIN IMMEDIATE, one writer at a time).
  A job whose lease expired (its process died) is due again.
- `finish` records the outcome only if this process still holds the lease (a fenced update).
- `release` hands back claimed jobs a stopping process never started.
A job's `secret` (a short-lived credential its call needs) is cleared by every write that ends
the job (`finish` to any status but pending, `finish_sent`, `cancel`): it is kept only while
the job may still need it.
No Slack call ever happens inside these transactions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import cache
from typing import Any

from sqlalchemy import (
    Connection,
    Table,
    Update,
    and_,
    case,
    event,
    func,
    literal,
    literal_column,
    or_,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, col, select

from storage.db import Database
from storage.models import ScheduledJob
from storage.statuses import JobStatus

LEASE = timedelta(minutes=5)
MAX_ATTEMPTS = 6


class JobKind(StrEnum):
    """What a job does. Each kind has exactly one handler in `bot/engine/job_kinds.py`."""

    PROMPT = "prompt"  # ask a check-in's recipients (DM, or the channel)
    REMINDER = "reminder"  # ask again those who have not answered
    OVERDUE = "overdue"  # the window closed: mark the check-in, alert the leads
    ESCALATE = "escalate"  # still missing after the escalation delay: alert upwards
    SURVEY_RESULTS = "survey_results"  # a survey's window closed: its aggregate to the leads
    MISSED_SUMMARY = "missed_summary"  # occurrences missed while the engine was down
    MESSAGE = "message"  # a message prepared when it was planned (notices, alerts, DMs)
    WELCOME = "welcome"  # join an engagement's channel, greet it, tell the lead how it went
    UPDATE_SUMMARY = "update_summary"  # post an update's summary, or edit it in place
    CHECKIN_THREAD = "checkin_thread"  # a check-in's message in the channel, for its summaries
    EXPORT = "export"  # an engagement's record as CSV files in a zip, to whoever asked
    HOME = "home"  # publish a person's Home tab again after a change that shows there
    CONCERN_CARD = "concern_card"  # post a concern's card in its channel, or edit it in place
    CONCERN_LINE = "concern_line"  # a line in the card's thread: who changed what, when
    CONCERN_NOTICE = "concern_notice"  # a DM about a concern (its new owner; a security alert)
    CONCERN_DUE = "concern_due"  # a concern's deadline: alert once if it is still not met
    DELIVERABLE_CARD = "deliverable_card"  # post a deliverable's card, or edit it in place
    DELIVERABLE_LINE = "deliverable_line"  # a line in its card's thread: who changed what, when
    DELIVERABLE_CLOCK = "deliverable_clock"  # a deliverable's clock ran out: alert once if live
    DELIVERABLE_ALERT = "deliverable_alert"  # that alert to one person, built when it is sent
    DELIVERABLE_TIMELINE = "deliverable_timeline"  # an engagement's timeline PNG, to who asked
    ASSURANCE_CARD = "assurance_card"  # post an evidence item's card, or edit it in place
    ASSURANCE_LINE = "assurance_line"  # a line in its card's thread: who changed what, when
    ASSURANCE_REQUEST = "assurance_request"  # a DM asking an item's owner to provide it
    DIGEST = "digest"  # a workspace's digest is due: plan one post per digest channel
    DIGEST_POST = "digest_post"  # the digest message to a digest channel (or a preview's DM)
    DIGEST_CHART = "digest_chart"  # the digest's chart, uploaded after its message
    QUESTION_RULE = "question_rule"  # a survey answer's rule acts once the survey closes
    QUESTION_ALERT = "question_alert"  # a question's rule alerting one lead, built when sent
    CONTRACT_CLOCK = "contract_clock"  # a contract date is near: remind the leads, once if live
    ASSURANCE_CLOCK = "assurance_clock"  # an evidence item's clock: remind, expire, escalate
    RETENTION = "retention"  # delete one batch of what is past the workspace's retention
    ROUNDUP = "roundup"  # a person's daily round-up of held notices is due: plan its DM
    STEP_END = "step_end"  # end a Workflow Builder step: functions.completeSuccess/completeError


PENDING, CLAIMED, SENT, DONE, FAILED, CANCELLED = tuple(JobStatus)
# What a job's error starts with when its last attempt may or may not have reached Slack (its
# process died holding the lease, or the call timed out): look before sending again.
OUTCOME_UNKNOWN = "outcome unknown"


@dataclass(frozen=True)
class ClaimedJob:
    """A job as claimed: a plain copy, safe to use after the claiming transaction ended."""

    id: int
    team_id: str
    key: str
    kind: str
    due_at: datetime
    payload: dict[str, Any]
    attempts: int
    cadence_id: int | None
    checkin_id: int | None
    user_id: str | None
    error: str | None = None
    lookups_failed: int = 0  # lookups of an unknown outcome Slack did not answer, in a row
    # When it was planned: no attempt, so no message of it, can be older (a lookup's bound).
    planned_at: datetime | None = None
    unknown_until: datetime | None = None  # its lost attempt began by then (a lookup's bound)
    lookup_below: str | None = None  # lookups read down to this ts already (bot.engine.lookups)
    secret: str | None = None  # a credential its call needs, as stored (cleared once it ends)

    @property
    def outcome_unknown(self) -> bool:
        """Its last attempt may have reached Slack without the outcome being recorded."""
        return (self.error or "").startswith(OUTCOME_UNKNOWN)


@cache
def _insert_statement(table: Table, dialect: str, conflict: tuple[str, ...], returning: bool):
    """INSERT … ON CONFLICT DO NOTHING [RETURNING id], built once per table (values come at
    execution, so SQLAlchemy's compiled cache is used instead of rebuilding every time)."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(table).on_conflict_do_nothing(index_elements=list(conflict))
    return statement.returning(table.c.id) if returning else statement


def insert_ignoring_conflict(session: Session, model, values: dict[str, Any], conflict: list[str]):
    """INSERT … ON CONFLICT DO NOTHING RETURNING id; None when the row already existed."""
    dialect = session.get_bind().dialect.name
    statement = _insert_statement(model.__table__, dialect, tuple(conflict), True)
    return session.execute(statement, values).scalar()


def job_row(
    *,
    team_id: str,
    key: str,
    kind: str,
    due_at: datetime,
    now: datetime,
    payload: dict[str, Any] | None = None,
    cadence_id: int | None = None,
    checkin_id: int | None = None,
    user_id: str | None = None,
    secret: str | None = None,
) -> dict[str, Any]:
    """The full row of a new job (every column, so rows can be inserted together)."""
    return {
        "team_id": team_id,
        "key": key,
        "kind": kind,
        "due_at": due_at,
        "payload": payload or {},
        "status": PENDING,
        "attempts": 0,
        "cadence_id": cadence_id,
        "checkin_id": checkin_id,
        "user_id": user_id,
        "lease_owner": None,
        "lease_expires_at": None,
        "result_channel": None,
        "result_ts": None,
        "error": None,
        "lookups_failed": 0,
        "secret": secret,
        "created_at": now,
        "updated_at": now,
    }


PLANNED_KEYS = "cadence_planned_job_keys"


def plan(session: Session, *, revive_cancelled: bool = False, **job: Any) -> int | None:
    """Create the job named `key` unless it exists; its id when created, else None. With
    `revive_cancelled`, a cancelled job of that key is planned again too (`plan_clocks`).

    The session remembers the keys it planned (`planned_keys`), so that whoever commits it can
    ask for them to be sent at once instead of at the next tick.
    """
    row = job_row(**job)
    if (cause := session.info.get(RESTORED_CAUSE)) is not None:
        _inherit_restored(row, cause)
    if revive_cancelled:
        job_id = session.execute(_revive_statement(session.get_bind().dialect.name), row).scalar()
    else:
        job_id = insert_ignoring_conflict(session, ScheduledJob, row, ["key"])
    if job_id is not None:
        session.info.setdefault(PLANNED_KEYS, []).append(job["key"])
    return job_id


def plan_clocks(
    session: Session,
    *,
    team_id: str,
    prefix: str,
    kind: str,
    live: set[str],
    clocks: Sequence[tuple[str, datetime, dict[str, Any]]],
    now: datetime,
) -> None:
    """Bring a record's clock jobs (each key naming the facts it follows from) in line with
    its state: the pending ones of `kind` under `prefix` whose keys are not `live` are
    cancelled, and each of `clocks` (key, due moment, payload) is planned, or planned again if
    an earlier change had cancelled it. A cancelled clock was never sent, so dates changed and
    changed back call for it again; a clock sent, or being sent, is never planned twice."""
    cancel_moot(session, prefix=prefix, kind=kind, keep=live, now=now)
    for key, due_at, payload in clocks:
        plan(
            session,
            revive_cancelled=True,
            team_id=team_id,
            key=key,
            kind=kind,
            due_at=due_at,
            now=now,
            payload=payload,
        )


@cache
def _revive_statement(dialect: str):
    """INSERT … ON CONFLICT (key) DO UPDATE, only over a cancelled job, RETURNING id (None:
    the key is pending, running or finished, and stays as it is)."""
    table = ScheduledJob.__table__
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(table)
    new = statement.excluded
    again = {
        "status": PENDING,
        "due_at": new.due_at,
        "payload": new.payload,
        "attempts": 0,
        "lease_owner": None,
        "lease_expires_at": None,
        "result_channel": None,
        "result_ts": None,
        "error": new.error,
        "lookups_failed": 0,
        "unknown_until": None,
        "lookup_below": None,
        "secret": new.secret,
        "updated_at": new.updated_at,
    }
    return statement.on_conflict_do_update(
        index_elements=["key"], set_=again, where=table.c.status == CANCELLED
    ).returning(table.c.id)


def planned_keys(session: Session) -> list[str]:
    """The keys of the jobs `plan` created in this session (after commit: to send now),
    planning first whatever was left for later (`plan_later`)."""
    plan_deferred(session)
    return list(session.info.get(PLANNED_KEYS, ()))


DEFERRED = "cadence_deferred_planning"


def plan_later(session: Session, name: str, planner: Callable[[Session], None]) -> None:
    """Have `planner(session)` run once, later in this transaction: when its planned keys are
    read or just before it commits, whichever comes first. For planning that many calls in
    one transaction share (one query for all of them instead of one each); `name` makes it
    once however often it is asked for."""
    session.info.setdefault(DEFERRED, {}).setdefault(name, planner)


def plan_deferred(session: Session) -> None:
    """Run what `plan_later` left (and anything that asks for more meanwhile)."""
    while deferred := session.info.pop(DEFERRED, None):
        for planner in deferred.values():
            planner(session)


@event.listens_for(OrmSession, "before_commit")
def _plan_before_commit(session: OrmSession) -> None:
    if DEFERRED in session.info:
        plan_deferred(session)  # type: ignore[arg-type]


def plan_many(session: Session, rows: list[dict[str, Any]], *, remember: bool = False) -> None:
    """Create several jobs with one INSERT … ON CONFLICT DO NOTHING, executed for all the rows
    in one call; those whose key exists are left as they are, so planning the same occurrence
    twice, in one process or several, still makes each job once.

    Sent as the driver's executemany (psycopg pipelines it: one round trip). A multi-row
    VALUES statement (SQLAlchemy's insertmanyvalues, by adding RETURNING) measured slower:
    4 rows 0.35 against 0.29 ms on SQLite, 0.75 against 0.59 ms on PostgreSQL; 100 rows 8.2
    against 2.7 ms on PostgreSQL.

    `remember`: a request's change, whose jobs are sent at once after its commit (as `plan`'s
    are: `planned_keys`), rather than a pass's, which runs what is due itself.
    """
    if rows:
        if (cause := session.info.get(RESTORED_CAUSE)) is not None:
            rows = [_inherit_restored(dict(row), cause) for row in rows]
        dialect = session.get_bind().dialect.name
        session.execute(_insert_statement(ScheduledJob.__table__, dialect, ("key",), False), rows)
        if remember:
            session.info.setdefault(PLANNED_KEYS, []).extend(row["key"] for row in rows)


def due_filter(now: datetime, keys: Sequence[str] | None = None):
    """Which jobs a claim may take: pending and due, or claimed by a process whose lease ran
    out. With `keys`, only those jobs, and only while pending."""
    # The statuses are written into the SQL, not bound: a partial index's condition must be
    # provable from the statement itself (SQLite never looks at bound values, and PostgreSQL's
    # generic plan for a statement prepared by psycopg would not either).
    pending = col(ScheduledJob.status) == literal_column(f"'{PENDING}'")
    claimed = col(ScheduledJob.status) == literal_column(f"'{CLAIMED}'")
    if keys is not None:
        return and_(col(ScheduledJob.key).in_(list(keys)), pending, col(ScheduledJob.due_at) <= now)
    return or_(
        and_(pending, col(ScheduledJob.due_at) <= now),
        and_(claimed, col(ScheduledJob.lease_expires_at) <= now),
    )


def claim_statement(
    *,
    owner: str,
    now: datetime,
    limit: int,
    keys: Sequence[str] | None = None,
    leased_at: datetime | None = None,
) -> Update:
    """The claim, as one UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED) RETURNING.

    Each branch of the due filter has a partial index of its own on PostgreSQL (migration
    0012: pending jobs by due time, claimed jobs by lease expiry), so the claim reads only
    the jobs it could take, whatever the number of future and finished jobs
    (tests/test_engine_scale.py checks the plan with EXPLAIN).

    Fair to each workspace (`_fair_choice`): a pass's batches take every workspace's due jobs
    in turn, so one with 5,000 prompts at 09:00 does not hold back one with 10. The outbox's
    claim by `keys` names its jobs already, oldest first.

    The lease runs from `leased_at` (default `now`): the outbox's `now` is its request's moment,
    and a busy outbox may claim well after it; a lease dated then could look expired already,
    and a pass would take over a job being sent."""
    chosen = _by_key(now, keys, limit) if keys is not None else _fair_choice(now, limit)
    return (
        update(ScheduledJob)
        .where(col(ScheduledJob.id).in_(chosen))
        .values(
            status=CLAIMED,
            lease_owner=owner,
            lease_expires_at=(leased_at or now) + LEASE,
            attempts=ScheduledJob.attempts + 1,
            updated_at=now,
            # A lease taken over: the process that held it died mid-job (a new unknown outcome,
            # so the failed lookups of the one before no longer count).
            error=case(
                (
                    col(ScheduledJob.status) == CLAIMED,
                    literal(f"{OUTCOME_UNKNOWN}: taken over from ")
                    + func.coalesce(col(ScheduledJob.lease_owner), ""),
                ),
                else_=col(ScheduledJob.error),
            ),
            lookups_failed=case(
                (col(ScheduledJob.status) == CLAIMED, 0),
                else_=col(ScheduledJob.lookups_failed),
            ),
            # The row as it was (SET reads the old values): the lost attempt began by the old
            # lease's end, or by when it was recorded as unknown (its last update).
            # A lease taken over is a new lost attempt: what lookups read before no longer
            # covers it.
            lookup_below=case(
                (col(ScheduledJob.status) == CLAIMED, None),
                else_=col(ScheduledJob.lookup_below),
            ),
            unknown_until=case(
                (col(ScheduledJob.status) == CLAIMED, col(ScheduledJob.lease_expires_at)),
                (
                    col(ScheduledJob.error).startswith(OUTCOME_UNKNOWN),
                    col(ScheduledJob.updated_at),
                ),
                else_=None,
            ),
        )
        .returning(*ScheduledJob.__table__.c)
    )


def _by_key(now: datetime, keys: Sequence[str], limit: int):
    """The named jobs still pending and due, oldest first (a request's outbox)."""
    return (
        select(ScheduledJob.id)
        .where(due_filter(now, keys))
        .order_by(col(ScheduledJob.due_at), col(ScheduledJob.id))
        .limit(limit)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )


def _fair_choice(now: datetime, limit: int):
    """The due jobs a batch takes, round-robin by workspace: each due job is numbered within
    its workspace (oldest first), and the batch takes every workspace's first, then every
    one's second, … (by that number, then due time and id).

    PostgreSQL refuses FOR UPDATE beside a window function in one SELECT, so the numbering is
    an inner subquery and the lock is taken in the outer one, on the job table only (OF), with
    the due filter repeated there: a row another process claimed meanwhile is read again as
    it is now when locked (READ COMMITTED) and dropped if no longer due, as the plain claim
    did. The cost is one read of every due job a claim (their number, not the table's, through
    the same partial indexes): at 10,000 due prompts, a few milliseconds a batch."""
    due = due_filter(now)
    turn = (
        func.row_number()
        .over(
            partition_by=col(ScheduledJob.team_id),
            order_by=(col(ScheduledJob.due_at), col(ScheduledJob.id)),
        )
        .label("turn")
    )
    ranked = (
        select(col(ScheduledJob.id).label("id"), col(ScheduledJob.due_at).label("due_at"), turn)
        .where(due)
        .subquery("ranked")
    )
    return (
        select(ScheduledJob.id)
        .join(ranked, ranked.c.id == col(ScheduledJob.id))
        .where(due)
        .order_by(ranked.c.turn, ranked.c.due_at, ranked.c.id)
        .limit(limit)
        .with_for_update(of=ScheduledJob.__table__, skip_locked=True)
        .scalar_subquery()
    )


def claim(
    db: Database,
    *,
    owner: str,
    now: datetime,
    limit: int,
    keys: Sequence[str] | None = None,
    leased_at: datetime | None = None,
) -> list[ClaimedJob]:
    """Lease up to `limit` due jobs to `owner`, in turn by workspace (`claim_statement`), and
    commit before returning; returned in that turn (`in_turn`).

    With `keys`, only those jobs, and only while pending (the outbox sending what a request
    just planned; whatever another process already holds is left to it).
    """
    with db.session() as session:
        statement = claim_statement(
            owner=owner, now=now, limit=limit, keys=keys, leased_at=leased_at
        )
        rows = session.execute(statement).all()
    claimed = [
        ClaimedJob(
            id=r.id,
            team_id=r.team_id,
            key=r.key,
            kind=r.kind,
            due_at=r.due_at,
            payload=dict(r.payload),
            attempts=r.attempts,
            cadence_id=r.cadence_id,
            checkin_id=r.checkin_id,
            user_id=r.user_id,
            error=r.error,
            lookups_failed=r.lookups_failed,
            planned_at=r.created_at,
            unknown_until=r.unknown_until,
            lookup_below=r.lookup_below,
            secret=r.secret,
        )
        for r in rows
    ]
    return in_turn(claimed)


def in_turn(claimed: Sequence[ClaimedJob]) -> list[ClaimedJob]:
    """The claimed jobs in the order they are run: each workspace's oldest, then each one's
    next, … (as `_fair_choice` chose them; RETURNING gives no order). Run oldest first across
    the batch instead, the lanes of a workspace planned first would take the pass's threads
    before the others' started."""
    turns: dict[str, int] = {}
    ranked = []
    for job in sorted(claimed, key=lambda j: (j.due_at, j.id)):
        turn = turns[job.team_id] = turns.get(job.team_id, 0) + 1
        ranked.append((turn, job))
    return [job for _, job in sorted(ranked, key=lambda t: (t[0], t[1].due_at, t[1].id))]


def finish(
    connection: Connection,
    job: ClaimedJob,
    *,
    owner: str,
    now: datetime,
    status: str,
    channel: str | None = None,
    ts: str | None = None,
    error: str | None = None,
    retry_at: datetime | None = None,
    refund: bool = False,
    lookups_failed: int = 0,
    lookup_below: str | None = None,
) -> bool:
    """Record the outcome if `owner` still holds the lease; False when the lease was lost.
    `refund`: this claim does not count as one of the job's attempts (it sent nothing).
    `lookups_failed` is written with an `error` (a new error starts the count again), and so is
    `lookup_below`: where a lookup got to, kept only by a lookup that failed part way.

    Takes a Connection or a Session (both execute Core statements)."""
    values: dict[str, Any] = {
        "status": status,
        "updated_at": now,
        "lease_owner": None,
        "lease_expires_at": None,
    }
    if channel is not None:
        values["result_channel"] = channel
    if ts is not None:
        values["result_ts"] = ts
    if error is not None:
        values["error"] = error[:500]
        values["lookups_failed"] = lookups_failed
        values["lookup_below"] = lookup_below
    if retry_at is not None:
        values["due_at"] = retry_at
    table = ScheduledJob.__table__
    if refund:
        values["attempts"] = table.c.attempts - 1
    if status != PENDING:  # the job has ended: what its call needed is needed no more
        values["secret"] = None
    # A Core UPDATE of the table, not of the entity: through a Session an ORM-enabled UPDATE
    # flushes it and then evaluates its WHERE against every job the session holds, which was a
    # third of recording a channel prompt sent (nothing reads a job's instance after this).
    result = connection.execute(
        update(table)
        .where(table.c.id == job.id)
        .where(table.c.lease_owner == owner)
        .where(table.c.status == CLAIMED)
        .values(**values)
    )
    if job.error == RESTORED and isinstance(connection, OrmSession):
        _restored_cause(connection, job, now)  # type: ignore[arg-type]
    return result.rowcount == 1


def release(db: Database, *, owner: str, now: datetime, ids: Sequence[int]) -> list[str]:
    """Hand back jobs `owner` claimed and never started (a pass stopping on SIGTERM): pending
    again, due as before, the lease cleared and the claim's attempt not counted, so another
    process sends them now rather than after the lease runs out. Only the `ids` named: a job
    this process started may have reached Slack, and must wait for its outcome to be recorded
    or, failing that, for its lease to run out and the look-up that follows. The keys
    released."""
    if not ids:
        return []
    with db.begin() as connection:
        result = connection.execute(
            update(ScheduledJob)
            .where(col(ScheduledJob.id).in_(list(ids)))
            .where(col(ScheduledJob.lease_owner) == owner)
            .where(col(ScheduledJob.status) == CLAIMED)
            .values(
                status=PENDING,
                lease_owner=None,
                lease_expires_at=None,
                attempts=ScheduledJob.attempts - 1,
                updated_at=now,
            )
            .returning(col(ScheduledJob.key))
        )
        return list(result.scalars())


def finish_sent(
    connection: Connection,
    sent: Sequence[tuple[int, str | None, str | None]],
    *,
    owner: str,
    now: datetime,
) -> set[int]:
    """Record several jobs as sent, each with its (channel, ts), in one UPDATE fenced like
    `finish` (only jobs `owner` still holds); the ids recorded."""
    if not sent:
        return set()
    ids = [job_id for job_id, _, _ in sent]
    channels = {job_id: channel for job_id, channel, _ in sent if channel is not None}
    stamps = {job_id: ts for job_id, _, ts in sent if ts is not None}
    job_id = col(ScheduledJob.id)
    result = connection.execute(
        update(ScheduledJob)
        .where(job_id.in_(ids))
        .where(col(ScheduledJob.lease_owner) == owner)
        .where(col(ScheduledJob.status) == CLAIMED)
        .values(
            status=SENT,
            updated_at=now,
            lease_owner=None,
            lease_expires_at=None,
            secret=None,
            result_channel=case(channels, value=job_id, else_=col(ScheduledJob.result_channel))
            if channels
            else col(ScheduledJob.result_channel),
            result_ts=case(stamps, value=job_id, else_=col(ScheduledJob.result_ts))
            if stamps
            else col(ScheduledJob.result_ts),
        )
        .returning(job_id)
    )
    return set(result.scalars())


def cancel_moot(session: Session, *, prefix: str, kind: str, keep: set[str], now: datetime) -> None:
    """Cancel the pending jobs of `kind` whose keys start with `prefix` and are not in `keep`:
    the clocks a record's change made moot (its clock keys name the facts they follow from)."""
    pending = session.exec(
        select(ScheduledJob.key)
        .where(col(ScheduledJob.key).startswith(prefix, autoescape=True))
        .where(col(ScheduledJob.kind) == kind)
        .where(col(ScheduledJob.status) == PENDING)
    ).all()
    moot = [key for key in pending if key not in keep]
    if moot:
        cancel(session, now=now, keys=moot)


def cancel(
    session: Session,
    *,
    now: datetime,
    cadence_id: int | None = None,
    checkin_id: int | None = None,
    user_id: str | None = None,
    kinds: Sequence[str] = (),
    keys: Sequence[str] = (),
    except_kinds: Sequence[str] = (),
) -> int:
    """Cancel pending jobs matching all the given filters (of `kinds` if given, of none of
    `except_kinds`); how many were cancelled."""
    statement = update(ScheduledJob).where(col(ScheduledJob.status) == PENDING)
    if cadence_id is not None:
        statement = statement.where(col(ScheduledJob.cadence_id) == cadence_id)
    if checkin_id is not None:
        statement = statement.where(col(ScheduledJob.checkin_id) == checkin_id)
    if user_id is not None:
        statement = statement.where(col(ScheduledJob.user_id) == user_id)
    if kinds:
        statement = statement.where(col(ScheduledJob.kind).in_(list(kinds)))
    if keys:
        statement = statement.where(col(ScheduledJob.key).in_(list(keys)))
    if except_kinds:
        statement = statement.where(col(ScheduledJob.kind).not_in(list(except_kinds)))
    return session.execute(statement.values(status=CANCELLED, updated_at=now, secret=None)).rowcount


# What a restored job's error says: its outcome is unknown because of the restore.
RESTORED = f"{OUTCOME_UNKNOWN}: restored from a backup"


def mark_restored(session: Session, *, now: datetime, since: datetime) -> int:
    """After a backup is restored: every job pending or claimed and due by `now` may already
    have been sent, after the backup's moment, by the database the backup was taken from.
    Each becomes a job of unknown outcome (looked for in Slack by its metadata before it is
    sent again), its lease let go, and its planned moment at most `since` (the backup's
    moment or earlier) so that the lookup reaches back to the backup. How many were marked."""
    statement = (
        update(ScheduledJob)
        .where(col(ScheduledJob.status).in_([PENDING, CLAIMED]))
        .where(col(ScheduledJob.due_at) <= now)
        .values(
            status=PENDING,
            lease_owner=None,
            lease_expires_at=None,
            error=RESTORED,
            lookups_failed=0,
            created_at=case(
                (col(ScheduledJob.created_at) > since, since), else_=col(ScheduledJob.created_at)
            ),
            updated_at=now,
        )
    )
    return session.execute(statement).rowcount


RESTORED_CAUSE = "cadence_restored_cause"


def _restored_cause(session: Session, job: ClaimedJob, now: datetime) -> None:
    """A restored job's outcome is being recorded: what it plans in this transaction (a
    refused DM's mention in the channel, an alert) may have gone out too, from the database
    the backup was taken from, so those jobs are of unknown outcome as well, looked for since
    the restored job was planned. Those it planned already in this transaction are marked
    now, the rest as they are planned."""
    since = job.planned_at or now
    session.info[RESTORED_CAUSE] = since
    keys = session.info.get(PLANNED_KEYS) or []
    if keys:
        session.execute(
            update(ScheduledJob)
            .where(col(ScheduledJob.key).in_(list(keys)))
            .where(col(ScheduledJob.status) == PENDING)
            .values(
                error=RESTORED,
                created_at=case(
                    (col(ScheduledJob.created_at) > since, since),
                    else_=col(ScheduledJob.created_at),
                ),
            )
        )


def _inherit_restored(row: dict[str, Any], since: datetime) -> dict[str, Any]:
    row["error"] = RESTORED
    row["created_at"] = min(row["created_at"], since)
    return row


def last_change(session: Session) -> datetime | None:
    """The latest moment any job was planned or changed: a restored database's backup was
    taken no earlier (a lower bound of the backup's moment)."""
    return session.execute(select(func.max(col(ScheduledJob.updated_at)))).scalar()
