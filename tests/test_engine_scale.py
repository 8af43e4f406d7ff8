"""The engine stays flat as the job table grows (issue 10, item 2).

- The claim reads only what it could take: each branch of its filter (a pending job that is
  due; a claimed job whose lease ran out) goes through an index of its own, checked with
  PostgreSQL's `EXPLAIN` on the exact statements `storage.jobs.claim` runs, over a table
  holding many future and finished jobs.
- A pass runs until nothing due is left (no cap on claim rounds), records what it sent in
  batches, and says loudly when its time limit stops it early.
- The Home refreshes a batch of occurrences asks for are found with one query, not one each,
  and whom a claimed batch of prompts asks is read once for the batch.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from conftest import TEAM, VENDOR, Cadence, make_settings
from engine_flows import jobs_of, schedule, tick, tick_status, utc
from flows import create_engagement
from sqlalchemy import Connection, Engine, event, text
from sqlalchemy.exc import OperationalError
from sqlmodel import col, select

from bot.demo.fake_slack import FakeSlack
from bot.domain import home
from bot.engine import delivery, planner, runner
from bot.engine import tick as engine_tick
from bot.entry.cli import EXIT_DATABASE
from bot.platform import clock
from bot.platform.services import Services
from storage import jobs
from storage.db import Database
from storage.models import Cadence as CadenceRow
from storage.models import CheckIn, ScheduledJob

NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
SET_UP = utc(2026, 11, 25, 10, 0)
FIRST_PROMPT = utc(2026, 11, 30, 8, 0)  # Monday 09:00 in Berlin
FUTURE_JOBS = 20_000
FINISHED_JOBS = 60_000


def requires_postgresql(db: Database) -> None:
    if db.engine.dialect.name != "postgresql":
        pytest.skip(
            "EXPLAIN plans are PostgreSQL's: the claim's index use is checked there, where "
            "several processes claim at once; SQLite plans differently (one writer at a time)"
        )


def seed_a_large_job_table(db: Database) -> None:
    """Many future and finished jobs, a few held by live leases, a few due, and ANALYZE, as
    autovacuum would have left a busy database."""
    with db.engine.begin() as conn:
        common = "'T0CADENCE', 'prompt', '{}'::json, :now, :now"
        conn.execute(
            text(
                "INSERT INTO scheduledjob (team_id, kind, payload, created_at, updated_at, key,"
                " due_at, status, attempts) "
                f"SELECT {common}, 'future:' || g, :now + g * interval '1 minute', 'pending', 0"
                f" FROM generate_series(1, {FUTURE_JOBS}) g"
            ),
            {"now": NOW.replace(tzinfo=None)},
        )
        conn.execute(
            text(
                "INSERT INTO scheduledjob (team_id, kind, payload, created_at, updated_at, key,"
                " due_at, status, attempts, result_channel, result_ts) "
                f"SELECT {common}, 'finished:' || g, :now - g * interval '1 minute',"
                " (ARRAY['sent', 'done', 'cancelled', 'failed'])[1 + g % 4], 1, 'D0', '1.0'"
                f" FROM generate_series(1, {FINISHED_JOBS}) g"
            ),
            {"now": NOW.replace(tzinfo=None)},
        )
        conn.execute(
            text(
                "INSERT INTO scheduledjob (team_id, kind, payload, created_at, updated_at, key,"
                " due_at, status, attempts, lease_owner, lease_expires_at) "
                f"SELECT {common}, 'held:' || g, :now - interval '1 minute', 'claimed', 1,"
                " 'another', :now + interval '3 minutes' FROM generate_series(1, 30) g"
            ),
            {"now": NOW.replace(tzinfo=None)},
        )
        conn.execute(
            text(
                "INSERT INTO scheduledjob (team_id, kind, payload, created_at, updated_at, key,"
                " due_at, status, attempts) "
                f"SELECT {common}, 'due:' || g, :now - g * interval '1 second', 'pending', 0"
                " FROM generate_series(1, 5) g"
            ),
            {"now": NOW.replace(tzinfo=None)},
        )
        conn.execute(
            text(
                "INSERT INTO scheduledjob (team_id, kind, payload, created_at, updated_at, key,"
                " due_at, status, attempts, lease_owner, lease_expires_at) "
                f"SELECT {common}, 'abandoned:' || g, :now - interval '10 minutes', 'claimed',"
                " 1, 'dead', :now - interval '5 minutes' FROM generate_series(1, 3) g"
            ),
            {"now": NOW.replace(tzinfo=None)},
        )
    with db.engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE scheduledjob")
        conn.commit()


def explained(conn: Connection, statement: Any) -> dict[str, Any]:
    """PostgreSQL's plan (EXPLAIN, FORMAT JSON) of `statement` exactly as SQLAlchemy sends it:
    the SQL text and parameters are caught on their way to the driver."""

    def explain(_conn, _cursor, sql, parameters, _context, _executemany):
        return "EXPLAIN (FORMAT JSON) " + sql, parameters

    event.listen(conn, "before_cursor_execute", explain, retval=True)
    try:
        result = conn.execute(statement)
        [(plan,)] = result.cursor.fetchall()
    finally:
        event.remove(conn, "before_cursor_execute", explain)
        conn.rollback()
    return plan[0]["Plan"]


def nodes(plan: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield plan
    for child in plan.get("Plans", ()):
        yield from nodes(child)


def reads_of_jobs(plan: dict[str, Any]) -> list[tuple[str, str | None]]:
    """(node type, index) of every node of the plan that reads the job table."""
    return [
        (node["Node Type"], node.get("Index Name"))
        for node in nodes(plan)
        if node.get("Relation Name") == "scheduledjob" or "Index Name" in node
    ]


def test_each_branch_of_the_claim_reads_an_index_of_its_own(db: Database):
    requires_postgresql(db)
    seed_a_large_job_table(db)
    with db.engine.connect() as conn:
        plan = explained(conn, jobs.claim_statement(owner="me", now=NOW, limit=50))
    reads = reads_of_jobs(plan)
    assert ("Seq Scan", None) not in reads, reads
    used = {index for _, index in reads}
    assert {"ix_scheduledjob_pending_due", "ix_scheduledjob_claimed_lease"} <= used, reads

    # And the claim takes exactly what is due: the due jobs and the abandoned leases (oldest
    # first), not the future ones, the finished ones or those another process holds.
    claimed = jobs.claim(db, owner="me", now=NOW, limit=50)
    assert sorted(j.key.split(":")[0] for j in claimed) == ["abandoned"] * 3 + ["due"] * 5
    assert all(j.outcome_unknown for j in claimed if j.key.startswith("abandoned"))


def seed_a_busy_monday(db: Database, busy: int, quiet: int) -> None:
    """`busy` prompts due at 09:00 in one workspace (planned first, so lower ids), `quiet` in
    another due at the same moment, beside the large table of future and finished jobs."""
    with db.engine.begin() as conn:
        for team, prefix, count in (("T0BUSY", "busy", busy), ("T0QUIET", "quiet", quiet)):
            conn.execute(
                text(
                    "INSERT INTO scheduledjob (team_id, kind, payload, created_at, updated_at,"
                    " key, due_at, status, attempts) SELECT :team, 'prompt', '{}', :now, :now,"
                    f" '{prefix}:' || g, :now, 'pending', 0 FROM generate_series(1, {count}) g"
                ),
                {"now": NOW.replace(tzinfo=None), "team": team},
            )
        conn.exec_driver_sql("ANALYZE scheduledjob")


def test_the_fair_claim_reads_the_partial_indexes_with_thousands_due(db: Database):
    """Round-robin by workspace needs every due job numbered: with 5,000 due in one workspace
    and 10 in another, the claim still reads only due jobs, through the partial indexes (no
    sequential scan of the 80,000 others), and the quiet workspace's 10 are in the first batch."""
    requires_postgresql(db)
    seed_a_large_job_table(db)
    seed_a_busy_monday(db, busy=5000, quiet=10)
    with db.engine.connect() as conn:
        plan = explained(conn, jobs.claim_statement(owner="me", now=NOW, limit=50))
    reads = reads_of_jobs(plan)
    assert ("Seq Scan", None) not in reads, reads
    used = {index for _, index in reads}
    assert {"ix_scheduledjob_pending_due", "ix_scheduledjob_claimed_lease"} <= used, reads

    claimed = jobs.claim(db, owner="me", now=NOW, limit=50)
    assert Counter(j.team_id for j in claimed)["T0QUIET"] == 10


