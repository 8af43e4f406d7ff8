"""Cadence behind PgBouncer in transaction pooling (issue 23, item 6).

A pooler in transaction mode gives each transaction whichever server connection is free, so
nothing may be carried from one transaction to the next: no session settings (the time limits
are set per transaction, `storage/transaction_limits.py`), no server-side prepared statements
(psycopg's are off unless DATABASE_PREPARED_STATEMENTS asks), no session-level locks. The
pooler here has a small pool, so the tick processes, the web app and the test share server
connections; everything runs through it: the migrations, a request to POST /slack/events, two
tick processes on one occurrence, and a statement cut off by the time limit.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pgbouncer
import psycopg
import pytest
from conftest import Cadence, app_services, in_ci, make_settings, serving
from engine_flows import jobs_of, run_cli
from sqlalchemy import text
from sqlalchemy.engine import make_url
from test_engine_processes import MON, PEOPLE, many_vendors, prompts_received, tick_process

from bot.demo.fake_slack import FakeSlack
from storage.db import (
    IDLE_IN_TRANSACTION_TIMEOUT_MS,
    LOCK_TIMEOUT_MS,
    PREPARE_THRESHOLD,
    STATEMENT_TIMEOUT_MS,
    Database,
    DatabaseUnavailable,
    Deadline,
)

pytestmark = [pytest.mark.slow, pytest.mark.postgres]  # starts PgBouncer and tick processes

ROOT = Path(__file__).resolve().parents[1]
POOL_SIZE = 3  # server connections per database: the clients share them


@pytest.fixture
def bouncer(postgres_server_url: str) -> Iterator[pgbouncer.PgBouncer]:
    """A PgBouncer of the test's own, pool_mode = transaction, in front of the test server."""
    if not pgbouncer.available():
        reason = f"PgBouncer is not installed ({pgbouncer.PGBOUNCER}): apt-get install pgbouncer"
        if in_ci():
            pytest.fail(reason + " — CI=true requires it")
        pytest.skip(reason)
    with pgbouncer.pgbouncer(postgres_server_url, pool_size=POOL_SIZE) as running:
        yield running


@pytest.fixture
def pooled_url(bouncer: pgbouncer.PgBouncer, postgres_url: str, monkeypatch) -> str:
    """A new database, migrated by `python -m bot migrate` through the pooler."""
    url = bouncer.url_for(postgres_url)
    status, out = run_cli(monkeypatch, url, "migrate")
    assert (status, out.strip()) == (0, "database schema is up to date")
    return url


@pytest.fixture
def pooled(pooled_url: str, fake_slack: FakeSlack) -> Iterator[Cadence]:
    """The app serving HTTP on the pooled database."""
    db = Database.from_url(pooled_url)
    try:
        with serving(app_services(make_settings(pooled_url, fake_slack), db), fake_slack) as app:
            yield app
    finally:
        db.dispose()


def server_sessions(bouncer: pgbouncer.PgBouncer) -> int:
    """Server connections PgBouncer holds open, across its pools."""
    return len(bouncer.admin("SHOW SERVERS"))


def transactions_through(bouncer: pgbouncer.PgBouncer, url: str) -> int:
    """Transactions PgBouncer has passed to `url`'s database so far."""
    name = make_url(url).database
    return sum(int(row[1]) for row in bouncer.admin("SHOW STATS") if row[0] == name)


def test_requests_and_two_tick_processes_on_one_occurrence_send_every_prompt_once(
    pooled: Cadence, bouncer: pgbouncer.PgBouncer
):
    """The engagement and its cadence are made through POST /slack/events; two tick processes
    started together on Monday's occurrence send each of its 24 prompts once, every
    transaction of theirs on one of 3 server connections."""
    many_vendors(pooled)  # the engagement form and `/cadence schedule`, through the app
    url = pooled.services.settings.database_url
    before = transactions_through(bouncer, url)
    processes = [tick_process(pooled, MON) for _ in range(2)]
    outputs = [p.communicate(timeout=180) for p in processes]
    assert [p.returncode for p in processes] == [0, 0], [err for _, err in outputs]
    assert transactions_through(bouncer, url) - before >= len(PEOPLE)  # the passes' work
    assert prompts_received(pooled) == Counter(dict.fromkeys(PEOPLE, 1))
    assert {j.status for j in jobs_of(pooled, "prompt")} == {"sent"}
    assert sum(1 for out, _ in outputs if "check-in acme-payments" in out) == 1
    errors = [line for _, err in outputs for line in err.splitlines() if "ERROR" in line]
    assert errors == []
    assert server_sessions(bouncer) <= POOL_SIZE


