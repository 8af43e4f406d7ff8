"""Slack's rate limits, met rather than fought: per workspace and Web API method, what Cadence
may still call this minute, and what a 429 told it to leave alone for a while.

Slack limits each method per workspace per app (https://docs.slack.dev/apis/web-api/rate-limits):
past its tier, a call is answered HTTP 429 with ``Retry-After``. Two things follow here:

- `RateBudgets.take`: the lookups Cadence can do without (a person's time zone or status with
  `users.info`, a message's link with `chat.getPermalink`) and the Home refreshes
  (`views.publish`) are paced at their tier's published floor (PACED: Tier 4, 100 a minute),
  counted per workspace over a sliding minute. The caller goes without (the zone is learnt by
  the next pass, the card is posted without its link) or plans the job again for later.
- `RateBudgets.blocked`: a 429 for one workspace and method holds back that workspace's calls
  to that method until its Retry-After has passed, and nothing else: another workspace, or
  another method, goes on. `WorkspaceRateLimits` is the retry handler that learns them. A
  workspace refused again and again (`RateBudgets.throttled`) has even its short waits handed
  back: the engine puts its jobs off (bot/engine/runner.py) while the others' go out.

One `RateBudgets` per process (`Services.rate_budgets`): every pass and the outbox share it.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from slack_sdk.http_retry import RetryHandler
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState

WINDOW_SECONDS = 60.0
# Methods Cadence paces itself, at their tier's floor a minute (their reference pages under
# https://docs.slack.dev/reference/methods/: Tier 4, "100+ per minute"; chat.getPermalink
# says "special rate limits apply" and is given Tier 4's floor).
PACED: dict[str, int] = {"users.info": 100, "chat.getPermalink": 100, "views.publish": 100}
# A 429 whose Retry-After is at most this is waited out in the calling thread (a channel's
# one message a second); a longer one is handed back, so no thread sleeps for one workspace.
SHORT_WAIT_SECONDS = 2
# This many 429s for one workspace and method within a minute: Slack is throttling it, not
# answering a short burst, and even a short Retry-After is no longer waited out on a thread
# the other workspaces' messages need (`RateBudgets.throttled`).
THROTTLED_AFTER = 2


class RateBudgets:
    """Per (workspace, method): the calls of the last minute (PACED methods) and until when a
    429 holds the method back. Thread-safe; `clock` is monotonic seconds."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self._clock = clock
        self._lock = threading.Lock()
        self._calls: dict[tuple[str, str], deque[float]] = {}
        self._blocked: dict[tuple[str, str], float] = {}
        self._refused: dict[tuple[str, str], deque[float]] = {}  # 429s of the last minute

    def wait(self, team_id: str, method: str) -> float:
        """Seconds before `method` may be called for `team_id` (0: now), counting nothing."""
        with self._lock:
            return self._wait(team_id, method, self._clock())

    def take(self, team_id: str, method: str) -> float:
        """0 and the call counted when it may be made now; else the seconds to wait."""
        with self._lock:
            now = self._clock()
            wait = self._wait(team_id, method, now)
            if wait == 0 and method in PACED:
                self._calls.setdefault((team_id, method), deque()).append(now)
            return wait

    def blocked(self, team_id: str, method: str, seconds: float) -> None:
        """Slack answered 429 with Retry-After `seconds` for this workspace and method."""
        with self._lock:
            now = self._clock()
            until = now + max(1.0, seconds)
            key = (team_id, method)
            self._blocked[key] = max(until, self._blocked.get(key, 0.0))
            self._refused.setdefault(key, deque()).append(now)

    def throttled(self, team_id: str, method: str) -> bool:
        """Slack refused this workspace's `method` THROTTLED_AFTER times or more within the
        last minute: a wait for it is handed back (the job put off), never slept through."""
        with self._lock:
            now = self._clock()
            refused = self._refused.get((team_id, method))
            while refused and now - refused[0] >= WINDOW_SECONDS:
                refused.popleft()
            return refused is not None and len(refused) >= THROTTLED_AFTER

    def _wait(self, team_id: str, method: str, now: float) -> float:
        key = (team_id, method)
        wait = max(0.0, self._blocked.get(key, 0.0) - now)
        most = PACED.get(method)
        if most is not None:
            calls = self._calls.setdefault(key, deque())
            while calls and now - calls[0] >= WINDOW_SECONDS:
                calls.popleft()
            if len(calls) >= most:
                wait = max(wait, WINDOW_SECONDS - (now - calls[0]))
        return wait


def wait_seconds(wait: float) -> int:
    """A wait as whole seconds, never 0 (how long a job is planned again for)."""
    return max(1, math.ceil(wait))


class WorkspaceRateLimits(RetryHandler):
    """slack_sdk's retry handler for 429 in a workspace's client: the Retry-After is recorded
    in the process's `RateBudgets` for that workspace and method; a short one (at most
    SHORT_WAIT_SECONDS) is waited out and the call tried again, a longer one is handed back at
    once (the caller plans the job again after it) instead of sleeping on a pass's thread.

    Without `budgets` (the Bolt app's client, which answers people): nothing is recorded, and
    a long Retry-After fails the call at once, since slack_sdk's own handler would sleep it
    through on a listener thread (a trigger_id is dead after 3 s anyway). Sleeping, a burst of
    clicks past views.open's tier put every listener thread to sleep for up to a minute and
    Bolt answered the requests after them 404, unacknowledged (bench/burst.py)."""

    def __init__(self, budgets: RateBudgets | None, team_id: str | None, max_retry_count: int = 3):
        super().__init__(max_retry_count=max_retry_count)
        self.budgets = budgets
        self.team_id = team_id

    def can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        if response is None or response.status_code != 429:
            return False
        seconds = retry_after(response)
        if self.budgets is not None and self.team_id is not None:
            method = method_of(request.url)
            self.budgets.blocked(self.team_id, method, seconds)
            if self.budgets.throttled(self.team_id, method):
                return False  # Slack keeps refusing it: no thread sleeps for one workspace
        return state.current_attempt < self.max_retry_count and seconds <= SHORT_WAIT_SECONDS

    def _can_retry(self, **_: Any) -> bool:  # can_retry decides
        return False

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        state.next_attempt_requested = True
        time.sleep(retry_after(response) if response is not None else 1)
        state.increment_current_attempt()


def retry_after(response: HttpResponse) -> int:
    """A 429's Retry-After in seconds (Slack always sends it; 60 if it did not)."""
    for name, values in response.headers.items():
        if name.lower() == "retry-after":
            value = values[0] if isinstance(values, list) else values
            try:
                return max(1, int(value))
            except (TypeError, ValueError):
                break
    return 60


def method_of(url: str) -> str:
    """The Web API method a request's URL names (…/api/chat.postMessage)."""
    return url.split("?", 1)[0].rstrip("/").rsplit("/", 1)[-1]
