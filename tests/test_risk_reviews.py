"""Risk reviews, told as their users meet them: a lead schedules one, the engine asks the vendor
at the slot, and the vendor goes through the engagement's open concerns in the form: one
resolved with a note, one mitigated, a new one raised. The register changes (statuses, events,
audit), each concern's card is edited with a line in its thread, and the channel gets a summary
of what changed. A missing note, or a change the reviewer may not make, is said on the form and
nothing is written.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from conftest import ACME, EXTERNAL, LEAD, STAKEHOLDER, VENDOR, Cadence
from engine_flows import checkins_of, dms_to, posted_in, recipients_of, schedule, tick, utc
from flows import create_engagement, text_of
from sqlmodel import select
from test_concerns import raise_by_command

from bot.domain.concerns import ConcernStatus
from bot.domain.risk_reviews import MAX_IN_FORM
from bot.platform import clock
from storage.models import AuditEvent, Concern, ConcernEvent, RiskReview, ScheduledJob

SLOT = utc(2026, 11, 30, 10, 0)  # a Monday, 10:00 UTC
ANSWERED_AT = SLOT + timedelta(hours=2)


# --- steps -------------------------------------------------------------------------------------


def concern(cadence: Cadence, concern_id: int) -> Concern:
    with cadence.db.read_session() as session:
        return session.get(Concern, concern_id)


def events_of(cadence: Cadence, concern_id: int) -> list[ConcernEvent]:
    with cadence.db.read_session() as session:
        return list(
            session.exec(
                select(ConcernEvent)
                .where(ConcernEvent.concern_id == concern_id)
                .order_by(ConcernEvent.id)
            ).all()
        )


def audit_of(cadence: Cadence, concern_id: int) -> list[AuditEvent]:
    with cadence.db.read_session() as session:
        return list(
            session.exec(
                select(AuditEvent)
                .where(AuditEvent.entity_type == "concern")
                .where(AuditEvent.entity_id == concern_id)
                .order_by(AuditEvent.id)
            ).all()
        )


def reviews(cadence: Cadence) -> list[RiskReview]:
    with cadence.db.read_session() as session:
        return list(session.exec(select(RiskReview).order_by(RiskReview.id)).all())


def card(cadence: Cadence, concern_id: int, words: str) -> str:
    """The concern's card as the channel shows it, once it says `words`."""

    def shown() -> str | None:
        c = concern(cadence, concern_id)
        if c.message_ts is None:
            return None
        text = text_of(cadence.fake.message(c.channel_id, c.message_ts))
        return text if words in text else None

    return cadence.wait_until(shown, what=f"the card of #{concern_id} to say {words!r}")


def thread(cadence: Cadence, concern_id: int) -> list[str]:
    c = concern(cadence, concern_id)
    return [
        text_of(m)
        for m in cadence.fake.messages(ACME)
        if m.get("thread_ts") == c.message_ts and m["ts"] != c.message_ts
    ]


def raise_two_concerns(cadence: Cadence, *, second_owner: str | None = None) -> None:
    """A stakeholder raises a serious one and a milder one; the vendor owns both by default."""
    with clock.fixed_at(SLOT - timedelta(minutes=30)):
        raise_by_command(
            cadence,
            "concern acme-payments Staging is down every Monday",
            {"severity": "medium", "category": "delivery"},
            user=STAKEHOLDER,
        )
        raise_by_command(
            cadence,
            "concern acme-payments VPN keys shared by email",
            {"severity": "high", "category": "security"}
            | ({"owner": second_owner} if second_owner else {}),
            user=STAKEHOLDER,
        )
    for concern_id in (1, 2):
        card(cadence, concern_id, f"#{concern_id}")


def open_review(cadence: Cadence, user: str = VENDOR) -> dict[str, Any]:
    """The person clicks the prompt's button in their DM; the form that opened."""
    prompt = cadence.wait_until(
        lambda: [m for m in dms_to(cadence, user) if "checkin_answer" in str(m.get("blocks"))],
        what="the prompt",
    )[-1]
    message = {"ts": "1.000", "channel": user, "blocks": prompt["blocks"]}
    before = len(cadence.fake.calls_to("views.open"))
    with clock.fixed_at(ANSWERED_AT - timedelta(minutes=5)):
        cadence.sim.click(message, "checkin_answer", user=user, channel=user)
    opened = cadence.fake.wait_for("views.open", count=before + 1)[-1]
    assert opened.ok, opened.response
    return cadence.fake.view(opened.response["view"]["id"])


