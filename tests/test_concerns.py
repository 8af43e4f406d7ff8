"""The concern register, told as its users meet it: raised from a command or from any message,
posted to the engagement channel with buttons, acknowledged, resolved with a note, reassigned
and reopened by the right people only, each change editing the card and adding a line to its
thread; and deadlines that alert exactly once."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from conftest import (
    ACME,
    ADMIN,
    DIGEST,
    GENERAL,
    LEAD,
    LEAD2,
    OUTSIDER,
    STAKEHOLDER,
    VENDOR,
    Cadence,
)
from engine_flows import dms_to, tick, utc
from flows import GOOD_FORM, create_engagement, open_form, text_of
from sqlmodel import select
from test_engine_processes import tick_process
from test_list_queries import seed

from bot.domain.concerns import ConcernStatus
from bot.platform import clock
from storage.models import AuditEvent, Concern, ConcernEvent, Engagement, ScheduledJob

RAISED_AT = utc(2026, 11, 30, 9, 0)


def raise_by_command(
    cadence: Cadence, text: str, values: dict[str, Any], *, user: str = LEAD
) -> dict[str, Any]:
    """`/cadence concern …` and the form it opens, submitted; the view that was opened."""
    before = len(cadence.fake.calls_to("views.open"))
    reply = cadence.sim.command(text, user=user)
    assert reply.status == 200 and not (reply.json or {}).get("text"), reply.body
    opened = cadence.fake.wait_for("views.open", count=before + 1)[-1]
    view = cadence.fake.view(opened.response["view"]["id"])
    submitted = cadence.sim.submit_view(view, values, user=user)
    assert submitted.status == 200 and submitted.body == "", submitted.body
    return view


def the_concern(cadence: Cadence) -> Concern:
    with cadence.db.read_session() as session:
        return session.exec(select(Concern).order_by(Concern.id.desc())).first()


def card_of(cadence: Cadence, concern: Concern | None = None) -> dict[str, Any]:
    """The concern's card as the channel shows it now (after its jobs ran)."""
    found = cadence.wait_until(
        lambda: (c := the_concern(cadence)) and c.message_ts and c, what="the card's ts"
    )
    return cadence.fake.message(found.channel_id, found.message_ts)


def thread_of(cadence: Cadence, concern: Concern) -> list[str]:
    return [
        text_of(m)
        for m in cadence.fake.messages(ACME)
        if m.get("thread_ts") == concern.message_ts and m["ts"] != concern.message_ts
    ]


def set_up(cadence: Cadence) -> None:
    with clock.fixed_at(RAISED_AT - timedelta(days=1)):
        create_engagement(cadence, stakeholders=[STAKEHOLDER], digest_channel=DIGEST)


def raise_security_concern(cadence: Cadence, severity: str = "high") -> Concern:
    with clock.fixed_at(RAISED_AT):
        raise_by_command(
            cadence,
            "concern acme-payments VPN keys shared by email",
            {"severity": severity, "category": "security", "description": "Seen in #ops."},
            user=STAKEHOLDER,
        )
    return cadence.wait_until(
        lambda: (c := the_concern(cadence)) and c.message_ts and c, what="the card to be posted"
    )


