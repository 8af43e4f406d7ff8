"""The database engine and sessions.

SQLite is the embedded default. It gets WAL (readers never block the writer), a busy timeout
and foreign keys, and every transaction starts with ``BEGIN IMMEDIATE``: a deferred transaction
that later upgrades to a write fails at once with "database is locked" whatever the timeout,
so the write lock is taken up front (SQLAlchemy's documented pysqlite recipe). Sessions opened
with ``read_only=True`` use a plain deferred ``BEGIN`` and never block writers. Within one
process, writers queue for a lock of that file before ``BEGIN IMMEDIATE``, held until the
connection is returned: SQLite's busy handler sleeps and retries with a growing back-off, so
many writers waiting on it alone get in in no order and one can be overtaken until its request
runs out (other processes still meet only the busy timeout).

PostgreSQL (``postgresql+psycopg://``) is the multi-process path.

Nothing waits forever: a connection that cannot be made gives up after a few seconds, a thread
waiting for a pooled connection too, and on PostgreSQL a statement, a lock wait and a
transaction left idle are all cut off by the server (SQLite's lock wait is its busy timeout).

A Slack request cannot wait that long: Slack gives up after 3 s, and a form must hear "could
not save" before then. So a request's sessions run within a `Deadline` (`session(deadline=…)`):
the server cuts its statements and lock waits at what is left of it (``SET LOCAL`` on
PostgreSQL, the busy timeout on SQLite), a new connection gives up sooner, and a watchdog
thread cuts the connection's socket when the deadline passes, for a server that does not answer
at all (frozen, or a network that swallows packets). Whatever failed then is raised as
`DatabaseUnavailable`, which the listeners turn into an apology or an inline form error. The
engine keeps the longer limits: it has no one waiting on it.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import math
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, exc, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 15_000
CONNECT_TIMEOUT_S = 5  # reaching the server
POOL_TIMEOUT_S = 5  # a thread waiting for a pooled connection
POOL_SIZE = 10  # connections kept open; bot/entry/sizing.py says why these two numbers
POOL_OVERFLOW = 30  # more, opened for a burst and closed after it
STATEMENT_TIMEOUT_MS = 30_000  # one statement (the slowest, a digest of 1,000 engagements: < 5 s)
LOCK_TIMEOUT_MS = 10_000  # waiting for a row or table lock
IDLE_IN_TRANSACTION_TIMEOUT_MS = 60_000  # a transaction left open by a stuck process
READ_ONLY = "cadence_read_only"
REQUEST_SECONDS = 2.0  # a Slack request's database work, from its arrival (Slack waits 3 s)
WATCHDOG_GRACE_S = 0.2  # the server's own limits get this long to act before the socket is cut
CONNECT_TIMEOUT_MIN_S = 2  # libpq's (and psycopg's) shortest connect timeout
FRESH = "cadence_fresh"  # a pooled connection's info: connected, not yet used (no ping needed)
USED_AT = "cadence_used_at"  # a pooled connection's info: when it was last checked out
# A connection checked out again within this long is not pinged: it answered moments ago, and a
# ping is a round trip per transaction (a pass makes thousands). One that fails anyway fails
# in the work: a request gets DatabaseUnavailable as for any statement, the engine's pass
# fails and the next one connects afresh (SQLAlchemy drops the pool on a disconnect).
PING_AFTER_IDLE_S = 5.0


class DatabaseUnavailable(Exception):
    """A request's database work failed for want of the database: refused, timed out, cut off.

    Nothing the person did: they are told to try again. A change that raised it was rolled back
    (or, if the commit itself was cut off, may have landed: a retry of the same delivery then
    finds it done, so it never acts twice)."""


@dataclass
class Deadline:
    """The moment (on `time.monotonic`) a request's database work must be over by."""

    at: float
    _watched: dict[int, Any] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _expired: bool = False

    @classmethod
    def after(cls, seconds: float) -> Deadline:
        return cls(time.monotonic() + seconds)

    def remaining(self) -> float:
        return self.at - time.monotonic()

    def check(self) -> None:
        if self._expired or self.remaining() <= 0:
            raise DatabaseUnavailable("the request's time for the database ran out")

    def watch(self, dbapi_connection: Any) -> None:
        with self._lock:
            self._watched[id(dbapi_connection)] = dbapi_connection

    def unwatch(self, dbapi_connection: Any) -> None:
        with self._lock:
            self._watched.pop(id(dbapi_connection), None)

    def expire(self) -> None:
        """Cut every connection still in use for this deadline (the watchdog calls it)."""
        with self._lock:
            self._expired = True
            for dbapi_connection in self._watched.values():
                _cut(dbapi_connection)
            self._watched.clear()


_current = threading.local()
UNAVAILABLE = (exc.OperationalError, exc.InterfaceError, exc.TimeoutError, DatabaseUnavailable)


