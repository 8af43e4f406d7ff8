"""The one way the tests wait (kept in the package, beside the fake Slack that uses it too)."""

from bot.demo.waiting import SERVE_POLL_SECONDS, wait_until

__all__ = ["SERVE_POLL_SECONDS", "wait_until"]
