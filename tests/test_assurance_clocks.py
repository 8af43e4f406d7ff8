"""The vendor's evidence kept current, told as its people meet it: an accepted SOC 2 report's
owner is reminded 30 and 7 days before its last valid day, at 09:00 in the engagement's zone
(across the spring DST change); the day after that day it turns expired and one security
concern is raised (owned by the item's owner, high for due diligence), exactly once even with
four tick processes; the accepted renewal resolves that concern with a note. Evidence asked for
and not provided within the engagement's window reminds its owner, and after the same window
again goes up to the leads; a new window on the engagement form moves those clocks.

Europe/Berlin enters summer time on Sunday 28 March 2027: 09:00 there is 08:00 UTC before and
07:00 UTC after."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

import pytest
from conftest import ACME, LEAD, VENDOR, Cadence
from engine_flows import dms_to, tick, utc
from flows import create_engagement, open_form, submit, text_of
from sqlmodel import col, select
from test_engine_processes import tick_process

from bot.platform import clock
from storage.models import AssuranceEvent, AssuranceItem, AuditEvent, Concern, Engagement

NOW = utc(2026, 11, 30, 9, 0)  # Monday, 10:00 in Berlin
UNTIL = date(2027, 4, 4)  # the SOC 2 report's last valid day (a Sunday)
SOC2 = "SOC 2 Type II report"
LINK = "https://trust.globex.example/soc2-2026.pdf"


def set_up(cadence: Cadence) -> Engagement:
    """Acme Payments, medium criticality: SOC 2, penetration test and DPA requested of VENDOR."""
    with clock.fixed_at(NOW):
        return create_engagement(cadence, timezone="Europe/Berlin", criticality="medium")


def item_named(cadence: Cadence, title: str) -> AssuranceItem:
    with cadence.db.read_session() as session:
        found = session.exec(select(AssuranceItem).where(AssuranceItem.title == title)).first()
    assert found is not None
    return found


def buttons_of(message: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (e.get("action_id"), e.get("value"))
        for b in message.get("blocks") or []
        for e in b.get("elements") or []
        if isinstance(e, dict)
    ]


def click_and_submit(
    cadence: Cadence, message: dict[str, Any], action: str, values: dict, user: str, at: datetime
) -> None:
    with clock.fixed_at(at):
        before = len(cadence.fake.calls_to("views.open"))
        reply = cadence.sim.click(message, action, user=user, channel=message.get("channel", ACME))
        assert reply.status == 200, reply.body
        opened = cadence.fake.wait_for("views.open", count=before + 1)[-1]
        assert opened.ok, opened.response
        view = cadence.fake.view(opened.response["view"]["id"])
        done = cadence.sim.submit_view(view, values, user=user, check_required=False)
    assert done.status == 200 and done.body == "", done.body


def provide(cadence: Cadence, item: AssuranceItem, until: date, at: datetime) -> None:
    """Its owner clicks Provide on the latest DM asking for it and gives a link and the date."""
    asked = cadence.wait_until(
        lambda: [
            m
            for m in dms_to(cadence, item.owner_user_id)
            if ("assurance:provide", str(item.id)) in buttons_of(m)
        ],
        what="the ask to provide it",
    )
    message = {"ts": "1.000", "channel": asked[-1]["channel"], "blocks": asked[-1]["blocks"]}
    click_and_submit(
        cadence,
        message,
        "assurance:provide",
        {"link": LINK, "valid_until": until.isoformat()},
        item.owner_user_id,
        at,
    )


def review(
    cadence: Cadence, item: AssuranceItem, at: datetime, what: str = "accept", values=None
) -> None:
    """A lead accepts (or rejects) it from its card in the channel."""

    def card() -> dict[str, Any] | None:
        found = item_named(cadence, item.title)
        if not found.message_ts:
            return None
        shown = cadence.fake.message(found.channel_id, found.message_ts)
        return shown if (f"assurance:{what}", str(item.id)) in buttons_of(shown) else None

    shown = cadence.wait_until(card, what=f"the card's {what} button")
    click_and_submit(cadence, shown, f"assurance:{what}", values or {}, LEAD, at)


def accept(cadence: Cadence, item: AssuranceItem, at: datetime) -> None:
    review(cadence, item, at)


def said_to(cadence: Cadence, user: str, *words: str) -> list[str]:
    return [t for m in dms_to(cadence, user) if all(w in (t := text_of(m)) for w in words)]


def expiry_concerns(cadence: Cadence) -> list[Concern]:
    with cadence.db.read_session() as session:
        return list(
            session.exec(
                select(Concern).where(Concern.source == "assurance").order_by(col(Concern.id))
            ).all()
        )


def accepted_soc2(cadence: Cadence) -> AssuranceItem:
    set_up(cadence)
    soc2 = item_named(cadence, SOC2)
    assert soc2.required and soc2.owner_user_id == VENDOR
    provide(cadence, soc2, UNTIL, NOW + timedelta(hours=1))
    accept(cadence, soc2, NOW + timedelta(hours=2))
    accepted = item_named(cadence, SOC2)
    assert (accepted.status, accepted.valid_until) == ("accepted", UNTIL)
    return accepted


def test_its_owner_is_reminded_before_it_expires_then_it_expires_once_and_a_renewal_resolves_it(
    cadence, monkeypatch
):
    accepted_soc2(cadence)
    reminders = lambda: said_to(cadence, VENDOR, SOC2, "valid until *Sun 04 Apr 2027*")  # noqa: E731
    # 30 days before Sunday 4 April: Friday 5 March, 09:00 in Berlin (winter: 08:00 UTC).
    tick(cadence, monkeypatch, utc(2027, 3, 5, 7, 59))
    assert reminders() == []
    tick(cadence, monkeypatch, utc(2027, 3, 5, 8, 0))
    assert len(reminders()) == 1 and "in 30 days" in reminders()[0]
    tick(cadence, monkeypatch, utc(2027, 3, 5, 8, 30))
    assert len(reminders()) == 1
    # 7 days before: Sunday 28 March, the day summer time starts: 09:00 is 07:00 UTC.
    tick(cadence, monkeypatch, utc(2027, 3, 28, 6, 59))
    assert len(reminders()) == 1
    tick(cadence, monkeypatch, utc(2027, 3, 28, 7, 0))
    assert len(reminders()) == 2 and "in 7 days" in reminders()[1]

    # Its last valid day passes: expired the next morning, 09:00 in Berlin.
    tick(cadence, monkeypatch, utc(2027, 4, 5, 6, 59))
    assert item_named(cadence, SOC2).status == "accepted" and expiry_concerns(cadence) == []
    tick(cadence, monkeypatch, utc(2027, 4, 5, 7, 0))
    tick(cadence, monkeypatch, utc(2027, 4, 5, 7, 5))
    expired = item_named(cadence, SOC2)
    raised = expiry_concerns(cadence)
    assert expired.status == "expired" and len(raised) == 1
    concern = raised[0]
    assert (concern.category, concern.severity, concern.owner_user_id, concern.status) == (
        "security",
        "high",  # due diligence
        VENDOR,
        "open",
    )
    assert expired.concern_id == concern.id and SOC2 in concern.title
    with cadence.db.read_session() as session:
        events = session.exec(
            select(AssuranceEvent.action).where(AssuranceEvent.item_id == expired.id)
        ).all()
        audited = session.exec(
            select(AuditEvent.action)
            .where(AuditEvent.entity_type == "assurance_item")
            .where(AuditEvent.entity_id == expired.id)
        ).all()
    assert events.count("expired") == 1 and audited.count("expired") == 1
    # The owner hears of the concern and is asked again, with the Provide button.
    cadence.wait_until(
        lambda: len([m for m in dms_to(cadence, VENDOR) if ("assurance:provide", str(expired.id))
                     in buttons_of(m)]) >= 2,
        what="the second ask",
    )  # fmt: skip

    # The renewal, provided and accepted: the concern is resolved with a note naming it.
    renewed_until = date(2028, 4, 4)
    provide(cadence, expired, renewed_until, utc(2027, 4, 6, 9, 0))
    accept(cadence, expired, utc(2027, 4, 6, 10, 0))
    with cadence.db.read_session() as session:
        resolved = session.get(Concern, concern.id)
        renewed = session.get(AssuranceItem, expired.id)
        resolver = session.exec(
            select(AuditEvent.actor_user_id)
            .where(AuditEvent.entity_type == "concern")
            .where(AuditEvent.entity_id == concern.id)
            .where(AuditEvent.action == "resolved")
        ).all()
    assert resolved.status == "resolved" and "Renewed" in resolved.resolution_note
    assert "Tue 04 Apr 2028" in resolved.resolution_note and resolver == [LEAD]
    assert (renewed.status, renewed.concern_id, renewed.valid_until) == (
        "accepted",
        None,
        renewed_until,
    )
    # Nothing more for the old date; the new one is watched (30 days before 4 April 2028).
    tick(cadence, monkeypatch, utc(2028, 3, 5, 8, 0))
    assert len(said_to(cadence, VENDOR, SOC2, "valid until *Tue 04 Apr 2028*", "in 30 days")) == 1
    assert len(expiry_concerns(cadence)) == 1


@pytest.mark.slow
def test_four_tick_processes_after_downtime_expire_it_once(cadence):
    accepted_soc2(cadence)
    processes = [tick_process(cadence, utc(2027, 4, 5, 7, 0)) for _ in range(4)]
    outputs = [p.communicate(timeout=180) for p in processes]
    assert [p.returncode for p in processes] == [0, 0, 0, 0], [err for _, err in outputs]
    assert item_named(cadence, SOC2).status == "expired"
    assert len(expiry_concerns(cadence)) == 1
    with cadence.db.read_session() as session:
        events = session.exec(
            select(AssuranceEvent).where(AssuranceEvent.action == "expired")
        ).all()
    assert len(events) == 1
    # Cadence was down through both reminders: run after its last valid day, they say nothing
    # stale ("in 7 days" of a day gone); the expiry speaks instead.
    assert said_to(cadence, VENDOR, SOC2, "🗓️") == []


def test_evidence_not_provided_reminds_its_owner_then_goes_up_to_the_leads(cadence, monkeypatch):
    set_up(cadence)
    # The SOC 2 report is provided the next day: waiting for review, its clock stops.
    provide(cadence, item_named(cadence, SOC2), UNTIL, NOW + timedelta(days=1))
    owed = lambda: said_to(cadence, VENDOR, "still not provided")  # noqa: E731
    escalated = lambda: said_to(cadence, LEAD, "escalated to you")  # noqa: E731
    # Ten working days after Monday 30 November: Monday 14 December, 09:00 in Berlin.
    tick(cadence, monkeypatch, utc(2026, 12, 14, 7, 59))
    assert owed() == []
    tick(cadence, monkeypatch, utc(2026, 12, 14, 8, 0))
    tick(cadence, monkeypatch, utc(2026, 12, 14, 8, 1))
    assert len(owed()) == 2 and not any(SOC2 in t for t in owed())
    assert all("10 working days ago" in t for t in owed())
    assert escalated() == []
    # The same window again: Monday 28 December, to the leads.
    tick(cadence, monkeypatch, utc(2026, 12, 28, 7, 59))
    assert escalated() == []
    tick(cadence, monkeypatch, utc(2026, 12, 28, 8, 0))
    tick(cadence, monkeypatch, utc(2026, 12, 29, 8, 0))
    assert len(escalated()) == 2
    assert any("Penetration test" in t for t in escalated())
    assert all(f"<@{VENDOR}> has still not provided it" in t for t in escalated())
    assert len(owed()) == 2


def test_a_new_window_on_the_engagement_form_moves_the_clocks(cadence, monkeypatch):
    set_up(cadence)
    with clock.fixed_at(NOW + timedelta(hours=1)):
        view = open_form(cadence, "engagement edit acme-payments")
        assert submit(cadence, view, {"assurance_window_days": "3"}).body == ""
    # Three working days after Monday 30 November: Thursday 3 December.
    tick(cadence, monkeypatch, utc(2026, 12, 3, 7, 59))
    assert said_to(cadence, VENDOR, "still not provided") == []
    tick(cadence, monkeypatch, utc(2026, 12, 3, 8, 0))
    assert len(said_to(cadence, VENDOR, "still not provided", "3 working days ago")) == 3
    # The ten-day reminders were cancelled with the old window.
    tick(cadence, monkeypatch, utc(2026, 12, 14, 8, 0))
    assert len(said_to(cadence, VENDOR, "still not provided")) == 3


def test_a_reminder_sent_late_says_how_long_is_really_left(cadence, monkeypatch):
    accepted_soc2(cadence)
    # The engine was down on 5 March; its first pass is on Sunday 7 March.
    tick(cadence, monkeypatch, utc(2027, 3, 7, 12, 0))
    said = said_to(cadence, VENDOR, SOC2, "🗓️")
    assert len(said) == 1 and "in 28 days" in said[0], said


def test_a_rejection_starts_the_window_again_from_the_rejection(cadence, monkeypatch):
    set_up(cadence)
    soc2 = item_named(cadence, SOC2)
    provide(cadence, soc2, UNTIL, NOW + timedelta(days=1))
    reason = {"reason": "The report's period ends before the contract starts."}
    review(cadence, soc2, utc(2026, 12, 2, 9, 0), "reject", reason)  # Wednesday
    sent_back = lambda: said_to(cadence, VENDOR, SOC2, "was sent back", "still not")  # noqa: E731
    # Ten working days after Wednesday 2 December: Wednesday 16 December (the others: the 14th).
    tick(cadence, monkeypatch, utc(2026, 12, 14, 8, 0))
    assert sent_back() == [] and len(said_to(cadence, VENDOR, "still not provided")) == 2
    tick(cadence, monkeypatch, utc(2026, 12, 16, 7, 59))
    assert sent_back() == []
    tick(cadence, monkeypatch, utc(2026, 12, 16, 8, 0))
    said = sent_back()
    assert len(said) == 1 and "period ends before the contract starts" in said[0], said
