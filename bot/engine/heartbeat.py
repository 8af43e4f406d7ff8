"""Which process this is, and when a pass last finished: the heartbeat a pass records and
`/healthz` reads. Apart from `tick.py` so that the `web` process, which reads heartbeats but
never runs a pass, does not import the pass (the planner, the pruning, every job kind's
handler: tests/test_web_memory.py)."""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta

from sqlmodel import select

from storage.db import Database
from storage.models import TickerHeartbeat

STALE_AFTER_MIN = timedelta(minutes=5)


def process_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:64]


def record_heartbeat(db: Database, now: datetime, *, at: datetime) -> None:
    """This process finished a pass at the wall-clock moment `at` (for /healthz). Heartbeats of
    processes gone silent are pruned with the rest (`storage/pruning.py`)."""
    name = process_name()
    with db.session() as session:
        row = session.get(TickerHeartbeat, name) or TickerHeartbeat(process=name, last_tick_at=at)
        row.last_tick_at = at
        session.add(row)


def last_heartbeat(db: Database) -> datetime | None:
    with db.read_session() as session:
        rows = session.exec(select(TickerHeartbeat.last_tick_at)).all()
    return max(rows) if rows else None


def stale_after(tick_seconds: int) -> timedelta:
    """How long without a finished pass before `/healthz` calls the scheduler stale: three
    missed passes, and never less than five minutes (a long pass is not a dead one)."""
    return max(3 * timedelta(seconds=tick_seconds), STALE_AFTER_MIN)
