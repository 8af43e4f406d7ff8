"""APScheduler is only the ticker: an interval job that calls `engine.tick`.

Its 3.x job stores cannot be shared between processes, so nothing is stored in it; what is due
lives in our own tables. `coalesce` and `max_instances=1` keep one pass at a time per process.
"""

from __future__ import annotations

import logging

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler

from bot.engine import tick as engine
from bot.platform.services import Services

log = logging.getLogger(__name__)


def run_tick(services: Services) -> None:
    try:
        report = engine.tick(services, services.clock())
        for line in report.actions:
            log.info("%s", line)
    except Exception:
        log.exception("scheduler pass failed; the next pass will try again")


def _configure(scheduler: BaseScheduler, services: Services) -> BaseScheduler:
    scheduler.add_job(
        run_tick,
        "interval",
        seconds=services.settings.tick_seconds,
        args=[services],
        id="cadence-tick",
        coalesce=True,
        max_instances=1,
        next_run_time=services.clock(),
    )
    return scheduler


def start_background(services: Services) -> BackgroundScheduler:
    """Beside the Slack listener in one process (`python -m bot`)."""
    scheduler = _configure(BackgroundScheduler(timezone="UTC", daemon=True), services)
    scheduler.start()
    return scheduler


def run_blocking(services: Services) -> None:
    """Alone in its process (`python -m bot worker`), until SIGINT/SIGTERM."""
    scheduler = _configure(BlockingScheduler(timezone="UTC"), services)
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        scheduler.shutdown(wait=False)
