"""Deliverables in the figures every view shares: on-time delivery (judged against the date as
first agreed), first-time acceptance, average slip, overdue, due this week and what slipped
since the last digest, against hand-computed values; then through the product (signed requests
at simulated moments) in the health card, the digest, the scorecard, Home and the export."""

from __future__ import annotations

from datetime import date

import pytest
from conftest import LEAD, TEAM, VENDOR
from engine_flows import utc
from flows import text_of, wait_reply
from test_deliverables import add, set_up, step
from test_export import export_files
from test_home import open_home, text

from bot.blocks.digest import DigestScope, digest_message
from bot.blocks.health import PART_LABELS
from bot.domain import figures
from bot.domain.figures import DeliverableRow, Inputs, Rate, Replan
from bot.platform import clock

NOW = utc(2026, 12, 16, 12, 0)
WEEKS = 8
START = NOW - WEEKS * figures.WEEK
SINCE = NOW - figures.WEEK  # Dec 9 12:00


def row(n: int, status: str, due, **kw) -> DeliverableRow:
    return DeliverableRow(
        n, f"D{n}", status, kw.pop("created_at", utc(2026, 11, 1)), kw.pop("due_at", due),
        due, **kw,
    )  # fmt: skip


ROWS = (
    # 1: accepted first time on a submission before its first date: on time.
    row(1, "accepted", utc(2026, 12, 5), submitted_at=utc(2026, 12, 4), accepted_at=utc(2026, 12, 6)),
    # 2: re-planned twice (+7, +3 d), submitted after its first date, rejected once, accepted.
    row(2, "accepted", utc(2026, 12, 1), due_at=utc(2026, 12, 11), slip_count=2,
        days_slipped=10, rework_count=1, submitted_at=utc(2026, 12, 10),
        accepted_at=utc(2026, 12, 12)),
    # 3: not started, past its date: overdue, a miss, and it fell overdue since the digest.
    row(3, "planned", utc(2026, 12, 12)),
    # 4: submitted in time, waiting for its acceptor: not judged yet.
    row(4, "submitted", utc(2026, 12, 14), submitted_at=utc(2026, 12, 13)),
    # 5: in progress, due in 3 days: due this week; moved 2 days later on Dec 15.
    row(5, "in_progress", utc(2026, 12, 17), due_at=utc(2026, 12, 19), slip_count=1,
        days_slipped=2),
    # 6: cancelled after its date: never judged, never in view.
    row(6, "cancelled", utc(2026, 12, 2), cancelled_at=utc(2026, 12, 3)),
    # 7: due in three weeks: not judged, not due this week, in view.
    row(7, "planned", utc(2027, 1, 6)),
)  # fmt: skip
REPLANS = (
    Replan(2, "D2", utc(2026, 11, 28), date(2026, 12, 1), date(2026, 12, 8), 7),
    Replan(2, "D2", utc(2026, 12, 10), date(2026, 12, 8), date(2026, 12, 11), 3),
    Replan(5, "D5", utc(2026, 12, 15), date(2026, 12, 17), date(2026, 12, 19), 2),
    Replan(7, "D7", utc(2026, 12, 14), date(2027, 1, 8), date(2027, 1, 6), -2),  # earlier
)


def test_deliverable_figures_against_hand_computed_values():
    d = figures.deliverable_figures(ROWS, REPLANS, now=NOW, start=START, since=SINCE)
    # Judged: 1 (met), 2 (first date Dec 1, submitted Dec 10: missed), 3 (missed). 4 waits,
    # 5 and 7 are not due by their first date, 6 is cancelled.
    assert d.on_time == Rate(1, 3)
    assert d.first_time == Rate(1, 2)  # 1 and 2 accepted; 2 was rejected once
    # In view: 1, 2 (accepted in the period), 3, 4, 5, 7 (open): (10 + 2) / 6 days.
    assert d.in_view == 6 and d.slipped == 2
    assert d.average_slip_days == pytest.approx(2.0)
    assert [r.deliverable_id for r in d.overdue] == [3]
    assert [r.deliverable_id for r in d.due_soon] == [5]  # 7 is past the next 7 days
    # Since Dec 9 12:00: D2's second slip (Dec 10) and D5's (Dec 15), newest first; D7 moved
    # earlier is no slip; D2's first slip is before the last digest.
    assert [(r.deliverable_id, r.days) for r in d.replans_since] == [(5, 2), (2, 3)]
    assert [r.deliverable_id for r in d.overdue_since] == [3]


