"""A year of data (issue 23, item 5): the engine prunes its own bookkeeping, and stays flat.

- Every job kind is either pruned once finished for `pruning.FINISHED_KEPT` or kept, with the
  reason (a new kind is a choice, not a default).
- A year-old database (tests/year_seed.py: a year of weekly check-ins and their finished jobs
  for many engagements, receipts every half hour, heartbeats of processes long gone, beside an
  engagement set up through Slack whose first prompt went out): `python -m bot tick` prunes it
  in bounded batches over a few passes, each saying what it deleted; exactly the finished jobs
  of prunable kinds older than a month go (the clocks, the once-ever notices and a failed
  check-in thread stay, and nothing pending), receipts older than a day, heartbeats silent a
  day; then an idle pass says nothing.
- Exactly once still holds for an occurrence whose prompt job was pruned: the check-in's own
  unique row is what makes planning it again a no-op (checked by planning it directly, beside
  a slot not yet planned, which does plan), and a pass re-planning from that slot sends
  nothing: the vendor's DM for it stays one.
- The engine's hot queries read an index, not the whole table, on the year-old database:
  PostgreSQL's EXPLAIN and SQLite's EXPLAIN QUERY PLAN of the claim (both branches and by
  keys), the planner's lookup of each cadence's last check-in, and the pruning's own deletes;
  and a Home tab's reads by person (the check-ins waiting on them beside a year they answered,
  the open concerns they own or raised beside a year of resolved ones), and its figures' read
  of each update's latest revision beside a year of revisions.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from conftest import TEAM, VENDOR, Cadence
from engine_flows import checkins_of, messages_per_job, schedule, tick, utc
from flows import create_engagement
from sqlalchemy import Connection, event, select, update
from sqlmodel import Session, col
from year_seed import seed_resolved_concerns, seed_weekly_updates, seed_year

from bot.domain import checkins, concerns, figures
from bot.engine import planner
from bot.platform import clock
from storage import job_keys, jobs, pruning
from storage.db import Database
from storage.jobs import JobKind
from storage.models import Cadence as CadenceRow
from storage.models import CheckIn, Engagement, ScheduledJob, SlackRequest, TickerHeartbeat

CREATED = utc(2026, 11, 25, 10, 0)
FIRST = utc(2026, 11, 30, 8, 0)  # the real cadence's first prompt: Monday 09:00 in Berlin
LATER = utc(2027, 1, 12, 8, 0)  # six weeks on: that prompt's job finished over a month ago
COPIES = 60  # engagements with a year of history: 3,120 check-ins, ~19,000 finished jobs

PRUNED_LINE = re.compile(
    r"pruned (\d+) finished jobs, (\d+) request receipts, (\d+) heartbeats, "
    r"(\d+) OAuth states(; more)?"
)


def test_every_job_kind_is_pruned_or_kept_for_a_reason():
    assert set(pruning.PRUNABLE) | set(pruning.KEPT) == set(JobKind)
    assert not set(pruning.PRUNABLE) & set(pruning.KEPT)
    assert all(reason for reason in [*pruning.PRUNABLE.values(), *pruning.KEPT.values()])
    # The messages told once ever are the kept keys' forms.
    assert job_keys.notice(1, "C1", "not_in_channel", "U1").startswith(pruning.KEPT_KEYS)
    assert job_keys.archived(1).startswith(pruning.KEPT_KEYS)
    assert not job_keys.to_lead(job_keys.overdue(1), "U1").startswith(pruning.KEPT_KEYS)


# --- a year-old database --------------------------------------------------------------------------


def year_old(cadence: Cadence) -> tuple[int, int]:
    """An engagement and its weekly cadence set up through Slack (the copies' template); the
    ids."""
    with clock.fixed_at(CREATED):
        engagement = create_engagement(cadence)
    row = schedule(cadence, CREATED)
    assert engagement.id is not None and row.id is not None
    return engagement.id, row.id


def rows_of(db: Database) -> dict[str, list[Any]]:
    with db.read_session() as session:
        return {
            "jobs": list(
                session.execute(
                    select(
                        ScheduledJob.id,
                        ScheduledJob.kind,
                        ScheduledJob.key,
                        ScheduledJob.status,
                        ScheduledJob.updated_at,
                    )
                ).all()
            ),
            "receipts": list(session.execute(select(SlackRequest.id, SlackRequest.at)).all()),
            "heartbeats": list(session.execute(select(TickerHeartbeat.process)).all()),
        }


def prunable(job: Any, now: datetime) -> bool:
    """The rule, written again row by row (the SQL is storage/pruning.py's)."""
    return (
        job.status in ("sent", "done", "failed", "cancelled")
        and job.updated_at < now - pruning.FINISHED_KEPT
        and job.kind in {k.value for k in pruning.PRUNABLE}
        and not job.key.startswith(pruning.KEPT_KEYS)
        and not (job.kind == JobKind.CHECKIN_THREAD and job.status == "failed")
    )


@pytest.mark.slow  # a year of data seeded
def test_a_year_old_database_is_pruned_in_batches_and_exactly_once_holds(
    cadence: Cadence, monkeypatch
):
    engagement_id, cadence_id = year_old(cadence)
    tick(cadence, monkeypatch, FIRST)
    (first,) = checkins_of(cadence)
    first_prompt = job_keys.prompt(first.id, VENDOR)
    assert messages_per_job(cadence.fake)[first_prompt] == 1

    wall = datetime.now(UTC)
    year = seed_year(
        cadence.db, engagement_id=engagement_id, cadence_id=cadence_id, copies=COPIES,
        until=LATER, wall=wall,
    )  # fmt: skip
    with cadence.db.session() as session:  # a process that ticks now
        session.add(TickerHeartbeat(process="alive-host:1", last_tick_at=wall))
    before = rows_of(cadence.db)
    doomed = {j.id for j in before["jobs"] if prunable(j, LATER)}
    kept_old = {
        j.id
        for j in before["jobs"]
        if j.updated_at < LATER - pruning.FINISHED_KEPT and j.id not in doomed
    }
    old_receipts = {r.id for r in before["receipts"] if r.at < LATER - timedelta(days=1)}
    assert len(doomed) > pruning.BATCH * pruning.MAX_BATCHES, len(doomed)  # passes, not one
    assert first_prompt in {j.key for j in before["jobs"] if j.id in doomed}
    assert kept_old and len(old_receipts) > pruning.BATCH * pruning.MAX_BATCHES

    # Passes at LATER until one prunes nothing more: each deletes at most MAX_BATCHES batches
    # a table and says so; the counts add up to what the rule names.
    counted = {"jobs": 0, "receipts": 0, "heartbeats": 0}
    passes = 0
    while True:
        lines = [m for line in tick(cadence, monkeypatch, LATER) if (m := PRUNED_LINE.search(line))]
        passes += 1
        if not lines:
            break
        (found,) = lines
        jobs_n, receipts_n, beats_n = (int(n) for n in found.groups()[:3])
        assert jobs_n <= pruning.BATCH * pruning.MAX_BATCHES
        assert receipts_n <= pruning.BATCH * pruning.MAX_BATCHES
        counted["jobs"] += jobs_n
        counted["receipts"] += receipts_n
        counted["heartbeats"] += beats_n
        assert passes < 10, "pruning never ends"
    assert passes >= 3  # a year is more than one pass's batches: the first passes said "more"
    assert counted == {
        "jobs": len(doomed),
        "receipts": len(old_receipts),
        "heartbeats": year.heartbeats,
    }

    after = rows_of(cadence.db)
    left = {j.id for j in after["jobs"]}
    assert not doomed & left  # every one the rule names is gone
    assert kept_old <= left  # the clocks, the once-ever notices, the failed thread: kept
    assert all(
        j.updated_at >= LATER - pruning.FINISHED_KEPT or j.id in kept_old for j in after["jobs"]
    )
    assert all(r.at >= LATER - timedelta(days=1) for r in after["receipts"])
    assert {p for (p,) in after["heartbeats"]} == {"alive-host:1", tick_process(after)}

    # Exactly once, for the occurrence whose prompt job was pruned.
    assert first_prompt not in {j.key for j in after["jobs"]}
    assert_planning_it_again_plans_nothing(cadence.db, cadence_id, first)
    with cadence.db.session() as session:  # a pass that plans from the first slot again
        session.execute(
            update(CadenceRow)
            .where(col(CadenceRow.id) == cadence_id)
            .values(next_run_at=first.scheduled_for, next_slot=first.occurrence_key)
        )
    tick(cadence, monkeypatch, LATER + timedelta(minutes=1))
    assert messages_per_job(cadence.fake)[first_prompt] == 1
    assert first_prompt not in {j.key for j in rows_of(cadence.db)["jobs"]}


def tick_process(after: dict[str, list[Any]]) -> str:
    """This process's own heartbeat (the test ticks in it)."""
    (name,) = [p for (p,) in after["heartbeats"] if not p.startswith(("alive-", "gone-"))]
    return name


def assert_planning_it_again_plans_nothing(db: Database, cadence_id: int, first: CheckIn):
    """The guard itself: opening the first occurrence again plans no job, while a slot never
    planned (a minute later, same cadence) does: the call would plan, the check-in's unique
    row is what stops it."""
    with db.session() as session:
        cadence_row = session.get(CadenceRow, cadence_id)
        engagement = session.get(Engagement, first.engagement_id)
        assert cadence_row is not None and engagement is not None

        def open_at(slot_key: str, at: datetime) -> tuple[str | None, list[dict]]:
            rows: list[dict] = []
            status = checkins.open_occurrence(
                session, cadence=cadence_row, engagement=engagement,
                slot=datetime.fromisoformat(slot_key), at=at, now=at, people=[VENDOR],
                away=set(), zones={}, job_rows=rows,
            )  # fmt: skip
            return status, rows

        assert open_at(first.occurrence_key, first.scheduled_for) == (None, [])
        status, planned = open_at("2026-11-30T09:01", first.scheduled_for + timedelta(minutes=1))
        assert status == checkins.OPEN
        assert any(row["kind"] == JobKind.PROMPT for row in planned)
        session.rollback()


# --- EXPLAIN on the year-old database -----------------------------------------------------------


def captured(db: Database, run: Callable[[Session], Any]) -> list[tuple[str, Any]]:
    """The statements `run` sends (SQL and parameters), in a transaction rolled back."""
    sent: list[tuple[str, Any]] = []

    def catch(_conn, _cursor, sql, parameters, _context, _executemany):
        sent.append((sql, parameters))

    with db.engine.connect() as conn:
        event.listen(conn, "before_cursor_execute", catch)
        try:
            with Session(bind=conn) as session:
                run(session)
        finally:
            event.remove(conn, "before_cursor_execute", catch)
            conn.rollback()
    return sent


def plan_lines(conn: Connection, sql: str, parameters: Any) -> list[str]:
    """How the database reads the tables for `sql`: PostgreSQL's plan nodes ("Seq Scan on
    scheduledjob", "Index Scan using … on …"), SQLite's EXPLAIN QUERY PLAN details."""
    if conn.dialect.name == "postgresql":
        (plan,) = conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + sql, parameters).one()
        return [
            f"{node['Node Type']} using {node.get('Index Name')} on {node.get('Relation Name')}"
            for node in _nodes(plan[0]["Plan"])
            if "Relation Name" in node or "Index Name" in node
        ]
    rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, parameters).all()
    return [row[-1] for row in rows]


