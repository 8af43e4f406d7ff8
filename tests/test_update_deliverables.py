"""Deliverables in the status update, told as the vendor meets them.

Acme Payments' lead agreed deliverables with the vendor on Monday 30 November. A week later
(Monday 7 December) the vendor sends a status update: the form asks about each deliverable they
own that is overdue or due within two weeks and not submitted yet (on track, at risk, or will be
late with a new date and the reason). A "will be late" re-plans it through the register (its
slip, event, audit, card and thread line, as from its card), in the update's transaction; "at
risk" is kept in the update's revision; the summary in the channel lists each answer. An edit
saved again with the same date is not a second slip. Bad answers are refused inline and nothing
is written. Everything goes through signed requests to the app and the fake Slack, on SQLite
and PostgreSQL.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from conftest import ACME, EXTERNAL, LEAD, VENDOR
from engine_flows import utc
from flows import text_of
from sqlmodel import select
from test_answers import answer_prompt, seed_checkin
from test_deliverables import NOW, add, history, set_up
from test_update_evidence import block_ids, summary_of, update_form, updates_sent

from bot.platform import clock
from storage.models import (
    Deliverable,
    DeliverableEvent,
    Engagement,
    StatusUpdate,
    UpdateRevision,
)

WHEN = utc(2026, 12, 7, 10, 0)  # the Monday after: a week after the deliverables were agreed
LATER = utc(2026, 12, 17, 9, 0)  # after the new date the update gave (14 December)
UPDATE = {"rag": "green", "summary": "Load tests are running again."}


def register(cadence) -> dict[str, Deliverable]:
    """The register as agreed on 30 November: two of the vendor's due within two weeks of
    7 December (one overdue by then), one of theirs due later, one of another contact's."""
    set_up(cadence)
    return {
        "load": add(cadence, "Load test report", due_on="2026-12-04"),
        "cutover": add(cadence, "Cutover runbook", due_on="2026-12-11"),
        "training": add(cadence, "Training plan", due_on="2026-12-31"),
        "migration": add(cadence, "Data migration", due_on="2026-12-10", owner=EXTERNAL),
    }


def deliverable(cadence, found: Deliverable) -> Deliverable:
    with cadence.db.read_session() as session:
        return session.get(Deliverable, found.id)


def events_of(cadence, found: Deliverable) -> list[DeliverableEvent]:
    with cadence.db.read_session() as session:
        return list(
            session.exec(
                select(DeliverableEvent)
                .where(DeliverableEvent.deliverable_id == found.id)
                .order_by(DeliverableEvent.id)
            ).all()
        )


def asked(view: dict[str, Any]) -> list[str]:
    """The deliverables the form asks about, by the action id of their answer."""
    return [b for b in block_ids(view) if b.startswith("deliverable_") and b.count("_") == 1]


def label(view: dict[str, Any], block_id: str) -> str:
    return next(b for b in view["blocks"] if b.get("block_id") == block_id)["label"]["text"]


def late(found: Deliverable, on: str, reason: str) -> dict[str, Any]:
    return {
        f"deliverable_{found.id}": "late",
        f"deliverable_{found.id}_due": on,
        f"deliverable_{found.id}_reason": reason,
    }


def card_text(cadence, found: Deliverable, words: str) -> str:
    """The deliverable's card in the channel, once it shows `words`."""

    def shown() -> str | None:
        now = deliverable(cadence, found)
        if not now.message_ts:
            return None
        text = text_of(cadence.fake.message(now.channel_id, now.message_ts))
        return text if words in text else None

    return cadence.wait_until(shown, what=f"the card to show {words!r}")


def thread_lines(cadence, found: Deliverable, words: str) -> list[str]:
    def said() -> list[str] | None:
        now = deliverable(cadence, found)
        lines = [
            text_of(m)
            for m in cadence.fake.messages(now.channel_id)
            if m.get("thread_ts") == now.message_ts and m["ts"] != now.message_ts
        ]
        return lines if any(words in line for line in lines) else None

    return cadence.wait_until(said, what=f"a thread line with {words!r}")


def revisions(cadence, update_id: int) -> list[UpdateRevision]:
    with cadence.db.read_session() as session:
        return list(
            session.exec(
                select(UpdateRevision)
                .where(UpdateRevision.update_id == update_id)
                .order_by(UpdateRevision.revision)
            ).all()
        )


def edit_form(cadence, update: StatusUpdate, user: str = VENDOR) -> dict[str, Any]:
    before = len(cadence.fake.calls_to("views.open"))
    cadence.sim.click(
        cadence.fake.message(ACME, update.message_ts), "status_update_edit", user=user
    )
    call = cadence.fake.wait_for("views.open", count=before + 1)[-1]
    assert call.ok, call.response
    return cadence.fake.view(call.response["view"]["id"])


