"""The engine: one pass over what is due. `tick(now)` is the only thing that decides.

This version records the pass (the heartbeat `GET /healthz` reports); the cadence work it
claims and sends arrives with the scheduling issue.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import select

from storage.db import Database
from storage.models import TickerHeartbeat


def process_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:64]


@dataclass
class TickReport:
    """What a pass did, one line per action (`python -m bot tick` prints these)."""

    at: datetime
    actions: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        return self.actions or [f"{self.at.isoformat()} nothing due"]


def tick(db: Database, now: datetime) -> TickReport:
    report = TickReport(at=now)
    record_heartbeat(db, now)
    return report


def record_heartbeat(db: Database, now: datetime) -> None:
    name = process_name()
    with db.session() as session:
        row = session.get(TickerHeartbeat, name) or TickerHeartbeat(process=name, last_tick_at=now)
        row.last_tick_at = now
        session.add(row)


def last_heartbeat(db: Database) -> datetime | None:
    with db.read_session() as session:
        rows = session.exec(select(TickerHeartbeat.last_tick_at)).all()
    return max(rows) if rows else None
