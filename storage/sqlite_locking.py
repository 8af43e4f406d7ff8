"""SQLite's rules: WAL (readers never block the writer), a busy timeout and foreign keys, and
every write transaction starts with ``BEGIN IMMEDIATE``: a deferred transaction that later
upgrades to a write fails at once with "database is locked" whatever the timeout, so the write
lock is taken up front (SQLAlchemy's documented pysqlite recipe). A read-only transaction
(`READ_ONLY`) uses a plain deferred ``BEGIN`` and never blocks writers.

Within one process, writers queue for a lock of that file before ``BEGIN IMMEDIATE``, held until
the connection is returned: SQLite's busy handler sleeps and retries with a growing back-off, so
many writers waiting on it alone get in in no order and one can be overtaken until its request
runs out (other processes still meet only the busy timeout).
"""

from __future__ import annotations

import os
import threading
from typing import Any

from sqlalchemy import Engine, event

from storage.deadline import DatabaseUnavailable, current_deadline

SQLITE_BUSY_TIMEOUT_MS = 15_000
READ_ONLY = "cadence_read_only"


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


def install_sqlite_rules(engine: Engine) -> None:
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
