"""Deliverables, told as their users meet them: a lead adds one with the vendor contact who owns
it and the people who accept it; its card in the engagement channel is edited in place as it is
started, submitted with evidence, rejected (the rework counted), submitted again and accepted,
each change a line in the card's thread, an event and an audit entry; re-planning keeps every
slip; the wrong person is refused at click and at submit, and nothing changes; the list shows
what is overdue first, a page at a time."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from conftest import ACME, ADMIN, EXTERNAL, LEAD, OUTSIDER, STAKEHOLDER, VENDOR, Cadence
from engine_flows import utc
from flows import create_engagement, ephemeral_replies, text_of
from sqlmodel import select

from bot.domain.deliverables import due_moment, milestone_of
from bot.platform import clock
from storage.deliverable_statuses import DeliverableStatus
from storage.models import AuditEvent, Deliverable, DeliverableEvent, Engagement

NOW = utc(2026, 11, 30, 9, 0)  # a Monday
DUE = date(2026, 12, 11)  # a Friday
GOOD = {"description": "Step by step, with rollback.", "acceptance": "Rehearsed once in staging."}


def set_up(cadence: Cadence) -> Engagement:
    with clock.fixed_at(NOW - timedelta(days=1)):
        return create_engagement(cadence, stakeholders=[STAKEHOLDER])


def opened_view(cadence: Cadence, before: int) -> dict[str, Any]:
    opened = cadence.fake.wait_for("views.open", count=before + 1)[-1]
    assert opened.ok, opened.response
    return cadence.fake.view(opened.response["view"]["id"])


def add(
    cadence: Cadence, title: str = "Cutover runbook", *, user: str = LEAD, **values: Any
) -> Deliverable:
    """`/cadence deliverable acme-payments <title>` and its form, submitted at NOW."""
    with clock.fixed_at(NOW):
        before = len(cadence.fake.calls_to("views.open"))
        reply = cadence.sim.command(f"deliverable acme-payments {title}", user=user)
        assert reply.status == 200 and not (reply.json or {}).get("text"), reply.body
        view = opened_view(cadence, before)
        form = {**GOOD, "due_on": DUE.isoformat(), "owner": VENDOR, **values}
        done = cadence.sim.submit_view(view, form, user=user)
    assert done.status == 200 and done.body == "", done.body
    return newest(cadence)


def newest(cadence: Cadence) -> Deliverable:
    with cadence.db.read_session() as session:
        return session.exec(select(Deliverable).order_by(Deliverable.id.desc())).first()


def card_of(cadence: Cadence, words: str = "") -> dict[str, Any]:
    """The card as the channel shows it, once it shows `words`."""

    def shown() -> dict[str, Any] | None:
        found = newest(cadence)
        if not found.message_ts:
            return None
        card = cadence.fake.message(found.channel_id, found.message_ts)
        return card if words in text_of(card) else None

    return cadence.wait_until(shown, what=f"the card to show {words!r}")


def buttons(card: dict[str, Any]) -> list[str]:
    return [e["action_id"] for b in card["blocks"] if b["type"] == "actions" for e in b["elements"]]


def thread_of(cadence: Cadence, count: int) -> list[str]:
    found = newest(cadence)

    def lines() -> list[str] | None:
        said = [
            text_of(m)
            for m in cadence.fake.messages(found.channel_id)
            if m.get("thread_ts") == found.message_ts and m["ts"] != found.message_ts
        ]
        return said if len(said) >= count else None

    return cadence.wait_until(lines, what=f"{count} thread lines")


def step(cadence: Cadence, what: str, values: dict[str, Any] | None, *, user: str, at=NOW) -> Any:
    """Click the card's button `what` as `user` at `at`; with `values`, fill in and submit the
    form it opens. The submission's reply (or the click's, for a button without a form)."""
    card = cadence.wait_until(
        lambda: f"deliverable:{what}" in buttons(c := card_of(cadence)) and c,
        what=f"the card's {what} button",
    )
    with clock.fixed_at(at):
        before = len(cadence.fake.calls_to("views.open"))
        reply = cadence.sim.click(card, f"deliverable:{what}", user=user, channel=ACME)
        assert reply.status == 200
        if values is None:
            return reply
        view = opened_view(cadence, before)
        return cadence.sim.submit_view(view, values, user=user, check_required=False)


def refusal(cadence: Cadence, reply) -> str:
    said = cadence.wait_until(
        lambda: ephemeral_replies(cadence, reply.response_url), what="a reply"
    )
    return text_of(said[-1])


def history(cadence: Cadence) -> tuple[list[str], list[str]]:
    with cadence.db.read_session() as session:
        events = session.exec(select(DeliverableEvent).order_by(DeliverableEvent.id)).all()
        audit = session.exec(
            select(AuditEvent)
            .where(AuditEvent.entity_type == "deliverable")
            .order_by(AuditEvent.id)
        ).all()
    return [e.action for e in events], [a.action for a in audit]


def test_the_whole_lifecycle_by_the_right_people(cadence):
    engagement = set_up(cadence)
    added = add(cadence, acceptors=[STAKEHOLDER])
    assert (added.title, added.owner_user_id, added.acceptors, added.status) == (
        "Cutover runbook", VENDOR, [STAKEHOLDER], "planned",
    )  # fmt: skip
    # Due at the end of Friday in the engagement's zone.
    assert added.due_at == due_moment(DUE, engagement.timezone)
    assert added.due_at == utc(2026, 12, 11, 23, 0)  # Berlin: midnight is 23:00 UTC in winter
    card = card_of(cadence, "Cutover runbook")
    assert f"Owner <@{VENDOR}>" in text_of(card) and f"<@{STAKEHOLDER}>" in text_of(card)
    assert buttons(card) == [
        "deliverable:start", "deliverable:submit", "deliverable:replan", "deliverable:cancel",
    ]  # fmt: skip

    step(cadence, "start", None, user=VENDOR)
    cadence.wait_until(lambda: newest(cadence).status == "in_progress", what="started")
    card = card_of(cadence, "in progress")
    assert "deliverable:start" not in buttons(card)
    assert f"<@{VENDOR}> started it" in thread_of(cadence, 1)[0]
    assert cadence.fake.calls_to("chat.update")

    link = "https://wiki.example.com/cutover"
    reply = step(cadence, "submit", {"link": link}, user=VENDOR, at=NOW + timedelta(days=3))
    assert reply.body == "", reply.body
    submitted = newest(cadence)
    assert (submitted.status, submitted.evidence_link) == ("submitted", link)
    assert submitted.submitted_at == NOW + timedelta(days=3)
    card = card_of(cadence, "waiting for acceptance")
    assert buttons(card) == [
        "deliverable:accept", "deliverable:reject", "deliverable:replan", "deliverable:cancel",
    ]  # fmt: skip

    reply = step(cadence, "reject", {"reason": "No rollback step."}, user=STAKEHOLDER)
    assert reply.body == "", reply.body
    rejected = newest(cadence)
    assert (rejected.status, rejected.rework_count, rejected.submitted_at) == (
        "in_progress", 1, None,
    )  # fmt: skip
    assert "rejected once" in text_of(card_of(cadence, "rejected once"))
    assert "sent it back (rework 1): No rollback step." in thread_of(cadence, 3)[2]

    step(cadence, "submit", {"note": "Rollback added, page 4."}, user=VENDOR)
    reply = step(cadence, "accept", {"note": "Rehearsal went well."}, user=STAKEHOLDER)
    assert reply.body == "", reply.body
    accepted = newest(cadence)
    assert (accepted.status, accepted.rework_count) == ("accepted", 1)
    card = card_of(cadence, "*accepted*")
    assert buttons(card) == [] and "Rollback added" in text_of(card)
    lines = thread_of(cadence, 5)
    assert f"<@{STAKEHOLDER}> accepted it: Rehearsal went well." in lines[4]

    events, audit = history(cadence)
    assert events == ["created", "started", "submitted", "rejected", "submitted", "accepted"]
    assert audit == ["create", "started", "submitted", "rejected", "submitted", "accepted"]
    with cadence.db.read_session() as session:
        last = session.exec(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert last.actor_user_id == STAKEHOLDER
    assert last.before == {"status": "submitted"} and last.after["status"] == "accepted"
    # One card, edited in place: a single post in the channel that is not a thread line.
    posts = [m for m in cadence.fake.messages(ACME) if "Deliverable #" in m.get("text", "")]
    assert len(posts) == 1


def test_each_refusal_changes_nothing(cadence):
    set_up(cadence)
    # Only leads and Cadence admins add deliverables.
    reply = cadence.sim.command("deliverable acme-payments Sneaky", user=VENDOR)
    assert "Only the leads of Acme Payments" in text_of(reply.json)
    add(cadence)  # acceptors: none named, so the leads
    before = history(cadence)

    # Only the owner starts it (a lead is refused at click).
    assert "Only <@U0VENDOR>, its owner" in refusal(
        cadence, step(cadence, "start", None, user=LEAD)
    )
    # Only a lead cancels it (the owner is refused at click).
    assert "Only the leads of Acme Payments" in refusal(
        cadence, step(cadence, "cancel", None, user=VENDOR)
    )
    # Someone on no engagement cannot re-plan it.
    assert "Only <@U0VENDOR> or a lead" in refusal(
        cadence, step(cadence, "replan", None, user=OUTSIDER)
    )
    assert newest(cadence).status == "planned" and history(cadence) == before

    # At submit too: the owner's submit form, submitted by someone else, is refused inline.
    card = card_of(cadence)
    opened = len(cadence.fake.calls_to("views.open"))
    cadence.sim.click(card, "deliverable:submit", user=VENDOR, channel=ACME)
    view = opened_view(cadence, opened)
    forged = cadence.sim.submit_view(view, {"link": "https://x.example"}, user=STAKEHOLDER)
    assert "errors" in (forged.json or {}) and "its owner" in forged.body
    assert newest(cadence).status == "planned" and history(cadence) == before

    # Submitted: a stakeholder who is not an acceptor (the leads are) may not accept it.
    step(cadence, "submit", {"note": "Done."}, user=VENDOR)
    assert "Only <@U0LEAD>, its acceptors" in refusal(
        cadence, step(cadence, "accept", None, user=STAKEHOLDER)
    )
    assert newest(cadence).status == "submitted"
    # A Cadence admin may cancel (with a reason); a closed one takes no more steps.
    step(cadence, "cancel", {"reason": "Scope moved to phase 2."}, user=ADMIN)
    assert newest(cadence).status == "cancelled"
    assert buttons(card_of(cadence, "*cancelled*")) == []


def test_replanning_twice_shows_the_slips(cadence):
    set_up(cadence)
    add(cadence)
    first = DUE + timedelta(days=3)
    reply = step(cadence, "replan", {"due_on": first.isoformat(), "reason": "Firewall late."},
                 user=VENDOR)  # fmt: skip
    assert reply.body == "", reply.body
    second = first + timedelta(days=4)
    step(cadence, "replan", {"due_on": second.isoformat(), "reason": "Freeze week."}, user=LEAD)
    moved = newest(cadence)
    assert (moved.due_on, moved.original_due_on) == (second, DUE)
    assert (moved.slip_count, moved.days_slipped) == (2, 7)
    assert moved.due_at == utc(2026, 12, 18, 23, 0)
    card = card_of(cadence, "slipped 2 times")
    assert "slipped 2 times (7 days; first due Fri 11 Dec 2026)" in text_of(card)
    lines = thread_of(cadence, 2)
    assert "re-planned it from Fri 11 Dec to Mon 14 Dec 2026: Firewall late." in lines[0]
    with cadence.db.read_session() as session:
        data = [
            e.data for e in session.exec(select(DeliverableEvent).order_by(DeliverableEvent.id))
        ]
    assert data[1:] == [
        {"from": "2026-12-11", "to": "2026-12-14", "days": 3},
        {"from": "2026-12-14", "to": "2026-12-18", "days": 4},
    ]


def test_bad_input_is_said_inline_and_nothing_half_written_lands(cadence):
    set_up(cadence)
    with clock.fixed_at(NOW):
        before = len(cadence.fake.calls_to("views.open"))
        cadence.sim.command("deliverable acme-payments Runbook", user=LEAD)
        view = opened_view(cadence, before)
        bad = {"due_on": "2026-11-27", "owner": STAKEHOLDER, "acceptors": [VENDOR]}
        reply = cadence.sim.submit_view(view, bad, user=LEAD)
    errors = (reply.json or {}).get("errors") or {}
    assert set(errors) == {"due_on", "owner", "acceptors"}, reply.body
    assert "in the past" in errors["due_on"]
    assert "one of the vendor contacts" in errors["owner"]
    assert "leads or stakeholders" in errors["acceptors"]
    assert newest(cadence) is None

    add(cadence)
    for what, values, field, words in (
        ("submit", {}, "link", "Give the evidence"),
        ("submit", {"link": "wiki/page"}, "link", "starts with https://"),
        (
            "submit",
            {"file": [{"id": "F1", "permalink": "https://evil.example/x"}]},
            "file",
            "choose it again",
        ),
        (
            "submit",
            {
                "file": [
                    {"id": "F0AB1", "permalink": "https://acme.slack.com/files/F0AB1/x>|<!here"}
                ]
            },
            "file",
            "choose it again",
        ),
        ("replan", {"due_on": DUE.isoformat(), "reason": "x"}, "due_on", "already"),
        ("replan", {"due_on": "2026-12-20"}, "reason", "Say why the date moves"),
        ("cancel", {}, "reason", "Say why it is cancelled"),
    ):
        reply = step(cadence, what, values, user=LEAD if what == "cancel" else VENDOR)
        errors = (reply.json or {}).get("errors") or {}
        assert words in errors.get(field, ""), (what, reply.body)
    step(cadence, "submit", {"note": "Done."}, user=VENDOR)
    reply = step(cadence, "reject", {}, user=LEAD)
    assert "Say what is missing" in reply.body
    found = newest(cadence)
    assert (found.status, found.slip_count, found.rework_count) == ("submitted", 0, 0)
    assert history(cadence)[0] == ["created", "submitted"]


def test_a_retried_submission_acts_once(cadence):
    set_up(cadence)
    add(cadence)
    card = card_of(cadence)
    before = len(cadence.fake.calls_to("views.open"))
    cadence.sim.click(card, "deliverable:submit", user=VENDOR, channel=ACME)
    view = opened_view(cadence, before)
    for _ in range(2):  # the same view submitted twice: one delivery
        assert cadence.sim.submit_view(view, {"note": "Done."}, user=VENDOR).body == ""
    assert history(cadence)[0] == ["created", "submitted"]
    card_of(cadence, "waiting for acceptance")
    assert len(thread_of(cadence, 1)) == 1


def test_a_vendor_contact_from_another_organisation_owns_and_submits(cadence):
    set_up(cadence)
    add(cadence, owner=EXTERNAL)
    step(cadence, "start", None, user=EXTERNAL)
    cadence.wait_until(lambda: newest(cadence).status == "in_progress", what="started")
    reply = step(cadence, "submit", {"note": "Uploaded to the shared drive."}, user=EXTERNAL)
    assert reply.body == "", reply.body
    assert newest(cadence).status == "submitted"
    assert f"<@{EXTERNAL}> submitted it" in thread_of(cadence, 2)[1]


def seed(cadence: Cadence, engagement: Engagement, count: int) -> None:
    """`count` deliverables, due one day apart from a week ago on (the first seven overdue),
    the newest first in id order so the list's order is not the table's."""
    with cadence.db.session() as session:
        for i in reversed(range(count)):
            due_on = NOW.date() - timedelta(days=7) + timedelta(days=i)
            session.add(
                Deliverable(
                    team_id=engagement.team_id, engagement_id=engagement.id, title=f"Item {i:02d}",
                    due_on=due_on, due_at=due_moment(due_on, engagement.timezone),
                    original_due_on=due_on, owner_user_id=VENDOR if i % 2 else EXTERNAL,
                    created_by=LEAD, created_at=NOW, updated_at=NOW,
                    status="accepted" if i == 0 else "planned",
                )
            )  # fmt: skip


def listed(cadence: Cadence, text: str, *, user: str = LEAD) -> dict[str, Any]:
    with clock.fixed_at(NOW):
        reply = cadence.sim.command(text, user=user)
    assert reply.status == 200
    return cadence.wait_until(
        lambda: (ephemeral_replies(cadence, reply.response_url) or [None])[-1], what="the list"
    )


def titles(page: dict[str, Any]) -> list[str]:
    return [
        b["text"]["text"].split("*")[1].split(" ", 1)[1]
        for b in page["blocks"]
        if b["type"] == "section" and "\n" in b["text"]["text"]
    ]


def test_the_list_shows_the_overdue_first_a_page_at_a_time(cadence):
    engagement = set_up(cadence)
    seed(cadence, engagement, 26)  # Item 00 accepted; 01–06 overdue; 07 due today; the rest later
    first = listed(cadence, "deliverables acme-payments")
    assert len(first["blocks"]) <= 50
    assert titles(first) == [f"Item {i:02d}" for i in range(1, 21)]
    assert "(1–20 of 26)" in text_of(first)
    assert "overdue by 6 days" in text_of(first) and "due soon" in text_of(first)
    with clock.fixed_at(NOW):
        cadence.sim.click(first, "deliverables_more", user=LEAD)
    second = cadence.wait_until(
        lambda: (
            (p := [r.body for r in cadence.fake.responses if "21–26" in text_of(r.body)]) and p[-1]
        ),
        what="the second page",
    )
    # The rest, the accepted one last; no next page after it.
    assert titles(second) == [*(f"Item {i:02d}" for i in range(21, 26)), "Item 00"]
    assert "deliverables_more" not in str(second["blocks"])

    overdue = listed(cadence, "deliverables acme-payments overdue")
    assert titles(overdue) == [f"Item {i:02d}" for i in range(1, 7)]
    mine = listed(cadence, "deliverables mine", user=VENDOR)
    assert titles(mine)[:3] == ["Item 01", "Item 03", "Item 05"]
    assert all(int(t[-2:]) % 2 for t in titles(mine))
    # A lead accepts those with no acceptors named: all of them are theirs.
    assert "of 26)" in text_of(listed(cadence, "deliverables mine"))
    assert newest(cadence).status in {s.value for s in DeliverableStatus}


def test_the_evidence_can_be_a_file_shared_in_slack(cadence):
    """The submit form's file input (one file): Cadence keeps the file's id and permalink as
    Slack describes them, shows the link on the card and in the thread, and never downloads it."""
    set_up(cadence)
    add(cadence)
    shared = {
        "id": "F0RUNBOOK1",
        "name": "cutover-runbook.pdf",
        "permalink": f"https://acme.slack.com/files/{VENDOR}/F0RUNBOOK1/cutover-runbook.pdf",
        "url_private": "https://files.slack.com/files-pri/T0ACME-F0RUNBOOK1/cutover-runbook.pdf",
    }
    reply = step(cadence, "submit", {"file": [shared]}, user=VENDOR)
    assert reply.body == "", reply.body
    found = newest(cadence)
    assert (found.status, found.evidence_file_id) == ("submitted", "F0RUNBOOK1")
    assert found.evidence_file_permalink == shared["permalink"]
    card = card_of(cadence, "the file in Slack")
    assert f"<{shared['permalink']}|the file in Slack>" in text_of(card)
    assert "cutover-runbook.pdf" in thread_of(cadence, 1)[0]
    assert not cadence.fake.calls_to("files.info")  # nothing is fetched


def test_a_milestones_status_follows_its_deliverables(cadence):
    """The list of one engagement opens with its milestones: a date (the latest of its
    deliverables') and a status that follows them: at risk once one slipped, done when all are
    accepted; a milestone whose deliverables were all cancelled is not shown."""
    set_up(cadence)
    add(cadence, "Runbook", milestone="Cutover")
    step(cadence, "replan", {"due_on": "2026-12-18", "reason": "Rehearsal moved."}, user=VENDOR)
    add(cadence, "Reconciliation report", milestone="Cutover")
    add(cadence, "Slides", milestone="Kick-off")
    step(cadence, "cancel", {"reason": "Not needed."}, user=LEAD)
    listed_first = listed(cadence, "deliverables acme-payments")
    said = text_of(listed_first)
    assert "🟠 *Cutover* Fri 18 Dec: at risk, 0 of 2 accepted" in said, said
    assert "Kick-off" not in said.split("Deliverables of")[1].split("\n")[1]
    with cadence.db.read_session() as session:
        rows = session.exec(select(Deliverable).where(Deliverable.milestone == "Cutover")).all()
    for d in rows:
        d.status = "accepted"
    assert milestone_of("Cutover", rows, NOW).status == "done"
    rows[0].status, rows[0].slip_count = "in_progress", 0
    assert milestone_of("Cutover", rows, NOW + timedelta(days=30)).status == "late"
