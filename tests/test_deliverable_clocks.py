"""A deliverable's clocks, told as the people meet them: its owner is reminded on the morning of
the third working day before it is due, the owner and the leads hear once when it is overdue, the
acceptors when a submission has waited five working days, and the leads and the escalation
contact two working days after that. Counted in the engagement's zone across the end of summer
time, skipping weekends; once across four tick processes; and silent when a change made them
moot (re-planned, submitted, accepted, cancelled), restarted by a rejection.

Europe/Berlin leaves summer time on Sunday 25 October 2026: 09:00 there is 07:00 UTC before and
08:00 UTC after.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from conftest import ACME, LEAD, LEAD2, STAKEHOLDER, VENDOR, Cadence
from engine_flows import dms_to, jobs_of, tick, utc
from flows import create_engagement, text_of
from sqlmodel import select
from test_engine_processes import tick_process

from bot.platform import clock
from storage import job_keys
from storage.models import Deliverable

CREATED = utc(2026, 10, 20, 10, 0)  # Tuesday 20 October, 12:00 in Berlin (summer time)
DUE = date(2026, 10, 28)  # a Wednesday, after the change: due at 23:00 UTC


def set_up(cadence: Cadence) -> None:
    with clock.fixed_at(CREATED - timedelta(days=1)):
        create_engagement(cadence, timezone="Europe/Berlin", escalation_contact=LEAD2)


def opened_view(cadence: Cadence, before: int) -> dict[str, Any]:
    opened = cadence.fake.wait_for("views.open", count=before + 1)[-1]
    assert opened.ok, opened.response
    return cadence.fake.view(opened.response["view"]["id"])


def add(cadence: Cadence, title: str, due: date, **values: Any) -> int:
    """`/cadence deliverable acme-payments <title>` and its form, by the lead, at CREATED."""
    with clock.fixed_at(CREATED):
        before = len(cadence.fake.calls_to("views.open"))
        reply = cadence.sim.command(f"deliverable acme-payments {title}", user=LEAD)
        assert reply.status == 200 and not (reply.json or {}).get("text"), reply.body
        form = {"due_on": due.isoformat(), "owner": VENDOR, **values}
        done = cadence.sim.submit_view(opened_view(cadence, before), form, user=LEAD)
    assert done.status == 200 and done.body == "", done.body
    with cadence.db.read_session() as session:
        found = session.exec(select(Deliverable).where(Deliverable.title == title)).one()
    assert found.id is not None
    return found.id


def the(cadence: Cadence, deliverable_id: int) -> Deliverable:
    with cadence.db.read_session() as session:
        found = session.get(Deliverable, deliverable_id)
    assert found is not None
    return found


def step(
    cadence: Cadence,
    deliverable_id: int,
    what: str,
    values: dict[str, Any] | None,
    *,
    user: str,
    at,
    then: str,
) -> None:
    """Click the card's button `what` as `user` at `at` (and submit the form it opens with
    `values`); wait until the deliverable's status is `then`."""

    def card_offering_it() -> dict[str, Any] | None:
        found = the(cadence, deliverable_id)
        if not found.message_ts:
            return None
        card = cadence.fake.message(found.channel_id, found.message_ts)
        offered = [e.get("action_id") for b in card["blocks"] for e in b.get("elements", [])]
        return card if f"deliverable:{what}" in offered else None

    card = cadence.wait_until(card_offering_it, what=f"the card to offer {what}")
    with clock.fixed_at(at):
        before = len(cadence.fake.calls_to("views.open"))
        reply = cadence.sim.click(card, f"deliverable:{what}", user=user, channel=ACME)
        assert reply.status == 200, reply.body
        if values is not None:
            done = cadence.sim.submit_view(opened_view(cadence, before), values, user=user)
            assert done.status == 200 and done.body == "", done.body
    cadence.wait_until(lambda: the(cadence, deliverable_id).status == then, what=then)


def said_to(cadence: Cadence, who: str, words: str, title: str = "") -> list[str]:
    return [text_of(m) for m in dms_to(cadence, who) if words in text_of(m) and title in text_of(m)]


DUE_SOON, OVERDUE = "is due", "is overdue"
WAITING, ESCALATED = "has waited", "escalated"


