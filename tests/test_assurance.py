"""The assurance register, told as its users meet it: a lead asks the vendor for a piece of
security evidence; its owner (a vendor contact) is asked by DM with a Provide button and provides
it by link or by a Slack file; a reviewer rejects it with the reason (its owner is asked again),
then accepts the next round; a lead waives what is not needed. The card in the engagement channel
is edited in place with a line in its thread for each change, each change an event and an audit
record. The wrong person is refused at click and at submit, and nothing changes. The register
lists the worst first with each engagement's due diligence, a page at a time; the Home tab shows
what a person owes and what they review."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

from conftest import ACME, ADMIN, EXTERNAL, LEAD, OUTSIDER, STAKEHOLDER, VENDOR, Cadence
from engine_flows import dms_to, utc
from flows import create_engagement, ephemeral_replies, text_of
from sqlmodel import col, select

from bot.demo.fake_slack import validate_view
from bot.domain import home
from bot.platform import clock
from storage.models import AssuranceEvent, AssuranceItem, AuditEvent, Engagement

NOW = utc(2026, 11, 30, 9, 0)  # a Monday
UNTIL = date(2027, 6, 30)
LINK = "https://trust.globex.example/iso27001.pdf"


def set_up(cadence: Cadence) -> Engagement:
    with clock.fixed_at(NOW - timedelta(days=1)):
        return create_engagement(cadence, stakeholders=[STAKEHOLDER])


def opened_view(cadence: Cadence, before: int) -> dict[str, Any]:
    opened = cadence.fake.wait_for("views.open", count=before + 1)[-1]
    assert opened.ok, opened.response
    return cadence.fake.view(opened.response["view"]["id"])


def item(cadence: Cadence, item_id: int) -> AssuranceItem:
    with cadence.db.read_session() as session:
        found = session.get(AssuranceItem, item_id)
    assert found is not None
    return found


def items(cadence: Cadence) -> list[AssuranceItem]:
    with cadence.db.read_session() as session:
        return list(session.exec(select(AssuranceItem).order_by(col(AssuranceItem.id))).all())


def add(
    cadence: Cadence, kind: str = "iso27001", *, user: str = LEAD, **values: Any
) -> AssuranceItem:
    """`/cadence assurance acme-payments add` and its form, submitted at NOW."""
    with clock.fixed_at(NOW):
        before = len(cadence.fake.calls_to("views.open"))
        reply = cadence.sim.command("assurance acme-payments add", user=user)
        assert reply.status == 200 and not (reply.json or {}).get("text"), reply.body
        view = opened_view(cadence, before)
        assert validate_view(view) == []
        done = cadence.sim.submit_view(view, {"type": kind, "owner": VENDOR, **values}, user=user)
    assert done.status == 200 and done.body == "", done.body
    return items(cadence)[-1]


def card_of(cadence: Cadence, item_id: int, words: str = "") -> dict[str, Any]:
    """The item's card as the channel shows it, once it shows `words`."""

    def shown() -> dict[str, Any] | None:
        found = item(cadence, item_id)
        if not found.message_ts:
            return None
        card = cadence.fake.message(found.channel_id, found.message_ts)
        return card if words in text_of(card) else None

    return cadence.wait_until(shown, what=f"the card to show {words!r}")


def buttons(card: dict[str, Any]) -> list[str]:
    return [e["action_id"] for b in card["blocks"] if b["type"] == "actions" for e in b["elements"]]


def thread_of(cadence: Cadence, item_id: int, count: int) -> list[str]:
    found = card_of(cadence, item_id)

    def lines() -> list[str] | None:
        said = [
            text_of(m)
            for m in cadence.fake.messages(ACME)
            if m.get("thread_ts") == found["ts"] and m["ts"] != found["ts"]
        ]
        return said if len(said) >= count else None

    return cadence.wait_until(lines, what=f"{count} thread lines")


