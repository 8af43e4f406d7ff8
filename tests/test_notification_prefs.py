"""Notification preferences (issue 22, item 3): how a lead hears of answers that need them.

The story: Acme Payments has two leads (Berlin). Its vendor sends status updates that are red
or miss a KPI; a stakeholder gives feedback. By default a lead gets one round-up a day, at
17:00 their time, listing what arrived, instead of one DM per answer; on Home each chooses each
answer (a DM at once, as before) or only summaries (no DM for an answer). A choice changed
mid-day loses nothing held; the round-up goes once however often the tick runs; feedback is
never in it (its answers reach the leads only as survey results, three or more at a time).
Everything goes through signed requests to the running app and `python -m bot tick --now`;
each story runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from conftest import LEAD, LEAD2, STAKEHOLDER, TEAM, VENDOR
from engine_flows import dms_to, run_cli, tick
from flows import choose_notify, text_of
from sqlmodel import select
from test_answers import answer_prompt
from test_questions_answer import GOOD, aid, open_checkin_with, submit
from test_update_evidence import figures, send, set_up, wait_summaries

from bot.domain.notifications import roundup_due
from bot.platform import clock
from storage.models import Person, RoundupItem, ScheduledJob

MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # 11:00 in Berlin
ROUNDUP = datetime(2026, 11, 23, 16, 0, tzinfo=UTC)  # 17:00 in Berlin
RED = {"rag": "red", "summary": "Outage.", "reason": "The PSP restoring the link."}


def about_updates(cadence, lead: str) -> list[str]:
    """The lead's DMs about answers: alerts one by one, or round-ups."""
    return [
        text_of(m)
        for m in dms_to(cadence, lead)
        if "The summary is in" in text_of(m) or "round-up" in text_of(m)
    ]


def roundup_jobs(cadence) -> list[ScheduledJob]:
    with cadence.db.read_session() as session:
        return list(session.exec(select(ScheduledJob).where(ScheduledJob.kind == "roundup")))


def held(cadence) -> list[RoundupItem]:
    with cadence.db.read_session() as session:
        return list(session.exec(select(RoundupItem).order_by(RoundupItem.id)))


def missed_kpi(cadence, at: datetime) -> None:
    send(cadence, {"rag": "green", "summary": "Steady.", **figures(cadence, mttr="10")}, at=at)


# --- the default: one round-up a day -----------------------------------------------------------


def test_by_default_a_lead_gets_one_round_up_a_day_not_a_dm_per_answer(cadence, monkeypatch):
    set_up(cadence)
    missed_kpi(cadence, MONDAY)
    send(cadence, RED, at=MONDAY + timedelta(hours=2))
    wait_summaries(cadence, 2)

    # Held, one line per answer and lead; one round-up each, planned for 17:00 Berlin.
    assert len(held(cadence)) == 4
    planned = roundup_jobs(cadence)
    assert sorted(j.user_id for j in planned) == [LEAD, LEAD2]
    assert {j.due_at for j in planned} == {ROUNDUP}
    tick(cadence, monkeypatch, ROUNDUP - timedelta(minutes=1))
    assert about_updates(cadence, LEAD) == [] and about_updates(cadence, LEAD2) == []

    tick(cadence, monkeypatch, ROUNDUP)
    for lead in (LEAD, LEAD2):
        (roundup,) = about_updates(cadence, lead)
        assert "Your round-up for Mon 23 Nov 2026*: 2 answers that need you" in roundup
        assert "*Acme Payments* missed a KPI" in roundup
        assert "⚠️ Mean time to resolve: *10 hours* (target ≤ 8 hours)" in roundup
        assert (
            "*Acme Payments* turned *red*" in roundup and "The PSP restoring the link." in roundup
        )
    assert about_updates(cadence, VENDOR) == []

    # Exactly once: another pass (or another process after it) sends nothing more.
    tick(cadence, monkeypatch, ROUNDUP + timedelta(minutes=5))
    assert len(about_updates(cadence, LEAD)) == 1
    assert held(cadence) == []  # carried by the DM, not kept


def test_an_answer_after_17_00_waits_for_the_next_days_round_up(cadence, monkeypatch):
    set_up(cadence)
    missed_kpi(cadence, ROUNDUP + timedelta(hours=1))  # 18:00 in Berlin
    wait_summaries(cadence, 1)
    (job, _) = sorted(roundup_jobs(cadence), key=lambda j: j.user_id)
    assert job.due_at == ROUNDUP + timedelta(days=1)
    assert job.key.endswith(":day=2026-11-24")
    tick(cadence, monkeypatch, ROUNDUP + timedelta(hours=2))
    assert about_updates(cadence, LEAD) == []
    tick(cadence, monkeypatch, ROUNDUP + timedelta(days=1))
    (roundup,) = about_updates(cadence, LEAD)
    assert "Tue 24 Nov 2026*: 1 answer that needs you" in roundup


