"""Status updates carry evidence.

The story: Acme Payments has two leads and two KPIs, one with an amber tolerance
(`Uptime (%) >= 99.9 (amber 99.5)`). Its vendor sends status updates with `/cadence update`
and from check-in prompts. An amber or red says what would make it green; each KPI figure is
met (✅), within tolerance (🟡) or missed (⚠️); a red, a turn to red or a missed KPI reaches the
leads once by DM (those who chose each answer; else in a daily round-up); last time's blockers
are asked about, and one still open after two updates is pointed out to the leads; the form is
filled in from last time (all but the status); a late answer is marked late. Everything goes through signed HTTP requests to the running app and the
fake Slack (and `tick` for check-ins); each story runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from conftest import ACME, LEAD, LEAD2, STAKEHOLDER, VENDOR
from flows import GOOD_FORM, choose_notify, create_engagement, open_form, text_of
from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import select
from test_answers import answer_prompt, seed_checkin

from bot.domain.updates import KpiOutcome, kpi_outcome
from bot.platform import clock
from storage.models import (
    CheckIn,
    Engagement,
    KpiDefinition,
    KpiValue,
    ScheduledJob,
    StatusUpdate,
    UpdateRevision,
)

KPIS = "Uptime (%) >= 99.9 (amber 99.5)\nMean time to resolve (hours) <= 8"
UPTIME, MTTR = "Uptime", "Mean time to resolve"
MONDAY = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)


# --- steps -------------------------------------------------------------------------------------


def set_up(cadence) -> Engagement:
    """Acme Payments, led by two leads, with the KPIs above; once its welcome is out."""
    engagement = create_engagement(cadence, kpis=KPIS, leads=[LEAD, LEAD2])
    cadence.wait_until(lambda: cadence.fake.messages(ACME), what="the welcome")
    return engagement


def kpi_ids(cadence) -> dict[str, int]:
    with cadence.db.read_session() as session:
        return {k.name: k.id for k in session.exec(select(KpiDefinition))}


def update_form(cadence, user: str = VENDOR) -> dict[str, Any]:
    """`/cadence update acme-payments`: the form that opened."""
    before = len(cadence.fake.calls_to("views.open"))
    reply = cadence.sim.command("update acme-payments", user=user)
    assert reply.status == 200 and not (reply.json or {}).get("text"), reply.body
    call = cadence.fake.wait_for("views.open", count=before + 1)[-1]
    assert call.ok, call.response
    return cadence.fake.view(call.response["view"]["id"])


def send(cadence, values: dict[str, Any], *, at: datetime = MONDAY, user: str = VENDOR):
    """Open the form and send it with `values` (by action id) at the moment `at`; the reply."""
    with clock.fixed_at(at):
        view = update_form(cadence, user)
        return cadence.sim.submit_view(view, values, user=user)


def figures(cadence, uptime: str | None = "99.95", mttr: str | None = "6") -> dict[str, Any]:
    ids = kpi_ids(cadence)
    return {f"kpi_{ids[UPTIME]}": uptime, f"kpi_{ids[MTTR]}": mttr}


def updates_sent(cadence) -> list[StatusUpdate]:
    with cadence.db.read_session() as session:
        return list(session.exec(select(StatusUpdate).order_by(StatusUpdate.id)).all())


def summary_of(cadence, update: StatusUpdate) -> str:
    """The summary in the channel as it stands (after any edit in place)."""
    cadence.wait_until(
        lambda: next(u for u in updates_sent(cadence) if u.id == update.id).message_ts,
        what="the summary's ts",
    )
    stored = next(u for u in updates_sent(cadence) if u.id == update.id)
    return text_of(cadence.fake.message(ACME, stored.message_ts))


def wait_summaries(cadence, count: int) -> list[StatusUpdate]:
    cadence.wait_until(
        lambda: len([u for u in updates_sent(cadence) if u.message_ts]) >= count,
        what=f"{count} summaries",
    )
    return updates_sent(cadence)


def alerts_to(cadence, lead: str) -> list[str]:
    """The DMs a lead got about updates (not the set-up notices)."""
    return [
        text_of(c.args)
        for c in cadence.fake.calls_to("chat.postMessage")
        if c.args.get("channel") == lead and c.ok and "The summary is in" in text_of(c.args)
    ]


def each_answer(cadence) -> None:
    """Both leads choose to hear of each answer at once (the default is a daily round-up:
    tests/test_notification_prefs.py)."""
    for lead in (LEAD, LEAD2):
        choose_notify(cadence, "each", user=lead)


def block(view: dict[str, Any], block_id: str) -> dict[str, Any]:
    return next(b for b in view["blocks"] if b.get("block_id") == block_id)


def block_ids(view: dict[str, Any]) -> list[str]:
    return [b.get("block_id", "") for b in view["blocks"]]


def still_blocks(view: dict[str, Any], *texts: str) -> list[str]:
    """The "still blocks" choices to tick for last time's blockers `texts`."""
    options = block(view, "still_blocking")["element"]["options"]
    return [o["value"] for o in options if o["text"]["text"] in texts]