def test_the_scorecard_counts_deliverables_on_time_and_accepted_first_time():
    found = figures.compute_one(Inputs(1, deliverables=ROWS), now=NOW, weeks=WEEKS).scorecard.now
    # The last 4 weeks (from Nov 18): on time 1 of 3, first time 1 of 2: 2 of 5 together.
    assert found.delivery == Rate(2, 5)
    assert found.parts()["delivery"] == pytest.approx(40)
    assert found.score == 40  # the only part with anything to count
    assert "deliverables × 16" in figures.SCORE_FORMULA
    assert sum(figures.SCORE_WEIGHTS.values()) == 100 and set(PART_LABELS) == set(
        figures.SCORE_WEIGHTS
    )
    # With on-time updates at 100 % (weight 20) beside it: (20 × 100 + 16 × 40) / 36 = 73.3.
    asked = (figures.Asked(1, "U1", "answered", utc(2026, 12, 1), utc(2026, 12, 2),
                           utc(2026, 12, 1, 10)),)  # fmt: skip
    both = figures.compute_one(Inputs(1, asked=asked, deliverables=ROWS), now=NOW, weeks=WEEKS)
    assert both.scorecard.now.score == 73


# --- through the product ---------------------------------------------------------------------


def story(cadence) -> None:
    """Four deliverables, all first due Fri Dec 11: A rejected once then accepted late; B
    submitted in time and accepted first time; C never started; D re-planned twice."""
    set_up(cadence)
    add(cadence, "Cutover runbook")  # A
    step(cadence, "start", None, user=VENDOR, at=utc(2026, 12, 1))
    step(cadence, "submit", {"link": "https://x.example/a"}, user=VENDOR, at=utc(2026, 12, 10))
    step(cadence, "reject", {"reason": "No rollback."}, user=LEAD, at=utc(2026, 12, 10, 12))
    step(cadence, "submit", {"note": "Rollback added."}, user=VENDOR, at=utc(2026, 12, 14))
    step(cadence, "accept", {}, user=LEAD, at=utc(2026, 12, 15))
    add(cadence, "Data migration")  # B
    step(cadence, "submit", {"note": "Done."}, user=VENDOR, at=utc(2026, 12, 10))
    step(cadence, "accept", {}, user=LEAD, at=utc(2026, 12, 11))
    add(cadence, "Load test report")  # C
    add(cadence, "Go-live checklist")  # D
    step(cadence, "replan", {"due_on": "2026-12-18", "reason": "PSP late."}, user=VENDOR,
         at=utc(2026, 12, 5))  # fmt: skip
    step(cadence, "replan", {"due_on": "2026-12-21", "reason": "Again."}, user=VENDOR,
         at=utc(2026, 12, 15))  # fmt: skip