def test_the_owner_is_reminded_then_owner_and_leads_hear_it_is_overdue_across_the_dst_change(
    cadence, monkeypatch
):
    set_up(cadence)
    add(cadence, "Cutover runbook", DUE)
    # The third working day back from Wednesday 28th is Monday 26th, 09:00 in Berlin: 08:00 UTC
    # in winter time (07:00 UTC would be summer time's 09:00).
    tick(cadence, monkeypatch, utc(2026, 10, 26, 7, 30))
    assert not said_to(cadence, VENDOR, DUE_SOON)
    tick(cadence, monkeypatch, utc(2026, 10, 26, 8, 0))
    tick(cadence, monkeypatch, utc(2026, 10, 26, 9, 0))
    reminders = said_to(cadence, VENDOR, DUE_SOON)
    assert len(reminders) == 1, reminders
    assert "Cutover runbook" in reminders[0] and "in 3 working days" in reminders[0]
    assert "Wed 28 Oct 2026" in reminders[0] and "Open its card" in reminders[0]
    assert not said_to(cadence, LEAD, DUE_SOON)  # the owner's reminder only

    # Due at the end of Wednesday in Berlin: 23:00 UTC in winter time.
    tick(cadence, monkeypatch, utc(2026, 10, 28, 22, 30))
    assert not said_to(cadence, VENDOR, OVERDUE)
    for hour in (23, 24, 30):
        tick(cadence, monkeypatch, utc(2026, 10, 28, 23) + timedelta(hours=hour - 23))
    for who in (VENDOR, LEAD):
        overdue = said_to(cadence, who, OVERDUE)
        assert len(overdue) == 1, (who, overdue)
        assert "Cutover runbook" in overdue[0] and "Wed 28 Oct 2026" in overdue[0]
    assert not said_to(cadence, STAKEHOLDER, OVERDUE)
    # In the reader's terms: the owner, in Kolkata, also reads the moment in their own zone.
    (to_owner,), (to_lead,) = said_to(cadence, VENDOR, OVERDUE), said_to(cadence, LEAD, OVERDUE)
    assert "Thu 29 Oct 04:30 IST for you" in to_owner and "You own it" in to_owner
    assert "for you" not in to_lead and f"Owner <@{VENDOR}>" in to_lead  # Berlin, as agreed


def test_working_days_skip_the_weekend_and_a_waiting_submission_goes_up_once(cadence, monkeypatch):
    set_up(cadence)
    first = add(cadence, "Load test report", date(2026, 11, 3), acceptors=[STAKEHOLDER])
    # Due Tuesday 3 November: Tuesday, Monday, then Friday 30 October (not the Saturday).
    tick(cadence, monkeypatch, utc(2026, 10, 30, 7, 59))
    assert not said_to(cadence, VENDOR, DUE_SOON)
    tick(cadence, monkeypatch, utc(2026, 10, 30, 8, 0))
    assert len(said_to(cadence, VENDOR, DUE_SOON)) == 1

    # Submitted Friday 30th 15:00 in Berlin: five working days (of 09:00-17:00) run out the
    # next Friday at 15:00 (14:00 UTC); two more the Tuesday after at 15:00.
    submitted = utc(2026, 10, 30, 14, 0)
    step(cadence, first, "submit", {"note": "Report attached."}, user=VENDOR, at=submitted,
         then="submitted")  # fmt: skip
    tick(cadence, monkeypatch, utc(2026, 11, 6, 13, 59))
    assert not said_to(cadence, STAKEHOLDER, WAITING)
    tick(cadence, monkeypatch, utc(2026, 11, 6, 14, 0))
    tick(cadence, monkeypatch, utc(2026, 11, 9, 9, 0))
    waiting = said_to(cadence, STAKEHOLDER, WAITING)
    assert len(waiting) == 1 and "5 working days" in waiting[0], waiting
    assert not said_to(cadence, LEAD, WAITING)  # an acceptor is named: the leads are not asked
    tick(cadence, monkeypatch, utc(2026, 11, 10, 13, 59))
    assert not said_to(cadence, LEAD, ESCALATED)
    tick(cadence, monkeypatch, utc(2026, 11, 10, 14, 0))
    tick(cadence, monkeypatch, utc(2026, 11, 11, 14, 0))
    for who in (LEAD, LEAD2):  # the leads and the escalation contact
        escalated = said_to(cadence, who, ESCALATED)
        assert len(escalated) == 1 and "Load test report" in escalated[0], (who, escalated)
    # Submitted before its due moment: no overdue alert ever.
    assert not said_to(cadence, VENDOR, OVERDUE) and not said_to(cadence, LEAD, OVERDUE)