# --- KPI evaluation (pure) ---------------------------------------------------------------------

numbers = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False)


@given(numbers, numbers, st.booleans(), st.one_of(st.none(), numbers))
def test_a_figure_is_met_exactly_when_it_reaches_the_target_in_the_kpis_direction(
    value, target, higher, tolerance
):
    outcome = kpi_outcome(value, target, higher, tolerance)
    reaches = value >= target if higher else value <= target
    assert (outcome is KpiOutcome.MET) is reaches
    if tolerance is None:
        assert outcome is not KpiOutcome.WITHIN


@given(numbers, numbers, st.booleans(), numbers)
def test_within_tolerance_means_short_of_the_target_but_no_worse_than_the_tolerance(
    value, target, higher, tolerance
):
    outcome = kpi_outcome(value, target, higher, tolerance)
    short = value < target if higher else value > target
    tolerable = value >= tolerance if higher else value <= tolerance
    assert (outcome is KpiOutcome.WITHIN) is (short and tolerable)
    assert (outcome is KpiOutcome.MISSED) is (short and not tolerable)


@given(numbers, numbers, numbers, st.booleans(), st.one_of(st.none(), numbers))
def test_a_better_figure_never_stands_worse(a, b, target, higher, tolerance):
    rank = {KpiOutcome.MISSED: 0, KpiOutcome.WITHIN: 1, KpiOutcome.MET: 2}
    worse, better = sorted((a, b)) if higher else sorted((a, b), reverse=True)
    assert (
        rank[kpi_outcome(better, target, higher, tolerance)]
        >= rank[kpi_outcome(worse, target, higher, tolerance)]
    )


@given(numbers, numbers, st.booleans(), st.one_of(st.none(), numbers))
def test_lower_is_better_is_higher_is_better_mirrored(value, target, higher, tolerance):
    mirrored = None if tolerance is None else -tolerance
    assert kpi_outcome(value, target, higher, tolerance) is kpi_outcome(
        -value, -target, not higher, mirrored
    )


# --- 1. amber and red say what would make it green ---------------------------------------------


def test_amber_and_red_say_what_would_make_it_green(cadence):
    set_up(cadence)
    view = update_form(cadence)
    reason = block(view, "reason")
    assert reason["label"]["text"] == "What would make it green?"
    assert block_ids(view).index("reason") == block_ids(view).index("rag") + 1

    for rag in ("amber", "red"):
        reply = cadence.sim.submit_view(
            view, {"rag": rag, "summary": "Certification slipped."}, user=VENDOR
        )
        assert reply.json and reply.json["response_action"] == "errors", reply.body
        assert list(reply.json["errors"]) == ["reason"]
        assert f"For {rag}, say what would make it green" in reply.json["errors"]["reason"]
    assert updates_sent(cadence) == []

    reply = cadence.sim.submit_view(
        view,
        {
            "rag": "amber",
            "summary": "Certification slipped.",
            "reason": "The PSP signing off the certification on Thursday.",
        },
        user=VENDOR,
    )
    assert reply.body == "", reply.body
    (update,) = updates_sent(cadence)
    assert update.reason == "The PSP signing off the certification on Thursday."
    text = summary_of(cadence, update)
    assert "*What would make it green*\nThe PSP signing off the certification" in text
    with cadence.db.read_session() as session:
        (revision,) = session.exec(select(UpdateRevision)).all()
    assert revision.content["reason"] == update.reason


def test_a_green_needs_no_reason_and_keeps_none(cadence):
    set_up(cadence)
    reply = send(cadence, {"rag": "green", "summary": "On plan.", "reason": "Nothing, it is."})
    assert reply.body == "", reply.body
    (update,) = updates_sent(cadence)
    assert update.reason == ""
    assert "What would make it green" not in summary_of(cadence, update)


