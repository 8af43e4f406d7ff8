"""A Slack request's database work within a deadline.

Slack gives up on a request after 3 s, and a form must hear "could not save" before then. So a
request's sessions run within a `Deadline` (`Database.session(deadline=…)`): the server cuts its
statements and lock waits at what is left of it (``SET LOCAL`` on PostgreSQL, with the engine's
own limits, by `storage/transaction_limits.py`; the busy timeout on SQLite), a new connection
gives up sooner, and a watchdog thread cuts the connection's socket when the deadline passes,
for a server that does not answer at all (frozen, or a network that swallows packets). Whatever
failed then is raised as `DatabaseUnavailable`, which the listeners turn into an apology or an
inline form error. The engine keeps the longer limits: it has no one waiting on it.
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

from sqlalchemy import Engine, event, exc

log = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 5  # reaching the server
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
            if self._heap[0] is entry:  # sooner than what it waits for: wake it to wait less
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


def install_deadline_rules(engine: Engine) -> None:
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