def test_a_questions_alert_rule_is_in_the_round_up_by_default_and_sent_once(cadence, monkeypatch):
    goal = {"text": "Sprint goal met?", "kind": "single_choice",
            "options": ["Fully", "Partly", "Not at all"],
            "rule": {"on": ["Partly", "Not at all"], "action": "alert"}}  # fmt: skip
    with clock.fixed_at(MONDAY):
        checkin_id, (qid,) = open_checkin_with(cadence, [goal])
        view = answer_prompt(cadence, checkin_id)
    with clock.fixed_at(MONDAY + timedelta(hours=1)):
        assert submit(cadence, view, {**GOOD, aid(qid): "2"}).body == ""
    wait_summaries(cadence, 1)
    tick(cadence, monkeypatch, MONDAY + timedelta(hours=2))
    assert about_updates(cadence, LEAD) == []
    assert not [m for m in dms_to(cadence, LEAD) if "raised the alarm" in text_of(m)]

    tick(cadence, monkeypatch, ROUNDUP)
    for lead in (LEAD, LEAD2):
        (roundup,) = about_updates(cadence, lead)
        assert "1 answer that needs you" in roundup
        assert "*Acme Payments*: an answer to a status update raised the alarm." in roundup
        assert "*Sprint goal met?*" in roundup and "<@U0VENDOR> answered: *Not at all*" in roundup
    # Its own job was taken by the round-up: a day later it does not go alone.
    tick(cadence, monkeypatch, ROUNDUP + timedelta(days=1, minutes=1))
    assert not [m for m in dms_to(cadence, LEAD) if "raised the alarm" in text_of(m)
                and "round-up" not in text_of(m)]  # fmt: skip
    with cadence.db.read_session() as session:
        alerts = session.exec(select(ScheduledJob).where(ScheduledJob.kind == "question_alert"))
        assert {j.status for j in alerts} == {"cancelled"}


# --- the choices on Home -----------------------------------------------------------------------


def test_home_shows_a_lead_the_choice_with_the_default_a_daily_round_up(cadence):
    set_up(cadence)
    cadence.sim.app_home_opened(LEAD)
    home = cadence.wait_until(lambda: cadence.fake.home_view(LEAD), what="the lead's Home")
    (select_,) = [
        b["accessory"]
        for b in home["blocks"]
        if b.get("accessory", {}).get("action_id") == "notify_mode"
    ]
    assert select_["initial_option"]["value"] == "daily"
    assert [o["value"] for o in select_["options"]] == ["each", "daily", "summaries"]

    shown = choose_notify(cadence, "summaries")
    chosen = next(
        b["accessory"]["initial_option"]["value"]
        for b in shown["blocks"]
        if b.get("accessory", {}).get("action_id") == "notify_mode"
    )
    assert chosen == "summaries"
    with cadence.db.read_session() as session:
        person = session.exec(select(Person).where(Person.user_id == LEAD)).one()
    assert person.notify == "summaries"

    # The vendor leads nothing: no such choice on their Home.
    cadence.sim.app_home_opened(VENDOR)
    vendor = cadence.wait_until(lambda: cadence.fake.home_view(VENDOR), what="the vendor's Home")
    assert "notify_mode" not in json.dumps(vendor)


def test_each_answer_is_told_at_once_and_only_summaries_tells_none(cadence, monkeypatch):
    set_up(cadence)
    choose_notify(cadence, "each", user=LEAD)
    choose_notify(cadence, "summaries", user=LEAD2)
    send(cadence, RED, at=MONDAY)
    (alert,) = cadence.wait_until(lambda: about_updates(cadence, LEAD), what="the alert")
    assert "*Acme Payments* is *red*" in alert and "round-up" not in alert
    tick(cadence, monkeypatch, ROUNDUP)
    assert len(about_updates(cadence, LEAD)) == 1
    assert about_updates(cadence, LEAD2) == []
    assert held(cadence) == [] and roundup_jobs(cadence) == []


def test_a_choice_changed_mid_day_loses_nothing_held(cadence, monkeypatch):
    set_up(cadence)
    missed_kpi(cadence, MONDAY)  # held for both leads' round-ups
    wait_summaries(cadence, 1)
    with clock.fixed_at(MONDAY + timedelta(hours=1)):
        choose_notify(cadence, "each", user=LEAD)
        choose_notify(cadence, "summaries", user=LEAD2)
    send(cadence, RED, at=MONDAY + timedelta(hours=2))
    (alert,) = cadence.wait_until(lambda: about_updates(cadence, LEAD), what="the red at once")
    assert "turned *red*" in alert

    tick(cadence, monkeypatch, ROUNDUP)
    # What was held before the change still comes, in the round-up it was held for.
    for lead in (LEAD, LEAD2):
        roundup = about_updates(cadence, lead)[-1]
        assert "1 answer that needs you" in roundup and "missed a KPI" in roundup
        assert "turned *red*" not in roundup
    assert len(about_updates(cadence, LEAD)) == 2  # the red at once, then the round-up
    assert len(about_updates(cadence, LEAD2)) == 1  # the round-up only