# --- 2. a KPI's amber tolerance ----------------------------------------------------------------


def test_a_kpi_with_an_amber_tolerance_shows_met_within_tolerance_or_missed(cadence):
    set_up(cadence)
    with cadence.db.read_session() as session:
        stored = {k.name: k for k in session.exec(select(KpiDefinition))}
    assert (stored[UPTIME].target, stored[UPTIME].tolerance) == (99.9, 99.5)
    assert (stored[MTTR].target, stored[MTTR].tolerance) == (8, None)

    view = update_form(cadence)
    ids = kpi_ids(cadence)
    label = block(view, f"kpi_{ids[UPTIME]}")["label"]["text"]
    assert label == "Uptime (%) — target ≥ 99.9 (amber ≥ 99.5)"
    assert block(view, f"kpi_{ids[MTTR]}")["label"]["text"] == (
        "Mean time to resolve (hours) — target ≤ 8"
    )

    reply = cadence.sim.submit_view(
        view,
        {"rag": "green", "summary": "Steady.", **figures(cadence, uptime="99.7", mttr="10")},
        user=VENDOR,
    )
    assert reply.body == "", reply.body

    (update,) = updates_sent(cadence)
    text = summary_of(cadence, update)
    assert "🟡 Uptime: *99.7%* (target ≥ 99.9%, amber ≥ 99.5%)" in text
    assert "⚠️ Mean time to resolve: *10 hours* (target ≤ 8 hours)" in text
    with cadence.db.read_session() as session:
        values = {v.kpi_id: v for v in session.exec(select(KpiValue))}
        (revision,) = session.exec(select(UpdateRevision)).all()
    # met_target still means "met": a figure within tolerance did not meet its target.
    assert values[ids[UPTIME]].met_target is False and values[ids[MTTR]].met_target is False
    assert [(k["name"], k["outcome"], k["tolerance"]) for k in revision.content["kpis"]] == [
        (UPTIME, "within", 99.5),
        (MTTR, "missed", None),
    ]

    # The same KPI met, and below its tolerance.
    send(cadence, {"rag": "green", "summary": "Better.", **figures(cadence, "99.9", "8")})
    send(cadence, {"rag": "green", "summary": "Worse.", **figures(cadence, "99.4", "8")})
    _, met, missed = wait_summaries(cadence, 3)
    assert "✅ Uptime: *99.9%*" in summary_of(cadence, met)
    assert "✅ Mean time to resolve: *8 hours*" in summary_of(cadence, met)
    assert "⚠️ Uptime: *99.4%*" in summary_of(cadence, missed)


def test_a_tolerance_is_shown_back_on_the_engagement_form_and_may_be_changed(cadence):
    set_up(cadence)
    before = kpi_ids(cadence)
    view = open_form(cadence, "engagement edit acme-payments")
    assert block(view, "kpis")["element"]["initial_value"] == KPIS

    reply = cadence.sim.submit_view(
        view,
        {"kpis": "Uptime (%) >= 99.9 (amber 99)\nMean time to resolve (hours) <= 8 (amber 12)"},
        user=LEAD,
    )
    assert reply.json is None or "errors" not in reply.json, reply.json
    with cadence.db.read_session() as session:
        stored = {k.name: k for k in session.exec(select(KpiDefinition))}
    assert {n: (k.id, k.tolerance) for n, k in stored.items()} == {
        UPTIME: (before[UPTIME], 99),
        MTTR: (before[MTTR], 12),
    }
    reply = send(cadence, {"rag": "green", "summary": "Steady.", **figures(cadence, "99", "12")})
    (update,) = wait_summaries(cadence, 1)
    text = summary_of(cadence, update)
    assert "🟡 Uptime: *99%* (target ≥ 99.9%, amber ≥ 99%)" in text
    assert "🟡 Mean time to resolve: *12 hours* (target ≤ 8 hours, amber ≤ 12 hours)" in text
    # Within tolerance is not missed: the leads are not alerted.
    with cadence.db.read_session() as session:
        keys = [j.key for j in session.exec(select(ScheduledJob))]
    assert not [k for k in keys if k.startswith("update-alert:")]


