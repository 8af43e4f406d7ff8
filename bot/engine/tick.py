"""The engine: one pass over what is due. `tick(now)` is the only thing that decides.

A pass (1) learns the time zones it needs from Slack, (2) plans due cadence occurrences into
check-ins and jobs, (3) claims due jobs in batches and runs them, (4) records a heartbeat. It can
run in any number of processes at once: planning and claiming are made safe by row locks and
unique keys, never by there being one scheduler.
"""

from __future__ import annotations

import os
import socket
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import select

from bot.engine import planner, runner
from bot.platform.services import Services
from bot.platform.slack import web_client
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


def tick(services: Services, now: datetime) -> TickReport:
    report = TickReport(at=now)
    settings = services.settings
    clients: dict[str, object] = {}

    def client_for(team_id: str):
        if team_id not in clients:
            clients[team_id] = web_client(settings, team_id=team_id)
        return clients[team_id]

    planner.refresh_people(services.db, client_for, now)
    sender = runner.Sender(
        db=services.db,
        client_for=client_for,
        owner=f"{process_name()}:{uuid.uuid4().hex[:8]}"[:64],
        now=now,
        pace_seconds=settings.channel_pace_seconds,
        concurrency=settings.send_concurrency,
        away_emoji=settings.away_emoji,
        batch=max(50, 4 * settings.send_concurrency),
        report=report.actions,
    )
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
        planner.plan_due(services.db, now, report.actions)
    finally:
        planning.set()
        sending.join()
    if failures:
        raise failures[0]
    record_heartbeat(services.db, now)
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