@pytest.mark.slow  # starts four `tick` processes
def test_four_tick_processes_started_together_send_each_reminder_exactly_once(cadence):
    set_up(cadence)
    add(cadence, "Cutover runbook", DUE)  # due soon from Monday 26th 08:00 UTC
    waits = add(cadence, "Firewall rules", date(2026, 10, 21), acceptors=[STAKEHOLDER])
    # Submitted Tuesday 20th 16:00 in Berlin: waiting from Tuesday 27th 16:00 (15:00 UTC).
    step(cadence, waits, "submit", {"note": "Rules applied."}, user=VENDOR,
         at=utc(2026, 10, 20, 14, 0), then="submitted")  # fmt: skip
    late = utc(2026, 10, 28, 12, 0)  # both ran out; neither the overdue nor the escalation
    processes = [tick_process(cadence, late) for _ in range(4)]
    outputs = [p.communicate(timeout=120) for p in processes]
    assert [p.returncode for p in processes] == [0, 0, 0, 0], [err for _, err in outputs]
    assert len(said_to(cadence, VENDOR, DUE_SOON, "Cutover runbook")) == 1
    assert len(said_to(cadence, STAKEHOLDER, WAITING, "Firewall rules")) == 1
    assert not said_to(cadence, LEAD, ESCALATED) and not said_to(cadence, VENDOR, OVERDUE)
    alerts = jobs_of(cadence, "deliverable_alert")
    assert sorted(j.status for j in alerts) == ["sent", "sent"]


def test_re_planning_moves_the_clocks_and_submitting_stops_them(cadence, monkeypatch):
    set_up(cadence)
    moved = add(cadence, "Cutover runbook", DUE)
    step(cadence, moved, "replan", {"due_on": "2026-11-04", "reason": "Firewall late."},
         user=LEAD, at=utc(2026, 10, 22, 9, 0), then="planned")  # fmt: skip
    cadence.wait_until(lambda: the(cadence, moved).due_on == date(2026, 11, 4), what="re-planned")
    clocks = {j.key: j.status for j in jobs_of(cadence, "deliverable_clock")}
    assert sorted(clocks.values()) == ["cancelled", "cancelled", "pending", "pending"], clocks
    # The old moments pass in silence.
    tick(cadence, monkeypatch, utc(2026, 10, 29, 0, 0))
    assert not said_to(cadence, VENDOR, DUE_SOON) and not said_to(cadence, VENDOR, OVERDUE)
    # Wednesday 4 November: reminded Monday 2nd at 09:00 in Berlin.
    tick(cadence, monkeypatch, utc(2026, 11, 2, 8, 0))
    reminded = said_to(cadence, VENDOR, DUE_SOON)
    assert len(reminded) == 1 and "Wed 04 Nov 2026" in reminded[0], reminded

    step(cadence, moved, "submit", {"link": "https://wiki.example/runbook"}, user=VENDOR,
         at=utc(2026, 11, 3, 9, 0), then="submitted")  # fmt: skip
    tick(cadence, monkeypatch, utc(2026, 11, 5, 0, 0))  # past its due moment: submitted in time
    assert not said_to(cadence, VENDOR, OVERDUE) and not said_to(cadence, LEAD, OVERDUE)

    # Accepted: the acceptance clocks are cancelled, nothing is sent after.
    step(cadence, moved, "accept", {"note": "Good."}, user=LEAD, at=utc(2026, 11, 5, 9, 0),
         then="accepted")  # fmt: skip
    tick(cadence, monkeypatch, utc(2026, 12, 31, 0, 0))
    assert not said_to(cadence, LEAD, WAITING) and not said_to(cadence, LEAD, ESCALATED)
    pending = [j.key for j in jobs_of(cadence) if j.status == "pending" and "deliverable" in j.key]
    assert not pending, pending