class _Watchdog:
    """One daemon thread that expires deadlines whose work is still running when they pass."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[list[Any]] = []
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None

    def add(self, deadline: Deadline) -> list[Any]:
        entry = [deadline.at + WATCHDOG_GRACE_S, next(self._seq), deadline, True]
        with self._cond:
            heapq.heappush(self._heap, entry)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="cadence-db-watchdog", daemon=True
                )
                self._thread.start()
            self._cond.notify()
        return entry

    def cancel(self, entry: list[Any]) -> None:
        entry[3] = False

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._heap:
                    self._cond.wait()
                wait = self._heap[0][0] - time.monotonic()
                if wait > 0:
                    self._cond.wait(wait)
                    continue
                _, _, deadline, active = heapq.heappop(self._heap)
            if active:
                deadline.expire()


_watchdog = _Watchdog()


@contextmanager
def within(deadline: Deadline | None) -> Iterator[None]:
    """Run the calling thread's database work within `deadline` (None: the engine's limits).

    A failure for want of the database is raised as DatabaseUnavailable."""
    if deadline is None:
        yield
        return
    deadline.check()
    previous = current_deadline()
    _current.deadline = deadline
    entry = _watchdog.add(deadline)
    try:
        yield
    except UNAVAILABLE as e:
        if isinstance(e, DatabaseUnavailable):
            raise
        raise DatabaseUnavailable(f"{type(e).__name__}: {e}".splitlines()[0][:300]) from e
    except exc.DBAPIError as e:
        if not e.connection_invalidated:
            raise
        raise DatabaseUnavailable(f"connection lost: {type(e.orig).__name__}") from e
    finally:
        _watchdog.cancel(entry)
        _current.deadline = previous


def current_deadline() -> Deadline | None:
    """The deadline the calling thread's database work runs within, if any."""
    return getattr(_current, "deadline", None)


def _cut(dbapi_connection: Any) -> None:
    """Make a blocked call on `dbapi_connection` return at once with an error."""
    try:
        interrupt = getattr(dbapi_connection, "interrupt", None)
        if interrupt is not None:  # sqlite3: abort the running statement
            interrupt()
            return
        fd = dbapi_connection.pgconn.socket  # psycopg: shut the socket (the read sees EOF)
        with socket.socket(fileno=os.dup(fd)) as sock:
            sock.shutdown(socket.SHUT_RDWR)
        log.warning("a request's database connection did not answer in time; cut it")
    except Exception as e:  # already closed: nothing is blocked on it
        log.debug("could not cut a database connection: %r", e)


def _file_pool(database: str | None) -> dict[str, Any]:
    """A SQLite file gets the same pool as PostgreSQL (in memory, SQLAlchemy keeps one
    connection per thread and takes no pool sizes)."""
    if database in (None, "", ":memory:"):
        return {}
    return {"pool_size": POOL_SIZE, "max_overflow": POOL_OVERFLOW, "pool_timeout": POOL_TIMEOUT_S}