def submit(cadence: Cadence, view: dict[str, Any], values: dict[str, Any], *, at=ANSWERED_AT):
    with clock.fixed_at(at):
        reply = cadence.sim.submit_view(view, values, user=VENDOR)
    assert reply.status == 200, reply.body
    return reply


def choices(view: dict[str, Any], concern_id: int) -> list[str]:
    (block,) = [b for b in view["blocks"] if b.get("block_id") == f"status_{concern_id}"]
    return [o["value"] for o in block["element"]["options"]]


def open_checkin(cadence: Cadence, monkeypatch) -> int:
    """An engagement; its lead schedules a weekly risk review asking the vendor, and a pass at
    the slot opens it and prompts them. The check-in's id."""
    with clock.fixed_at(SLOT - timedelta(days=1)):
        create_engagement(cadence, stakeholders=[STAKEHOLDER])
    schedule(
        cadence,
        SLOT - timedelta(hours=1),
        kind="risk_review",
        rule_weekdays=["0"],
        rule_local_time="10:00",
        rule_timezone="UTC",
        audience="chosen",
        audience_users=[VENDOR],
    )
    tick(cadence, monkeypatch, SLOT)
    (checkin,) = checkins_of(cadence)
    assert checkin.status == "open"
    return checkin.id


def set_up(cadence: Cadence, monkeypatch, *, second_owner: str | None = None) -> int:
    """A risk review open at its slot and two open concerns; the check-in's id."""
    checkin_id = open_checkin(cadence, monkeypatch)
    raise_two_concerns(cadence, second_owner=second_owner)
    return checkin_id


# --- stories -----------------------------------------------------------------------------------