def step(
    cadence: Cadence, item_id: int, what: str, values: dict[str, Any] | None, *, user: str, at=NOW
) -> Any:
    """Click the card's button `what` as `user`; with `values`, fill in and submit the form it
    opens. The submission's reply (or the click's, without values)."""
    card = cadence.wait_until(
        lambda: f"assurance:{what}" in buttons(c := card_of(cadence, item_id)) and c,
        what=f"the card's {what} button",
    )
    with clock.fixed_at(at):
        before = len(cadence.fake.calls_to("views.open"))
        reply = cadence.sim.click(card, f"assurance:{what}", user=user, channel=ACME)
        assert reply.status == 200
        if values is None:
            return reply
        view = opened_view(cadence, before)
        assert validate_view(view) == []
        return cadence.sim.submit_view(view, values, user=user, check_required=False)


def refusal(cadence: Cadence, reply) -> str:
    said = cadence.wait_until(
        lambda: ephemeral_replies(cadence, reply.response_url), what="a reply"
    )
    return text_of(said[-1])


def history(cadence: Cadence, item_id: int) -> tuple[list[str], list[str]]:
    with cadence.db.read_session() as session:
        events = session.exec(
            select(AssuranceEvent)
            .where(AssuranceEvent.item_id == item_id)
            .order_by(col(AssuranceEvent.id))
        ).all()
        audit = session.exec(
            select(AuditEvent)
            .where(AuditEvent.entity_type == "assurance_item")
            .where(AuditEvent.entity_id == item_id)
            .order_by(col(AuditEvent.id))
        ).all()
    return [e.action for e in events], [a.action for a in audit]


def requests_to(cadence: Cadence, user: str, item_id: int) -> list[dict[str, Any]]:
    """The DMs asking `user` to provide the item (its Provide button carries the item's id)."""
    return [
        m
        for m in dms_to(cadence, user)
        if any(
            e.get("action_id") == "assurance:provide" and e.get("value") == str(item_id)
            for b in m.get("blocks") or []
            for e in b.get("elements") or []
        )
    ]


