"""The one way the tests wait: poll for the condition itself, never sleep a fixed time."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

# How often a test's HTTP server (the app's, the stand-in Slack's) looks for a shutdown request:
# `shutdown()` waits for its loop to notice, and at 50 ms a test's two servers took ~50 ms of
# every test to stop. Polling at 5 ms costs a wake-up a few microseconds long.
SERVE_POLL_SECONDS = 0.005
FIRST_POLL_SECONDS = 0.001  # `wait_until`'s first pause, doubled up to its interval


def wait_until(
    predicate: Callable[[], T],
    timeout: float = 5.0,
    what: str | Callable[[], str] = "condition",
    *,
    interval: float = 0.01,
) -> T:
    """Call `predicate` until it returns something truthy and return that; after `timeout`
    seconds fail, naming `what` was awaited (a callable is asked at that moment, so the message
    can say what was seen instead). The predicate may raise to give up early (e.g. when the
    process it waits for has exited).

    The first polls come sooner (1, 2, 4, … ms up to `interval`): most effects land within a
    few milliseconds of the request, and a flat 10 ms made every wait cost 5 ms on average, a
    test of twenty waits a tenth of a second."""
    deadline = time.monotonic() + timeout
    pause = min(FIRST_POLL_SECONDS, interval)
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() >= deadline:
            described = what() if callable(what) else what
            raise AssertionError(f"timed out after {timeout:g} s waiting for {described}")
        time.sleep(pause)
        pause = min(2 * pause, interval)
