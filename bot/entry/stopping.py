"""Stopping on SIGTERM as on SIGINT (Ctrl-C): a process manager's stop, a deploy, a person.

The first signal asks for a clean stop (the caller waits on the returned event, then stops
claiming work, lets the Slack calls in flight finish and their outcomes be recorded); a second
one, for someone who will not wait, ends the process at once (what it held is taken over when
its leases expire). Python turns only SIGINT into an exception by default; SIGTERM would end
the process mid-call, so both are handled here, in the main thread, before anything starts.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from types import FrameType

log = logging.getLogger(__name__)
EXIT_FORCED = 130


def stop_on_signals() -> threading.Event:
    """An event set by the first SIGTERM or SIGINT."""
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if stop.is_set():
            log.warning("%s again: stopping now, without waiting", name)
            os._exit(EXIT_FORCED)
        log.info("%s: stopping once the work in hand is done (again to stop at once)", name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    return stop


def wait_for(stop: threading.Event) -> None:
    """Block the main thread until `stop` is set, waking often so signals are handled."""
    while not stop.wait(0.5):
        pass