def test_the_vendor_reviews_the_open_concerns_and_the_register_changes(cadence, monkeypatch):
    checkin_id = set_up(cadence, monkeypatch)
    prompt = [m for m in dms_to(cadence, VENDOR) if "checkin_answer" in str(m.get("blocks"))]
    assert "Review risks" in str(prompt[-1]["blocks"])

    view = open_review(cadence)
    assert view["title"]["text"] == "Risk review"
    headlines = [
        b["text"]["text"] for b in view["blocks"] if b["type"] == "section" and "#" in str(b)
    ]
    assert "#2 VPN keys" in headlines[0] and "#1 Staging" in headlines[1]  # worst first
    assert choices(view, 1) == choices(view, 2) == ["still_open", "mitigated", "resolved"]

    # Resolving without a note: the form says so, and nothing is written.
    missing = submit(
        cadence,
        view,
        {"status_2": "resolved", "status_1": "mitigated", "note_1": "Nightly restart added"},
    )
    assert missing.json["response_action"] == "errors"
    assert "Say how it was resolved" in missing.json["errors"]["note_2"]
    assert reviews(cadence) == []
    assert [e.action for e in events_of(cadence, 1) + events_of(cadence, 2)] == ["raised"] * 2
    assert concern(cadence, 2).status == concern(cadence, 1).status == ConcernStatus.OPEN
    assert recipients_of(cadence, checkin_id)[VENDOR].status == "pending"

    # With the note: one resolved, one mitigated, and a new one raised from the form.
    done = submit(
        cadence,
        view,
        {
            "status_2": "resolved",
            "note_2": "Keys rotated; shared through the vault now.",
            "status_1": "mitigated",
            "note_1": "Nightly restart added",
            "new_title": "Load tests skipped before releases",
            "new_severity": "medium",
            "new_category": "quality",
        },
    )
    assert done.body == "", done.body

    # The check-in is answered (on time) and the review kept as given.
    assert recipients_of(cadence, checkin_id)[VENDOR].status == "answered"
    assert checkins_of(cadence)[0].status == "closed"
    (review,) = reviews(cadence)
    assert (review.author, review.checkin_id, review.late) == (VENDOR, checkin_id, False)
    assert [(a["concern_id"], a["choice"]) for a in review.answers["concerns"]] == [
        (2, "resolved"),
        (1, "mitigated"),
    ]
    assert review.answers["raised"] == 3

    # Resolved: with its note, its clocks stopped.
    resolved = concern(cadence, 2)
    assert (resolved.status, resolved.resolution_note, resolved.resolved_at) == (
        "resolved", "Keys rotated; shared through the vault now.", ANSWERED_AT,
    )  # fmt: skip
    # Mitigated: still open with its resolve clock running, acknowledged (someone acted on it).
    mitigated = concern(cadence, 1)
    assert (mitigated.status, mitigated.acknowledged_at) == ("acknowledged", ANSWERED_AT)
    assert mitigated.sla_due_at == mitigated.resolve_due_at
    with cadence.db.read_session() as session:
        clocks = {
            j.key.rsplit("=", 1)[-1]: j.status
            for j in session.exec(
                select(ScheduledJob).where(ScheduledJob.key.startswith("concern-due:concern=1:"))
            )
        }
    assert clocks == {"acknowledge": "cancelled", "resolve": "pending", "escalate": "pending"}

    assert [(e.action, e.note) for e in events_of(cadence, 2)] == [
        ("raised", ""), ("resolved", "Keys rotated; shared through the vault now."),
    ]  # fmt: skip
    assert [(e.action, e.from_status, e.to_status, e.note) for e in events_of(cadence, 1)] == [
        ("raised", None, "open", ""), ("mitigated", "open", "acknowledged", "Nightly restart added"),
    ]  # fmt: skip
    assert [(a.action, a.actor_user_id) for a in audit_of(cadence, 2)] == [
        ("raise", STAKEHOLDER), ("resolved", VENDOR),
    ]  # fmt: skip
    mitigation = audit_of(cadence, 1)[-1]
    assert (mitigation.action, mitigation.before, mitigation.after) == (
        "mitigated",
        {"status": "open"},
        {"status": "acknowledged", "mitigation": "Nightly restart added"},
    )

    # The new concern, raised by the reviewer from the review.
    new = concern(cadence, 3)
    assert (new.title, new.severity, new.category, new.raised_by, new.source) == (
        "Load tests skipped before releases", "medium", "quality", VENDOR, "review",
    )  # fmt: skip
    assert new.source_ref == f"risk-review:{review.id}"

    # Each card is edited, each thread says who did what.
    assert "*Resolution:* Keys rotated" in card(cadence, 2, "*resolved*")
    card(cadence, 1, "*acknowledged*")
    card(cadence, 3, "Load tests skipped before releases")
    cadence.wait_until(lambda: thread(cadence, 2) and thread(cadence, 1), what="thread lines")
    assert f"<@{VENDOR}> resolved it: Keys rotated" in thread(cadence, 2)[0]
    assert f"<@{VENDOR}> mitigated it: Nightly restart added" in thread(cadence, 1)[0]

    # The channel's summary lists what changed.
    summary = cadence.wait_until(
        lambda: [m for m in posted_in(cadence, ACME) if "reviewed the risks" in text_of(m)],
        what="the summary",
    )
    assert len(summary) == 1
    text = text_of(summary[0])
    assert f"<@{VENDOR}> reviewed the risks of *Acme Payments*" in text
    assert "✅ *#2 VPN keys shared by email* resolved: Keys rotated" in text
    assert "🩹 *#1 Staging is down every Monday* mitigated: Nightly restart added" in text
    assert "🆕 *#3 Load tests skipped before releases* raised (medium, quality)" in text

    # Answered once: the button now says so instead of opening the form again.
    before = len(cadence.fake.calls_to("views.open"))
    prompt_message = {"ts": "1.000", "channel": VENDOR, "blocks": prompt[-1]["blocks"]}
    reply = cadence.sim.click(prompt_message, "checkin_answer", user=VENDOR, channel=VENDOR)
    assert reply.status == 200
    said = cadence.wait_until(
        lambda: [r.body for r in cadence.fake.responses if reply.response_url.endswith(r.name)],
        what="the refusal",
    )
    assert "You already answered this risk review" in text_of(said[-1])
    assert len(cadence.fake.calls_to("views.open")) == before