def test_the_whole_lifecycle_by_the_right_people(cadence):
    set_up(cadence)
    added = add(cadence, title="ISO 27001 certificate 2027", reviewers=[STAKEHOLDER])
    assert (added.type_key, added.owner_user_id, added.reviewers, added.status) == (
        "iso27001", VENDOR, [STAKEHOLDER], "requested",
    )  # fmt: skip
    card = card_of(cadence, added.id, "ISO 27001 certificate 2027")
    assert f"owner <@{VENDOR}>" in text_of(card) and f"<@{STAKEHOLDER}>" in text_of(card)
    assert buttons(card) == ["assurance:provide", "assurance:waive"]
    # Its owner is asked by DM, with a button that opens the form.
    asked = cadence.wait_until(lambda: requests_to(cadence, VENDOR, added.id), what="the ask")
    assert "is requested of you" in text_of(asked[0])
    # Its Provide button opens the provide form, as the card's does.
    dm = next(
        m
        for m in cadence.fake.messages(cadence.fake.dm_channel_id(VENDOR))
        if "assurance:provide" in json.dumps(m.get("blocks"))
        and f'"value": "{added.id}"' in json.dumps(m.get("blocks"))
    )
    before = len(cadence.fake.calls_to("views.open"))
    cadence.sim.click(dm, "assurance:provide", user=VENDOR, channel=dm["channel"])
    form = opened_view(cadence, before)
    assert form["callback_id"] == "assurance_provide_form"
    assert json.loads(form["private_metadata"]) == {"item_id": added.id}

    reply = step(cadence, added.id, "provide",
                 {"link": LINK, "valid_until": UNTIL.isoformat()}, user=VENDOR)  # fmt: skip
    assert reply.body == "", reply.body
    provided = item(cadence, added.id)
    assert (provided.status, provided.evidence_link, provided.valid_until) == (
        "received", LINK, UNTIL,
    )  # fmt: skip
    assert provided.rounds == 1 and provided.received_at == NOW
    card = card_of(cadence, added.id, "waiting for review")
    assert buttons(card) == ["assurance:accept", "assurance:reject", "assurance:waive"]
    assert "valid until Wed 30 Jun 2027" in text_of(card) and LINK in text_of(card)

    reply = step(cadence, added.id, "reject", {"reason": "The certificate's scope omits the DC."},
                 user=STAKEHOLDER)  # fmt: skip
    assert reply.body == "", reply.body
    rejected = item(cadence, added.id)
    assert (rejected.status, rejected.reason) == (
        "rejected",
        "The certificate's scope omits the DC.",
    )
    # Asked again, with the reason.
    again = cadence.wait_until(
        lambda: [m for m in requests_to(cadence, VENDOR, added.id) if "sent back" in text_of(m)],
        what="the second ask",
    )
    assert "scope omits the DC" in text_of(again[0])
    assert (
        "sent it back: The certificate's scope omits the DC." in thread_of(cadence, added.id, 2)[1]
    )

    shared = {
        "id": "F0ISOCERT1",
        "name": "iso27001-2027.pdf",
        "permalink": f"https://acme.slack.com/files/{VENDOR}/F0ISOCERT1/iso27001-2027.pdf",
        "url_private": "https://files.slack.com/files-pri/T0ACME-F0ISOCERT1/iso27001-2027.pdf",
    }
    reply = step(cadence, added.id, "provide", {"file": [shared], "valid_from": "2026-07-01",
                 "valid_until": UNTIL.isoformat()}, user=VENDOR)  # fmt: skip
    assert reply.body == "", reply.body
    again = item(cadence, added.id)
    assert (again.status, again.rounds, again.evidence_file_id) == ("received", 2, "F0ISOCERT1")
    assert again.evidence_file_permalink == shared["permalink"] and again.evidence_link == ""
    assert not cadence.fake.calls_to("files.info")  # the file is never fetched

    reply = step(cadence, added.id, "accept", {"note": "Scope now covers both sites."},
                 user=STAKEHOLDER)  # fmt: skip
    assert reply.body == "", reply.body
    accepted = item(cadence, added.id)
    assert (accepted.status, accepted.reviewed_at) == ("accepted", NOW)
    card = card_of(cadence, added.id, "*accepted*")
    assert buttons(card) == []
    assert f"<{shared['permalink']}|the file in Slack>" in text_of(card)
    lines = thread_of(cadence, added.id, 4)
    assert "iso27001-2027.pdf" in lines[2]
    assert f"<@{STAKEHOLDER}> accepted it: Scope now covers both sites." in lines[3]

    events, audit = history(cadence, added.id)
    assert events == ["requested", "provided", "rejected", "provided", "accepted"]
    assert audit == ["create", "provided", "rejected", "provided", "accepted"]
    with cadence.db.read_session() as session:
        last = session.exec(
            select(AuditEvent)
            .where(AuditEvent.entity_type == "assurance_item")
            .order_by(col(AuditEvent.id).desc())
        ).first()
    assert last.actor_user_id == STAKEHOLDER
    assert last.before == {"status": "received"} and last.after["status"] == "accepted"
    # One card, edited in place.
    posts = [
        m for m in cadence.fake.messages(ACME) if f"Evidence #{added.id}:" in m.get("text", "")
    ]
    assert len(posts) == 1 and cadence.fake.calls_to("chat.update")