def test_a_stakeholder_raises_a_security_concern_and_the_right_people_hear_at_once(cadence):
    set_up(cadence)
    concern = raise_security_concern(cadence)

    assert (concern.title, concern.severity, concern.category) == (
        "VPN keys shared by email", "high", "security",
    )  # fmt: skip
    assert (concern.raised_by, concern.raised_side, concern.owner_user_id) == (
        STAKEHOLDER,
        "client",
        VENDOR,
    )  # fmt: skip  (the first vendor contact owns it by default)
    assert concern.status == ConcernStatus.OPEN
    # Default SLA for high: acknowledge within 24 h, resolve within 72 h.
    assert concern.acknowledge_due_at == RAISED_AT + timedelta(hours=24)
    assert concern.resolve_due_at == RAISED_AT + timedelta(hours=72)

    card = card_of(cadence)
    assert concern.channel_id == ACME
    text = text_of(card)
    assert "#1 VPN keys shared by email" in text and "high" in text and "security" in text
    assert f"Owner <@{VENDOR}>" in text and "open, not yet acknowledged" in text
    buttons = [
        e["action_id"] for b in card["blocks"] if b["type"] == "actions" for e in b["elements"]
    ]
    assert buttons == [
        "concern:acknowledge", "concern:resolve", "concern:reassign", "concern:comment",
    ]  # fmt: skip

    owner_dm = cadence.wait_until(lambda: dms_to(cadence, VENDOR), what="the owner's DM")
    assert "You own concern #1" in text_of(owner_dm[0])
    for lead in (LEAD,):  # the leads of GOOD_FORM: the creator
        alert = cadence.wait_until(
            lambda lead=lead: [m for m in dms_to(cadence, lead) if "security" in text_of(m)],
            what="the leads' security alert",
        )
        assert (
            len(alert) == 1
            and "As one of its leads, you hear of a security concern this serious at once"
            in text_of(alert[0])
        )
    with cadence.db.read_session() as session:
        audit = session.exec(
            select(AuditEvent).where(AuditEvent.entity_type == "concern").order_by(AuditEvent.id)
        ).all()
    assert [(a.action, a.actor_user_id) for a in audit] == [("raise", STAKEHOLDER)]


def test_each_change_edits_the_card_and_adds_a_line_to_its_thread(cadence):
    set_up(cadence)
    concern = raise_security_concern(cadence)
    card = card_of(cadence)

    # Someone outside the engagement is refused, politely, and nothing changes.
    reply = cadence.sim.click(card, "concern:acknowledge", user=OUTSIDER, channel=ACME)
    assert reply.status == 200
    said = cadence.wait_until(
        lambda: [r.body for r in cadence.fake.responses if reply.response_url.endswith(r.name)],
        what="the refusal",
    )
    assert "Only <@U0VENDOR> or a lead" in text_of(said[-1])
    assert the_concern(cadence).status == ConcernStatus.OPEN

    # The owner acknowledges: the card says so, its thread says who and when.
    with clock.fixed_at(RAISED_AT + timedelta(hours=1)):
        cadence.sim.click(card, "concern:acknowledge", user=VENDOR, channel=ACME)
        cadence.wait_until(
            lambda: the_concern(cadence).status == ConcernStatus.ACKNOWLEDGED, what="the ack"
        )
    cadence.wait_until(lambda: thread_of(cadence, concern), what="the thread line")
    card = cadence.wait_until(
        lambda: "*acknowledged*" in text_of(c := card_of(cadence)) and c, what="the card edit"
    )
    assert f"<@{VENDOR}> acknowledged it" in thread_of(cadence, concern)[0]
    assert cadence.fake.calls_to("chat.update")

    # Resolving needs a note; without one the form says so and nothing changes.
    before = len(cadence.fake.calls_to("views.open"))
    cadence.sim.click(card, "concern:resolve", user=LEAD, channel=ACME)
    view = cadence.fake.view(
        cadence.fake.wait_for("views.open", before + 1)[-1].response["view"]["id"]
    )
    empty = cadence.sim.submit_view(view, {"note": "   "}, user=LEAD, check_required=False)
    assert "errors" in (empty.json or {}) and "Say how it was resolved" in empty.body
    assert the_concern(cadence).status == ConcernStatus.ACKNOWLEDGED
    with clock.fixed_at(RAISED_AT + timedelta(hours=5)):
        done = cadence.sim.submit_view(view, {"note": "Keys rotated; email purged."}, user=LEAD)
    assert done.body == ""
    resolved = the_concern(cadence)
    assert (resolved.status, resolved.resolution_note) == (
        "resolved",
        "Keys rotated; email purged.",
    )
    card = cadence.wait_until(
        lambda: "Keys rotated" in text_of(c := card_of(cadence)) and c, what="the resolved card"
    )
    buttons = [
        e["action_id"] for b in card["blocks"] if b["type"] == "actions" for e in b["elements"]
    ]
    assert buttons == ["concern:reopen", "concern:comment"]
    cadence.wait_until(lambda: len(thread_of(cadence, concern)) == 2, what="the second line")

    # Whoever raised it may reopen it; the clocks start again.
    with clock.fixed_at(RAISED_AT + timedelta(days=2)):
        cadence.sim.click(card, "concern:reopen", user=STAKEHOLDER, channel=ACME)
        cadence.wait_until(
            lambda: the_concern(cadence).status == ConcernStatus.REOPENED, what="the reopening"
        )
    reopened = the_concern(cadence)
    assert reopened.round == 1
    assert reopened.acknowledge_due_at == RAISED_AT + timedelta(days=2, hours=24)

    # A lead gives it to someone else: they are told, the thread says so.
    card = cadence.wait_until(
        lambda: "reopened" in text_of(c := card_of(cadence)) and c, what="the reopened card"
    )
    before = len(cadence.fake.calls_to("views.open"))
    cadence.sim.click(card, "concern:reassign", user=LEAD, channel=ACME)
    view = cadence.fake.view(
        cadence.fake.wait_for("views.open", before + 1)[-1].response["view"]["id"]
    )
    assert cadence.sim.submit_view(view, {"owner": LEAD2}, user=LEAD).body == ""
    assert the_concern(cadence).owner_user_id == LEAD2
    cadence.wait_until(lambda: dms_to(cadence, LEAD2), what="the new owner's DM")
    lines = cadence.wait_until(
        lambda: (t := thread_of(cadence, concern)) and len(t) == 4 and t, what="four lines"
    )
    assert f"gave it to <@{LEAD2}>" in lines[3]
    with cadence.db.read_session() as session:
        events = session.exec(select(ConcernEvent).order_by(ConcernEvent.id)).all()
        audit = session.exec(
            select(AuditEvent).where(AuditEvent.entity_type == "concern").order_by(AuditEvent.id)
        ).all()
    assert [e.action for e in events] == [
        "raised", "acknowledged", "resolved", "reopened", "reassigned",
    ]  # fmt: skip
    assert [a.action for a in audit] == [
        "raise", "acknowledged", "resolved", "reopened", "reassigned",
    ]  # fmt: skip
    assert audit[-1].before == {"owner_user_id": VENDOR} and audit[-1].after == {
        "owner_user_id": LEAD2
    }


