"""What a cheap request sends to the database (issue 23, item 3): a change of a cadence reads
only what its permission check needs (the engagement's name and leads, one SELECT), not the
whole engagement with its people, KPIs and SLAs (four). Counted through a signed
`/cadence skip`, every thread, until its answer is posted, beyond what `/cadence help` (which
reads nothing) costs the same way."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from conftest import Cadence
from engine_flows import schedule, utc
from flows import create_engagement, text_of, wait_reply
from sqlalchemy import event

from bot.platform import clock

ROW_STATEMENTS = {"SELECT", "INSERT", "UPDATE", "DELETE", "WITH"}
# The delivery recorded, the cadence, the engagement's name and leads, the skipped check-in,
# the cadence's update, the audit event (3: its chain head locked and moved, the event). With
# the whole engagement read for the permission check, 11.
MOST_FOR_A_SKIP = 8


def sent_by(cadence: Cadence, text: str) -> tuple[list[str], dict[str, Any]]:
    """The row statements `/cadence <text>` sends, from any thread, until it has answered."""
    sent: list[str] = []

    def record(_conn, _cursor, statement, _parameters, _context, _executemany) -> None:
        first = statement.lstrip().split(None, 1)[0].upper()
        if first in ROW_STATEMENTS and "set_config(" not in statement:  # PostgreSQL's limits
            sent.append(" ".join(statement.split()))

    event.listen(cadence.db.engine, "before_cursor_execute", record)
    try:
        reply = wait_reply(cadence, cadence.sim.command(text))
    finally:
        event.remove(cadence.db.engine, "before_cursor_execute", record)
    return sent, reply


def test_a_skip_reads_the_engagement_s_leads_not_its_details(cadence: Cadence):
    create_engagement(cadence)
    row = schedule(cadence, utc(2026, 11, 27, 10, 0))
    at: Callable[[], Any] = lambda: clock.fixed_at(utc(2026, 11, 27, 10, 5))  # noqa: E731
    with at():
        sent_by(cadence, "help")  # warmed: the workspace's first request records it
        base, _ = sent_by(cadence, "help")
        sent, reply = sent_by(cadence, f"skip {row.id}")
    assert "Skipped the" in text_of(reply), text_of(reply)
    assert len(sent) - len(base) <= MOST_FOR_A_SKIP, "\n".join(sent)
    reads = [s for s in sent if s.startswith("SELECT")]
    for detail in ("FROM kpidefinition", "FROM concernsla"):
        assert not [s for s in reads if detail in s], detail
