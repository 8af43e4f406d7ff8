"""The database engine and sessions: `make_engine` and `Database`, the one way in.

SQLite is the embedded default; its pragmas and write locking are in `storage/sqlite_locking.py`.
PostgreSQL (``postgresql+psycopg://``) is the multi-process path.

Nothing waits forever: a connection that cannot be made gives up after a few seconds, a thread
waiting for a pooled connection too, and on PostgreSQL a statement, a lock wait and a
transaction left idle are all cut off by the server, limits set per transaction
(`storage/transaction_limits.py`; SQLite's lock wait is its busy timeout). A Slack request
waits less: its sessions run within a deadline (`storage/deadline.py`).

PostgreSQL connections carry nothing from one transaction to the next (no session settings, no
session locks, no server-side prepared statements unless `prepared_statements` asks for them),
so Cadence runs as well behind a transaction-mode pooler such as PgBouncer as directly.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

from storage.audit_keys import NONE, SESSION_INFO, AuditKeys
from storage.deadline import (
    CONNECT_TIMEOUT_S,
    REQUEST_SECONDS,
    DatabaseUnavailable,
    Deadline,
    current_deadline,
    install_deadline_rules,
    within,
)
from storage.sqlite_locking import READ_ONLY, SQLITE_BUSY_TIMEOUT_MS, install_sqlite_rules
from storage.transaction_limits import (
    IDLE_IN_TRANSACTION_TIMEOUT_MS,
    LOCK_TIMEOUT_MS,
    STATEMENT_TIMEOUT_MS,
    install_transaction_limits,
)

__all__ = [  # the facade: what callers import from here, wherever it lives
    "CONNECT_TIMEOUT_S",
    "IDLE_IN_TRANSACTION_TIMEOUT_MS",
    "LOCK_TIMEOUT_MS",
    "POOL_OVERFLOW",
    "POOL_SIZE",
    "POOL_TIMEOUT_S",
    "PREPARE_THRESHOLD",
    "READ_ONLY",
    "REQUEST_SECONDS",
    "SQLITE_BUSY_TIMEOUT_MS",
    "STATEMENT_TIMEOUT_MS",
    "Database",
    "DatabaseUnavailable",
    "Deadline",
    "current_deadline",
    "make_engine",
    "within",
]

POOL_TIMEOUT_S = 5  # a thread waiting for a pooled connection
POOL_SIZE = 10  # connections kept open; bot/entry/sizing.py says why these two numbers
POOL_OVERFLOW = 30  # more, opened for a burst and closed after it
# psycopg prepares a statement on the server after it ran this many times on one connection
# (its default), when `prepared_statements` is on. Off, it never does: a prepared statement
# lives in one server session, and behind a transaction-mode pooler (PgBouncer before 1.21, or
# without max_prepared_statements) the next transaction may run on another, where it does not
# exist ("prepared statement "_pg3_0" does not exist").
PREPARE_THRESHOLD = 5


def _file_pool(database: str | None) -> dict[str, Any]:
    """A SQLite file gets the same pool as PostgreSQL (in memory, SQLAlchemy keeps one
    connection per thread and takes no pool sizes)."""
    if database in (None, "", ":memory:"):
        return {}
    return {"pool_size": POOL_SIZE, "max_overflow": POOL_OVERFLOW, "pool_timeout": POOL_TIMEOUT_S}


def make_engine(
    database_url: str, *, echo: bool = False, prepared_statements: bool = False
) -> Engine:
    """An engine for `database_url` with the pragmas and transaction rules above.

    `prepared_statements` (PostgreSQL): let psycopg prepare statements it runs often on the
    server (`DATABASE_PREPARED_STATEMENTS`); only for a direct connection or a pooler that
    keeps them (PgBouncer 1.21+ with max_prepared_statements)."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        engine = create_engine(
            url,
            echo=echo,
            hide_parameters=True,  # what people typed stays out of error messages and logs
            **_file_pool(url.database),
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        )
        install_sqlite_rules(engine)
        install_deadline_rules(engine)
        return engine
    engine = create_engine(
        url,
        echo=echo,
        hide_parameters=True,  # what people typed stays out of error messages and logs
        # No pool_pre_ping: the ping is made in the checkout hook below, where a request's
        # watchdog can already cut it (SQLAlchemy's own ping runs before any hook).
        pool_size=POOL_SIZE,
        max_overflow=POOL_OVERFLOW,
        pool_timeout=POOL_TIMEOUT_S,
        connect_args={
            "connect_timeout": CONNECT_TIMEOUT_S,
            # No "options" (-c statement_timeout=…): the time limits are set per transaction.
            "prepare_threshold": PREPARE_THRESHOLD if prepared_statements else None,
        },
    )
    install_deadline_rules(engine)
    install_transaction_limits(engine)
    return engine


@dataclass
class Database:
    """The engine plus the two ways to use it: a write transaction or a read-only one."""

    engine: Engine
    # The keys audit links are made with (storage/audit_keys.py): the deployment's, given by
    # `Services`; none, plain sha256 links.
    audit_keys: AuditKeys = field(default=NONE, repr=False)

    @classmethod
    def from_url(cls, database_url: str, *, prepared_statements: bool = False) -> Database:
        return cls(make_engine(database_url, prepared_statements=prepared_statements))

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def session(self, *, deadline: Deadline | None = None) -> Iterator[Session]:
        """A transaction that may write: committed on success, rolled back on any error.

        With a `deadline` (a Slack request's), it is over by then or raises
        DatabaseUnavailable."""
        with (
            within(deadline),
            Session(self.engine, expire_on_commit=False) as session,
            session.begin(),
        ):
            session.info[SESSION_INFO] = self.audit_keys
            yield session

    @contextmanager
    def read_session(self, *, deadline: Deadline | None = None) -> Iterator[Session]:
        """A read-only transaction (on SQLite it does not take the write lock)."""
        bind = self.engine.execution_options(**{READ_ONLY: True})
        with (
            within(deadline),
            Session(bind, expire_on_commit=False) as session,
            session.begin(),
        ):
            yield session

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """A write transaction on a bare connection, for hot paths where the ORM is overhead."""
        with self.engine.begin() as connection:
            yield connection

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read-only transaction on a bare connection."""
        with self.engine.execution_options(**{READ_ONLY: True}).begin() as connection:
            yield connection

    def ping(self) -> None:
        """Raise if the database cannot be reached."""
        with self.engine.execution_options(**{READ_ONLY: True}).connect() as conn:
            conn.execute(text("SELECT 1"))

    def dispose(self) -> None:
        self.engine.dispose()