def alerts_to(cadence: Cadence, who: str, words: str) -> list[dict[str, Any]]:
    return [m for m in dms_to(cadence, who) if words in text_of(m)]


def test_deadlines_alert_once_each_and_stop_when_met(cadence, monkeypatch):
    set_up(cadence)
    raise_security_concern(cadence, severity="medium")  # acknowledge 72 h, resolve 168 h

    tick(cadence, monkeypatch, RAISED_AT + timedelta(hours=71))
    assert not alerts_to(cadence, LEAD, "has not been acknowledged")
    tick(cadence, monkeypatch, RAISED_AT + timedelta(hours=73))
    tick(cadence, monkeypatch, RAISED_AT + timedelta(hours=74))
    assert len(alerts_to(cadence, LEAD, "has not been acknowledged")) == 1
    assert len(alerts_to(cadence, VENDOR, "has not been acknowledged")) == 1

    # Resolved now: the pending resolve and escalation alerts are cancelled.
    card = card_of(cadence)
    before = len(cadence.fake.calls_to("views.open"))
    with clock.fixed_at(RAISED_AT + timedelta(hours=80)):
        cadence.sim.click(card, "concern:resolve", user=VENDOR, channel=ACME)
        view = cadence.fake.view(
            cadence.fake.wait_for("views.open", before + 1)[-1].response["view"]["id"]
        )
        cadence.sim.submit_view(view, {"note": "Access revoked."}, user=VENDOR)
    with cadence.db.read_session() as session:
        clocks = session.exec(
            select(ScheduledJob).where(ScheduledJob.kind == "concern_due").order_by(ScheduledJob.id)
        ).all()
    assert [(j.key.rsplit("=", 1)[1], j.status) for j in clocks] == [
        ("acknowledge", "done"), ("resolve", "cancelled"), ("escalate", "cancelled"),
    ]  # fmt: skip
    tick(cadence, monkeypatch, RAISED_AT + timedelta(days=30))
    assert not alerts_to(cadence, LEAD, "is not resolved")


