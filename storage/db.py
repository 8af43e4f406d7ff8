"""The database engine and sessions.

SQLite is the embedded default. It gets WAL (readers never block the writer), a busy timeout
and foreign keys, and every transaction starts with ``BEGIN IMMEDIATE``: a deferred transaction
that later upgrades to a write fails at once with "database is locked" whatever the timeout,
so the write lock is taken up front (SQLAlchemy's documented pysqlite recipe). Sessions opened
with ``read_only=True`` use a plain deferred ``BEGIN`` and never block writers.

PostgreSQL (``postgresql+psycopg://``) is the multi-process path.

Nothing waits forever: a connection that cannot be made gives up after a few seconds, a thread
waiting for a pooled connection too, and on PostgreSQL a statement, a lock wait and a
transaction left idle are all cut off by the server (SQLite's lock wait is its busy timeout).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

SQLITE_BUSY_TIMEOUT_MS = 15_000
CONNECT_TIMEOUT_S = 5  # reaching the server
POOL_TIMEOUT_S = 5  # a thread waiting for a pooled connection
STATEMENT_TIMEOUT_MS = 30_000  # one statement (the slowest, a digest of 1,000 engagements: < 5 s)
LOCK_TIMEOUT_MS = 10_000  # waiting for a row or table lock
IDLE_IN_TRANSACTION_TIMEOUT_MS = 60_000  # a transaction left open by a stuck process
READ_ONLY = "cadence_read_only"


def make_engine(database_url: str, *, echo: bool = False) -> Engine:
    """An engine for `database_url` with the pragmas and transaction rules above."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        engine = create_engine(
            url,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        )
        _install_sqlite_rules(engine)
        return engine
    return create_engine(
        url,
        echo=echo,
        pool_pre_ping=True,
        pool_size=10,
        max_overflow=10,
        pool_timeout=POOL_TIMEOUT_S,
        connect_args={
            "connect_timeout": CONNECT_TIMEOUT_S,
            "options": (
                f"-c statement_timeout={STATEMENT_TIMEOUT_MS} -c lock_timeout={LOCK_TIMEOUT_MS} "
                f"-c idle_in_transaction_session_timeout={IDLE_IN_TRANSACTION_TIMEOUT_MS}"
            ),
        },
    )


def _install_sqlite_rules(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record) -> None:
        # Stop pysqlite from issuing its own BEGIN; we issue ours in on_begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection) -> None:
        if connection.get_execution_options().get(READ_ONLY):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")


@dataclass
class Database:
    """The engine plus the two ways to use it: a write transaction or a read-only one."""

    engine: Engine

    @classmethod
    def from_url(cls, database_url: str) -> Database:
        return cls(make_engine(database_url))

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction that may write: committed on success, rolled back on any error."""
        with Session(self.engine, expire_on_commit=False) as session, session.begin():
            yield session

    @contextmanager
    def read_session(self) -> Iterator[Session]:
        """A read-only transaction (on SQLite it does not take the write lock)."""
        bind = self.engine.execution_options(**{READ_ONLY: True})
        with Session(bind, expire_on_commit=False) as session, session.begin():
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