def test_a_claimed_batch_takes_each_workspace_in_turn(db: Database):
    """Both databases: 30 due jobs of one workspace planned before 3 of another, and 3 of a
    third due later: a batch of 9 takes 3 of each (each workspace's oldest first), and the
    next batch the rest of the busy one."""
    with db.session() as session:
        for team, count, minute in (("T0BUSY", 30, 0), ("T0QUIET", 3, 0), ("T0LATE", 3, 5)):
            for n in range(count):
                jobs.plan(
                    session,
                    team_id=team,
                    key=f"{team}:{n}",
                    kind="prompt",
                    due_at=NOW - timedelta(minutes=10 - minute, seconds=-n),
                    now=NOW - timedelta(hours=1),
                )
    first = jobs.claim(db, owner="me", now=NOW, limit=9)
    assert Counter(j.team_id for j in first) == {"T0BUSY": 3, "T0QUIET": 3, "T0LATE": 3}
    # … and run in that turn: each workspace's first, then each one's second, …
    assert [j.team_id for j in first[:3]] == ["T0BUSY", "T0QUIET", "T0LATE"]
    assert [j.key for j in first[3:6]] == ["T0BUSY:1", "T0QUIET:1", "T0LATE:1"]
    assert [j.key for j in first if j.team_id == "T0BUSY"] == ["T0BUSY:0", "T0BUSY:1", "T0BUSY:2"]
    second = jobs.claim(db, owner="me", now=NOW, limit=100)
    assert [j.key for j in second] == [f"T0BUSY:{n}" for n in range(3, 30)]