def test_the_views_show_the_deliverables_as_the_figures_compute_them(cadence):
    story(cadence)
    with cadence.db.read_session() as session:
        loaded = figures.load(session, team_id=TEAM, now=NOW, weeks=WEEKS)
    (found,) = figures.compute(loaded, now=NOW, weeks=WEEKS, since=SINCE).values()
    d = found.deliverables
    # Judged against Dec 11 23:00 UTC: A (accepted on Dec 14's submission) late, B on time,
    # C not delivered, D not delivered by its first date.
    assert d.on_time == Rate(1, 4)
    assert d.first_time == Rate(1, 2)  # B; A was rejected once
    assert d.average_slip_days == pytest.approx(10 / 4) and d.slipped == 1  # D: +7 and +3
    assert [r.title for r in d.overdue] == ["Load test report"]
    assert [r.title for r in d.due_soon] == ["Go-live checklist"]  # Mon Dec 21, 23:00 UTC
    assert [(r.title, r.days) for r in d.replans_since] == [("Go-live checklist", 3)]
    assert found.scorecard.now.delivery == Rate(2, 6)

    # The health card.
    with clock.fixed_at(NOW):
        card = text_of(wait_reply(cadence, cadence.sim.command("status acme-payments")))
    assert (
        "*Deliverables* over 8 weeks: on time 25% (1 of 4) · accepted first time 50% (1 of 2)"
        " · average slip 2.5 d (1 of 4 moved later) · *1 overdue* · 1 due in the next 7 days"
    ) in card
    assert "Load test report* · due Fri 11 Dec (4 d ago)" in card
    assert "Go-live checklist* moved Fri 18 Dec → Mon 21 Dec (+3 d)" in card
    assert "Deliverables (on time, accepted first time): 33% (2 of 6)" in card

    # The digest: overdue, due this week and what slipped, within Slack's limits.
    digest = digest_message([found], DigestScope(now=NOW, since=SINCE))
    said = text_of(digest)
    assert "Deliverables: *1 overdue* · 1 due this week" in said
    assert (
        "Slipped since the last digest: Go-live checklist (+3 d), Load test report (overdue)"
    ) in said
    assert "2 deliverables slipped" in said and "deliverables 33%" in said
    assert len(digest["blocks"]) <= 50

    # Home: the vendor must submit C and D; the lead has nothing to accept any more.
    vendor_home = text(open_home(cadence, VENDOR, NOW))
    assert "*Deliverables waiting on you* (2)" in vendor_home
    assert "Load test report* · to submit (you own it)" in vendor_home
    assert "due Fri 11 Dec 2026 · *overdue*" in vendor_home
    assert "Deliverables waiting on you" not in text(open_home(cadence, LEAD, NOW))


def test_home_shows_what_waits_for_acceptance_and_refreshes_when_it_is_accepted(cadence):
    set_up(cadence)
    open_home(cadence, LEAD, utc(2026, 11, 30, 8))
    add(cadence, "Cutover runbook")
    step(cadence, "submit", {"note": "Here."}, user=VENDOR, at=utc(2026, 12, 1))
    shown = cadence.wait_until(
        lambda: "to accept" in (t := text(cadence.fake.home_view(LEAD))) and t,
        what="the lead's Home to ask for acceptance",
    )
    assert "*Deliverables waiting on you* (1)" in shown and "*#" in shown
    step(cadence, "accept", {}, user=LEAD, at=utc(2026, 12, 2))
    cadence.wait_until(
        lambda: "Deliverables waiting on you" not in text(cadence.fake.home_view(LEAD)),
        what="the lead's Home to drop it once accepted",
    )


def test_the_export_holds_each_deliverable_and_its_history(cadence):
    story(cadence)
    _, tables = export_files(cadence, "export acme-payments", at=NOW)
    rows = {r["title"]: r for r in tables["deliverables.csv"]}
    assert set(rows) == {"Cutover runbook", "Data migration", "Load test report",
                         "Go-live checklist"}  # fmt: skip
    a, b, c, d = (rows[t] for t in ("Cutover runbook", "Data migration", "Load test report",
                                    "Go-live checklist"))  # fmt: skip
    assert (a["status"], a["rework_count"], a["on_time"]) == ("accepted", "1", "no")
    assert a["submitted_at"] == "2026-12-14T00:00:00+00:00"
    assert (b["on_time"], b["rework_count"]) == ("yes", "0")
    assert (c["status"], c["on_time"]) == ("planned", "no")
    assert (d["original_due_on"], d["due_on"], d["slip_count"], d["days_slipped"]) == (
        "2026-12-11", "2026-12-21", "2", "10",
    )  # fmt: skip
    history = tables["deliverable_history.csv"]
    assert [h["action"] for h in history if h["deliverable_id"] == a["deliverable_id"]] == [
        "created", "started", "submitted", "rejected", "submitted", "accepted",
    ]  # fmt: skip
    replans = [(h["from_due_on"], h["to_due_on"], h["days_moved"]) for h in history
               if h["action"] == "replanned"]  # fmt: skip
    assert replans == [("2026-12-11", "2026-12-18", "7"), ("2026-12-18", "2026-12-21", "3")]
    assert any(r["entity_type"] == "deliverable" for r in tables["audit.csv"])
