"""The outbox's sending half: the jobs a request planned (`bot/engine/outbox.py` plans them in
the change's transaction) are sent at once after the commit, off the request thread, through
the engine's runner; what this misses, the next pass sends."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from bot.engine import runner
from bot.engine.heartbeat import process_name
from bot.engine.sender import Pacer, Sender
from bot.platform.logs import ContextExecutor
from bot.platform.services import Services

log = logging.getLogger(__name__)


class Outbox:
    """Sends the jobs a request planned, at once and off the request thread.

    One per process. Messages to one channel are paced across requests (one pacer), and a
    handful of threads is enough: each job is one Slack call, and a failure only means the next
    pass sends it.
    """

    def __init__(self, services: Services, *, threads: int = 2):
        self.services = services
        self.pacer = Pacer(services.settings.channel_pace_seconds)
        # Its sends log in the context of the request that planned them (and their job's).
        self._pool = ContextExecutor(max_workers=threads, thread_name_prefix="cadence-outbox")

    def send_soon(self, keys: Sequence[str], now: datetime) -> None:
        """Send the jobs named `keys` (planned by a change committed at `now`)."""
        if keys:
            self._pool.submit(self._send, list(keys), now)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until nothing planned by a request is queued or being sent; False if that took
        longer than `timeout` seconds (`ContextExecutor.wait_idle`)."""
        return self._pool.wait_idle(timeout)

    def _send(self, keys: list[str], now: datetime) -> None:
        try:
            sender = Sender.for_services(self.services, now, owner=f"{process_name()}:outbox")
            runner.run_keys(sender, keys, self.pacer)
            for line in sender.outcomes:
                log.debug("%s", line)
        except Exception:
            log.exception("sending %s at once failed; the next pass sends it", ", ".join(keys))

    def shutdown(self) -> None:
        self._pool.shutdown(wait=True)