def test_only_a_concerns_owner_or_a_lead_may_mark_it_mitigated_or_resolved(cadence, monkeypatch):
    # The serious concern is owned by another vendor engineer: the reviewer may only say it is
    # still open (with a note); the form offers nothing else.
    set_up(cadence, monkeypatch, second_owner=EXTERNAL)
    view = open_review(cadence)
    assert choices(view, 2) == ["still_open"]
    assert choices(view, 1) == ["still_open", "mitigated", "resolved"]
    hint = next(b for b in view["blocks"] if b.get("block_id") == "status_2")["hint"]["text"]
    assert "Only its owner or a lead" in hint

    # The milder one is given to someone else while the form is open: marking it resolved is
    # refused on the form, and nothing is written.
    with clock.fixed_at(ANSWERED_AT - timedelta(minutes=1)):
        c = concern(cadence, 1)
        message = cadence.fake.message(c.channel_id, c.message_ts)
        before = len(cadence.fake.calls_to("views.open"))
        cadence.sim.click(message, "concern:reassign", user=LEAD, channel=ACME)
        opened = cadence.fake.wait_for("views.open", count=before + 1)[-1]
        reassign = cadence.fake.view(opened.response["view"]["id"])
        assert cadence.sim.submit_view(reassign, {"owner": EXTERNAL}, user=LEAD).body == ""
    refused = submit(cadence, view, {"status_1": "resolved", "note_1": "Fixed the cron job."})
    assert refused.json["response_action"] == "errors"
    assert (
        f"Only <@{EXTERNAL}> or a lead can mark concern #1 resolved"
        in (refused.json["errors"]["status_1"])
    )
    assert reviews(cadence) == []
    assert concern(cadence, 1).status == ConcernStatus.OPEN
    assert [e.action for e in events_of(cadence, 1)] == ["raised", "reassigned"]

    # Still open, with a note: a comment on it, and the summary says so.
    done = submit(
        cadence,
        view,
        {"status_1": "still_open", "note_1": "The cron job fix is in review."},
    )
    assert done.body == "", done.body
    assert [(e.action, e.note) for e in events_of(cadence, 1)][-1] == (
        "commented", "The cron job fix is in review.",
    )  # fmt: skip
    assert concern(cadence, 1).status == ConcernStatus.OPEN
    assert concern(cadence, 2).status == ConcernStatus.OPEN
    summary = cadence.wait_until(
        lambda: [m for m in posted_in(cadence, ACME) if "reviewed the risks" in text_of(m)],
        what="the summary",
    )
    text = text_of(summary[0])
    assert "*#1 Staging is down every Monday* still open: The cron job fix is in review." in text
    assert "1 other open concern: still open, no note" in text
    assert "#2" not in text


def test_a_late_review_with_no_open_concerns_is_still_an_answer(cadence, monkeypatch):
    checkin_id = open_checkin(cadence, monkeypatch)
    view = open_review(cadence)
    assert "has no open concerns" in view["blocks"][0]["text"]["text"]

    assert submit(cadence, view, {}, at=SLOT + timedelta(hours=50)).body == ""

    (review,) = reviews(cadence)
    assert review.late and review.answers == {"concerns": [], "raised": None, "not_shown": 0}
    assert recipients_of(cadence, checkin_id)[VENDOR].status == "answered"
    summary = cadence.wait_until(
        lambda: [m for m in posted_in(cadence, ACME) if "reviewed the risks" in text_of(m)],
        what="the summary",
    )
    assert "(after the review window)" in text_of(summary[0])
    assert "No open concerns." in text_of(summary[0])


def test_the_form_shows_the_worst_concerns_that_fit_and_counts_the_rest(cadence, monkeypatch):
    open_checkin(cadence, monkeypatch)
    with clock.fixed_at(SLOT + timedelta(minutes=5)):
        for n in range(MAX_IN_FORM + 1):
            raise_by_command(
                cadence,
                f"concern acme-payments Minor issue {n}",
                {"severity": "low", "category": "quality"},
                user=STAKEHOLDER,
            )
        raise_by_command(
            cadence,
            "concern acme-payments Card data in logs",
            {"severity": "critical", "category": "delivery"},
            user=STAKEHOLDER,
        )
    view = open_review(cadence)
    assert len(view["blocks"]) <= 100
    shown = [b["block_id"] for b in view["blocks"] if b.get("block_id", "").startswith("status_")]
    assert len(shown) == MAX_IN_FORM
    assert shown[0] == f"status_{MAX_IN_FORM + 2}"  # the critical one first, though raised last
    assert f"status_{MAX_IN_FORM}" not in shown and f"status_{MAX_IN_FORM + 1}" not in shown
    assert "…and 2 more open concerns" in str(view["blocks"])

    assert submit(cadence, view, {}).body == ""
    (review,) = reviews(cadence)
    assert review.answers["not_shown"] == 2 and len(review.answers["concerns"]) == MAX_IN_FORM
