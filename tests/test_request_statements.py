"""What a cheap request sends to the database (issue 23, item 3), counted through signed
requests, every thread, until the request has answered, beyond what `/cadence help` (which
reads nothing) costs the same way.

- A change of a cadence (`/cadence skip`) reads only what its permission check needs (the
  engagement's name and leads, with the cadence, one SELECT), not the whole engagement with
  its people, KPIs and SLAs (four).
- The check-in prompt's answer button reads the check-in with its cadence, engagement and the
  person's recipient row in one SELECT (was four), and the form's previous update with its
  figures in one (was two)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from conftest import VENDOR, Cadence
from engine_flows import schedule, utc
from flows import create_engagement, text_of, wait_reply
from sqlalchemy import event
from test_answers import answer_prompt, seed_checkin
from test_update_evidence import MONDAY, block, figures, send, wait_summaries

from bot.platform import clock

ROW_STATEMENTS = {"SELECT", "INSERT", "UPDATE", "DELETE", "WITH"}
# The delivery recorded, the cadence with its engagement's name and leads, the skipped
# check-in, the cadence's update, the audit event (3: its chain head locked and moved, the
# event). With the whole engagement read for the permission check, 11; with the cadence read
# apart from the leads, 8.
MOST_FOR_A_SKIP = 7
# The check-in with its cadence, engagement and recipient row; the engagement's KPIs; the
# author's previous update with its figures; their deliverables due soon; the cadence's
# questions. Was 9 (the check-in, cadence, engagement and recipient apart; the previous
# update's figures apart).
MOST_FOR_A_BUTTON = 5


def sent_during(cadence: Cadence, act: Callable[[], Any]) -> tuple[list[str], Any]:
    """The row statements sent from any thread while `act` runs (it returns once the request
    has answered), and what `act` returned."""
    sent: list[str] = []

    def record(_conn, _cursor, statement, _parameters, _context, _executemany) -> None:
        first = statement.lstrip().split(None, 1)[0].upper()
        if first in ROW_STATEMENTS and "set_config(" not in statement:  # PostgreSQL's limits
            sent.append(" ".join(statement.split()))

    event.listen(cadence.db.engine, "before_cursor_execute", record)
    try:
        answer = act()
    finally:
        event.remove(cadence.db.engine, "before_cursor_execute", record)
    return sent, answer


def sent_by(cadence: Cadence, text: str) -> tuple[list[str], dict[str, Any]]:
    """The row statements `/cadence <text>` sends, from any thread, until it has answered."""
    return sent_during(cadence, lambda: wait_reply(cadence, cadence.sim.command(text)))


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


def test_the_answer_button_reads_the_form_in_five_statements(cadence: Cadence):
    """The vendor's previous update (with both KPIs' figures and a blocker) fills in the form
    the prompt's button opens: all of it read in `MOST_FOR_A_BUTTON` statements."""
    engagement = create_engagement(cadence)
    summary = "Tokenisation live in staging."
    reply = send(
        cadence,
        {
            "rag": "green",
            "summary": summary,
            "blockers": "PSP sandbox access",
            **figures(cadence, uptime="99.95", mttr="6"),
        },
    )
    assert reply.status == 200 and not (reply.json or {}).get("errors"), reply.body
    wait_summaries(cadence, 1)
    checkin = seed_checkin(cadence, engagement)
    with clock.fixed_at(MONDAY):
        sent_by(cadence, "help")
        base, _ = sent_by(cadence, "help")
    sent, view = sent_during(cadence, lambda: answer_prompt(cadence, checkin, VENDOR))
    assert "Filled in from your update of" in text_of({"blocks": view["blocks"]}), view
    assert block(view, "summary")["element"]["initial_value"] == summary
    shown = {
        b["element"].get("initial_value")
        for b in view["blocks"]
        if b["block_id"].startswith("kpi_")
    }
    assert shown == {"99.95", "6"}, shown
    still = block(view, "still_blocking")["element"]["options"]
    assert [o["text"]["text"] for o in still] == ["PSP sandbox access"]
    assert len(sent) - len(base) <= MOST_FOR_A_BUTTON, "\n".join(sent)
