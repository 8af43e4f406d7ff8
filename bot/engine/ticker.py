"""APScheduler is only the ticker: an interval job that calls `engine.tick`.

Its 3.x job stores cannot be shared between processes, so nothing is stored in it; what is due
lives in our own tables. `coalesce` and `max_instances=1` keep one pass at a time per process.

Each pass runs on a thread of its own, watched: a pass that makes no progress for `hang_after`
seconds (no phase change, no job outcome; a database or a Slack call that hangs rather than
failing) is abandoned with an ERROR line that says how long and what to check, and the next
pass runs as usual. Python cannot kill the stuck thread; whatever it claimed is taken over by
a later pass when its lease expires (looking first for a message already in Slack). A few
abandoned passes still stuck stop new passes from being started, so threads do not pile up.

Stopping (SIGTERM, SIGINT, gunicorn's worker exit): no new pass starts; the pass in flight
claims nothing more, finishes the jobs it holds (the Slack calls in flight, their outcomes
recorded: no lease is left behind) and the ticker waits for it, up to a grace period.
"""

from __future__ import annotations

import logging
import threading
import time

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.exc import DBAPIError

from bot.engine import tick as engine
from bot.platform.services import Services
from storage.deadline import DatabaseUnavailable

log = logging.getLogger(__name__)

HANG_AFTER_S = 300.0  # no progress this long: the pass hangs (as long as a job's lease)
STOP_GRACE_S = 20.0  # waiting for the pass in flight when stopping (gunicorn allows 30)
MAX_ABANDONED = 3  # stuck passes still alive before no new pass is started


def first_line(error: BaseException) -> str:
    """The driver's own first line (SQLAlchemy adds its background link after it)."""
    said = str(getattr(error, "orig", None) or error).strip()
    return said.splitlines()[0] if said else type(error).__name__


class Ticker:
    """The scheduler of one process: passes on an interval, each watched, stopped cleanly."""

    def __init__(self, services: Services, *, hang_after: float = HANG_AFTER_S, poll: float = 1.0):
        self.services = services
        self.hang_after = hang_after
        self.poll = min(poll, hang_after / 4)
        self.stopping = threading.Event()
        self.scheduler = BackgroundScheduler(timezone="UTC", daemon=True)
        self.scheduler.add_job(
            self.run_pass,
            "interval",
            seconds=services.settings.tick_seconds,
            id="cadence-tick",
            coalesce=True,
            max_instances=1,
            next_run_time=services.clock(),
        )
        self._lock = threading.Lock()
        self._current: tuple[threading.Thread, engine.Watch] | None = None
        self._abandoned: list[threading.Thread] = []

    def start(self) -> Ticker:
        self.scheduler.start()
        return self

    def run_pass(self) -> None:
        """APScheduler's job: one pass on its own thread, abandoned if it stops progressing."""
        with self._lock:
            if self.stopping.is_set():
                return
            self._abandoned = [t for t in self._abandoned if t.is_alive()]
            if len(self._abandoned) >= MAX_ABANDONED:
                log.error(
                    "SCHEDULER STALLED: %d abandoned passes are still stuck, so no new pass "
                    "starts; check that the database (DATABASE_URL) and Slack answer, then "
                    "restart this process",
                    len(self._abandoned),
                )
                return
            watch = engine.Watch()
            thread = threading.Thread(
                target=self._pass, args=(watch,), name="cadence-pass", daemon=True
            )
            self._current = (thread, watch)
        started = time.monotonic()
        thread.start()
        progress, progressed = watch.progress(), started
        while thread.is_alive():
            thread.join(self.poll)
            now = time.monotonic()
            if watch.progress() != progress:
                progress, progressed = watch.progress(), now
            elif thread.is_alive() and now - progressed > self.hang_after:
                self._abandon(thread, watch, started=started, since=progressed)
                return
        with self._lock:
            self._current = None

    def _abandon(
        self, thread: threading.Thread, watch: engine.Watch, *, started: float, since: float
    ) -> None:
        now = time.monotonic()
        log.error(
            "SCHEDULER PASS ABANDONED after %.0f s, %.0f s of them without progress (stuck "
            "%s): check that the database answers (DATABASE_URL; a lock held by a long "
            "transaction) and that Slack answers (SLACK_API_URL). The next pass runs as usual; "
            "the jobs this one claimed are taken over when their leases expire.",
            now - started,
            now - since,
            watch.phase,
        )
        watch.stop()
        with self._lock:
            self._abandoned.append(thread)
            self._current = None

    def _pass(self, watch: engine.Watch) -> None:
        services = self.services
        try:
            # The ticker runs at the wall clock: services.clock is never fixed in a running
            # process, so it is also the heartbeat's clock.
            report = engine.tick(services, services.clock(), wall_clock=services.clock, watch=watch)
        except (DBAPIError, DatabaseUnavailable) as e:
            log.error(
                "scheduler pass failed: the database did not answer (%s); the next pass will "
                "try again",
                first_line(e),
            )
            return
        except Exception:
            log.exception("scheduler pass failed; the next pass will try again")
            return
        for line in report.actions:
            log.info("%s", line)
        if report.failed:
            log.warning(
                "%d message(s) failed for good in this pass: %s",
                len(report.failed),
                ", ".join(report.failed),
            )

    def stop(self, grace: float = STOP_GRACE_S) -> bool:
        """Start no pass more; let the one in flight finish what it holds, waiting up to
        `grace` seconds. True when nothing is left running."""
        with self._lock:
            self.stopping.set()
            current = self._current
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        if current is None:
            log.info("scheduler stopped")
            return True
        thread, watch = current
        watch.stop()
        log.info("scheduler stopping: the pass in flight finishes the jobs it holds")
        thread.join(grace)
        if thread.is_alive():
            log.warning(
                "scheduler stopped with a pass still running after %.0f s (%s); the jobs it "
                "holds are taken over when their leases expire",
                grace,
                watch.phase,
            )
            return False
        log.info("scheduler stopped; every job it claimed was finished")
        return True


def start_background(services: Services, **options: float) -> Ticker:
    """Beside the Slack listener in one process (`python -m bot`)."""
    return Ticker(services, **options).start()


def run_blocking(services: Services, stop: threading.Event, **options: float) -> None:
    """Alone in its process (`python -m bot worker`), until `stop` is set (SIGTERM/SIGINT)."""
    ticker = start_background(services, **options)
    log.info("the scheduler is running every %s s", services.settings.tick_seconds)
    while not stop.wait(0.5):
        pass
    ticker.stop()