def make_engine(database_url: str, *, echo: bool = False) -> Engine:
    """An engine for `database_url` with the pragmas and transaction rules above."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        engine = create_engine(
            url,
            echo=echo,
            hide_parameters=True,  # what people typed stays out of error messages and logs
            **_file_pool(url.database),
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
        )
        _install_sqlite_rules(engine)
        _install_deadline_rules(engine)
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
            "options": (
                f"-c statement_timeout={STATEMENT_TIMEOUT_MS} -c lock_timeout={LOCK_TIMEOUT_MS} "
                f"-c idle_in_transaction_session_timeout={IDLE_IN_TRANSACTION_TIMEOUT_MS}"
            ),
        },
    )
    _install_deadline_rules(engine)
    _install_postgres_rules(engine)
    return engine


def _install_deadline_rules(engine: Engine) -> None:
    """Within a request's deadline: a sooner connect timeout, the ping and every statement
    under the watchdog, and no new work once the deadline has passed."""
    pings = engine.dialect.name != "sqlite"

    @event.listens_for(engine, "do_connect")
    def on_do_connect(_dialect, _record, _cargs, cparams: dict[str, Any]) -> None:
        deadline = current_deadline()
        if deadline is None:
            return
        deadline.check()
        if pings:
            seconds = max(CONNECT_TIMEOUT_MIN_S, math.floor(deadline.remaining()))
            cparams["connect_timeout"] = min(seconds, CONNECT_TIMEOUT_S)

    @event.listens_for(engine, "connect")
    def on_connect(_dbapi_connection, record) -> None:
        record.info[FRESH] = True

    @event.listens_for(engine, "checkout")
    def on_checkout(dbapi_connection, record, _proxy) -> None:
        deadline = current_deadline()
        if deadline is not None:
            deadline.check()
            deadline.watch(dbapi_connection)
            record.info["cadence_deadline"] = deadline
        if not pings:
            return
        now, used_at = time.monotonic(), record.info.get(USED_AT)
        record.info[USED_AT] = now
        if record.info.pop(FRESH, False) or (
            used_at is not None and now - used_at < PING_AFTER_IDLE_S
        ):
            return
        try:  # a connection left from before a restart fails here, not in the work
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as e:
            if deadline is not None and deadline.remaining() <= 0:
                record.invalidate(e)
                raise DatabaseUnavailable("the database did not answer a ping in time") from e
            raise exc.InvalidatePoolError() from e

    @event.listens_for(engine, "checkin")
    def on_checkin(dbapi_connection, record) -> None:
        deadline = record.info.pop("cadence_deadline", None)
        if deadline is not None and dbapi_connection is not None:
            deadline.unwatch(dbapi_connection)


def _install_postgres_rules(engine: Engine) -> None:
    @event.listens_for(engine, "begin")
    def on_begin(connection) -> None:
        deadline = current_deadline()
        if deadline is None:
            return
        # The server ends a statement or a lock wait of this transaction when the request's
        # time is up (the watchdog is for a server that cannot even do that).
        ms = max(1, int(deadline.remaining() * 1000))
        connection.exec_driver_sql(
            f"SELECT set_config('statement_timeout', '{ms}', true), "
            f"set_config('lock_timeout', '{ms}', true)"
        )


def _sqlite_busy_ms() -> int:
    """How long SQLite may wait for another writer: a request what it has left."""
    deadline = current_deadline()
    if deadline is None:
        return SQLITE_BUSY_TIMEOUT_MS
    return max(1, min(SQLITE_BUSY_TIMEOUT_MS, int(deadline.remaining() * 1000)))


WRITE_LOCK = "cadence_write_lock"  # a pooled connection's info: the write lock it holds
_write_locks: dict[str, threading.Lock] = {}
_write_locks_guard = threading.Lock()


def _write_lock(database: str | None) -> threading.Lock | None:
    """The process's lock for writing to the SQLite file `database` (every engine on the same
    file shares it); none in memory, where each connection has a database of its own."""
    if database in (None, "", ":memory:"):
        return None
    path = os.path.realpath(database)
    with _write_locks_guard:
        return _write_locks.setdefault(path, threading.Lock())


def _take_write_lock(lock: threading.Lock, info: dict[str, Any]) -> None:
    """Wait for this process's turn to write, as long as SQLite itself would wait: what the
    request has left, or the busy timeout. Its waiters are woken in turn, not by polling."""
    if info.get(WRITE_LOCK) is lock:  # a second transaction on a connection not yet returned
        return
    deadline = current_deadline()
    wait = SQLITE_BUSY_TIMEOUT_MS / 1000 if deadline is None else deadline.remaining()
    if wait <= 0 or not lock.acquire(timeout=wait):
        raise DatabaseUnavailable("another writer of this process held the database too long")
    info[WRITE_LOCK] = lock


def _release_write_lock(info: dict[str, Any]) -> None:
    lock = info.pop(WRITE_LOCK, None)
    if lock is not None:
        lock.release()


def _install_sqlite_rules(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, record) -> None:
        # Stop pysqlite from issuing its own BEGIN; we issue ours in on_begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # Setting WAL waits for another writer too: a request's connection waits its time only.
        busy_ms = _sqlite_busy_ms()
        cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
        record.info["busy_ms"] = busy_ms
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    write_lock = _write_lock(engine.url.database)

    @event.listens_for(engine, "begin")
    def on_begin(connection) -> None:
        if write_lock is not None and not connection.get_execution_options().get(READ_ONLY):
            _take_write_lock(write_lock, connection.connection.info)
        # A request waits for another writer only as long as it has left; the engine longer.
        busy_ms = _sqlite_busy_ms()
        info = connection.connection.info
        if info.get("busy_ms", SQLITE_BUSY_TIMEOUT_MS) != busy_ms:
            connection.exec_driver_sql(f"PRAGMA busy_timeout={busy_ms}")
            info["busy_ms"] = busy_ms
        if connection.get_execution_options().get(READ_ONLY):
            connection.exec_driver_sql("BEGIN")
        else:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    @event.listens_for(engine, "checkin")
    def on_checkin(_dbapi_connection, record) -> None:
        # After the commit or rollback (and the pool's reset), on error and on invalidation too.
        _release_write_lock(record.info)


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
    def session(self, *, deadline: Deadline | None = None) -> Iterator[Session]:
        """A transaction that may write: committed on success, rolled back on any error.

        With a `deadline` (a Slack request's), it is over by then or raises
        DatabaseUnavailable."""
        with (
            within(deadline),
            Session(self.engine, expire_on_commit=False) as session,
            session.begin(),
        ):
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