def test_a_tolerance_on_the_wrong_side_of_its_target_is_named_inline(cadence):
    view = open_form(cadence)
    reply = cadence.sim.submit_view(
        view, {**GOOD_FORM, "kpis": "Uptime (%) >= 99.9 (amber 99.95)"}, user=LEAD
    )
    assert reply.json and reply.json["response_action"] == "errors", reply.body
    error = reply.json["errors"]["kpis"]
    assert "the amber tolerance of “Uptime” must be below its target 99.9" in error
    assert "Uptime (%) >= 99.9 (amber 99.5)" in error

    reply = cadence.sim.submit_view(view, {**GOOD_FORM, "kpis": "Uptime (%) > 99.9"}, user=LEAD)
    assert "add (amber N)" in reply.json["errors"]["kpis"]
    assert "(amber N)" in block(view, "kpis")["hint"]["text"]


# --- 3. the leads hear of a red, a turn to red, or a missed KPI, once --------------------------


def test_a_missed_kpi_reaches_each_lead_once_and_an_edit_does_not_repeat_it(cadence):
    set_up(cadence)
    each_answer(cadence)
    send(cadence, {"rag": "green", "summary": "Steady.", **figures(cadence, mttr="10")})
    (update,) = wait_summaries(cadence, 1)

    for lead in (LEAD, LEAD2):
        (alert,) = cadence.wait_until(lambda lead=lead: alerts_to(cadence, lead), what="alert")
        assert "Acme Payments* missed a KPI" in alert and f"<@{VENDOR}>" in alert
        assert "⚠️ Mean time to resolve: *10 hours* (target ≤ 8 hours)" in alert
        assert "Uptime" not in alert
    assert alerts_to(cadence, VENDOR) == []

    # An edit that changes the summary only: nothing new for the leads.
    posted = cadence.fake.message(ACME, update.message_ts)
    before = len(cadence.fake.calls_to("views.open"))
    cadence.sim.click(posted, "status_update_edit", user=VENDOR)
    view = cadence.fake.view(
        cadence.fake.wait_for("views.open", count=before + 1)[-1].response["view"]["id"]
    )
    reply = cadence.sim.submit_view(view, {"summary": "Steady, really."}, user=VENDOR)
    assert reply.body == "", reply.body
    cadence.wait_until(lambda: cadence.fake.calls_to("chat.update"), what="the edit in place")

    # The lead turns it red: the other lead hears of that (and only that), the editor does not.
    before = len(cadence.fake.calls_to("views.open"))
    cadence.sim.click(posted, "status_update_edit", user=LEAD)
    view = cadence.fake.view(
        cadence.fake.wait_for("views.open", count=before + 1)[-1].response["view"]["id"]
    )
    reply = cadence.sim.submit_view(
        view, {"rag": "red", "reason": "A fix for the incident queue."}, user=LEAD
    )
    assert reply.body == "", reply.body
    cadence.wait_until(lambda: len(alerts_to(cadence, LEAD2)) == 2, what="the second alert")
    red = alerts_to(cadence, LEAD2)[1]
    assert "Acme Payments* is *red*" in red and "A fix for the incident queue." in red
    assert "Mean time to resolve" not in red
    assert len(alerts_to(cadence, LEAD)) == 1
    with cadence.db.read_session() as session:
        keys = sorted(j.key for j in session.exec(select(ScheduledJob)))
    keys = [k for k in keys if k.startswith("update-alert:")]
    assert keys == [
        f"update-alert:update={update.id}:revision=1:lead={LEAD}",
        f"update-alert:update={update.id}:revision=1:lead={LEAD2}",
        f"update-alert:update={update.id}:revision=3:lead={LEAD2}",
    ]


def test_a_turn_to_red_says_what_it_was_and_green_or_amber_tell_nobody(cadence):
    set_up(cadence)
    each_answer(cadence)
    send(
        cadence,
        {"rag": "amber", "summary": "Slipping.", "reason": "Certification.", **figures(cadence)},
    )
    send(cadence, {"rag": "green", "summary": "Fine again.", **figures(cadence)}, at=MONDAY)
    wait_summaries(cadence, 2)
    assert alerts_to(cadence, LEAD) == [] and alerts_to(cadence, LEAD2) == []

    send(
        cadence,
        {"rag": "red", "summary": "Outage.", "reason": "The PSP restoring the link."},
        at=MONDAY + timedelta(days=7),
    )
    for lead in (LEAD, LEAD2):
        (alert,) = cadence.wait_until(lambda lead=lead: alerts_to(cadence, lead), what="alert")
        assert "Acme Payments* turned *red*, from green on Mon 23 Nov 2026" in alert
        assert "The PSP restoring the link." in alert

    # Red again the week after: red still reaches the leads, but it did not turn red.
    send(
        cadence,
        {"rag": "red", "summary": "Still down.", "reason": "The same."},
        at=MONDAY + timedelta(days=14),
    )
    cadence.wait_until(lambda: len(alerts_to(cadence, LEAD)) == 2, what="the second alert")
    assert "Acme Payments* is *red*" in alerts_to(cadence, LEAD)[1]