def _nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", ()):
        yield from _nodes(child)


def full_scans(lines: list[str], tables: tuple[str, ...]) -> list[str]:
    """The lines that read a whole table of `tables` (no index)."""
    found = []
    for line in lines:
        for table in tables:
            if re.search(rf"\bSeq Scan using None on {table}\b", line) or re.fullmatch(
                rf"SCAN {table}( USING COVERING INDEX \w+)?", line
            ):
                found.append(line)
    return found


GROWING = ("scheduledjob", "checkin", "checkinrecipient", "concern", "slackrequest")


@pytest.mark.slow  # a year of data seeded
def test_the_engines_hot_queries_read_an_index_on_a_year_old_database(
    cadence: Cadence, monkeypatch
):
    engagement_id, cadence_id = year_old(cadence)
    tick(cadence, monkeypatch, FIRST)
    year = seed_year(
        cadence.db, engagement_id=engagement_id, cadence_id=cadence_id, copies=COPIES,
        until=LATER, wall=datetime.now(UTC),
    )  # fmt: skip
    seed_resolved_concerns(cadence.db, year.engagements, team_id=TEAM, owner=VENDOR, until=LATER)
    seed_weekly_updates(cadence.db, year.engagements, team_id=TEAM, author=VENDOR, until=LATER)
    analyze(cadence.db)

    def claim(session: Session) -> None:
        session.execute(jobs.claim_statement(owner="me", now=LATER, limit=50)).all()

    def claim_keys(session: Session) -> None:
        keys = [f"year:pending:cadence={c}" for c in year.cadences[:3]]
        session.execute(jobs.claim_statement(owner="me", now=LATER, limit=3, keys=keys)).all()

    def last_opened(session: Session) -> None:
        due = list(
            session.execute(
                select(CadenceRow).where(col(CadenceRow.id).in_(year.cadences[:25]))
            ).scalars()
        )
        for row in due:  # as the planner finds them: due now
            row.next_run_at = LATER
        planner.last_opened(session, due)

    def home_reads(session: Session) -> None:  # the vendor's: one check-in waits on them
        assert checkins.waiting_on(session=session, team_id=TEAM, user_id=VENDOR)
        assert concerns.open_of_person(session=session, team_id=TEAM, person=VENDOR, limit=9).total

    def home_figures(session: Session) -> None:  # a Home's ten engagements, two months back
        found = figures.load(
            session, team_id=TEAM, engagement_ids=year.engagements[:10], now=LATER, weeks=8
        )
        assert all(inputs.updates[-1].kpis for inputs in found.values())

    def prune(session: Session) -> None:
        conn = session.connection()
        conn.execute(pruning.jobs_statement(LATER))
        conn.execute(pruning.receipts_statement(LATER))

    # Each run's indexes (all of one of the sets: the planners may choose differently, each
    # reading only the rows it could want).
    hot: dict[Callable[[Session], Any], list[set[str]]] = {
        claim: [{"ix_scheduledjob_pending_due", "ix_scheduledjob_claimed_lease"}],
        claim_keys: [{"uq_scheduledjob_key"}, {"ix_scheduledjob_pending_due"}],
        last_opened: [{"ix_checkin_cadence_scheduled"}],
        home_reads: [  # the concerns by person, or the open ones by status (both few)
            {
                "ix_checkinrecipient_pending_user",
                "ix_concern_team_owner",
                "ix_concern_team_raised_by",
            },
            {"ix_checkinrecipient_pending_user", "ix_concern_status_sla"},
        ],
    }
    assert_plans(cadence.db, hot)
    # A Home's figures: each update's latest revision by its index, not every revision of a
    # year hashed. (Its check-ins' recipients are left to the planner: at this size reading
    # 3,000 rows whole is PostgreSQL's right choice, and at a hundred workspaces' it is not.)
    revisions = [
        {"uq_revision_update_revision"},  # PostgreSQL
        {"ix_updaterevision_update_id"},
        {"sqlite_autoindex_updaterevision_1"},  # SQLite names a unique constraint's index so
    ]
    assert_plans(cadence.db, {home_figures: revisions}, growing=("updaterevision",))

    # Pruning itself, as every pass after the first runs it: with a year pruned (the first
    # passes' batches may scan, as nearly every finished row is theirs to delete, and stop at
    # a batch), nothing old is left and each pass's check must read the index, not the table.
    while pruning.prune(cadence.db, now=LATER, wall=datetime.now(UTC)).more:
        pass
    analyze(cadence.db)
    assert_plans(cadence.db, {**hot, prune: [{"ix_scheduledjob_finished", "ix_slackrequest_at"}]})


