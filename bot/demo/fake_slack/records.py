"""What the stand-in Slack heard: every Web API call and every post to a response_url.

A test reads these (``calls_to``, ``wait_for``, ``wait_for_response``, ``block_errors``)
instead of mocking the client: what Slack received is the outcome.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.demo.waiting import wait_until

# How long a wait for an effect done after the ack may take before it fails: long enough for a
# machine busy with the whole suite in parallel (tests/conftest.py's `Cadence.wait_until` and
# `settle` wait as long); an effect that never comes still fails, only later.
WAIT_LIMIT_S = 15.0


@dataclass
class Call:
    """One recorded Web API call."""

    method: str
    args: dict[str, Any]
    headers: dict[str, str]
    at: float
    status: int = 200
    response: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return bool(self.response.get("ok"))

    @property
    def token(self) -> str | None:
        auth = self.headers.get("Authorization") or self.headers.get("authorization") or ""
        if auth.startswith("Bearer "):
            return auth[len("Bearer ") :]
        return self.args.get("token")


@dataclass
class ResponsePost:
    """One POST to a response_url (Bolt ``respond()`` / WebhookClient)."""

    name: str
    body: dict[str, Any]
    status: int = 200
    at: float = 0.0


class Records:
    """FakeSlack's records: ``calls``, ``responses`` and ``block_errors``, kept in order."""

    def _init_records(self) -> None:
        self.calls: list[Call] = []
        self.responses: list[ResponsePost] = []
        self.block_errors: list[dict[str, Any]] = []

    def reset(self) -> None:
        """Clear recorded calls, responses and block errors (state and faults are kept)."""
        with self._lock:
            self.calls.clear()
            self.responses.clear()
            self.block_errors.clear()

    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def _called_summary(self) -> str:
        with self._lock:
            names = [
                f"{c.method}({c.status}{'' if c.ok else ' ' + str(c.response.get('error'))})"
                for c in self.calls
            ]
        return ", ".join(names) or "nothing"

    def wait_for(self, method: str, count: int = 1, timeout: float = WAIT_LIMIT_S) -> list[Call]:
        """Wait until ``method`` was called at least ``count`` times; return those calls."""
        wait_until(
            lambda: len(self.calls_to(method)) >= count,
            timeout,
            lambda: (
                f"{count} call(s) to {method}, got {len(self.calls_to(method))}; "
                f"called: {self._called_summary()}"
            ),
        )
        return self.calls_to(method)

    def wait_for_response(
        self, count: int = 1, timeout: float = WAIT_LIMIT_S
    ) -> list[ResponsePost]:
        """Wait until at least ``count`` response_url posts were received; return them."""
        wait_until(
            lambda: len(self.responses) >= count,
            timeout,
            lambda: (
                f"{count} response_url post(s), got {len(self.responses)}; "
                f"called: {self._called_summary()}"
            ),
        )
        with self._lock:
            return list(self.responses)

    def _record(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)

    def _block_error(self, where: str, errors: list[str], payload: Any) -> None:
        with self._lock:
            self.block_errors.append({"method": where, "errors": errors, "payload": payload})