# --- the stories -------------------------------------------------------------------------------


def test_an_ad_hoc_update_replans_a_late_deliverable_and_keeps_at_risk(cadence):
    agreed = register(cadence)
    load, cutover = agreed["load"], agreed["cutover"]
    with clock.fixed_at(WHEN):
        view = update_form(cadence)
    # Only the vendor's own, overdue or due within two weeks, soonest first.
    assert asked(view) == [f"deliverable_{load.id}", f"deliverable_{cutover.id}"]
    assert "overdue" in label(view, f"deliverable_{load.id}")
    assert "overdue" not in label(view, f"deliverable_{cutover.id}")
    assert "Fri 11 Dec 2026" in label(view, f"deliverable_{cutover.id}")

    values = {
        **UPDATE,
        **late(load, "2026-12-14", "Staging was down for two days."),
        f"deliverable_{cutover.id}": "at_risk",
        f"deliverable_{cutover.id}_reason": "Sign-off from the bank is pending.",
    }
    with clock.fixed_at(WHEN):
        reply = cadence.sim.submit_view(view, values, user=VENDOR)
    assert reply.body == "", reply.body

    # The late one is re-planned through the register, by the vendor, with their reason.
    moved = deliverable(cadence, load)
    assert (moved.due_on, moved.slip_count, moved.days_slipped) == (date(2026, 12, 14), 1, 10)
    assert moved.original_due_on == date(2026, 12, 4)
    last = events_of(cadence, load)[-1]
    assert (last.action, last.actor_user_id, last.note) == (
        "replanned", VENDOR, "Staging was down for two days.",
    )  # fmt: skip
    assert last.data == {"from": "2026-12-04", "to": "2026-12-14", "days": 10}
    events, audit = history(cadence)
    assert events.count("replanned") == 1 and audit.count("replanned") == 1
    assert "due Mon 14 Dec 2026" in card_text(cadence, load, "slipped once")
    assert any(
        "from Fri 04 Dec to Mon 14 Dec 2026: Staging was down" in line
        for line in thread_lines(cadence, load, "Staging was down")
    )
    # The one at risk keeps its date: the update records the answer, the register nothing.
    unmoved = deliverable(cadence, cutover)
    assert (unmoved.due_on, unmoved.slip_count) == (date(2026, 12, 11), 0)
    assert [e.action for e in events_of(cadence, cutover)] == ["created"]

    (update,) = updates_sent(cadence)
    (revision,) = revisions(cadence, update.id)
    assert [(d["deliverable_id"], d["answer"], d["new_due_on"]) for d in
            revision.content["deliverables"]] == [
        (load.id, "late", "2026-12-14"), (cutover.id, "at_risk", None),
    ]  # fmt: skip

    summary = summary_of(cadence, update)
    assert "Deliverables" in summary
    assert (
        f"Will be late: #{load.id} Load test report, now due *Mon 14 Dec 2026* (was Fri 04 Dec 2026)"
        " — Staging was down for two days." in summary
    )
    assert (
        f"At risk: #{cutover.id} Cutover runbook (due Fri 11 Dec 2026) — Sign-off from the bank "
        "is pending." in summary
    )


def test_an_edit_saved_again_does_not_replan_twice(cadence):
    agreed = register(cadence)
    load, cutover = agreed["load"], agreed["cutover"]
    with clock.fixed_at(WHEN):
        view = update_form(cadence)
        reply = cadence.sim.submit_view(
            view, {**UPDATE, **late(load, "2026-12-14", "Staging was down.")}, user=VENDOR
        )
    assert reply.body == "", reply.body
    (update,) = updates_sent(cadence)
    summary_of(cadence, update)
    update = updates_sent(cadence)[0]

    # The edit asks again about what the update answered, as answered; made once the new date
    # has passed, it still saves with that date.
    with clock.fixed_at(LATER):
        view = edit_form(cadence, update)
        assert asked(view) == [f"deliverable_{load.id}"]
        answer = next(b for b in view["blocks"] if b.get("block_id") == f"deliverable_{load.id}")
        assert answer["element"]["initial_option"]["value"] == "late"
        due = next(b for b in view["blocks"] if b.get("block_id") == f"deliverable_{load.id}_due")
        assert due["element"]["initial_date"] == "2026-12-14"
        # Saved again with the same date, the summary changed: no second slip.
        reply = cadence.sim.submit_view(view, {"summary": "Load tests green."}, user=VENDOR)
    assert reply.body == "", reply.body
    assert [r.revision for r in revisions(cadence, update.id)] == [1, 2]
    assert revisions(cadence, update.id)[1].content["deliverables"][0]["answer"] == "late"
    kept = deliverable(cadence, load)
    assert (kept.due_on, kept.slip_count, kept.days_slipped) == (date(2026, 12, 14), 1, 10)
    assert [e.action for e in events_of(cadence, load)] == ["created", "replanned"]

    # A lead's edit that gives a later date is a new re-plan, counted from the date it had.
    with clock.fixed_at(LATER + timedelta(hours=1)):
        view = edit_form(cadence, update, user=LEAD)
        reply = cadence.sim.submit_view(
            view, {f"deliverable_{load.id}_due": "2026-12-18"}, user=LEAD
        )
    assert reply.body == "", reply.body
    moved = deliverable(cadence, load)
    assert (moved.due_on, moved.slip_count, moved.days_slipped) == (date(2026, 12, 18), 2, 14)
    assert [(e.action, e.actor_user_id) for e in events_of(cadence, load)] == [
        ("created", LEAD), ("replanned", VENDOR), ("replanned", LEAD),
    ]  # fmt: skip
    assert [e.action for e in events_of(cadence, cutover)] == ["created"]