def test_the_outbox_claim_by_keys_reads_the_unique_key_index(db: Database):
    requires_postgresql(db)
    seed_a_large_job_table(db)
    keys = ["due:1", "due:2", "future:7"]
    with db.engine.connect() as conn:
        plan = explained(conn, jobs.claim_statement(owner="me", now=NOW, limit=3, keys=keys))
    reads = reads_of_jobs(plan)
    assert ("Seq Scan", None) not in reads, reads
    assert "uq_scheduledjob_key" in {index for _, index in reads}, reads
    claimed = jobs.claim(db, owner="me", now=NOW, limit=3, keys=keys)
    assert sorted(j.key for j in claimed) == ["due:1", "due:2"]


# --- a pass runs until nothing is due ------------------------------------------------------------


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack(team_id=TEAM) as fake:
        fake.add_user(VENDOR, name="vic.vendor", tz="Asia/Kolkata")
        yield fake


def plan_messages(db: Database, count: int) -> None:
    with db.session() as session:
        for n in range(count):
            delivery.plan_prepared(
                session,
                team_id=TEAM,
                key=f"scale:message={n}",
                to=VENDOR,
                payload={"text": f"message {n}"},
                describe=f"message {n}",
                now=NOW,
            )


def sender_for(db: Database, database_url: str, slack: FakeSlack, batch: int) -> delivery.Sender:
    services = Services(settings=make_settings(database_url, slack), db=db)
    sender = delivery.Sender.for_services(services, NOW, owner="scale-test")
    sender.batch = batch
    return sender


def statuses(db: Database) -> dict[str, int]:
    with db.read_session() as session:
        found = session.exec(select(ScheduledJob.status)).all()
    return {status: found.count(status) for status in set(found)}