def test_each_refusal_changes_nothing(cadence):
    set_up(cadence)
    # Only leads and Cadence admins add evidence items.
    reply = cadence.sim.command("assurance acme-payments add", user=VENDOR)
    assert "Only the leads of Acme Payments" in text_of(reply.json)
    added = add(cadence, "soc2_type2")  # reviewers: none named, so the leads
    before = (history(cadence, added.id), item(cadence, added.id).status)

    # Only its owner provides it: a stakeholder, a lead, the other vendor contact (of another
    # organisation) and someone on no engagement are refused at click.
    for user in (STAKEHOLDER, LEAD, EXTERNAL, OUTSIDER):
        said = refusal(cadence, step(cadence, added.id, "provide", None, user=user))
        assert f"Only <@{VENDOR}>, its owner" in said, (user, said)
    # Only a lead or an admin waives it.
    for user in (VENDOR, STAKEHOLDER):
        said = refusal(cadence, step(cadence, added.id, "waive", None, user=user))
        assert "Only the leads of Acme Payments" in said
    assert (history(cadence, added.id), item(cadence, added.id).status) == before

    # At submit too: the owner's form, submitted by someone else, is refused inline.
    card = card_of(cadence, added.id)
    opened = len(cadence.fake.calls_to("views.open"))
    cadence.sim.click(card, "assurance:provide", user=VENDOR, channel=ACME)
    view = opened_view(cadence, opened)
    values = {"link": LINK, "valid_until": UNTIL.isoformat()}
    forged = cadence.sim.submit_view(view, values, user=STAKEHOLDER)
    assert "errors" in (forged.json or {}) and "its owner" in forged.body
    assert (history(cadence, added.id), item(cadence, added.id).status) == before

    # Provided: a vendor contact may not accept it, nor a stakeholder who is not a reviewer.
    assert step(cadence, added.id, "provide", values, user=VENDOR).body == ""
    for user in (VENDOR, STAKEHOLDER, OUTSIDER):
        said = refusal(cadence, step(cadence, added.id, "accept", None, user=user))
        assert f"Only <@{LEAD}>, its reviewers" in said, (user, said)
    said = refusal(cadence, step(cadence, added.id, "reject", None, user=VENDOR))
    assert "its reviewers" in said
    # At submit: the lead's accept form, submitted by the vendor, is refused inline.
    card = card_of(cadence, added.id, "waiting for review")
    opened = len(cadence.fake.calls_to("views.open"))
    cadence.sim.click(card, "assurance:accept", user=LEAD, channel=ACME)
    forged = cadence.sim.submit_view(opened_view(cadence, opened), {}, user=VENDOR)
    assert "errors" in (forged.json or {}) and "its reviewers" in forged.body
    assert item(cadence, added.id).status == "received"
    assert history(cadence, added.id)[0] == ["requested", "provided"]

    # The register is for the engagement's people and admins only.
    with clock.fixed_at(NOW):
        reply = cadence.sim.command("assurance acme-payments", user=OUTSIDER)
    assert "You are not on Acme Payments" in text_of(reply.json)
    assert LINK not in reply.body


def test_a_lead_waives_what_is_not_needed_with_a_reason(cadence):
    set_up(cadence)
    added = add(cadence, "bcp_test")
    reply = step(cadence, added.id, "waive", {}, user=LEAD)
    assert "Say why it is not needed" in reply.body
    assert item(cadence, added.id).status == "requested"
    reply = step(cadence, added.id, "waive", {"reason": "No hosting: nothing to continue."},
                 user=ADMIN)  # fmt: skip
    assert reply.body == "", reply.body
    waived = item(cadence, added.id)
    assert (waived.status, waived.reason) == ("waived", "No hosting: nothing to continue.")
    card = card_of(cadence, added.id, "*waived*")
    assert buttons(card) == [] and "No hosting" in text_of(card)
    assert f"<@{ADMIN}> waived it: No hosting" in thread_of(cadence, added.id, 1)[0]