def test_an_unresolved_concern_is_escalated_to_the_digest_channel_once(cadence, monkeypatch):
    set_up(cadence)
    raise_security_concern(cadence, severity="critical")  # acknowledge 4 h, resolve 24 h
    for hours in (5, 25, 49, 50):
        tick(cadence, monkeypatch, RAISED_AT + timedelta(hours=hours))
    assert len(alerts_to(cadence, LEAD, "has not been acknowledged")) == 1
    assert len(alerts_to(cadence, LEAD, "is not resolved")) == 1
    escalated = [m for m in cadence.fake.messages(DIGEST) if "escalated" in text_of(m)]
    assert len(escalated) == 1 and "#1" in text_of(escalated[0])


def test_a_concern_raised_from_a_message_quotes_it_and_links_to_it(cadence):
    set_up(cadence)
    said = cadence.fake.say(ACME, VENDOR, "FYI the prod DB password is in the wiki, page 3")
    before = len(cadence.fake.calls_to("views.open"))
    reply = cadence.sim.message_shortcut(
        "raise_concern_from_message", said, user=LEAD, channel=ACME
    )
    assert reply.status == 200
    view = cadence.fake.view(
        cadence.fake.wait_for("views.open", before + 1)[-1].response["view"]["id"]
    )
    assert "prod DB password" in text_of({"blocks": view["blocks"]})
    assert not [b for b in view["blocks"] if b.get("block_id") == "engagement"]  # one engagement
    with clock.fixed_at(RAISED_AT):
        cadence.sim.submit_view(view, {"severity": "critical", "category": "security"}, user=LEAD)
    concern = the_concern(cadence)
    assert (concern.source, concern.source_ref) == ("message", f"slack:{ACME}:{said['ts']}")
    assert concern.title == "FYI the prod DB password is in the wiki, page 3"
    text = text_of(card_of(cadence))
    assert "Raised from a message" in text and "prod DB password" in text
    assert f"/archives/{ACME}/p" in text  # the permalink


def test_a_message_in_a_channel_of_no_engagement_asks_which(cadence):
    set_up(cadence)
    create_engagement(cadence, name="Globex Data", channel="C0SHARED")
    said = cadence.fake.say(GENERAL, LEAD, "Invoices are three months late")
    before = len(cadence.fake.calls_to("views.open"))
    cadence.sim.message_shortcut("raise_concern_from_message", said, user=LEAD, channel=GENERAL)
    view = cadence.fake.view(
        cadence.fake.wait_for("views.open", before + 1)[-1].response["view"]["id"]
    )
    (picker,) = [b for b in view["blocks"] if b.get("block_id") == "engagement"]
    names = [o["text"]["text"] for o in picker["element"]["options"]]
    assert names == ["Acme Payments", "Globex Data"]
    globex = [
        o["value"] for o in picker["element"]["options"] if o["text"]["text"] == "Globex Data"
    ]
    cadence.sim.submit_view(
        view,
        {"engagement": globex[0], "severity": "medium", "category": "contractual"},
        user=LEAD,
    )
    concern = the_concern(cadence)
    assert concern is not None and concern.category == "contractual"
    assert card_of(cadence)  # posted in Globex's channel
    assert the_concern(cadence).channel_id == "C0SHARED"


def test_with_more_engagements_than_a_select_holds_the_form_lists_the_first_and_says_so(cadence):
    """Slack refuses a static_select of more than 100 options: with 105 engagements the form
    still opens, lists the first 100 by name and names the command for the others (for a
    person on all of them, and for an admin on none, who may pick any)."""
    seed(cadence.db, range(105))
    for who in (LEAD, ADMIN):
        said = cadence.fake.say(GENERAL, who, "Invoices are three months late")
        before = len(cadence.fake.calls_to("views.open"))
        cadence.sim.message_shortcut("raise_concern_from_message", said, user=who, channel=GENERAL)
        opened = cadence.fake.wait_for("views.open", before + 1)[-1]
        assert opened.response["ok"], opened.response
        view = cadence.fake.view(opened.response["view"]["id"])
        (picker,) = [b for b in view["blocks"] if b.get("block_id") == "engagement"]
        names = [o["text"]["text"] for o in picker["element"]["options"]]
        assert names == [f"Client {n:03d}" for n in range(100)]
        said_more = text_of({"blocks": view["blocks"]})
        assert "5 more are not listed" in said_more
        assert "/cadence concern <engagement>" in said_more


