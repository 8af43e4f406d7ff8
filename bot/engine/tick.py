"""The engine: one pass over what is due. `tick(now)` is the only thing that decides.

A pass (1) learns the time zones it needs from Slack, (2) plans due cadence occurrences into
check-ins and jobs, and due digests, (3) claims due jobs in batches and runs them, (4) records
a heartbeat. It can run in any number of processes at once: planning and claiming are made
safe by row locks and unique keys, never by there being one scheduler.
"""

from __future__ import annotations

import os
import socket
import threading
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import select

from bot.engine import delivery, digests, planner, runner
from bot.platform.services import Services
from storage import requests
from storage.db import Database
from storage.models import TickerHeartbeat


def process_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:64]


@dataclass
class TickReport:
    """What a pass did (`python -m bot tick` prints it): occurrences planned, then what each
    job it ran came to."""

    at: datetime
    planned: list[str] = field(default_factory=list)
    outcomes: list[str] = field(default_factory=list)

    @property
    def actions(self) -> list[str]:
        return [*self.planned, *self.outcomes]

    def lines(self) -> list[str]:
        return self.actions or [f"{self.at.isoformat()} nothing due"]


def tick(services: Services, now: datetime) -> TickReport:
    sender = delivery.Sender.for_services(services, now, owner=f"{process_name()}:tick")
    planner.refresh_people(services.db, sender.client_for, now)
    # Sending starts while planning goes on, so the first prompts are not held back by the
    # last occurrences to be planned.
    planning = threading.Event()
    failures: list[BaseException] = []

    def send_all() -> None:
        try:
            runner.run_due(sender, planning)
        except BaseException as e:  # re-raised in the ticking thread below
            failures.append(e)

    sending = threading.Thread(target=send_all, name="cadence-sending")
    sending.start()
    try:
        planned = planner.plan_due(services.db, now)
        planned += digests.plan_due(services.db, now)
    finally:
        planning.set()
        sending.join()
    if failures:
        raise failures[0]
    record_heartbeat(services.db, now)
    return TickReport(at=now, planned=planned, outcomes=list(sender.outcomes))


def record_heartbeat(db: Database, now: datetime) -> None:
    """This process finished a pass (for /healthz); old request receipts are let go."""
    name = process_name()
    with db.session() as session:
        requests.forget_old(session, now=now)
        row = session.get(TickerHeartbeat, name) or TickerHeartbeat(process=name, last_tick_at=now)
        row.last_tick_at = now
        session.add(row)


def last_heartbeat(db: Database) -> datetime | None:
    with db.read_session() as session:
        rows = session.exec(select(TickerHeartbeat.last_tick_at)).all()
    return max(rows) if rows else None
