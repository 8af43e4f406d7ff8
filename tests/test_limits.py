"""Limits on what one person can make Cadence send (issue 16, item 5): a rule fires at most
once an hour, a chosen audience is only people on the engagement and at most 50 of them, an
engagement has at most 20 active cadences and 50 people per role. Each refusal is an inline
error on the field to fix, with nothing written; the planner holds the interval too, for rules
stored before it existed, and asks no one who has left the engagement."""

from __future__ import annotations

import time as timer
from datetime import time, timedelta
from typing import Any

import pytest
from conftest import ACME, EXTERNAL, LEAD, OUTSIDER, STAKEHOLDER, VENDOR
from engine_flows import WEEKLY_MONDAY, checkins_of, dms_to, recipients_of, schedule, tick, utc
from flows import GOOD_FORM, create_engagement, open_form, text_of, wait_reply
from sqlmodel import select

from bot.domain import cadences, recurrence
from bot.domain.cadences import MAX_ACTIVE_CADENCES, MAX_AUDIENCE, MAX_ESCALATION
from bot.domain.engagements import MAX_PEOPLE_PER_ROLE
from bot.platform import clock
from storage.models import Cadence as CadenceRow
from storage.models import EngagementMember

CREATED = utc(2026, 11, 25, 10, 0)  # a Wednesday
MONDAY = utc(2026, 11, 30, 8, 0)  # 09:00 in Berlin


def cadence_rows(cadence) -> list[CadenceRow]:
    with cadence.db.read_session() as session:
        return list(session.exec(select(CadenceRow).order_by(CadenceRow.id)).all())


def schedule_form(cadence, rule_kind: str = "weekly") -> dict[str, Any]:
    """`/cadence schedule acme-payments`, with the kind of rule chosen (the form redraws)."""
    view = open_form(cadence, "schedule acme-payments")
    if rule_kind != "weekly":
        cadence.sim.click(view, "rule_kind", value=rule_kind)
        cadence.wait_until(
            lambda: any(
                b.get("block_id") == f"rule_{rule_kind}"
                for b in cadence.fake.view(view["id"])["blocks"]
            ),
            what="the form with the rule's fields",
        )
    return cadence.fake.view(view["id"])


def submit_schedule(cadence, values: dict[str, Any], rule_kind: str = "weekly") -> dict[str, str]:
    """The schedule form submitted; the inline errors it got back ({} when saved)."""
    with clock.fixed_at(CREATED):
        view = schedule_form(cadence, rule_kind)
        fields = {**WEEKLY_MONDAY, "rule_kind": rule_kind, **values}
        if rule_kind == "cron":  # its form has no days or time of day: the line says them
            fields = {
                k: v for k, v in fields.items() if k not in ("rule_weekdays", "rule_local_time")
            }
        reply = cadence.sim.submit_view(view, fields, check_required=False)
    assert reply.status == 200, reply.body
    if reply.json and reply.json.get("response_action") == "errors":
        return reply.json["errors"]
    return {}


# --- a rule fires at most once an hour ----------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "says"),
    [
        ("* * * * *", "every minute"),
        ("*/30 9 * * 1", "every 30 minutes"),  # only on Mondays, from 09:00
        ("0,30 * * * *", "every 30 minutes"),
        ("0,59 9 * * 1-5", "every 59 minutes"),  # 09:00 and 09:59 (10:00 is not in it)
    ],
)
def test_a_rule_firing_more_often_than_hourly_is_refused_on_the_form(cadence, rule, says):
    with clock.fixed_at(CREATED):
        create_engagement(cadence)
    errors = submit_schedule(cadence, {"rule_cron": rule}, rule_kind="cron")
    message = errors["rule_cron"]
    assert "at most once an hour" in message and says in message
    assert cadence_rows(cadence) == []


def test_hourly_is_allowed_and_the_form_says_the_limit_where_the_rule_is_typed(cadence):
    with clock.fixed_at(CREATED):
        create_engagement(cadence)
        view = schedule_form(cadence, "cron")
    (block,) = [b for b in view["blocks"] if b.get("block_id") == "rule_cron"]
    assert "At most once an hour" in block["hint"]["text"]
    assert submit_schedule(cadence, {"rule_cron": "0 9-17 * * 1-5"}, rule_kind="cron") == {}
    (row,) = cadence.wait_until(lambda: cadence_rows(cadence), what="the cadence")
    assert (row.rule, row.next_run_at) == ("0 9-17 * * 1-5", utc(2026, 11, 25, 11, 0))