def test_bad_input_is_said_inline_and_nothing_lands(cadence):
    set_up(cadence)
    with clock.fixed_at(NOW):
        before = len(cadence.fake.calls_to("views.open"))
        cadence.sim.command("assurance acme-payments add", user=LEAD)
        view = opened_view(cadence, before)
        bad = {"type": "pen_test", "owner": STAKEHOLDER, "reviewers": [VENDOR]}
        reply = cadence.sim.submit_view(view, bad, user=LEAD)
    errors = (reply.json or {}).get("errors") or {}
    assert set(errors) == {"owner", "reviewers"}, reply.body
    assert "one of the vendor contacts" in errors["owner"]
    assert "leads or stakeholders" in errors["reviewers"]
    count = len(items(cadence))

    pen = add(cadence, "pen_test")
    assert len(items(cadence)) == count + 1 and pen.title == "Penetration test"
    for values, field, words in (
        ({"valid_until": UNTIL.isoformat(), "findings": "0"}, "link", "Give the evidence"),
        ({"link": "trust/page", "valid_until": UNTIL.isoformat(), "findings": "0"}, "link",
         "starts with https://"),
        ({"link": LINK, "findings": "0"}, "valid_until", "last day"),
        ({"link": LINK, "valid_from": "2027-07-01", "valid_until": UNTIL.isoformat(),
          "findings": "0"}, "valid_until", "comes after"),
        ({"link": LINK, "valid_until": "2026-11-27", "findings": "0"}, "valid_until", "passed"),
        ({"link": LINK, "valid_until": UNTIL.isoformat()}, "findings", "still open"),
        ({"file": [{"id": "F1", "permalink": "https://evil.example/x"}],
          "valid_until": UNTIL.isoformat(), "findings": "0"}, "file", "choose it again"),
    ):  # fmt: skip
        reply = step(cadence, pen.id, "provide", values, user=VENDOR)
        errors = (reply.json or {}).get("errors") or {}
        assert words in errors.get(field, ""), (values, reply.body)
    assert item(cadence, pen.id).status == "requested"
    # A kind that does not expire takes no last day; a pen test keeps its open findings.
    reply = step(cadence, pen.id, "provide",
                 {"link": LINK, "valid_until": UNTIL.isoformat(), "findings": "3"}, user=VENDOR)  # fmt: skip
    assert reply.body == "", reply.body
    assert item(cadence, pen.id).open_findings == 3
    assert "*Open findings:* 3" in text_of(card_of(cadence, pen.id, "Open findings"))
    dpa = add(cadence, "dpa")
    assert step(cadence, dpa.id, "provide", {"note": "Signed 2026-10-01."}, user=VENDOR).body == ""
    assert (item(cadence, dpa.id).status, item(cadence, dpa.id).valid_until) == ("received", None)
    reply = step(cadence, dpa.id, "reject", {}, user=LEAD)
    assert "Say what is wrong" in reply.body and item(cadence, dpa.id).status == "received"


def test_a_retried_submission_acts_once(cadence):
    set_up(cadence)
    added = add(cadence, "dpa")
    card = card_of(cadence, added.id)
    before = len(cadence.fake.calls_to("views.open"))
    cadence.sim.click(card, "assurance:provide", user=VENDOR, channel=ACME)
    view = opened_view(cadence, before)
    for _ in range(2):  # the same view submitted twice: one delivery
        assert cadence.sim.submit_view(view, {"note": "Signed."}, user=VENDOR).body == ""
    assert history(cadence, added.id)[0] == ["requested", "provided"]
    assert item(cadence, added.id).rounds == 1
    card_of(cadence, added.id, "waiting for review")
    assert len(thread_of(cadence, added.id, 1)) == 1


def seed(cadence: Cadence, engagement: Engagement, statuses: list[tuple[str, date | None, bool]]):
    """Items of the given (status, valid until, required), added newest first in id order so
    the list's order is not the table's."""
    with cadence.db.session() as session:
        for n, (status, until, required) in reversed(list(enumerate(statuses))):
            session.add(
                AssuranceItem(
                    team_id=engagement.team_id, engagement_id=engagement.id,
                    type_key="soc2_type2", title=f"Seeded {n:02d} {status}", required=required,
                    status=status, owner_user_id=VENDOR, valid_until=until, created_by=LEAD,
                    created_at=NOW, updated_at=NOW, requested_at=NOW,
                )
            )  # fmt: skip


def listed(cadence: Cadence, text: str, *, user: str = LEAD) -> dict[str, Any]:
    with clock.fixed_at(NOW):
        reply = cadence.sim.command(text, user=user)
    assert reply.status == 200, reply.body
    return cadence.wait_until(
        lambda: (ephemeral_replies(cadence, reply.response_url) or [None])[-1], what="the list"
    )


def titles(page: dict[str, Any]) -> list[str]:
    return [
        b["text"]["text"].split("*")[1].split(" ", 1)[1]
        for b in page["blocks"]
        if b["type"] == "section" and "Seeded" in b["text"]["text"]
    ]


