"""Slack requests that changed something, so a retried delivery acts once.

`first_time` is called inside the transaction that makes the change: the unique key makes a
second insert of the same delivery impossible (on PostgreSQL a concurrent retry waits for the
first transaction and then finds the row; on SQLite writers take turns). When the change rolls
back, so does the record, and a retry may act.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import Session

from storage.jobs import insert_ignoring_conflict
from storage.models import SlackRequest

# Slack retries within minutes; a day is plenty to remember a delivery. Older receipts are
# pruned by the engine in batches (`storage/pruning.py`).
REMEMBERED = timedelta(days=1)


def first_time(session: Session, *, team_id: str, key: str, now: datetime) -> bool:
    """Record the delivery named `key`; False when it was recorded before (a retry)."""
    row = {"team_id": team_id, "key": key[:200], "at": now}
    return insert_ignoring_conflict(session, SlackRequest, row, ["key"]) is not None