def test_the_smallest_gap_of_a_rule_is_exact_below_a_day_and_quick():
    """The form checks it on every submit (and on every preview), so it must stay cheap even
    for a rule firing every minute; and a close pair far away (29 February) is still found."""
    now = utc(2026, 11, 25, 10, 0)
    expected = {
        "* * * * *": timedelta(minutes=1),
        "*/30 9 * * 1": timedelta(minutes=30),
        "0,30 * * * *": timedelta(minutes=30),
        "0,30 9 29 2 *": timedelta(minutes=30),
        "0 * * * *": timedelta(hours=1),
        "0 0,23 * * *": timedelta(hours=1),  # 23:00, then 00:00 the next day
        "0 9 * * 1-5": timedelta(days=1),
        "0 9 * * 1": timedelta(days=7),
        "0 9 31 2 *": None,  # never fires
    }
    for rule, gap in expected.items():
        started = timer.perf_counter()
        found = recurrence.smallest_gap(recurrence.Rule(kind="cron", cron=rule), time(0), now)
        took = timer.perf_counter() - started
        assert found == gap, (rule, found)
        assert took < 0.5, (rule, took)
    weekly = recurrence.Rule(kind="weekly", weekdays=(0, 1))
    assert recurrence.smallest_gap(weekly, time(9), now) == timedelta(days=1)


def test_the_planner_never_opens_two_occurrences_of_a_cadence_within_an_hour(cadence, monkeypatch):
    """A cadence stored before the limit with `* * * * *`: a pass at 09:00 opens one check-in,
    a pass at 09:30 (which used to open thirty, each prompting everyone) opens none, and the
    next opens at 10:00."""
    with clock.fixed_at(CREATED):
        create_engagement(cadence)
    row = schedule(cadence, CREATED)
    with cadence.db.session() as session:
        stored = session.get(CadenceRow, row.id)
        assert stored is not None
        stored.rule_kind, stored.rule, stored.local_time = "cron", "* * * * *", "00:00"
        cadences.set_next(stored, MONDAY - timedelta(minutes=1))
        assert stored.next_run_at == MONDAY
        session.add(stored)

    tick(cadence, monkeypatch, MONDAY)
    assert [c.occurrence_key for c in checkins_of(cadence)] == ["2026-11-30T09:00"]
    tick(cadence, monkeypatch, MONDAY + timedelta(minutes=30))
    assert len(checkins_of(cadence)) == 1
    assert len(dms_to(cadence, VENDOR)) == 1
    tick(cadence, monkeypatch, MONDAY + timedelta(minutes=61))
    assert [c.occurrence_key for c in checkins_of(cadence)] == [
        "2026-11-30T09:00",
        "2026-11-30T10:00",
    ]
    assert len(dms_to(cadence, VENDOR)) == 2


# --- an audience of people on the engagement, capped --------------------------------------------


def test_a_chosen_audience_names_only_people_on_the_engagement(cadence):
    with clock.fixed_at(CREATED):
        create_engagement(cadence)
    errors = submit_schedule(
        cadence, {"audience": "chosen", "audience_users": [VENDOR, OUTSIDER, "U0NOBODY"]}
    )
    message = errors["audience_users"]
    assert f"<@{OUTSIDER}>" in message and "<@U0NOBODY>" in message
    assert f"<@{VENDOR}>" not in message
    assert "Add them to the engagement" in message
    assert cadence_rows(cadence) == []
    # The people on it, of any role, may be chosen.
    chosen = [VENDOR, STAKEHOLDER, LEAD]
    assert submit_schedule(cadence, {"audience": "chosen", "audience_users": chosen}) == {}
    (row,) = cadence.wait_until(lambda: cadence_rows(cadence), what="the cadence")
    assert row.audience_user_ids == chosen


def test_a_chosen_audience_is_capped_and_the_refusal_says_the_cap(cadence):
    with clock.fixed_at(CREATED):
        create_engagement(cadence)
        view = schedule_form(cadence)
    (block,) = [b for b in view["blocks"] if b.get("block_id") == "audience_users"]
    assert block["element"]["max_selected_items"] == MAX_AUDIENCE
    many = [f"U0MANY{i:03d}" for i in range(MAX_AUDIENCE + 1)]
    errors = submit_schedule(cadence, {"audience": "chosen", "audience_users": many})
    assert (
        f"at most {MAX_AUDIENCE} people; you chose {MAX_AUDIENCE + 1}" in errors["audience_users"]
    )
    assert cadence_rows(cadence) == []


