"""The one place "now" comes from, so `tick --now` and tests can set it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

_fixed: datetime | None = None


def now() -> datetime:
    """The current moment, timezone-aware UTC (or the moment fixed with `fixed_at`)."""
    return _fixed if _fixed is not None else datetime.now(UTC)


def is_fixed() -> bool:
    """Whether `now()` is a fixed moment (a test, the demo, `tick --now`)."""
    return _fixed is not None


@contextmanager
def fixed_at(moment: datetime) -> Iterator[datetime]:
    """Make `now()` return `moment` inside the block (used by `python -m bot tick --now`)."""
    global _fixed
    if moment.tzinfo is None:
        raise ValueError("fixed_at needs an aware datetime (with an offset, e.g. +00:00)")
    previous, _fixed = _fixed, moment.astimezone(UTC)
    try:
        yield _fixed
    finally:
        _fixed = previous