def test_a_rejection_restarts_the_due_clocks_and_after_the_due_moment_alerts_at_once(
    cadence, monkeypatch
):
    set_up(cadence)
    work = add(cadence, "Cutover runbook", DUE)
    step(cadence, work, "submit", {"note": "Draft."}, user=VENDOR, at=utc(2026, 10, 21, 9, 0),
         then="submitted")  # fmt: skip
    # Rejected before its due moment: the overdue alert runs again (the due-soon reminder too,
    # its morning still ahead).
    step(cadence, work, "reject", {"reason": "No rollback."}, user=LEAD,
         at=utc(2026, 10, 22, 9, 0), then="in_progress")  # fmt: skip
    tick(cadence, monkeypatch, utc(2026, 10, 26, 8, 0))
    assert len(said_to(cadence, VENDOR, DUE_SOON)) == 1
    step(cadence, work, "submit", {"note": "Rollback added."}, user=VENDOR,
         at=utc(2026, 10, 27, 9, 0), then="submitted")  # fmt: skip
    tick(cadence, monkeypatch, utc(2026, 10, 29, 0, 0))
    assert not said_to(cadence, LEAD, OVERDUE)  # submitted: nothing is overdue

    # Rejected after its due moment: late and unsubmitted again, so the owner and the leads
    # hear it at once (the leads last heard it was waiting for acceptance).
    step(cadence, work, "reject", {"reason": "Rollback untested."}, user=LEAD,
         at=utc(2026, 10, 29, 9, 0), then="in_progress")  # fmt: skip
    tick(cadence, monkeypatch, utc(2026, 10, 29, 9, 1))
    tick(cadence, monkeypatch, utc(2026, 10, 30, 9, 0))
    for who in (VENDOR, LEAD):
        assert len(said_to(cadence, who, OVERDUE)) == 1, who
    # Cancelled: whatever was still to run is cancelled.
    step(cadence, work, "submit", {"note": "Tested."}, user=VENDOR, at=utc(2026, 10, 30, 10, 0),
         then="submitted")  # fmt: skip
    step(cadence, work, "cancel", {"reason": "Scope moved."}, user=LEAD,
         at=utc(2026, 10, 30, 11, 0), then="cancelled")  # fmt: skip
    tick(cadence, monkeypatch, utc(2026, 12, 31, 0, 0))
    assert not said_to(cadence, LEAD, WAITING) and not said_to(cadence, LEAD, ESCALATED)
    assert (
        len(said_to(cadence, VENDOR, DUE_SOON)) == 1 and len(said_to(cadence, LEAD, OVERDUE)) == 1
    )


def test_clock_keys_keep_their_form():
    """Rows planned before must still match those planned after."""
    assert job_keys.deliverable_clock(7, "overdue", "due=x:slip=0:rework=1") == (
        "deliverable-clock:deliverable=7:stage=overdue:due=x:slip=0:rework=1"
    )
    assert job_keys.deliverable_clock(7, "x", "y").startswith(job_keys.deliverable_clocks(7))
    assert not job_keys.deliverable_clock(70, "x", "y").startswith(job_keys.deliverable_clocks(7))


def test_the_reminder_follows_the_engagements_own_window_when_a_lead_changes_it(
    cadence, monkeypatch
):
    """The engagement form holds the deliverables' windows: a lead who asks for five working
    days' notice moves the pending reminder (the old one never comes); a window of 0 is refused
    inline and changes nothing."""
    from flows import open_form, submit

    set_up(cadence)
    add(cadence, "Cutover runbook", DUE)
    with clock.fixed_at(CREATED + timedelta(hours=1)):
        view = open_form(cadence, "engagement edit acme-payments")
        refused = submit(cadence, view, {"deliverable_due_soon_days": "0"})
        assert "from 1 to 20" in refused.json["errors"]["deliverable_due_soon_days"]
        view = open_form(cadence, "engagement edit acme-payments")
        done = submit(cadence, view, {"deliverable_due_soon_days": "5"})
        assert done.body == "", done.body
    # The fifth working day back from Wednesday 28th: Thursday 22nd, 09:00 in Berlin (summer
    # time, 07:00 UTC).
    tick(cadence, monkeypatch, utc(2026, 10, 22, 6, 30))
    assert not said_to(cadence, VENDOR, DUE_SOON)
    tick(cadence, monkeypatch, utc(2026, 10, 22, 7, 30))
    reminders = said_to(cadence, VENDOR, DUE_SOON)
    assert len(reminders) == 1 and "in 5 working days" in reminders[0], reminders
    tick(cadence, monkeypatch, utc(2026, 10, 26, 9, 0))  # the old moment: nothing more
    assert len(said_to(cadence, VENDOR, DUE_SOON)) == 1


def test_a_deliverable_turning_overdue_refreshes_its_owners_home_tab(cadence, monkeypatch):
    """Nobody clicks anything when a due date passes: the overdue clock itself refreshes the
    Home tab of those it alerts, which now say "overdue"."""
    set_up(cadence)
    add(cadence, "Cutover runbook", DUE)
    with clock.fixed_at(CREATED + timedelta(hours=1)):
        cadence.sim.app_home_opened(VENDOR)
    home = cadence.wait_until(lambda: cadence.fake.home_view(VENDOR), what="the vendor's Home")
    assert "Cutover runbook" in text_of({"blocks": home["blocks"]})
    assert "overdue" not in text_of({"blocks": home["blocks"]})
    tick(cadence, monkeypatch, utc(2026, 10, 29, 0, 30))  # due at 23:00 UTC on the 28th

    def overdue_home() -> dict[str, Any] | None:
        shown = cadence.fake.home_view(VENDOR)
        return shown if "overdue" in text_of({"blocks": shown["blocks"]}) else None

    cadence.wait_until(overdue_home, what="the vendor's Home to say overdue")