def test_bad_input_is_named_where_the_person_is_and_nothing_is_written(cadence):
    set_up(cadence)
    reply = cadence.sim.command("concern nothing-here Something")
    said = reply.json or {}
    assert "There is no engagement `nothing-here`" in text_of(said)
    reply = cadence.sim.command("concern")
    assert "Say which engagement" in text_of(reply.json or {})
    reply = cadence.sim.command("concern acme-payments", user=OUTSIDER)
    assert "raised by the people on it" in text_of(reply.json or {})

    before = len(cadence.fake.calls_to("views.open"))
    cadence.sim.command("concern acme-payments")
    view = cadence.fake.view(
        cadence.fake.wait_for("views.open", before + 1)[-1].response["view"]["id"]
    )
    reply = cadence.sim.submit_view(
        view, {"title": "  ", "severity": "low", "category": "quality"}, check_required=False
    )
    assert reply.json["response_action"] == "errors" and "title" in reply.json["errors"]
    with cadence.db.read_session() as session:
        assert session.exec(select(Concern)).all() == []


def test_the_list_shows_the_worst_first_and_counts_what_does_not_fit(cadence):
    set_up(cadence)
    with cadence.db.session() as session:  # many concerns, as a busy register has
        for n in range(45):
            severity = ("low", "medium", "high", "critical")[n % 4]
            session.add(
                Concern(
                    team_id="T0CADENCE", engagement_id=1, title=f"Concern {n}", severity=severity,
                    category="delivery", owner_user_id=VENDOR, raised_by=LEAD, status="open",
                    raised_at=RAISED_AT + timedelta(minutes=n),
                    sla_due_at=RAISED_AT + timedelta(hours=24),
                )
            )  # fmt: skip
    with clock.fixed_at(RAISED_AT + timedelta(hours=30)):
        reply = cadence.sim.command("concerns acme-payments")
    listed = cadence.wait_until(
        lambda: [r.body for r in cadence.fake.responses if reply.response_url.endswith(r.name)],
        what="the list",
    )[-1]
    text = text_of(listed)
    assert "Open concerns on Acme Payments* (45)" in text and "and 5 more" in text
    first = text.index("Concern 3*")  # the oldest critical one comes first
    assert first < text.index("Concern 7*") < text.index("Concern 2*")
    assert "6 h past its SLA" in text
    assert len(listed["blocks"]) <= 50

    with clock.fixed_at(RAISED_AT + timedelta(hours=30)):
        reply = cadence.sim.command("concerns critical mine", user=VENDOR)
    listed = cadence.wait_until(
        lambda: [r.body for r in cadence.fake.responses if reply.response_url.endswith(r.name)],
        what="the filtered list",
    )[-1]
    assert "(11)" in text_of(listed) and "· low ·" not in text_of(listed)


def test_the_home_tab_shows_the_concerns_a_person_owns_or_raised(cadence):
    set_up(cadence)
    raise_security_concern(cadence)  # raised by the stakeholder, owned by the vendor

    for user, says in ((VENDOR, "Your open concerns* (1)"), (STAKEHOLDER, "Your open concerns")):
        with clock.fixed_at(RAISED_AT + timedelta(hours=30)):
            cadence.sim.app_home_opened(user)
        home = cadence.wait_until(lambda user=user: cadence.fake.home_view(user), what="home")
        text = text_of({"blocks": home["blocks"]})
        assert says in text and "VPN keys shared by email" in text
        assert "6 h past its SLA" in text  # 24 h to acknowledge, 30 h on
    cadence.sim.app_home_opened(LEAD2)
    home = cadence.wait_until(lambda: cadence.fake.home_view(LEAD2), what="home")
    assert "Your open concerns" not in text_of({"blocks": home["blocks"]})


