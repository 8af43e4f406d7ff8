"""Due diligence at an engagement's start, told as its people meet it: the lead picks the
engagement's criticality on its form; the kinds of evidence that criticality requires are
requested of the first vendor contact as soon as it is created, each with a DM carrying a
Provide button; a workspace's stewards choose those kinds themselves (and add kinds of their
own) with `/cadence assurance requirements`, a lead who is not a steward is refused and nothing
changes; "due diligence 4 of 6" counts the required items accepted and still valid."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from conftest import ADMIN, LEAD, VENDOR, Cadence
from engine_flows import dms_to, utc
from flows import create_engagement, open_form, text_of, wait_reply
from sqlmodel import col, select

from bot.domain.assurance.diligence import coverage
from bot.domain.assurance.types import DEFAULT_REQUIREMENTS
from bot.platform import clock
from storage.models import (
    AssuranceItem,
    AssuranceRequirement,
    AssuranceType,
    AuditEvent,
    Engagement,
)

NOW = utc(2026, 11, 30, 9, 0)  # a Monday


def items_of(cadence: Cadence, engagement: Engagement) -> list[AssuranceItem]:
    with cadence.db.read_session() as session:
        return list(
            session.exec(
                select(AssuranceItem)
                .where(AssuranceItem.engagement_id == engagement.id)
                .order_by(col(AssuranceItem.id))
            ).all()
        )


def provide_asks(cadence: Cadence, user: str) -> list[dict[str, Any]]:
    """The DMs asking `user` to provide an item (each with its Provide button)."""
    return [
        m
        for m in dms_to(cadence, user)
        if any(
            e.get("action_id") == "assurance:provide"
            for b in m.get("blocks") or []
            for e in b.get("elements") or []
        )
    ]


def create(cadence: Cadence, **values: Any) -> Engagement:
    with clock.fixed_at(NOW):
        return create_engagement(cadence, **values)


def requirements_form(cadence: Cadence, user: str = ADMIN) -> dict[str, Any]:
    with clock.fixed_at(NOW):
        return open_form(cadence, "assurance requirements", user=user)


def test_a_new_engagement_asks_its_vendor_for_what_its_criticality_requires(cadence):
    high = create(cadence, criticality="high")
    assert high.criticality == "high"
    asked = items_of(cadence, high)
    assert [i.type_key for i in asked] == list(DEFAULT_REQUIREMENTS["high"])
    assert {(i.status, i.owner_user_id, i.required) for i in asked} == {("requested", VENDOR, True)}
    # Each owner is asked once per item by DM, with a button that opens its form.
    said = cadence.wait_until(
        lambda: (found := provide_asks(cadence, VENDOR)) and len(found) >= 6 and found,
        what="six asks",
    )
    assert len(said) == 6
    assert any("SOC 2 Type II report" in text_of(m) for m in said)
    assert all("due diligence" in text_of(m) for m in said)

    medium = create(cadence, name="Hooli Search", criticality="medium")
    assert [i.type_key for i in items_of(cadence, medium)] == ["soc2_type2", "pen_test", "dpa"]
    # Low (no access to systems or data) asks for nothing by default.
    low = create(cadence, name="Initech Helpdesk", criticality="low")
    assert low.criticality == "low" and items_of(cadence, low) == []
    cadence.wait_until(lambda: len(provide_asks(cadence, VENDOR)) >= 9, what="nine asks")
    assert len(provide_asks(cadence, VENDOR)) == 9
    # The form opens at medium: a lead who does not think about it asks for the middle.
    with clock.fixed_at(NOW):
        view = open_form(cadence)
    chosen = next(b for b in view["blocks"] if b.get("block_id") == "criticality")
    assert chosen["element"]["initial_option"]["value"] == "medium"


def edit(cadence: Cadence, values: dict[str, Any]) -> None:
    with clock.fixed_at(NOW + timedelta(hours=1)):
        view = open_form(cadence, "engagement edit acme-payments")
        reply = cadence.sim.submit_view(view, values)
    assert reply.status == 200 and reply.body == "", reply.body


def test_an_engagement_without_vendor_contacts_asks_when_it_names_one(cadence):
    engagement = create(cadence, vendor_contacts=[], criticality="high")
    assert items_of(cadence, engagement) == []
    assert provide_asks(cadence, VENDOR) == []
    edit(cadence, {"vendor_contacts": [VENDOR]})
    asked = items_of(cadence, engagement)
    assert [i.type_key for i in asked] == list(DEFAULT_REQUIREMENTS["high"])
    assert {i.owner_user_id for i in asked} == {VENDOR}


def test_a_higher_criticality_asks_for_what_is_missing_only(cadence):
    engagement = create(cadence)  # low: nothing
    assert items_of(cadence, engagement) == []
    edit(cadence, {"criticality": "medium"})
    assert [i.type_key for i in items_of(cadence, engagement)] == list(
        DEFAULT_REQUIREMENTS["medium"]
    )
    edit(cadence, {"criticality": "high"})
    keys = [i.type_key for i in items_of(cadence, engagement)]
    assert sorted(keys) == sorted(DEFAULT_REQUIREMENTS["high"])  # each kind once
    edit(cadence, {"criticality": "low"})  # lower: nothing withdrawn, nothing asked
    assert len(items_of(cadence, engagement)) == len(DEFAULT_REQUIREMENTS["high"])
    cadence.wait_until(lambda: len(provide_asks(cadence, VENDOR)) >= 6, what="six asks")
    assert len(provide_asks(cadence, VENDOR)) == 6


def test_the_stewards_set_the_workspaces_requirements_and_add_kinds_of_their_own(cadence):
    view = requirements_form(cadence)
    assert view["callback_id"] == "assurance_requirements"
    with clock.fixed_at(NOW):
        done = cadence.sim.submit_view(
            view,
            {
                "require_high": ["soc2_type2", "iso27001"],
                "require_medium": ["iso27001"],
                "require_low": [],
                "new_kind_name": "Red team exercise",
                "new_kind_expires": ["expires"],
                "new_kind_for": ["medium", "high"],
            },
            user=ADMIN,
        )
    assert done.status == 200 and done.body == "", done.body
    with cadence.db.read_session() as session:
        kinds = session.exec(select(AssuranceType)).all()
        rows = session.exec(select(AssuranceRequirement).order_by(col(AssuranceRequirement.id)))
        required = [(r.criticality, r.type_key, r.created_by) for r in rows]
        audit = session.exec(
            select(AuditEvent).where(AuditEvent.action == "assurance_requirements")
        ).all()
    assert [(k.key, k.name, k.expires) for k in kinds] == [
        ("red_team_exercise", "Red team exercise", True)
    ]
    assert sorted(required) == sorted(
        [
            ("high", "soc2_type2", ADMIN),
            ("high", "iso27001", ADMIN),
            ("high", "red_team_exercise", ADMIN),
            ("medium", "iso27001", ADMIN),
            ("medium", "red_team_exercise", ADMIN),
        ]
    )
    assert len(audit) == 1 and audit[0].actor_user_id == ADMIN
    assert audit[0].before["default"] is True and audit[0].after["default"] is False
    confirmed = cadence.wait_until(
        lambda: [m for m in dms_to(cadence, ADMIN) if "Due diligence saved" in text_of(m)],
        what="the confirmation",
    )
    assert "*Low*: nothing" in text_of(confirmed[0])

    medium = create(cadence, criticality="medium")
    asked = items_of(cadence, medium)
    assert [(i.type_key, i.title) for i in asked] == [
        ("iso27001", "ISO 27001 certificate"),
        ("red_team_exercise", "Red team exercise"),
    ]
    # The stewards' choice replaces the defaults (medium asked for no SOC 2 above).
    high = create(cadence, name="Initech Helpdesk", criticality="high")
    assert [i.type_key for i in items_of(cadence, high)] == [
        "soc2_type2",
        "iso27001",
        "red_team_exercise",
    ]

    # The form opens again with what is stored, the new kind among the choices.
    again = requirements_form(cadence)
    medium_select = next(b for b in again["blocks"] if b.get("block_id") == "require_medium")
    chosen = [o["value"] for o in medium_select["element"]["initial_options"]]
    assert chosen == ["iso27001", "red_team_exercise"]
    assert "red_team_exercise" in [o["value"] for o in medium_select["element"]["options"]]


def test_a_kind_that_exists_or_a_name_missing_is_refused_inline(cadence):
    for values, field, words in (
        ({"new_kind_name": "ISO 27001 certificate"}, "new_kind_name", "is a kind already"),
        ({"new_kind_name": "", "new_kind_for": ["low"]}, "new_kind_name", "Name the kind"),
        ({"require_low": ["no_such_kind"]}, "require_low", "Choose among"),
    ):
        view = requirements_form(cadence)
        low = next(b for b in view["blocks"] if b.get("block_id") == "require_low")
        low["element"]["options"].append(  # Slack offers only the listed kinds: a forged one
            {"text": {"type": "plain_text", "text": "No such"}, "value": "no_such_kind"}
        )
        with clock.fixed_at(NOW):
            reply = cadence.sim.submit_view(view, values, user=ADMIN, check_required=False)
        errors = (reply.json or {}).get("errors") or {}
        assert words in errors.get(field, ""), (values, reply.body)
    with cadence.db.read_session() as session:
        assert session.exec(select(AssuranceRequirement)).all() == []
        assert session.exec(select(AssuranceType)).all() == []


def test_a_lead_who_is_no_steward_is_refused_the_requirements(cadence):
    create(cadence)  # LEAD leads an engagement: still no say over the workspace
    before = len(cadence.fake.calls_to("views.open"))
    with clock.fixed_at(NOW):
        reply = cadence.sim.command("assurance requirements", user=LEAD)
    assert reply.status == 200
    said = text_of(wait_reply(cadence, reply))
    assert "Only a Cadence admin or a Slack admin or owner" in said, reply.body
    assert len(cadence.fake.calls_to("views.open")) == before
    # The form a steward opened, sent by the lead: refused, nothing written.
    view = requirements_form(cadence)
    with clock.fixed_at(NOW):
        reply = cadence.sim.submit_view(view, {"require_low": ["iso27001"]}, user=LEAD)
    errors = (reply.json or {}).get("errors") or {}
    assert any("Only a Cadence admin" in e for e in errors.values()), reply.body
    with cadence.db.read_session() as session:
        assert session.exec(select(AssuranceRequirement)).all() == []
        assert (
            session.exec(
                select(AuditEvent).where(AuditEvent.action == "assurance_requirements")
            ).all()
            == []
        )


def test_the_engagement_forms_evidence_fields_are_checked_inline(cadence):
    create(cadence)
    for values, field, words in (
        ({"assurance_expiry_days": "30, soon"}, "assurance_expiry_days", "separated by commas"),
        ({"assurance_expiry_days": "400"}, "assurance_expiry_days", "from 1 to 365"),
        ({"assurance_expiry_days": "60,30,14,7,3,1"}, "assurance_expiry_days", "At most 5"),
        ({"assurance_window_days": "0"}, "assurance_window_days", "from 1 to 60"),
        ({"criticality": "extreme"}, "criticality", "high, medium or low"),
    ):
        with clock.fixed_at(NOW):
            view = open_form(cadence, "engagement edit acme-payments")
            if field == "criticality":  # Slack offers only the listed options: a forged one
                select_block = next(b for b in view["blocks"] if b.get("block_id") == field)
                select_block["element"]["options"].append(
                    {"text": {"type": "plain_text", "text": "Extreme"}, "value": "extreme"}
                )
            reply = cadence.sim.submit_view(view, values, check_required=False)
        errors = (reply.json or {}).get("errors") or {}
        assert words in errors.get(field, ""), (values, reply.body)
    with clock.fixed_at(NOW):
        view = open_form(cadence, "engagement edit acme-payments")
        reply = cadence.sim.submit_view(
            view,
            {
                "criticality": "high",
                "assurance_expiry_days": "7, 60 ,30",
                "assurance_window_days": "4",
            },
        )
    assert reply.body == "", reply.body
    with cadence.db.read_session() as session:
        saved = session.get(Engagement, 1)
    assert (saved.criticality, saved.assurance_expiry_days, saved.assurance_window_days) == (
        "high",
        [60, 30, 7],
        4,
    )


def _item(required: bool, status: str, until: date | None) -> AssuranceItem:
    return AssuranceItem(
        team_id="T",
        engagement_id=1,
        type_key="x",
        title="x",
        required=required,
        status=status,
        owner_user_id="U",
        created_by="U",
        valid_until=until,
    )


def test_coverage_counts_required_items_accepted_and_still_valid():
    today = date(2027, 3, 1)
    items = [
        _item(True, "accepted", today),  # valid through today
        _item(True, "accepted", None),  # does not expire
        _item(True, "accepted", today - timedelta(days=1)),  # lapsed, not marked yet
        _item(True, "expired", today - timedelta(days=10)),
        _item(True, "received", today + timedelta(days=300)),
        _item(True, "requested", None),
        _item(True, "waived", None),  # not needed here: counts on neither side
        _item(False, "accepted", today + timedelta(days=5)),  # not due diligence
    ]
    found = coverage(items, today)
    assert (found.valid, found.required) == (2, 6)
    assert str(found) == "due diligence 2 of 6" and not found.complete
    assert coverage([], today).complete
