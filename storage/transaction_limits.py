"""PostgreSQL's time limits, set at the start of every transaction.

Nothing waits forever: the server cuts off a statement, a lock wait and a transaction left idle.
These limits are set per transaction (``set_config(…, true)``, as ``SET LOCAL``), not per
session: behind a connection pooler in transaction mode (PgBouncer's ``pool_mode =
transaction``) a client's transactions run on whichever server connection is free, so a
session setting would apply to other clients' work and not to ours, and PgBouncer refuses the
``options`` startup parameter a session setting would be sent in. Set in the same statement as
a request's tighter limits (`storage/deadline.py`), it costs the engine one short statement per
transaction and a request nothing more.
"""

from __future__ import annotations

from sqlalchemy import Connection, Engine, event

from storage.deadline import current_deadline

STATEMENT_TIMEOUT_MS = 30_000  # one statement (the slowest, a digest of 1,000 engagements: < 5 s)
LOCK_TIMEOUT_MS = 10_000  # waiting for a row or table lock
IDLE_IN_TRANSACTION_TIMEOUT_MS = 60_000  # a transaction left open by a stuck process


def limits_sql(statement_ms: int, lock_ms: int, idle_ms: int) -> str:
    """The one statement that sets this transaction's limits (integers only: nothing quoted
    comes from outside)."""
    return (
        f"SELECT set_config('statement_timeout', '{int(statement_ms)}', true), "
        f"set_config('lock_timeout', '{int(lock_ms)}', true), "
        f"set_config('idle_in_transaction_session_timeout', '{int(idle_ms)}', true)"
    )


ENGINE_LIMITS = limits_sql(STATEMENT_TIMEOUT_MS, LOCK_TIMEOUT_MS, IDLE_IN_TRANSACTION_TIMEOUT_MS)


def install_transaction_limits(engine: Engine) -> None:
    """Every transaction on `engine` starts by setting its limits: the engine's, or within a
    request's deadline what is left of it (the server then ends a statement or a lock wait of
    the request when its time is up; the deadline's watchdog is for a server that cannot)."""

    @event.listens_for(engine, "begin")
    def on_begin(connection: Connection) -> None:
        deadline = current_deadline()
        if deadline is None:
            _set(connection, ENGINE_LIMITS)
            return
        left = max(1, int(deadline.remaining() * 1000))
        _set(
            connection,
            limits_sql(
                min(left, STATEMENT_TIMEOUT_MS),
                min(left, LOCK_TIMEOUT_MS),
                IDLE_IN_TRANSACTION_TIMEOUT_MS,
            ),
        )


def _set(connection: Connection, sql: str) -> None:
    """Run the limits' statement on the driver's connection: through SQLAlchemy (its execution
    context, a result's metadata for three columns nobody reads) it cost more than half of an
    empty transaction's CPU. A driver error is raised as SQLAlchemy raises it (wrapped, the
    connection invalidated when it is lost), by running the statement through SQLAlchemy once
    more, which fails the same way on a connection that is gone."""
    driver = connection.connection.dbapi_connection
    try:
        driver.execute(sql)  # type: ignore[union-attr]  (psycopg 3: the engine is PostgreSQL's)
    except connection.dialect.loaded_dbapi.Error:
        connection.exec_driver_sql(sql)