@pytest.mark.slow
def test_four_tick_processes_alert_each_deadline_exactly_once(cadence):
    """Several scheduler processes on one database (PostgreSQL: SKIP LOCKED) meet the same
    deadlines at once; every alert goes out once."""
    set_up(cadence)
    raise_security_concern(cadence, severity="critical")  # acknowledge 4 h, resolve 24 h
    late = RAISED_AT + timedelta(hours=50)  # every clock has run out
    processes = [tick_process(cadence, late) for _ in range(4)]
    outputs = [p.communicate(timeout=120) for p in processes]
    assert [p.returncode for p in processes] == [0, 0, 0, 0], [err for _, err in outputs]
    for words in ("has not been acknowledged", "is not resolved"):
        assert len(alerts_to(cadence, LEAD, words)) == 1
        assert len(alerts_to(cadence, VENDOR, words)) == 1
    escalated = [m for m in cadence.fake.messages(DIGEST) if "escalated" in text_of(m)]
    assert len(escalated) == 1


def test_the_engagement_form_sets_how_fast_concerns_are_acknowledged_and_resolved(cadence):
    with clock.fixed_at(RAISED_AT - timedelta(days=1)):
        create_engagement(cadence, sla_critical="1", sla_high="2", sla_resolve_high="48")
    concern = raise_security_concern(cadence, severity="high")
    assert concern.acknowledge_due_at == RAISED_AT + timedelta(hours=2)
    assert concern.resolve_due_at == RAISED_AT + timedelta(hours=48)


def test_resolving_cannot_be_due_before_acknowledging(cadence):
    view = open_form(cadence)
    reply = cadence.sim.submit_view(view, {**GOOD_FORM, "sla_high": "30", "sla_resolve_high": "10"})
    assert reply.json["response_action"] == "errors"
    assert (
        "Resolving cannot come before acknowledging (30 h)"
        in reply.json["errors"]["sla_resolve_high"]
    )


def test_a_blocker_in_an_update_becomes_a_concern_in_one_click(cadence):
    set_up(cadence)
    before = len(cadence.fake.calls_to("views.open"))
    cadence.sim.command("update acme-payments", user=VENDOR)
    view = cadence.fake.view(
        cadence.fake.wait_for("views.open", before + 1)[-1].response["view"]["id"]
    )
    values = {
        "rag": "amber",
        "reason": "The firewall change.",
        "summary": "Slipping.",
        "blockers": "Firewall change NET-311 pending\nNo test data",
    }
    assert cadence.sim.submit_view(view, values, user=VENDOR).body == ""
    summary = cadence.wait_until(
        lambda: [m for m in cadence.fake.messages(ACME) if "Firewall change" in text_of(m)],
        what="the summary",
    )[0]
    before = len(cadence.fake.calls_to("views.open"))
    cadence.sim.click(summary, "status_update_blocker_concern", user=LEAD, channel=ACME)
    form = cadence.fake.view(
        cadence.fake.wait_for("views.open", before + 1)[-1].response["view"]["id"]
    )
    title = next(b for b in form["blocks"] if b.get("block_id") == "title")
    assert title["element"]["initial_value"] == "Firewall change NET-311 pending"
    with clock.fixed_at(RAISED_AT):
        cadence.sim.submit_view(form, {"severity": "medium"}, user=LEAD)
    concern = the_concern(cadence)
    assert (concern.source, concern.category) == ("update", "delivery")
    assert concern.description == "Firewall change NET-311 pending\nNo test data"
    assert "blockers of a status update" in text_of(card_of(cadence))


