"""What bench/monday.py's processes ask of PostgreSQL, and of PgBouncer in front of it: the
figures docs/operations.md sizes a deployment from (issue 23, item 6).

`Connections` samples, every quarter second while a Monday runs, the scratch database's
server sessions (pg_stat_activity, on a connection of its own to the server's maintenance
database, so it is not one of them): how many are open and how many are inside a transaction
or a statement at that moment. Through PgBouncer it also samples `SHOW POOLS` (clients
connected to the pooler, clients waiting for a server connection and the longest wait) and
reads `SHOW STATS` before and after: transactions passed and their mean time, whence the
transactions in flight on average (Little's law: rate x mean time), which is what
`default_pool_size` must cover.
"""

from __future__ import annotations

import threading
import time
from contextlib import closing
from dataclasses import dataclass, field
from typing import Any

import psycopg
from sqlalchemy.engine import make_url

SAMPLE_S = 0.25


def _libpq(url: str, database: str | None = None) -> dict[str, Any]:
    parsed = make_url(url)
    return {
        "host": parsed.host or "127.0.0.1",
        "port": parsed.port or 5432,
        "user": parsed.username or "postgres",
        "password": parsed.password or None,
        "dbname": database or parsed.database,
        "autocommit": True,
    }


def _rows(conn: psycopg.Connection, command: str) -> list[dict[str, Any]]:
    cursor = conn.execute(command)
    names = [c.name for c in cursor.description or ()]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


@dataclass
class Connections:
    """Peaks of server sessions (and of the pooler's clients) while the context is open.

    `server_url`: the scratch database on PostgreSQL itself; `bouncer`: the pooler's
    (host, port) when the processes go through one."""

    server_url: str
    bouncer: tuple[str, int] | None = None
    sessions: int = 0  # server sessions open on the database, at most
    busy: int = 0  # of those, inside a transaction at once, at most
    busy_mean: float = 0.0
    clients: int = 0  # connections to the pooler for the database, at most
    waiting: int = 0  # clients waiting for a server connection at once, at most
    max_wait_s: float = 0.0
    transactions: int = 0  # passed by the pooler over the measure
    xact_mean_ms: float = 0.0
    wait_total_s: float = 0.0  # clients' summed waits for a server connection
    wall_s: float = 0.0
    _samples: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.database = make_url(self.server_url).database
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> Connections:
        self._began = time.monotonic()
        self._stats0 = self._stats()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
        self.wall_s = time.monotonic() - self._began
        stats = self._stats()
        if stats and self._stats0:

            def grew(name: str) -> int:
                return int(stats[name]) - int(self._stats0[name])

            self.transactions = grew("total_xact_count")
            self.xact_mean_ms = grew("total_xact_time") / 1000 / max(1, self.transactions)
            self.wait_total_s = grew("total_wait_time") / 1e6
        if self._samples:
            self.busy_mean = sum(self._samples) / len(self._samples)

    @property
    def in_flight(self) -> float:
        """Transactions in flight on average through the pooler (rate x mean time)."""
        return self.transactions / max(self.wall_s, 1e-9) * self.xact_mean_ms / 1000

    def _admin(self) -> psycopg.Connection:
        assert self.bouncer is not None
        host, port = self.bouncer
        # prepare_threshold None: the admin console speaks the simple protocol only
        return psycopg.connect(host=host, port=port, user="postgres", dbname="pgbouncer",
                               autocommit=True, prepare_threshold=None)  # fmt: skip

    def _stats(self) -> dict[str, Any] | None:
        if self.bouncer is None:
            return None
        with closing(self._admin()) as conn:
            return next((r for r in _rows(conn, "SHOW STATS") if r["database"] == self.database),
                        None)  # fmt: skip

    def _sample(self) -> None:
        server = psycopg.connect(**_libpq(self.server_url, "postgres"))
        pooler = self._admin() if self.bouncer is not None else None
        try:
            while not self._stop.is_set():
                open_, busy = server.execute(
                    "SELECT count(*), count(*) FILTER (WHERE state <> 'idle')"
                    " FROM pg_stat_activity WHERE datname = %s",
                    (self.database,),
                ).fetchone()
                self.sessions, self.busy = max(self.sessions, open_), max(self.busy, busy)
                self._samples.append(busy)
                if pooler is not None:
                    for pool in _rows(pooler, "SHOW POOLS"):
                        if pool["database"] != self.database:
                            continue
                        waiting = int(pool["cl_waiting"])
                        self.clients = max(self.clients, int(pool["cl_active"]) + waiting)
                        self.waiting = max(self.waiting, waiting)
                        wait = int(pool["maxwait"]) + int(pool.get("maxwait_us", 0)) / 1e6
                        self.max_wait_s = max(self.max_wait_s, wait)
                self._stop.wait(SAMPLE_S)
        finally:
            server.close()
            if pooler is not None:
                pooler.close()