def test_an_escalation_goes_to_a_few_people_not_a_crowd(cadence):
    """Escalation may name anyone in the workspace (a manager off the engagement), so it is
    capped: each escalation DMs every one of them."""
    with clock.fixed_at(CREATED):
        create_engagement(cadence)
    crowd = [f"U0BOSS{i:03d}" for i in range(MAX_ESCALATION + 1)]
    errors = submit_schedule(cadence, {"escalation_to": crowd})
    expected = f"at most {MAX_ESCALATION} people; you chose {MAX_ESCALATION + 1}"
    assert expected in errors["escalation_to"]
    assert cadence_rows(cadence) == []
    assert submit_schedule(cadence, {"escalation_to": crowd[:MAX_ESCALATION]}) == {}
    (row,) = cadence.wait_until(lambda: cadence_rows(cadence), what="the cadence")
    assert row.escalation_user_ids == crowd[:MAX_ESCALATION]


def test_the_engagement_form_caps_the_people_of_each_role(cadence):
    view = open_form(cadence)
    many = [f"U0SIDE{i:03d}" for i in range(MAX_PEOPLE_PER_ROLE + 1)]
    reply = cadence.sim.submit_view(
        view, {**GOOD_FORM, "vendor_contacts": many, "stakeholders": many}, check_required=False
    )
    errors = reply.json["errors"]
    cap = f"At most {MAX_PEOPLE_PER_ROLE}"
    chose = f"per engagement; you chose {MAX_PEOPLE_PER_ROLE + 1}."
    assert errors["vendor_contacts"] == f"{cap} vendor contacts {chose}"
    assert errors["stakeholders"] == f"{cap} stakeholders {chose}"
    with cadence.db.read_session() as session:
        assert session.exec(select(EngagementMember)).all() == []


def test_someone_taken_off_the_engagement_is_no_longer_asked(cadence, monkeypatch):
    """A chosen audience of a vendor contact and a stakeholder; the vendor contact is taken off
    the engagement; the next check-in asks the stakeholder only."""
    with clock.fixed_at(CREATED):
        create_engagement(cadence)
    schedule(cadence, CREATED, audience="chosen", audience_users=[VENDOR, STAKEHOLDER])
    with clock.fixed_at(CREATED):
        view = open_form(cadence, "engagement edit acme-payments")
        reply = cadence.sim.submit_view(view, {"vendor_contacts": [EXTERNAL]})
    assert reply.status == 200 and not (reply.json or {}).get("errors"), reply.body

    def vendor_gone() -> bool:
        with cadence.db.read_session() as session:
            users = session.exec(select(EngagementMember.user_id)).all()
        return VENDOR not in users

    cadence.wait_until(vendor_gone, what="the vendor contact taken off")
    tick(cadence, monkeypatch, MONDAY)
    (checkin,) = checkins_of(cadence)
    assert set(recipients_of(cadence, checkin.id)) == {STAKEHOLDER}
    assert dms_to(cadence, VENDOR) == []
    assert len(dms_to(cadence, STAKEHOLDER)) == 1


# --- cadences per engagement ----------------------------------------------------------------------


def test_an_engagement_has_at_most_so_many_active_cadences(cadence):
    """At the cap, a new cadence is refused on the form saying how many there are and what to
    do; once one is paused there is room, and resuming it at the cap is refused too."""
    with clock.fixed_at(CREATED):
        create_engagement(cadence)
    first = schedule(cadence, CREATED)
    with cadence.db.session() as session:  # the rest as a lead would have made them
        for _ in range(MAX_ACTIVE_CADENCES - 1):
            session.add(CadenceRow.model_validate(first.model_dump(exclude={"id"})))
    errors = submit_schedule(cadence, {})
    assert errors["kind"] == (
        f"Acme Payments already has {MAX_ACTIVE_CADENCES} active cadences, the most one "
        "engagement can have. Pause or delete one first (`/cadence cadences acme-payments` "
        "lists them)."
    )
    assert len(cadence_rows(cadence)) == MAX_ACTIVE_CADENCES

    with clock.fixed_at(CREATED):
        paused = wait_reply(cadence, cadence.sim.command(f"pause {first.id}", channel=ACME))
    assert "Paused" in text_of(paused)
    assert submit_schedule(cadence, {}) == {}
    cadence.wait_until(
        lambda: len(cadence_rows(cadence)) == MAX_ACTIVE_CADENCES + 1, what="the new cadence"
    )
    with clock.fixed_at(CREATED):
        resumed = wait_reply(cadence, cadence.sim.command(f"resume {first.id}", channel=ACME))
    assert f"already has {MAX_ACTIVE_CADENCES} active cadences" in text_of(resumed)
    assert [c.status for c in cadence_rows(cadence)].count("active") == MAX_ACTIVE_CADENCES
