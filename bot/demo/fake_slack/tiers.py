"""Rate limits as Slack applies them: per method, per workspace (the token's team), over a
sliding minute of the stand-in's ``clock``, answered HTTP 429 with ``Retry-After``.

Slack's rate-limit page (https://docs.slack.dev/apis/web-api/rate-limits, formerly
https://api.slack.com/apis/rate-limits): limits apply "per API method per workspace/team per
app"; Tier 1 is 1+ a minute ("a small amount of burst behavior is tolerated"), Tier 2 20+,
Tier 3 50+ ("sporadic bursts are welcome"), Tier 4 100+ ("generous burst behavior"); past a
limit Slack answers ``HTTP 429 Too Many Requests`` with ``Retry-After``, the seconds to wait.
The stand-in grants each tier its floor over any sliding minute: the whole minute's calls may
come at once (the burst the page tolerates), then nothing until the oldest leaves the window.

Special limits: ``chat.postMessage`` "generally allows posting one message per second per
channel" with "short bursts >1 allowed" (the same page, "Posting messages"): modelled as a
bucket per channel of POST_BURST messages, one more each second. Its "workspace-wide limit"
has no published figure and is not modelled. ``chat.getPermalink`` and ``auth.test`` say only
"special rate limits apply" (their reference pages): modelled as Tier 4.

``conversations.history`` and ``conversations.replies`` are Tier 3 for Marketplace and internal
apps; an app distributed outside the Marketplace (``marketplace_app = False``) gets one request
a minute per workspace and 15 messages a page (their reference pages, "As of May 29, 2025").
That regime holds whether ``rate_tiers`` is on or not: it is what the app is, not a test's
wish for speed.

``rate_tiers`` switches the tiers on (default off: most tests make a few calls each and want
speed; the fault suites and the benchmarks turn it on). A call refused with 429 does not count
against the window (it was not served).
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any

from bot.demo.fake_slack.methods.base import RateLimited

PER_MINUTE = {1: 1, 2: 20, 3: 50, 4: 100}  # each tier's floor (the page's "1+", "20+", …)
WINDOW_SECONDS = 60.0
POST_BURST = 3  # chat.postMessage: a burst of this many to one channel, then one a second

# Each method Cadence calls, with its tier as its reference page under
# https://docs.slack.dev/reference/methods/ gives it.
TIERS: dict[str, int] = {
    "auth.test": 4,  # "special": modelled as Tier 4
    "chat.delete": 3,
    "chat.getPermalink": 4,  # "special": modelled as Tier 4
    "chat.postEphemeral": 4,
    "chat.update": 3,
    "conversations.history": 3,
    "conversations.info": 3,
    "conversations.join": 3,
    "conversations.members": 4,
    "conversations.open": 3,
    "conversations.replies": 3,
    "files.completeUploadExternal": 4,
    "files.getUploadURLExternal": 4,
    "functions.completeError": 3,
    "functions.completeSuccess": 3,
    "oauth.v2.access": 4,
    "users.info": 4,
    "views.open": 4,
    "views.publish": 4,
    "views.push": 4,
    "views.update": 4,
}
# One request a minute per workspace for a non-Marketplace app (both methods' pages).
NON_MARKETPLACE_TIER1 = frozenset({"conversations.history", "conversations.replies"})


class Tiers:
    """FakeSlack's rate tiers: `rate_tiers` on or off, each tier's calls a minute
    (`per_minute`: a test may grant less, as Slack does when other processes of the app spend
    the same workspace's minute), the calls each window holds, and what was counted
    (``tier_log``: (workspace, method, clock, Retry-After or 0) per call, 429s included)."""

    def _init_tiers(self) -> None:
        self.rate_tiers = False
        self.per_minute = dict(PER_MINUTE)
        self.tier_log: list[tuple[str, str, float, int]] = []
        # (workspace, method[, channel]) -> the clock readings of the calls in its window
        self._windows: dict[tuple[str, ...], deque[float]] = {}
        # (workspace, channel) -> (messages it may still take at once, when that was counted)
        self._post_buckets: dict[tuple[str, str], tuple[float, float]] = {}
        # workspace -> (until when on `clock`, Retry-After): every call of it refused (`throttle`)
        self._throttled: dict[str, tuple[float, int]] = {}

    def throttle(self, team_id: str, *, retry_after: int = 60, seconds: float = 600.0) -> None:
        """Slack throttling one workspace: every Web API call its tokens make is answered 429
        with ``retry_after`` for the next ``seconds`` of ``clock`` (whether ``rate_tiers`` is on
        or not; 0 ends it). Other workspaces are served as before."""
        with self._lock:
            if seconds > 0:
                self._throttled[team_id] = (self.clock() + seconds, retry_after)
            else:
                self._throttled.pop(team_id, None)

    def _check_tier(self, method: str, args: dict[str, Any]) -> None:
        """Count the call against its window, or raise RateLimited with its Retry-After.
        Called under the fake's lock, before the method is performed."""
        team = self._call_team()
        now = self.clock()
        until, retry_after = self._throttled.get(team, (0.0, 0))
        if now < until:
            self.tier_log.append((team, method, now, retry_after))
            raise RateLimited(retry_after)
        if method in NON_MARKETPLACE_TIER1 and not self.marketplace_app:
            self._take((team, method), 1, WINDOW_SECONDS, now, method)
            return
        if not self.rate_tiers:
            return
        if method == "chat.postMessage":
            channel = str(args.get("channel") or "")
            channel = self._dms.get(channel, channel)  # a user id posts in their DM
            self._take_post((team, channel), now)
            return
        tier = TIERS.get(method)
        if tier is not None:
            self._take((team, method), self.per_minute[tier], WINDOW_SECONDS, now, method)

    def _take(
        self, key: tuple[str, ...], most: int, window: float, now: float, method: str
    ) -> None:
        calls = self._windows.setdefault(key, deque())
        while calls and now - calls[0] >= window:
            calls.popleft()
        if len(calls) >= most:
            # Until the oldest call leaves the window, in whole seconds (Retry-After is an
            # integer number of seconds), never less than one.
            retry_after = max(1, math.ceil(window - (now - calls[0])))
            self.tier_log.append((key[0], method, now, retry_after))
            raise RateLimited(retry_after)
        calls.append(now)
        self.tier_log.append((key[0], method, now, 0))

    def _take_post(self, key: tuple[str, str], now: float) -> None:
        """chat.postMessage to one channel: a bucket of POST_BURST, refilled one a second."""
        left, since = self._post_buckets.get(key, (float(POST_BURST), now))
        left = min(float(POST_BURST), left + (now - since))
        if left < 1:
            retry_after = max(1, math.ceil(1 - left))
            self.tier_log.append((key[0], "chat.postMessage", now, retry_after))
            raise RateLimited(retry_after)
        self._post_buckets[key] = (left - 1, now)
        self.tier_log.append((key[0], "chat.postMessage", now, 0))

    def rate_limited_calls(self, method: str | None = None) -> list[tuple[str, str, int, float]]:
        """The 429s the tiers served (workspace, method, Retry-After, clock), oldest first."""
        with self._lock:
            return [
                (team, m, retry_after, at)
                for team, m, at, retry_after in self.tier_log
                if retry_after and (method is None or m == method)
            ]