def test_the_form_from_a_check_in_prompt_replans_too(cadence):
    agreed = register(cadence)
    load = agreed["load"]
    with clock.fixed_at(WHEN):
        with cadence.db.read_session() as session:
            engagement = session.get(Engagement, load.engagement_id)
        checkin_id = seed_checkin(cadence, engagement)
        view = answer_prompt(cadence, checkin_id)
        assert asked(view) == [f"deliverable_{load.id}", f"deliverable_{agreed['cutover'].id}"]
        reply = cadence.sim.submit_view(
            view, {**UPDATE, **late(load, "2026-12-09", "Waiting for test data.")}, user=VENDOR
        )
    assert reply.body == "", reply.body
    (update,) = updates_sent(cadence)
    assert update.checkin_id == checkin_id
    moved = deliverable(cadence, load)
    assert (moved.due_on, moved.slip_count, moved.days_slipped) == (date(2026, 12, 9), 1, 5)
    assert "now due *Wed 09 Dec 2026*" in summary_of(cadence, update)


def test_bad_answers_are_refused_inline_and_nothing_is_written(cadence):
    agreed = register(cadence)
    load, cutover = agreed["load"], agreed["cutover"]
    cases = [
        (  # late without a date or a reason
            {f"deliverable_{load.id}": "late"},
            {
                f"deliverable_{load.id}_due": "Pick the date it will be delivered.",
                f"deliverable_{load.id}_reason": "Say why it will be late",
            },
        ),
        (  # a new date in the past (today is 7 December)
            late(load, "2026-12-05", "Staging."),
            {f"deliverable_{load.id}_due": "That date is in the past"},
        ),
        (  # not after the date it is due
            late(cutover, "2026-12-10", "Staging."),
            {f"deliverable_{cutover.id}_due": "late means a later date"},
        ),
    ]
    for given, expected in cases:
        with clock.fixed_at(WHEN):
            view = update_form(cadence)
            reply = cadence.sim.submit_view(view, {**UPDATE, **given}, user=VENDOR)
        assert reply.json and reply.json["response_action"] == "errors", reply.body
        errors = reply.json["errors"]
        assert sorted(errors) == sorted(expected), errors
        for key, words in expected.items():
            assert words in errors[key], errors
    assert updates_sent(cadence) == []
    for found in (load, cutover):
        assert deliverable(cadence, found).slip_count == 0
        assert [e.action for e in events_of(cadence, found)] == ["created"]


def test_a_vendor_who_owns_none_due_soon_is_not_asked(cadence):
    set_up(cadence)
    add(cadence, "Load test report", due_on="2026-12-04")  # the other vendor contact's
    add(cadence, "Data migration", due_on="2027-01-15", owner=EXTERNAL)  # beyond two weeks
    with clock.fixed_at(WHEN):
        theirs = update_form(cadence, EXTERNAL)
        mine = update_form(cadence, VENDOR)
    assert asked(theirs) == []
    assert "Your deliverables due soon" not in text_of(theirs)
    assert len(asked(mine)) == 1 and "Your deliverables due soon" in text_of(mine)
    with clock.fixed_at(WHEN):
        reply = cadence.sim.submit_view(theirs, UPDATE, user=EXTERNAL)
    assert reply.body == "", reply.body
    (update,) = updates_sent(cadence)
    assert "deliverables" not in revisions(cadence, update.id)[0].content
    assert "Deliverables" not in summary_of(cadence, update)


def test_a_long_list_is_capped_within_slacks_limits(cadence):
    set_up(cadence)
    for n in range(12):
        add(cadence, f"Interface spec {n + 1}", due_on="2026-12-11")
    with clock.fixed_at(NOW + timedelta(days=1)):
        view = update_form(cadence)
    assert len(asked(view)) == 10
    assert "And 2 more due soon" in text_of(view)
    assert len(view["blocks"]) <= 100