# --- 4. last time's blockers, and those that stay open -----------------------------------------


def test_last_times_blockers_are_asked_about_and_one_open_after_two_updates_is_pointed_out(
    cadence,
):
    set_up(cadence)
    first = {"rag": "green", "summary": "On plan."}
    send(
        cadence,
        {**first, "blockers": "• Firewall change NET-311\nTest data from the client\n"},
    )
    view = update_form(cadence)
    assert "still_blocking" not in block_ids(update_form(cadence, LEAD))  # the lead's own
    asked = block(view, "still_blocking")
    assert asked["label"]["text"] == "Last time's blockers: tick those that still block"
    assert [o["text"]["text"] for o in asked["element"]["options"]] == [
        "Firewall change NET-311",
        "Test data from the client",
    ]
    assert asked["element"]["options"][0]["description"]["text"] == "reported Mon 23 Nov 2026"
    assert "initial_options" not in asked["element"]  # nothing stays open unless said so
    assert block(view, "blockers")["label"]["text"] == "New blockers"
    assert "initial_value" not in block(view, "blockers")["element"]

    with clock.fixed_at(MONDAY + timedelta(days=7)):
        view = update_form(cadence)
        reply = cadence.sim.submit_view(
            view,
            {
                "rag": "green",
                "still_blocking": still_blocks(view, "Firewall change NET-311"),
                "blockers": "Staging DB quota",
            },
            user=VENDOR,
        )
    assert reply.body == "", reply.body
    _, second = wait_summaries(cadence, 2)
    assert second.blockers == "Firewall change NET-311\nStaging DB quota"
    assert second.blocker_lines == [
        {"text": "Firewall change NET-311", "since": "2026-11-23", "carried": 1},
        {"text": "Staging DB quota", "since": "2026-11-30", "carried": 0},
    ]
    text = summary_of(cadence, second)
    assert "• Firewall change NET-311 _(since Mon 23 Nov 2026)_" in text
    assert "Test data" not in text and "open since" not in text

    with clock.fixed_at(MONDAY + timedelta(days=14)):
        view = update_form(cadence)
        options = block(view, "still_blocking")["element"]["options"]
        assert options[0]["description"]["text"] == "reported Mon 23 Nov 2026 · carried over 1×"
        ticked = still_blocks(view, "Firewall change NET-311")
        reply = cadence.sim.submit_view(
            view, {"rag": "green", "still_blocking": ticked}, user=VENDOR
        )
    assert reply.body == "", reply.body
    *_, third = wait_summaries(cadence, 3)
    assert third.blocker_lines == [
        {"text": "Firewall change NET-311", "since": "2026-11-23", "carried": 2}
    ]
    text = summary_of(cadence, third)
    assert "• Firewall change NET-311 — ⏳ *open since Mon 23 Nov 2026*" in text
    assert f"<@{LEAD}>, <@{LEAD2}>: 1 blocker is still open after two updates." in text

    # The edit form ticks what the update carried over, and keeps the typed ones apart.
    before = len(cadence.fake.calls_to("views.open"))
    cadence.sim.click(cadence.fake.message(ACME, second.message_ts), "status_update_edit",
                      user=VENDOR)  # fmt: skip
    view = cadence.fake.view(
        cadence.fake.wait_for("views.open", count=before + 1)[-1].response["view"]["id"]
    )
    ticked = block(view, "still_blocking")["element"]["initial_options"]
    assert [o["text"]["text"] for o in ticked] == ["Firewall change NET-311"]
    assert block(view, "blockers")["element"]["initial_value"] == "Staging DB quota"