def test_a_pass_runs_more_claim_rounds_than_the_old_cap_and_records_every_send(
    db: Database, database_url: str, slack: FakeSlack
):
    """250 jobs claimed one a round: 250 rounds (the old cap stopped at 200, leaving 50 due);
    every message sent once and recorded sent with its channel and ts (in batches)."""
    plan_messages(db, 250)
    sender = sender_for(db, database_url, slack, batch=1)
    assert runner.run_due(sender) == 250
    posted = [c for c in slack.calls_to("chat.postMessage") if c.ok]
    assert len(posted) == 250
    assert len({c.args["text"] for c in posted}) == 250
    assert statuses(db) == {"sent": 250}
    with db.read_session() as session:
        rows = session.exec(select(ScheduledJob)).all()
    assert {r.result_ts for r in rows} == {c.response["ts"] for c in posted}
    assert all(r.lease_owner is None and r.result_channel for r in rows)


def test_a_pass_stopped_by_its_time_limit_says_so_loudly(
    db: Database, database_url: str, slack: FakeSlack, caplog: pytest.LogCaptureFixture
):
    plan_messages(db, 5)
    sender = sender_for(db, database_url, slack, batch=1)
    with caplog.at_level(logging.ERROR, logger="bot.engine.runner"):
        assert runner.run_due(sender, limit_seconds=0) == 0
    assert any("PASS STOPPED EARLY" in r.getMessage() for r in caplog.records)
    assert statuses(db) == {"pending": 5}  # left for the next pass, none held
    assert runner.run_due(sender) == 5
    assert statuses(db) == {"sent": 5}


def test_a_lost_lease_is_not_recorded_as_sent_by_the_batch(
    db: Database, database_url: str, slack: FakeSlack, caplog: pytest.LogCaptureFixture
):
    """The batched record is fenced like a single one: a job another process took over is
    left as that process has it."""
    plan_messages(db, 2)
    sender = sender_for(db, database_url, slack, batch=50)
    first, second = jobs.claim(db, owner=sender.owner, now=NOW, limit=2)
    with db.engine.begin() as conn:  # another process took the second one over
        conn.execute(
            ScheduledJob.__table__.update()
            .where(ScheduledJob.__table__.c.id == second.id)
            .values(lease_owner="another")
        )
    sender.record_sent_later(first, {"channel": "D1", "ts": "1.1"})
    sender.record_sent_later(second, {"channel": "D1", "ts": "1.2"})
    with caplog.at_level(logging.WARNING, logger="bot.engine.delivery"):
        sender.record_now()
    with db.read_session() as session:
        rows = {r.id: r for r in session.exec(select(ScheduledJob)).all()}
    assert (rows[first.id].status, rows[first.id].result_ts) == ("sent", "1.1")
    assert (rows[second.id].status, rows[second.id].lease_owner) == ("claimed", "another")
    assert [r.getMessage() for r in caplog.records] == [
        f"lost the lease on {second.key} before recording it sent"
    ]


def test_a_sender_keeps_a_bounded_number_of_check_ins(db: Database):
    """Its per-pass caches keep the latest entries only, whatever the number of check-ins."""
    cache = delivery.Lru(3)
    for n in range(10):
        cache.put(n, {"blocks": n})
    assert len(cache) == 3 and cache.get(9) == (True, {"blocks": 9})
    assert cache.get(0) == (False, None)
    cache.get(7)  # now the most recent
    cache.put(10, {})
    assert 7 in cache and 8 not in cache
    sender = delivery.Sender(db=db, client_for=lambda team: None, owner="o", now=NOW)  # type: ignore[arg-type]
    assert sender._checkins.size == sender._rendered.size == delivery.CACHED


# --- per batch, not per occurrence or per prompt ---------------------------------------------------


