"""Transactions that plan jobs take their locks in one order, so none deadlocks another
(PostgreSQL's row locks; SQLite has one writer at a time).

A sent job's outcome is recorded without deadlocking a request that answers the same check-in.
A request locks its rows first and then plans jobs; planning a key (`INSERT … ON CONFLICT DO
NOTHING`) waits on any transaction that holds the job row of that key. The outbox recorded a
sent job by updating its row first and then running the message's callback: the check-in's
thread, once its own message is in the channel. A second person answering at that moment held
the check-in and planned the same thread job: each waited for the other, and PostgreSQL broke
the deadlock by failing one of them, the answer ("Could not save") or the record of the thread.
The callback now runs first and the job's row is updated last (`delivery.finish_after`).

Home jobs are planned in one order (by person), whatever order a transaction asked for them in.
"""

from __future__ import annotations

import logging
import threading
import time

import pytest
from conftest import TEAM, VENDOR
from engine_flows import checkins_of, schedule, tick, utc
from flows import create_engagement
from sqlalchemy import create_engine, text
from sqlmodel import select
from test_answers import answer_prompt, good_update

from bot.domain import home
from bot.platform import clock
from storage import job_keys
from storage.models import CheckIn, ScheduledJob

pytestmark = pytest.mark.postgres

CREATED = utc(2026, 11, 25, 10, 0)  # a Wednesday
MON = utc(2026, 11, 30, 8, 0)  # Monday 09:00 in Berlin
SLACK_TAKES_S = 1.5  # the thread's message in flight while another answer holds the check-in


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_recording_a_checkins_thread_waits_for_an_answer_and_deadlocks_nothing(
    cadence, monkeypatch, caplog
):
    app = cadence
    with clock.fixed_at(CREATED):
        create_engagement(app)
    schedule(app, CREATED)
    tick(app, monkeypatch, MON)
    (checkin,) = checkins_of(app)
    thread_key = job_keys.checkin_thread(checkin.id)
    caplog.set_level(logging.WARNING)
    app.fake.delay("chat.postMessage", SLACK_TAKES_S)
    with clock.fixed_at(MON):
        form = answer_prompt(app, checkin.id)
        reply = app.sim.submit_view(form, good_update(app), user=VENDOR)
    assert reply.status == 200 and not reply.json, reply.body
    # The first answer's thread message is on its way to Slack. Another answer, in a
    # transaction of its own, holds the check-in and then plans the thread job, as a
    # submission does (the thread not yet recorded, it asks for one too).
    other = create_engine(app.services.settings.database_url)
    try:
        with other.connect() as answering:
            answering.execute(text("SET LOCAL lock_timeout = '10s'"))
            answering.execute(
                text("UPDATE checkin SET thread_ts = thread_ts WHERE id = :id"), {"id": checkin.id}
            )
            waiting = _wait_for_a_lock_wait(other, "checkin")
            started = time.monotonic()
            answering.execute(
                text(
                    "INSERT INTO scheduledjob (team_id, key, kind, due_at, checkin_id, payload,"
                    " status, attempts, lookups_failed, created_at, updated_at)"
                    " VALUES (:team, :key, 'checkin_thread', :at, :checkin, '{}', 'pending', 0, 0,"
                    " :at, :at) ON CONFLICT (key) DO NOTHING"
                ),
                {"team": TEAM, "key": thread_key, "at": MON, "checkin": checkin.id},
            )
            planned_in = time.monotonic() - started
            answering.commit()
    finally:
        other.dispose()
    assert waiting, "the thread's record never waited for the check-in: nothing was tested"
    # Under the old order the INSERT waited on the job row until PostgreSQL's deadlock check
    # (1 s) failed one of the two; now the job row is free and it returns at once.
    assert planned_in < 0.5, planned_in

    def recorded() -> tuple[str | None, str] | None:
        with app.db.read_session() as session:
            ts = session.get(CheckIn, checkin.id).thread_ts
            (status,) = session.exec(
                select(ScheduledJob.status).where(ScheduledJob.key == thread_key)
            ).all()
        return (ts, status) if ts and status == "sent" else None

    ts, _ = app.wait_until(recorded, what="the thread recorded and its job sent")
    assert ts
    assert not [r for r in caplog.records if "deadlock" in r.getMessage().lower()]


def _wait_for_a_lock_wait(
    engine, table: str, timeout: float = 10.0, *, table_query: bool = True
) -> bool:
    """Until another session waits for a lock while updating `table` (the outbox's record of
    the thread, blocked by the held check-in), or running a statement that starts with `table`
    (with `table_query` False)."""
    deadline = time.monotonic() + timeout
    with engine.connect() as watcher:
        while time.monotonic() < deadline:
            found = watcher.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                    " AND datname = current_database() AND query ILIKE :q"
                ),
                {"q": f"UPDATE {table} %" if table_query else f"{table}%"},
            ).scalar()
            watcher.rollback()
            if found:
                return True
            threading.Event().wait(0.02)
    return False


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_transactions_plan_the_same_peoples_homes_in_one_order(db):
    """A transaction asks for Bea's Home and then Al's; another plans Al's and then Bea's, as
    every transaction now does (by person). Asked-for order would have planned Bea's first and
    waited on Al's, while the other waited on Bea's: a deadlock. In one order, the first waits
    for the second to end and nothing fails."""
    with db.session() as session:
        for user in ("U0AL", "U0BEA"):
            home.opened(session, team_id=TEAM, user_id=user, now=MON)
    window = home.window_of(MON)
    other = create_engine(db.engine.url.render_as_string(hide_password=False))
    failed: list[BaseException] = []

    def asks_bea_then_al() -> None:
        try:
            with db.session() as session:
                home.plan_refresh(session, team_id=TEAM, cause="bea", now=MON, user_ids=["U0BEA"])
                home.plan_refresh(session, team_id=TEAM, cause="al", now=MON, user_ids=["U0AL"])
        except BaseException as e:
            failed.append(e)

    try:
        with other.connect() as planning:
            planning.execute(text("SET LOCAL lock_timeout = '10s'"))
            _plan_home(planning, "U0AL", window)
            first = threading.Thread(target=asks_bea_then_al)
            first.start()
            waited = _wait_for_a_lock_wait(other, "INSERT INTO scheduledjob", table_query=False)
            started = time.monotonic()
            _plan_home(planning, "U0BEA", window)
            planned_in = time.monotonic() - started
            planning.commit()
            first.join(timeout=15)
    finally:
        other.dispose()
    assert waited, "the first transaction never waited for the second: nothing was tested"
    assert not failed, failed
    assert planned_in < 0.5, planned_in  # not held until PostgreSQL's deadlock check (1 s)


def _plan_home(connection, user: str, window) -> None:
    connection.execute(
        text(
            "INSERT INTO scheduledjob (team_id, key, kind, due_at, user_id, payload, status,"
            " attempts, lookups_failed, created_at, updated_at) VALUES (:team, :key, 'home', :at,"
            " :user, '{}', 'pending', 0, 0, :at, :at) ON CONFLICT (key) DO NOTHING"
        ),
        {"team": TEAM, "key": job_keys.home(user, window), "at": MON, "user": user},
    )