def test_a_bad_choice_is_refused_and_writes_nothing(cadence):
    set_up(cadence)
    before = len(cadence.fake.calls_to("views.publish"))
    cadence.sim.app_home_opened(LEAD)
    cadence.fake.wait_for("views.publish", count=before + 1)
    home = cadence.fake.home_view(LEAD)
    assert home is not None
    # The select's options are Cadence's; a forged value is refused, said to the person.
    element = next(
        b["accessory"]
        for b in home["blocks"]
        if b.get("accessory", {}).get("action_id") == "notify_mode"
    )
    element["options"].append({"text": {"type": "plain_text", "text": "Loud"}, "value": "loud"})
    reply = cadence.sim.click(home, "notify_mode", user=LEAD, value="loud")
    assert reply.status == 200
    said = cadence.wait_until(
        lambda: (
            [m for m in dms_to(cadence, LEAD) if "out of date" in text_of(m)]
            or [
                c
                for c in cadence.fake.calls_to("chat.postEphemeral")
                if "out of date" in json.dumps(c.args)
            ]
        ),
        what="the refusal",
    )
    assert said
    with cadence.db.read_session() as session:
        notify = session.exec(select(Person.notify).where(Person.user_id == LEAD)).first()
    assert notify is None


# --- anonymity ---------------------------------------------------------------------------------


def test_feedback_is_never_in_a_round_up(cadence, monkeypatch):
    """A survey's answers reach the leads only as its results, over three or more: neither an
    ad hoc answer nor who gave it is held for a round-up."""
    set_up(cadence)
    opened = len(cadence.fake.calls_to("views.open"))
    with clock.fixed_at(MONDAY):
        reply = cadence.sim.command("feedback acme-payments", user=STAKEHOLDER)
    assert reply.status == 200
    form = cadence.fake.wait_for("views.open", count=opened + 1)[-1]
    view = cadence.fake.view(form.response["view"]["id"])
    ratings = {"communication": "2", "quality": "2", "timeliness": "1", "overall": "2"}
    with clock.fixed_at(MONDAY):
        thanks = cadence.sim.submit_view(
            view, {**ratings, "comment": "Too slow."}, user=STAKEHOLDER
        )
    assert thanks.status == 200
    assert held(cadence) == [] and roundup_jobs(cadence) == []
    missed_kpi(cadence, MONDAY + timedelta(hours=1))  # a round-up that day all the same
    wait_summaries(cadence, 1)
    tick(cadence, monkeypatch, ROUNDUP)
    (roundup,) = about_updates(cadence, LEAD)
    for trace in (STAKEHOLDER, "Too slow", "feedback", "Feedback"):
        assert trace not in roundup


def test_forgetting_the_author_drops_the_lines_held_about_them(cadence, monkeypatch, database_url):
    """A held line quotes its update (`<@author>`, their reason): `forget-person` takes it with
    the rest of what they wrote, and the round-up then has nothing to send."""
    set_up(cadence)
    send(cadence, RED, at=MONDAY)
    wait_summaries(cadence, 1)
    assert len(held(cadence)) == 2
    status, _ = run_cli(monkeypatch, database_url, "forget-person", TEAM, VENDOR, "--yes")
    assert status == 0
    assert held(cadence) == []
    tick(cadence, monkeypatch, ROUNDUP)
    assert about_updates(cadence, LEAD) == []


# --- when (pure) -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "tz", "day", "due"),
    [
        (MONDAY, "Europe/Berlin", "2026-11-23", ROUNDUP),
        (ROUNDUP, "Europe/Berlin", "2026-11-24", ROUNDUP + timedelta(days=1)),
        # Tokyo's Monday 19:00 is past its 17:00: Tuesday's, 08:00 UTC.
        (MONDAY, "Asia/Tokyo", "2026-11-24", datetime(2026, 11, 24, 8, 0, tzinfo=UTC)),
        # The night the clocks go back in Berlin: still 17:00 local (16:00 UTC after).
        (
            datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
            "Europe/Berlin",
            "2026-10-25",
            datetime(2026, 10, 25, 16, 0, tzinfo=UTC),
        ),
        (MONDAY, None, "2026-11-23", datetime(2026, 11, 23, 17, 0, tzinfo=UTC)),  # UTC
    ],
)
def test_the_round_up_is_at_17_00_in_the_persons_zone(now, tz, day, due):
    assert roundup_due(now, tz) == (day, due)