def test_the_register_lists_the_worst_first_with_due_diligence(cadence):
    engagement = set_up(cadence)
    with cadence.db.session() as session:  # what due diligence may have asked for at creation
        for row in session.exec(select(AssuranceItem)).all():
            session.delete(row)
    soon, later, lapsed = date(2026, 12, 20), date(2027, 9, 1), date(2026, 11, 1)
    seed(cadence, engagement, [
        ("waived", None, True),          # 00: not counted in due diligence
        ("accepted", later, True),       # 01: valid
        ("accepted", soon, True),        # 02: valid, expiring soon
        ("received", later, True),       # 03
        ("requested", None, False),      # 04
        ("rejected", None, True),        # 05
        ("expired", lapsed, True),       # 06
        ("accepted", None, False),       # 07: no expiry
    ])  # fmt: skip
    page = listed(cadence, "assurance acme-payments")
    assert titles(page) == [
        "Seeded 06 expired", "Seeded 05 rejected", "Seeded 04 requested", "Seeded 03 received",
        "Seeded 02 accepted", "Seeded 01 accepted", "Seeded 07 accepted", "Seeded 00 waived",
    ]  # fmt: skip
    said = text_of(page)
    assert "Acme Payments: due diligence 2 of 5" in said
    assert "valid until Sun 20 Dec 2026, *expiring soon*" in said
    # Each open item has a menu of its steps; accepted and waived ones none.
    menus = [b for b in page["blocks"] if b.get("accessory", {}).get("type") == "overflow"]
    assert len(menus) == 4
    # The vendor contact sees the same register; someone on no engagement sees none of it.
    assert titles(listed(cadence, "assurance", user=VENDOR))[0] == "Seeded 06 expired"
    assert "No evidence items" in text_of(listed(cadence, "assurance", user=OUTSIDER))


def test_the_register_is_paged_within_slacks_limits(cadence):
    engagement = set_up(cadence)
    with cadence.db.session() as session:
        for row in session.exec(select(AssuranceItem)).all():
            session.delete(row)
    seed(cadence, engagement, [("requested", None, False)] * 25)
    first = listed(cadence, "assurance acme-payments")
    assert len(first["blocks"]) <= 50 and len(titles(first)) == 20
    assert "(1–20 of 25)" in text_of(first)
    with clock.fixed_at(NOW):
        cadence.sim.click(first, "assurance_more", user=LEAD)
    second = cadence.wait_until(
        lambda: (
            (p := [r.body for r in cadence.fake.responses if "21–25" in text_of(r.body)]) and p[-1]
        ),
        what="the second page",
    )
    assert len(titles(second)) == 5 and "assurance_more" not in json.dumps(second["blocks"])
    assert set(titles(first)).isdisjoint(titles(second))
    # Someone on no engagement gets nothing from a page button pointing at this one.
    with clock.fixed_at(NOW):
        reply = cadence.sim.click(first, "assurance_more", user=OUTSIDER)
    said = refusal(cadence, reply)
    assert "You are not on" in said and "Seeded" not in said


def test_home_shows_the_evidence_you_owe_and_to_review(cadence):
    set_up(cadence)
    for user in (VENDOR, LEAD):
        with clock.fixed_at(NOW):
            cadence.sim.app_home_opened(user)
        # Opened (and so refreshed after a change) once its first page is published.
        cadence.wait_until(lambda u=user: cadence.fake.home_view(u), what=f"{user}'s Home")
    added = add(cadence, "cyber_insurance", title="Cyber policy 2027")

    def home_of(user: str, words: str) -> str:
        def shown() -> str | None:
            view = cadence.fake.home_view(user)
            said = json.dumps(view) if view else ""
            return said if words in said else None

        return cadence.wait_until(shown, what=f"{user}'s Home to show {words!r}")

    owed = home_of(VENDOR, "Cyber policy 2027")
    assert "Evidence you owe" in owed
    values = {"link": LINK, "valid_until": UNTIL.isoformat()}
    # Provided in the next Home window: refreshed at once (a second change within one window
    # is published at the window's end, bot/domain/home.py).
    later = NOW + home.HOME_WINDOW
    assert step(cadence, added.id, "provide", values, user=VENDOR, at=later).body == ""
    review = home_of(LEAD, "Cyber policy 2027")
    assert "Evidence to review" in review
    # Provided: no longer owed by the vendor.
    cadence.wait_until(
        lambda: "Cyber policy 2027" not in json.dumps(cadence.fake.home_view(VENDOR)),
        what="the vendor's Home without it",
    )
    view = cadence.fake.home_view(LEAD)
    assert len(view["blocks"]) <= 100 and validate_view(view) == []
