"""Looking for a message whose outcome is unknown, before sending it again.

A call that timed out, or a worker killed mid-call, leaves a job whose message may be in Slack.
Every message carries metadata naming its job, so the next attempt reads the conversation and
looks for it (`Lookups.find`). Reading costs what Slack's rate tiers say: an app distributed
outside the Marketplace reads `conversations.history` and `conversations.replies` at Tier 1
(one request a minute per workspace) and 15 messages a page
(https://docs.slack.dev/changelog/2025/05/29/rate-limit-changes-for-non-marketplace-apps), so
a lookup reads as little as it can:

- a thread reply is looked for in its thread (`conversations.replies`): history holds top-level
  messages only (https://api.slack.com/methods/conversations.history);
- only the messages between the job's planning and a pass's span after its lost attempt
  (`oldest`, `latest`), newest first, page by page;
- one read serves every unknown outcome of a pass in the same conversation (`Lookups`): the
  runner widens the first read to cover the others of its lane;
- a 429 is not slept through (Tier 1 asks a minute) but handed back with its Retry-After, and
  recorded in the process's `RateBudgets` for that workspace and method, so its other lookups
  there wait too (this pass's and the next), while other workspaces go on;
- a read stopped part way (a 429 on its second page: at Tier 1 each page is a minute) keeps
  what it found, and the job keeps where it got to (`scheduledjob.lookup_below`): the next
  lookup goes on below it instead of reading the newest page again every minute, which in a
  busy channel would never reach the message.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.engine.slack_errors import Verdict, classify, error_code
from bot.platform.rate_limits import SHORT_WAIT_SECONDS, RateBudgets, wait_seconds
from storage import jobs

log = logging.getLogger(__name__)
JOB_EVENT = "cadence_job"  # the metadata event type naming the job that sent a message
LOOKUP_PAGE = 200  # asked for; a non-Marketplace app gets 15 a page whatever it asks
MAX_LOOKUP_PAGES = 20  # pages one lookup reads; the next lookup goes on from there
CLOCK_SKEW = timedelta(minutes=5)  # each bound is widened by this much (Slack's clock and ours)
# How long after the moment a job's lost attempt is known to have begun by (`unknown_until`)
# its call may still have reached Slack: a pass claims jobs at its start's `now` and runs for up
# to 30 minutes (runner.PASS_LIMIT_SECONDS), each call ending within the client's timeout.
ATTEMPT_SPAN = timedelta(minutes=35)
HISTORY_METHODS = ("conversations.history", "conversations.replies")
SHORT_WAITS = 2  # short Retry-Afters one lookup waits out before it hands the next one back


class StillUnknown(Exception):
    """Slack did not answer whether it has a message (a timeout, a dropped connection, a rate
    limit or server error that outlasted the client's retries): ask again later, not before
    `retry_after` seconds when Slack said so (a rate limit's Retry-After). `read_below`: the
    ts of the oldest message read before it stopped (every newer one in the window was
    looked at, and the message was not among them), or None when nothing was read."""

    def __init__(
        self, message: str, retry_after: int | None = None, read_below: str | None = None
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.read_below = read_below


class _Stopped(Exception):
    """A read that stopped part way: what it found, and where it got to."""

    def __init__(self, cause: StillUnknown, found: dict[str, str], lowest: str | None) -> None:
        super().__init__(str(cause))
        self.cause, self.found, self.lowest = cause, found, lowest


@dataclass(frozen=True)
class Window:
    """The part of a conversation a lookup reads, as Unix times (None: unbounded)."""

    oldest: float | None
    latest: float | None

    @classmethod
    def of(cls, job: jobs.ClaimedJob) -> Window:
        """From just before the job was planned (no attempt, so no message of it, is older) to
        a pass's span after its lost attempt began; both widened by the clocks' skew. Where an
        earlier lookup stopped part way, only what it had not read yet (to `lookup_below`)."""
        oldest = job.planned_at - CLOCK_SKEW if job.planned_at is not None else None
        latest = (
            (job.unknown_until + ATTEMPT_SPAN + CLOCK_SKEW).timestamp()
            if job.unknown_until is not None
            else None
        )
        if job.lookup_below is not None:
            below = float(job.lookup_below)
            latest = below if latest is None else min(latest, below)
        return cls(oldest.timestamp() if oldest is not None else None, latest)

    def covers(self, other: Window) -> bool:
        low = self.oldest is None or (other.oldest is not None and self.oldest <= other.oldest)
        high = self.latest is None or (other.latest is not None and other.latest <= self.latest)
        return low and high

    def union(self, other: Window) -> Window:
        oldest = None if None in (self.oldest, other.oldest) else min(self.oldest, other.oldest)  # type: ignore[type-var]
        latest = None if None in (self.latest, other.latest) else max(self.latest, other.latest)  # type: ignore[type-var]
        return Window(oldest, latest)

    @classmethod
    def spanning(cls, windows: Iterable[Window]) -> Window | None:
        spanned = None
        for window in windows:
            spanned = window if spanned is None else spanned.union(window)
        return spanned


@dataclass
class _Read:
    window: Window
    wanted: frozenset[str]  # the keys it looked for: the read may stop once it found them all
    found: dict[str, str] = field(default_factory=dict)  # job key -> ts
    channel: str = ""  # the conversation's id (a DM's D… id for a person)
    whole: bool = False  # read to the window's start (not stopped early)

    def answers(self, key: str, window: Window) -> bool:
        """Whether this read tells where `key`'s message is or that there is none: found
        anywhere, or its window read whole (or until every key wanted was found)."""
        return key in self.found or (
            self.window.covers(window) and (self.whole or key in self.wanted)
        )

    def read_below(self, window: Window) -> str | None:
        """How far down this read got into `window`, when it read the window's top but not its
        start (a read stopped part way): every message in `window` newer than that was looked
        at (for every job's key), so a later lookup need only read below it."""
        if self.window.oldest is None:
            return None
        from_top = self.window.latest is None or (
            window.latest is not None and window.latest <= self.window.latest
        )
        short = window.oldest is None or window.oldest < self.window.oldest
        return f"{self.window.oldest:.6f}" if from_top and short else None


class Lookups:
    """What one pass has read of each conversation. A pass holds the leases of the jobs it looks
    for, so nobody else can post them meanwhile: what a read did not find stays not found for
    the pass. Rate limits are the process's (`budgets`), shared with every other call."""

    def __init__(self, budgets: RateBudgets) -> None:
        self._budgets = budgets
        self._lock = threading.Lock()
        self._reads: dict[tuple[str, str, str | None], _Read] = {}
        self._widened: dict[int, tuple[Window, frozenset[str]]] = {}
        # One read at a time per workspace and method: lanes run side by side, and a rate
        # limit is learned from the first 429, not from one per lane.
        self._turns: dict[tuple[str, str], threading.Lock] = defaultdict(threading.Lock)
        self.reads = 0  # conversations read (each maybe several pages): for reports and tests

    def widen(self, claimed: Iterable[jobs.ClaimedJob]) -> None:
        """Jobs of one lane (one conversation, or one channel and its threads) whose outcomes
        are unknown: the first lookup among them reads a window covering them all."""
        unknown = [job for job in claimed if job.outcome_unknown]
        spanned = Window.spanning(Window.of(job) for job in unknown)
        if spanned is None:
            return
        keys = frozenset(job.key for job in unknown)
        with self._lock:
            for job in unknown:
                self._widened[job.id] = (spanned, keys)

    def find(
        self, client: WebClient, job: jobs.ClaimedJob, channel: str, thread_ts: str | None
    ) -> dict[str, Any] | None:
        """The job's message ({"channel", "ts"}) or None when Slack has none, or refuses for
        good to say (no history scope, no access: sending again is then the lesser harm).
        Raises StillUnknown when the lookup failed for a passing reason (a timeout, a 5xx, a
        rate limit with its Retry-After): sending now could post the message twice."""
        method = HISTORY_METHODS[1] if thread_ts is not None else HISTORY_METHODS[0]
        with self._lock:
            turn = self._turns[(job.team_id, method)]
        with turn:
            for _ in range(SHORT_WAITS):
                try:
                    return self._find(client, job, channel, thread_ts, method)
                except StillUnknown as e:
                    # A short Retry-After (a Tier 3 minute's edge, a burst) is waited out here,
                    # as a send's is (runner: SHORT_WAIT_SECONDS): handing it back would put off
                    # every lookup of the pass behind it until the next pass.
                    short = e.retry_after is not None and e.retry_after <= SHORT_WAIT_SECONDS
                    if not short or self._budgets.throttled(job.team_id, method):
                        raise
                    time.sleep(self._budgets.wait(job.team_id, method))
            return self._find(client, job, channel, thread_ts, method)

    def _find(
        self,
        client: WebClient,
        job: jobs.ClaimedJob,
        channel: str,
        thread_ts: str | None,
        method: str,
    ) -> dict[str, Any] | None:
        own = Window.of(job)
        conversation = (job.team_id, channel, thread_ts)
        with self._lock:
            read = self._reads.get(conversation)
            if read is not None and read.answers(job.key, own):
                ts = read.found.get(job.key)
                return {"channel": read.channel, "ts": ts} if ts is not None else None
            wait = self._budgets.wait(job.team_id, method)
            if wait > 0:
                raise StillUnknown(
                    f"lookup: {method} rate limited for {wait:.0f} s more",
                    retry_after=wait_seconds(wait),
                    read_below=read.read_below(own) if read is not None else None,
                )
            window, wanted = self._widened.get(job.id, (own, frozenset()))
            window, wanted = window.union(own), wanted | {job.key}
            if read is not None:
                window = window.union(read.window)
        try:
            resolved, found, whole = read_conversation(
                client, channel, thread_ts=thread_ts, window=window, wanted=wanted
            )
        except _Stopped as stopped:
            cause = stopped.cause
            if cause.retry_after is not None:
                self._budgets.blocked(job.team_id, method, cause.retry_after)
            if stopped.lowest is None:
                raise cause from None
            # What was read stands: the keys found, and the newest part of the window.
            part = _Read(
                Window(float(stopped.lowest), window.latest),
                wanted,
                stopped.found,
                channel,
                whole=True,  # for the part it covers
            )
            with self._lock:
                self.reads += 1
                self._reads[conversation] = part
            ts = stopped.found.get(job.key)
            if ts is not None:
                return {"channel": channel, "ts": ts}
            cause.read_below = part.read_below(own)
            raise cause from None
        with self._lock:
            self.reads += 1
            if found is not None:
                self._reads[conversation] = _Read(window, wanted, found, resolved, whole)
        ts = (found or {}).get(job.key)
        return {"channel": resolved, "ts": ts} if ts is not None else None


def read_conversation(
    client: WebClient,
    channel: str,
    *,
    thread_ts: str | None,
    window: Window,
    wanted: frozenset[str],
) -> tuple[str, dict[str, str] | None, bool]:
    """(the conversation's id, the job keys found in the window -> their ts, whether it was
    read to the window's start); None instead of the dict when Slack refuses for good to be
    read. It stops at the page where every key in `wanted` has been found: at Tier 1 a page is
    a minute. A thread is read with `conversations.replies`, a channel or DM with
    `conversations.history`."""
    args: dict[str, Any] = {"include_all_metadata": True, "limit": LOOKUP_PAGE}
    if window.oldest is not None:
        args["oldest"] = f"{window.oldest:.6f}"
    if window.latest is not None:
        # https://api.slack.com/methods/conversations.history: `latest` is the end of the range
        # (default now); `inclusive` only matters for a message at exactly either bound.
        args["latest"] = f"{window.latest:.6f}"
        args["inclusive"] = True
    found: dict[str, str] = {}
    lowest: str | None = None  # the oldest message's ts read so far (pages come newest first)
    try:
        if channel[:1] in "UW":
            channel = client.conversations_open(users=channel)["channel"]["id"]
        if thread_ts is not None:
            pages = _pages(client.conversations_replies, channel=channel, ts=thread_ts, **args)
        else:
            pages = _pages(client.conversations_history, channel=channel, **args)
        for messages in pages:
            for message in messages:
                metadata = message.get("metadata") or {}
                job = (metadata.get("event_payload") or {}).get("job")
                if metadata.get("event_type") == JOB_EVENT and job:
                    found.setdefault(str(job), message["ts"])
                if lowest is None or float(message["ts"]) < float(lowest):
                    lowest = message["ts"]
            if wanted <= found.keys():
                return channel, found, False
    except SlackApiError as e:
        if e.response.status_code == 429:
            wait = int(e.response.headers.get("Retry-After", "60") or 60)
            cause = StillUnknown(f"lookup: ratelimited for {wait} s", retry_after=wait)
            raise _Stopped(cause, found, lowest) from e
        if classify(e, to_person=False) is Verdict.RETRY:
            raise _Stopped(StillUnknown(f"lookup: {error_code(e)}"), found, lowest) from e
        log.info("could not look for lost messages in %s: %s", channel, error_code(e))
        return channel, None, False
    except OSError as e:
        raise _Stopped(StillUnknown(f"lookup: connection: {e}"), found, lowest) from e
    except _PagesLeft as e:  # read as much as one lookup may: the next goes on from here
        raise _Stopped(StillUnknown(str(e), retry_after=1), found, lowest) from e
    return channel, found, True


class _PagesLeft(Exception):
    """A lookup read MAX_LOOKUP_PAGES pages without reaching its window's start."""


def _pages(call: Callable[..., Any], **args: Any) -> Iterator[list[dict[str, Any]]]:
    """The messages of each page `call` answers, following its cursors, at most
    MAX_LOOKUP_PAGES of them in one lookup (then `_PagesLeft`: the next lookup goes on below
    the oldest message read; the message is never taken as not sent for want of reading)."""
    cursor = None
    for _ in range(MAX_LOOKUP_PAGES):
        response = call(**args, **({"cursor": cursor} if cursor else {}))
        yield response.get("messages") or []
        cursor = (response.get("response_metadata") or {}).get("next_cursor")
        if not cursor:
            return
    raise _PagesLeft(f"lookup: {MAX_LOOKUP_PAGES} pages read, more to read below")
