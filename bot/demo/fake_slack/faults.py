"""Faults on demand: what a Slack client meets on a bad day, queued per method or at random.

An ``ok: false`` error, HTTP 429 with ``Retry-After`` as Slack rate limits
(https://docs.slack.dev/apis/web-api/rate-limits), a 5xx, a connection dropped before or
after Slack took the call, an answer later than the client waits, a call held until a test
releases it (a process dying mid-call), and ``chaos``: a share of calls meeting one of these
at random. Queued faults come first; ``injected`` lists every fault served.
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from bot.demo.fake_slack.records import Call

DROPPED = -1  # handle_api's status for "close the connection without an answer"
CHAOS_KINDS = ("rate", "server", "drop", "drop_after", "timeout", "timeout_after")
"""What `chaos` picks from: 429 with Retry-After, a 5xx, a connection dropped before Slack took
the call, dropped after it did (performed, answer lost), an answer later than the client waits
(not performed), and the same after Slack took the call."""
LOST_ANSWERS = frozenset({"drop", "drop_after", "timeout", "timeout_after"})


@dataclass
class Fault:
    kind: str  # "fail" | "rate" | "server" | "drop" | "drop_after" | "timeout" | "timeout_after"
    error: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    retry_after: int = 1
    status: int = 500
    seconds: float = 0.0  # how long a "timeout" waits before answering
    # Only a call whose arguments include these (e.g. {"thread_ts": …}); others pass it by.
    when: dict[str, Any] = field(default_factory=dict)

    def applies_to(self, args: dict[str, Any]) -> bool:
        return all(str(args.get(k)) == str(v) for k, v in self.when.items())


@dataclass
class Chaos:
    rate: float
    methods: frozenset[str] | None
    kinds: tuple[str, ...]
    rng: random.Random
    timeout_seconds: float
    retry_after: int


class Faults:
    """FakeSlack's faults: queued per method, delays, holds and ``chaos``."""

    def _init_faults(self) -> None:
        self._faults: dict[str, deque[Fault]] = {}
        self._delays: dict[str, float] = {}
        self._holds: dict[str, tuple[threading.Event, bool]] = {}
        self.held: list[Call] = []  # calls that were held and then lost (see `hold`)
        self._chaos: Chaos | None = None
        self.injected: list[tuple[str, str]] = []  # (method, fault kind) for every fault served

    def fail(self, method: str, error: str = "channel_not_found", times: int = 1, **extra: Any):
        """Next ``times`` calls to ``method`` answer 200 {"ok": false, "error": error, **extra}."""
        with self._lock:
            q = self._faults.setdefault(method, deque())
            q.extend(Fault("fail", error=error, extra=extra) for _ in range(times))

    def rate_limit(self, method: str, retry_after: int = 1, times: int = 1) -> None:
        """Next ``times`` calls answer HTTP 429 with ``Retry-After``."""
        with self._lock:
            q = self._faults.setdefault(method, deque())
            q.extend(Fault("rate", retry_after=retry_after) for _ in range(times))

    def server_error(self, method: str, status: int = 500, times: int = 1) -> None:
        """Next ``times`` calls answer HTTP ``status``."""
        with self._lock:
            q = self._faults.setdefault(method, deque())
            q.extend(Fault("server", status=status) for _ in range(times))

    def delay(self, method: str, seconds: float) -> None:
        """Sleep ``seconds`` before answering every call to ``method`` (0 clears)."""
        with self._lock:
            if seconds > 0:
                self._delays[method] = seconds
            else:
                self._delays.pop(method, None)

    def hold(self, method: str, *, reaches_slack: bool = False) -> None:
        """Calls to ``method`` wait until ``release`` — what a client sees whose process dies
        while the call is in flight. Then they are lost before Slack took them (recorded in
        ``held``, not performed), or with ``reaches_slack`` performed after all, the answer
        going nowhere (Slack took the message; the client never heard)."""
        with self._lock:
            self._holds[method] = (threading.Event(), reaches_slack)

    def drop(
        self,
        method: str,
        *,
        times: int = 1,
        reaches_slack: bool = False,
        when: dict[str, Any] | None = None,
    ) -> None:
        """Next ``times`` calls to ``method`` lose their connection without an answer: before
        Slack took them, or with ``reaches_slack`` after (performed; the client never hears).
        ``when``: only calls with these arguments (the first such fault queued applies)."""
        kind = "drop_after" if reaches_slack else "drop"
        with self._lock:
            self._faults.setdefault(method, deque()).extend(
                Fault(kind, when=dict(when or {})) for _ in range(times)
            )

    def time_out(
        self, method: str, seconds: float, *, times: int = 1, reaches_slack: bool = True
    ) -> None:
        """Next ``times`` calls to ``method`` are answered only after ``seconds`` (make it longer
        than the client waits): performed first with ``reaches_slack``, else not at all."""
        kind = "timeout_after" if reaches_slack else "timeout"
        with self._lock:
            q = self._faults.setdefault(method, deque())
            q.extend(Fault(kind, seconds=seconds) for _ in range(times))

    def chaos(
        self,
        rate: float = 0.2,
        *,
        methods: Iterable[str] | None = None,
        kinds: Iterable[str] = CHAOS_KINDS,
        seed: int | None = None,
        timeout_seconds: float = 3.0,
        retry_after: int = 1,
    ) -> None:
        """From now on each call (to ``methods``; default every method but auth.test) meets a
        fault with probability ``rate``, of a kind picked at random from ``kinds`` (see
        CHAOS_KINDS). Faults queued with fail/rate_limit/drop/… come first. ``calm`` ends it."""
        unknown = set(kinds) - set(CHAOS_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}; known: {CHAOS_KINDS}")
        with self._lock:
            self._chaos = Chaos(
                rate=rate,
                methods=frozenset(methods) if methods is not None else None,
                kinds=tuple(kinds),
                rng=random.Random(seed),
                timeout_seconds=timeout_seconds,
                retry_after=retry_after,
            )

    def calm(self) -> None:
        """End ``chaos``: calls are answered normally again (queued faults are kept)."""
        with self._lock:
            self._chaos = None

    def release(self, method: str) -> None:
        with self._lock:
            held = self._holds.pop(method, None)
        if held is not None:
            held[0].set()

    def _next_fault(self, method: str, args: dict[str, Any] | None = None) -> Fault | None:
        with self._lock:
            q = self._faults.get(method)
            if q:
                for fault in q:
                    if fault.applies_to(args or {}):
                        q.remove(fault)
                        return fault
            chaos = self._chaos
            if chaos is None or method == "auth.test":
                return None
            if chaos.methods is not None and method not in chaos.methods:
                return None
            if chaos.rng.random() >= chaos.rate:
                return None
            kind = chaos.rng.choice(chaos.kinds)
            return Fault(
                kind,
                status=chaos.rng.choice((500, 502, 503)),
                retry_after=chaos.retry_after,
                seconds=chaos.timeout_seconds,
            )

    def _lost_answer(
        self, fault: Fault, method: str, args: dict[str, Any], headers: dict[str, str]
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        """A dropped connection or a late answer, performed first if Slack took the call."""
        with self._lock:
            self.injected.append((method, fault.kind))
        taken = fault.kind.endswith("_after")
        body = (
            self._perform(method, args) if taken else {"ok": False, "error": f"lost_{fault.kind}"}
        )
        # Recorded as Slack saw it: a taken call with its answer; a lost one with status 0.
        self._record(Call(method, args, dict(headers), time.time(), 200 if taken else 0, body))
        if fault.kind.startswith("timeout"):
            time.sleep(fault.seconds)
            return (200 if taken else 503), body, {}
        return DROPPED, body, {}