def test_a_form_opened_before_the_authors_latest_update_carries_over_nothing_stale(cadence):
    set_up(cadence)
    send(cadence, {"rag": "green", "summary": "On plan.", "blockers": "Firewall change NET-311"})
    wait_summaries(cadence, 1)
    with clock.fixed_at(MONDAY + timedelta(days=1)):
        stale, fresh = update_form(cadence), update_form(cadence)
        # Sent from one form: the firewall is done, the quota is new.
        reply = cadence.sim.submit_view(fresh, {"rag": "green", "blockers": "Staging DB quota"},
                                        user=VENDOR)  # fmt: skip
        assert reply.body == "", reply.body
        # The other, opened before it, still offers the firewall: ticking it carries nothing.
        ticked = still_blocks(stale, "Firewall change NET-311")
        reply = cadence.sim.submit_view(stale, {"rag": "green", "still_blocking": ticked},
                                        user=VENDOR)  # fmt: skip
        assert reply.body == "", reply.body
    *_, last = wait_summaries(cadence, 3)
    assert last.blockers == "" and last.blocker_lines == []


# --- 5. the form is filled in from last time, all but the status ------------------------------


def test_the_next_form_is_filled_in_from_last_time_but_the_status(cadence):
    set_up(cadence)
    send(
        cadence,
        {
            "rag": "amber",
            "reason": "Certification passing.",
            "summary": "Tokenisation live in staging.",
            "accomplishments": "Load test passed",
            "next_steps": "PSP certification on Thursday",
            "confidence": "4",
            **figures(cadence, "99.95", "6"),
        },
    )
    wait_summaries(cadence, 1)

    with clock.fixed_at(MONDAY + timedelta(days=7)):
        view = update_form(cadence)
    ids = kpi_ids(cadence)
    assert "Filled in from your update of Mon 23 Nov 2026" in text_of(view)
    assert "initial_option" not in block(view, "rag")["element"]
    assert block(view, "summary")["element"]["initial_value"] == "Tokenisation live in staging."
    assert block(view, "next_steps")["element"]["initial_value"] == "PSP certification on Thursday"
    assert block(view, "reason")["element"]["initial_value"] == "Certification passing."
    assert "initial_value" not in block(view, "accomplishments")["element"]
    assert block(view, "confidence")["element"]["initial_option"]["value"] == "4"
    assert block(view, f"kpi_{ids[UPTIME]}")["element"]["initial_value"] == "99.95"
    assert block(view, f"kpi_{ids[MTTR]}")["element"]["initial_value"] == "6"

    # A repeat: choose the status, send.
    reply = cadence.sim.submit_view(view, {"rag": "green"}, user=VENDOR)
    assert reply.body == "", reply.body
    _, repeat = wait_summaries(cadence, 2)
    assert (repeat.rag, repeat.summary, repeat.confidence) == (
        "green",
        "Tokenisation live in staging.",
        4,
    )
    assert repeat.reason == ""  # a green keeps no reason, even one filled in from last time

    # Someone else's form is not filled in from the vendor's update.
    assert "Filled in from" not in text_of(update_form(cadence, LEAD))


# --- 6. late is decided from the check-in's window and the request's time ----------------------


def test_an_answer_after_the_window_is_marked_late_in_the_data_and_the_summary(cadence):
    engagement = set_up(cadence)
    checkin_id = seed_checkin(cadence, engagement, recipients=(VENDOR, STAKEHOLDER))
    with cadence.db.read_session() as session:
        closes = session.get(CheckIn, checkin_id).window_closes_at
    answer = {"rag": "green", "summary": "On plan."}

    with clock.fixed_at(closes - timedelta(minutes=1)):
        view = answer_prompt(cadence, checkin_id, VENDOR)
        assert "marked late" not in text_of(view)
        assert cadence.sim.submit_view(view, answer, user=VENDOR).body == ""
    with clock.fixed_at(closes + timedelta(minutes=1)):
        view = answer_prompt(cadence, checkin_id, STAKEHOLDER)
        assert "will be marked late" in text_of(view)
        assert cadence.sim.submit_view(view, answer, user=STAKEHOLDER).body == ""

    on_time, late = wait_summaries(cadence, 2)
    assert (on_time.author_user_id, on_time.late) == (VENDOR, False)
    assert (late.author_user_id, late.late) == (STAKEHOLDER, True)
    assert "_late_" not in summary_of(cadence, on_time)
    assert "_late_" in summary_of(cadence, late)
    assert "sent after the check-in window closed" in json.dumps(
        cadence.fake.message(ACME, late.message_ts), ensure_ascii=False
    )