@contextmanager
def statements(db: Database | None = None) -> Iterator[list[str]]:
    """The SELECTs that read rows, run meanwhile on `db`, or on any engine (a `tick` makes its
    own): not a transaction's time limits (PostgreSQL's `set_config`)."""
    seen: list[str] = []
    target = db.engine if db is not None else Engine

    def record(_conn, _cursor, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "set_config(" not in statement:
            seen.append(statement)

    event.listen(target, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(target, "before_cursor_execute", record)


def test_home_refreshes_asked_by_a_batch_of_occurrences_are_found_with_one_query(db: Database):
    """Planning 30 occurrences asks for 30 Home refreshes: one query finds who has opened
    Home among all of them, each person gets one job (their window's first, sent at once),
    and the jobs are planned by the time the transaction's keys are read, or at its commit. A
    later change in the same window is the window's one `then` job, due at its end."""
    opened = [f"U0HOME{i}" for i in range(6)]
    with db.session() as session:
        for user in opened:
            home.opened(session, team_id=TEAM, user_id=user, now=NOW)
    with statements(db) as selects, db.session() as session:
        for n in range(30):
            home.plan_refresh(
                session, team_id=TEAM, user_ids=[f"U0HOME{n % 10}"], cause=f"c={n}", now=NOW
            )
        keys = jobs.planned_keys(session)
    assert len(selects) == 1, selects
    window = home.window_of(NOW).isoformat()
    assert sorted(keys) == [f"home:user={u}:at={window}" for u in opened]

    with db.session() as session:  # nobody reads the keys: planned as it commits
        home.plan_refresh(session, team_id=TEAM, user_ids=opened[:2], cause="later", now=NOW)
    with db.read_session() as session:  # the same window: its one `then` job each, at its end
        later = session.exec(
            select(ScheduledJob.key, ScheduledJob.due_at).where(
                col(ScheduledJob.key).like("%:then")
            )
        ).all()
    assert sorted(k for k, _ in later) == [f"home:user={u}:at={window}:then" for u in opened[:2]]
    assert {due.replace(tzinfo=UTC) for _, due in later} == {home.window_of(NOW) + home.HOME_WINDOW}


def test_a_batch_of_prompts_reads_whom_it_asks_once(cadence: Cadence, monkeypatch):
    """Twelve DM prompts of one check-in, sent in one pass: whom they ask (the recipient rows,
    while the check-in is open) is read once for their claimed batch, not once per prompt;
    each is sent once."""
    people = [f"U0ASK{i:03d}" for i in range(12)]
    for user in people:
        cadence.fake.add_user(user, name=user.lower(), tz="Europe/Berlin")
    with clock.fixed_at(SET_UP):
        create_engagement(cadence, vendor_contacts=people)
    schedule(cadence, SET_UP)
    with statements() as selects:
        tick(cadence, monkeypatch, FIRST_PROMPT)
    assert sorted(j.user_id for j in jobs_of(cadence, "prompt") if j.status == "sent") == sorted(
        people
    )
    recipients = [s for s in selects if "FROM checkinrecipient" in s and "JOIN checkin" in s]
    assert len(recipients) == 1, recipients


# --- exactly once when recording fails after the Slack call ----------------------------------------


def test_a_prompt_whose_record_fails_after_slack_took_it_is_not_sent_again(
    cadence: Cadence, monkeypatch
):
    """The channel prompt is posted, then recording it sent (with the check-in's thread, in
    the batch of sent outcomes) fails for the rest of the pass: the database went away. The
    pass ends saying so, the prompt still leased and its thread not written. The next pass,
    once the lease has run out, finds the prompt in Slack by its metadata instead of posting it
    again, and records it, and the check-in's thread, as the copy Slack has."""
    with clock.fixed_at(SET_UP):
        create_engagement(cadence)
    schedule(cadence, SET_UP, delivery="channel")
    # What the set-up's requests planned (the lead's confirmations) is sent by the app's own
    # outbox first: under load it could still be pending, and the tick would send it and take
    # the injected failure on its batched record instead of the prompt's.
    cadence.wait_until(
        lambda: not [j for j in jobs_of(cadence) if j.status in ("pending", "claimed")
                     and j.due_at <= SET_UP],
        what="the set-up's messages to be sent",
    )  # fmt: skip
    failed: list[str] = []

    def prompt_posted() -> bool:
        """The tick's channel prompt is in Slack (not some other message the app's own outbox
        sent meanwhile: the listener below sees every engine in the process)."""
        return any(
            str(((m.get("metadata") or {}).get("event_payload") or {}).get("job", "")).startswith(
                "prompt:"
            )
            for m in cadence.fake.messages()
        )

    def fail(_conn, _cursor, statement: str, parameters: Any, *_args: Any) -> None:
        if not statement.lstrip().upper().startswith("UPDATE SCHED"):
            return
        # The record of a send (status "sent"), not the runner's next claim, which may run on
        # its own thread between the post and the record when the machine is busy.
        if "'sent'" in repr(parameters) and prompt_posted():
            failed.append(statement)
            raise OperationalError(statement, None, Exception("the database went away"))

    cadence.settle()
    event.listen(Engine, "before_cursor_execute", fail)
    try:
        status, out = tick_status(cadence, monkeypatch, FIRST_PROMPT)
    finally:
        event.remove(Engine, "before_cursor_execute", fail)
    assert failed, "the record after the post never failed"
    assert status == EXIT_DATABASE, out
    (prompt,) = jobs_of(cadence, "prompt")
    assert prompt.status == "claimed", prompt.error
    with cadence.services.db.read_session() as session:
        assert session.get(CheckIn, prompt.checkin_id).thread_ts is None

    tick(cadence, monkeypatch, utc(2026, 11, 30, 9, 0))  # the lease long run out
    copies = [
        m
        for m in cadence.fake.messages()
        if ((m.get("metadata") or {}).get("event_payload") or {}).get("job") == prompt.key
    ]
    assert len(copies) == 1
    (prompt,) = jobs_of(cadence, "prompt")
    assert (prompt.status, prompt.result_ts) == ("sent", copies[0]["ts"])
    with cadence.services.db.read_session() as session:
        assert session.get(CheckIn, prompt.checkin_id).thread_ts == copies[0]["ts"]


# --- planning stops between batches once the pass is asked to stop ---------------------------------


def test_planning_asked_to_stop_leaves_the_cadences_not_reached_due(cadence: Cadence):
    """Stop asked while the first batch is planned (SIGTERM, a pass abandoned as hung): that
    batch is committed and kept, no further batch is taken, and the rest stay due for the
    next pass, which plans them."""
    with clock.fixed_at(SET_UP):
        create_engagement(cadence)
    first = schedule(cadence, SET_UP)
    with cadence.db.session() as session:
        for _ in range(2 * planner.PLAN_BATCH):
            session.add(CadenceRow(**first.model_dump(exclude={"id"})))
    stopping = threading.Event()

    def stop_after_a_commit(_conn: Connection) -> None:
        stopping.set()

    event.listen(cadence.db.engine, "commit", stop_after_a_commit)
    try:
        planner.plan_due(cadence.db, FIRST_PROMPT, stopping=stopping)
    finally:
        event.remove(cadence.db.engine, "commit", stop_after_a_commit)

    def still_due() -> int:
        with cadence.db.read_session() as session:
            due = session.exec(
                select(CadenceRow.id).where(col(CadenceRow.next_run_at) <= FIRST_PROMPT)
            ).all()
        return len(due)

    with cadence.db.read_session() as session:
        opened = session.exec(select(CheckIn.cadence_id)).all()
    assert len(opened) == planner.PLAN_BATCH
    assert still_due() == 2 * planner.PLAN_BATCH + 1 - planner.PLAN_BATCH
    planner.plan_due(cadence.db, FIRST_PROMPT, stopping=threading.Event())
    assert still_due() == 0


def test_a_pass_stopped_before_planning_plans_nothing(cadence: Cadence):
    """The ticker's stop reaches planning too (`Watch.stop`): a pass asked to stop asks Slack
    for nobody's zone, plans nothing and sends nothing; the cadence stays due and the next
    pass prompts."""
    with clock.fixed_at(SET_UP):
        create_engagement(cadence)
    schedule(cadence, SET_UP, options=["recipient_local_time"])
    asked = len(cadence.fake.calls_to("users.info"))
    watch = engine_tick.Watch()
    watch.stop()
    report = engine_tick.tick(cadence.services, FIRST_PROMPT, watch=watch)
    assert report.planned == [] and jobs_of(cadence, "prompt") == []
    assert len(cadence.fake.calls_to("users.info")) == asked
    report = engine_tick.tick(cadence.services, FIRST_PROMPT)
    assert report.planned and "sent" in [j.status for j in jobs_of(cadence, "prompt")]