def analyze(db: Database) -> None:
    """What autovacuum (PostgreSQL) or `PRAGMA optimize` (SQLite) would have done by now."""
    with db.engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
        conn.commit()


def test_pruning_reads_its_index_where_the_finished_jobs_are_all_of_one_kind(
    sqlite_migrated_url: str,
):
    """Nearly every finished job a prompt (the index's first column, the kind, then narrows
    nothing): told only `unlikely`'s one in sixteen for "finished before the cutoff", SQLite's
    planner read the whole job table for every pass's prune batch, 300 ms at a million jobs
    (bench/engine.py (a)). Told one in a thousand, it probes the index, whatever the mix."""
    db = Database.from_url(sqlite_migrated_url)
    recent = LATER - timedelta(days=1)  # nothing old enough to prune

    def job(n: int, status: str) -> dict[str, Any]:
        return {
            "team_id": TEAM, "key": f"prompt:n={n}", "kind": JobKind.PROMPT, "due_at": recent,
            "payload": {}, "status": status, "attempts": int(status != "pending"),
            "user_id": VENDOR, "created_at": recent, "updated_at": recent,
        }  # fmt: skip

    try:
        with db.engine.begin() as conn:
            conn.execute(
                ScheduledJob.__table__.insert(),
                [job(n, "pending" if n % 10 == 0 else "sent") for n in range(20_000)],
            )
            conn.exec_driver_sql("ANALYZE")

        def prune(session: Session) -> None:
            session.execute(pruning.jobs_statement(LATER))

        assert_plans(db, {prune: [{"ix_scheduledjob_finished"}]}, growing=("scheduledjob",))
    finally:
        db.dispose()


def assert_plans(
    db: Database,
    expected: dict[Callable[[Session], Any], list[set[str]]],
    growing: tuple[str, ...] = GROWING,
):
    """Each run's statements on the `growing` tables read none of them whole, and use all the
    indexes of one of its sets."""
    sent_by = {
        run: [
            (sql, params)
            for sql, params in captured(db, run)
            if any(re.search(rf"\b{t}\b", sql) for t in growing)
        ]
        for run in expected
    }
    with db.read() as conn:  # EXPLAIN writes nothing (nor holds SQLite's write lock)
        for run, indexes in expected.items():
            sent = sent_by[run]
            assert sent, run.__name__
            lines = [line for sql, params in sent for line in plan_lines(conn, sql, params)]
            assert not full_scans(lines, growing), (run.__name__, lines)
            used = " ".join(lines)
            assert any(all(i in used for i in option) for option in indexes), (
                run.__name__,
                lines,
            )