def test_the_time_limits_hold_in_every_transaction_and_leave_nothing_behind(
    pooled_url: str, bouncer: pgbouncer.PgBouncer
):
    """Each transaction through the pooler carries the engine's limits, whatever server
    connection it lands on; the server connection it ran on is left with the server's own
    defaults (a session setting would have stayed for the next client)."""
    db = Database.from_url(pooled_url)
    expected = {
        "statement_timeout": f"{STATEMENT_TIMEOUT_MS // 1000}s",
        "lock_timeout": f"{LOCK_TIMEOUT_MS // 1000}s",
        "idle_in_transaction_session_timeout": f"{IDLE_IN_TRANSACTION_TIMEOUT_MS // 60_000}min",
    }
    try:
        for _ in range(2 * POOL_SIZE):
            with db.read() as connection:
                seen = {
                    name: connection.exec_driver_sql(f"SHOW {name}").scalar() for name in expected
                }
            assert seen == expected
    finally:
        db.dispose()
    # A plain client through the same pooler, on the same few server connections.
    plain = psycopg.connect(
        host=bouncer.host, port=bouncer.port, user="postgres", dbname=make_url(pooled_url).database
    )
    with plain:
        for _ in range(2 * POOL_SIZE):
            with plain.transaction():
                assert plain.execute("SHOW statement_timeout").fetchone() == ("0",)


def test_a_statement_longer_than_the_limit_is_cancelled_by_the_server(pooled_url: str):
    """A request's transaction (the limit is what its deadline has left) runs `pg_sleep(20)`
    through the pooler: the server cancels it at the limit, well before the sleep ends, and the
    connection stays usable (the server cut the statement; the watchdog did not need to cut
    the socket)."""
    db = Database.from_url(pooled_url)
    try:
        began = time.monotonic()
        with (
            pytest.raises(DatabaseUnavailable, match="statement timeout"),
            db.session(deadline=Deadline.after(1.5)) as session,
        ):
            session.exec(text("SELECT pg_sleep(20)"))
        assert time.monotonic() - began < 10
        with db.read() as connection:
            assert connection.exec_driver_sql("SELECT 1").scalar() == 1
    finally:
        db.dispose()


def test_no_statement_is_prepared_on_the_server_unless_asked(pooled_url: str):
    """psycopg prepares a statement after PREPARE_THRESHOLD runs on one connection; behind the
    pooler the next transaction would not find it. By default none is prepared: the same query
    many times on one client connection succeeds, and the server sessions it ran on hold no
    prepared statement (tests/test_storage.py: asked for, on a direct connection, they are)."""
    db = Database.from_url(pooled_url, prepared_statements=False)
    query = text("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE :mark")
    try:
        for _ in range(4 * PREPARE_THRESHOLD):
            with db.read() as connection:
                assert connection.execute(query, {"mark": "%pg_prepared_statements%"}).scalar() == 0
    finally:
        db.dispose()


def test_nothing_takes_a_session_level_lock_setting_or_channel():
    """Cadence's code never uses what a transaction pooler cannot carry between transactions:
    session advisory locks, LISTEN/NOTIFY, temporary tables, session SET, or startup options."""
    forbidden = re.compile(  # SQL's words (upper case) and libpq's startup options
        r"pg_(try_)?advisory_(un)?lock|\bLISTEN\b|\bNOTIFY\b|CREATE TEMP|SET SESSION|WITH HOLD|"
        r"\bSET \w+_timeout|-c \w+="
    )
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for part in ("bot", "handlers", "storage")
        for path in sorted((ROOT / part).rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if forbidden.search(line) and not line.lstrip().startswith("#")
    ]
    assert found == []