def test_anyone_on_the_engagement_may_comment_and_others_may_not(cadence):
    set_up(cadence)
    concern = raise_security_concern(cadence)
    card = card_of(cadence)
    reply = cadence.sim.click(card, "concern:comment", user=OUTSIDER, channel=ACME)
    said = cadence.wait_until(
        lambda: [r.body for r in cadence.fake.responses if reply.response_url.endswith(r.name)],
        what="the refusal",
    )
    assert "raised by the people on it" in text_of(said[-1])

    before = len(cadence.fake.calls_to("views.open"))
    cadence.sim.click(card, "concern:comment", user=STAKEHOLDER, channel=ACME)
    view = cadence.fake.view(
        cadence.fake.wait_for("views.open", before + 1)[-1].response["view"]["id"]
    )
    empty = cadence.sim.submit_view(view, {"note": " "}, user=STAKEHOLDER, check_required=False)
    assert "Write the comment" in empty.body
    assert (
        cadence.sim.submit_view(
            view, {"note": "Same keys are in the CI logs."}, user=STAKEHOLDER
        ).body
        == ""
    )
    line = cadence.wait_until(lambda: thread_of(cadence, concern), what="the comment's line")
    assert f"<@{STAKEHOLDER}> commented: Same keys are in the CI logs." in line[0]
    assert the_concern(cadence).status == ConcernStatus.OPEN  # a comment changes nothing else


def test_an_engagement_may_run_concern_clocks_in_working_hours_only(cadence):
    friday = utc(2026, 12, 4, 16, 0)  # 17:00 in Berlin, the engagement's zone
    with clock.fixed_at(friday - timedelta(days=1)):
        create_engagement(
            cadence,
            timezone="Europe/Berlin",
            holidays="2026-12-07",
            concern_clock=["pause_concern_clock"],
        )
    with clock.fixed_at(friday):
        raise_by_command(
            cadence, "concern acme-payments Backups untested", {"severity": "high",
                                                                "category": "delivery"},
        )  # fmt: skip
    concern = the_concern(cadence)
    # 24 working hours to acknowledge, raised at Friday's close: the weekend and Monday's
    # holiday do not count, then 8 h each on Tuesday, Wednesday and Thursday: Thursday 17:00
    # in Berlin (16:00 UTC).
    assert concern.acknowledge_due_at == utc(2026, 12, 10, 16, 0)
    with cadence.db.read_session() as session:
        view_engagement = session.exec(select(Engagement)).one()
    assert view_engagement.concern_clock_pauses is True


def test_the_escalation_contact_hears_first_when_there_is_one(cadence, monkeypatch):
    with clock.fixed_at(RAISED_AT - timedelta(days=1)):
        create_engagement(cadence, digest_channel=DIGEST, escalation_contact=LEAD2)
    raise_security_concern(cadence, severity="critical")
    for hours in (5, 25, 49, 50):
        tick(cadence, monkeypatch, RAISED_AT + timedelta(hours=hours))
    assert len(alerts_to(cadence, LEAD2, "escalated")) == 1
    assert not [m for m in cadence.fake.messages(DIGEST) if "escalated" in text_of(m)]


def test_an_owner_who_left_slack_is_reported_to_the_leads_once(cadence):
    cadence.fake.add_user("U0GONE", name="gone.person", deleted=True)
    set_up(cadence)
    with clock.fixed_at(RAISED_AT):
        raise_by_command(
            cadence, "concern acme-payments Nobody patches the VPN",
            {"severity": "medium", "category": "security", "owner": "U0GONE"},
        )  # fmt: skip
    concern = the_concern(cadence)
    assert concern.owner_user_id == "U0GONE"  # the concern stands, on its card, for the leads
    notices = cadence.wait_until(
        lambda: [m for m in dms_to(cadence, LEAD) if "deactivated" in text_of(m)],
        what="the leads to hear the owner cannot be reached",
    )
    assert len(notices) == 1 and "update the engagement's people" in text_of(notices[0])


def test_a_nul_typed_into_a_command_or_a_form_is_dropped_not_an_apology(cadence):
    """PostgreSQL refuses NUL in stored text: a NUL pasted into the command or the form is
    dropped where Cadence reads what was typed, and the concern is raised."""
    set_up(cadence)
    with clock.fixed_at(RAISED_AT):
        raise_by_command(
            cadence,
            "concern acme-payments VPN keys\x00 shared",
            {"severity": "low", "category": "security", "description": "Seen\x00 in #ops."},
            user=STAKEHOLDER,
        )
    concern = cadence.wait_until(lambda: the_concern(cadence), what="the concern to be saved")
    assert (concern.title, concern.description) == ("VPN keys shared", "Seen in #ops.")
