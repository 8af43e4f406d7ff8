"""`/cadence status <eng>`: the health card shows the engagement's figures exactly as
`figures.compute` gives them, to its people (Slack Connect vendors included) and admins, and to
anyone clicking its button in the engagement's digest channel; anyone else is refused without a
word about the engagement. The card stays within Slack's limits however much there is to say."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from conftest import (
    ACME,
    ADMIN,
    DIGEST,
    EXTERNAL,
    GENERAL,
    LEAD,
    OUTSIDER,
    STAKEHOLDER,
    TEAM,
    VENDOR,
)
from engine_flows import utc
from flows import create_engagement, ephemeral_replies, text_of, wait_reply
from slack_sdk.models.blocks import ActionsBlock
from sqlmodel import select
from test_concerns import raise_by_command
from test_export import submit_form

from bot.blocks.common import MAX_MESSAGE_BLOCKS, MAX_SECTION_TEXT
from bot.blocks.health import (
    CONCERN_BUTTON,
    CONCERNS_BUTTON,
    HEALTH_ACTION,
    UPDATE_BUTTON,
    health_button,
    health_card,
)
from bot.demo.fake_slack import validate_message_blocks
from bot.domain import figures, health
from bot.domain.figures import ConcernRow, Inputs, Kpi, KpiReport, Rating, Update
from bot.domain.updates import KpiOutcome
from bot.platform import clock
from storage.models import Engagement, Workspace

START = utc(2026, 11, 30, 9, 0)
NOW = START + timedelta(days=1)


def record(cadence) -> Engagement:
    """An engagement with an amber update (uptime met, time to resolve missed), a high
    security concern and a stakeholder's feedback."""
    with clock.fixed_at(START - timedelta(days=1)):
        engagement = create_engagement(cadence, digest_channel=DIGEST)
    with clock.fixed_at(START):
        submit_form(cadence, "update acme-payments",
                    {"rag": "amber", "reason": "PSP certification", "summary": "Slipping a week.",
                     "kpi_1": "99.95", "kpi_2": "12"}, user=VENDOR)  # fmt: skip
        submit_form(cadence, "feedback acme-payments",
                    {"communication": "2", "quality": "3", "timeliness": "2", "overall": "3"},
                    user=STAKEHOLDER)  # fmt: skip
        raise_by_command(cadence, "concern acme-payments Keys in email",
                         {"severity": "high", "category": "security"}, user=LEAD)  # fmt: skip
    return engagement


def status(cadence, text: str = "status acme-payments", *, user: str = LEAD) -> dict[str, Any]:
    with clock.fixed_at(NOW):
        return wait_reply(cadence, cadence.sim.command(text, user=user))


def computed(cadence, engagement_id: int) -> figures.Figures:
    """The figures as the digest and every other view computes them, on the same database."""
    with cadence.db.read_session() as session:
        loaded = figures.load(
            session, team_id=TEAM, engagement_ids=[engagement_id], now=NOW,
            weeks=figures.TREND_WEEKS,
        )  # fmt: skip
    return figures.compute(loaded, now=NOW, weeks=figures.TREND_WEEKS)[engagement_id]


def action_ids(payload: dict[str, Any]) -> set[str]:
    return {
        e.get("action_id")
        for b in payload.get("blocks") or []
        if b.get("type") == "actions"
        for e in b.get("elements") or []
    }


def click(cadence, payload: dict[str, Any], action_id: str, *, user: str, channel: str):
    """Click a button of a message; the app's private answer (its response_url post)."""
    with clock.fixed_at(NOW):
        reply = cadence.sim.click(payload, action_id, user=user, channel=channel)
        assert reply.status == 200, reply.body
        return cadence.wait_until(
            lambda: (ephemeral_replies(cadence, reply.response_url) or [None])[-1],
            what="the answer to the click",
        )


def test_the_card_shows_the_same_figures_as_the_figures_module(cadence):
    engagement = record(cadence)
    card = status(cadence)
    found = computed(cadence, engagement.id)
    text = text_of(card)

    assert found.rag_now == "amber" and "🟠 *Amber* as of Mon 30 Nov" in text
    # The trend from its first week with data (the update's), in letters as well.
    assert "Trend over 1 week, oldest first: 🟠  `A`" in text
    assert f"from <@{VENDOR}>" in text and "Slipping a week." in text
    # KPIs against target: one met, one missed, each with its target.
    assert [(k.name, k.value, k.outcome) for k in found.kpis] == [
        ("Uptime", 99.95, KpiOutcome.MET), ("Mean time to resolve", 12, KpiOutcome.MISSED),
    ]  # fmt: skip
    assert "✅ Uptime: *99.95%* (target ≥ 99.9%) · met" in text
    assert "❌ Mean time to resolve: *12 hours* (target ≤ 8 hours) · missed" in text
    assert "(1 of 2 reported on target)" in text
    # Open concerns by severity, and the worst of them by name.
    assert found.concerns.open_by_severity["high"] == 1 and found.concerns.open_total == 1
    assert "*Open concerns* 1: 🟥 0 critical · 🟧 1 high · 🟨 0 medium · ⬜ 0 low" in text
    (worst,) = found.concerns.worst
    assert f"🟧 *#{worst.concern_id} Keys in email* · high · security · open 24 h" in text
    # Feedback: one answer (November's ad hoc answers count once the month is over), and
    # never its ratings, to anyone who reads the card (vendor contacts too).
    assert (found.feedback.answers, found.feedback.withheld) == (0, 1)
    assert "*Feedback* over the last 8 weeks: 1 answer, scores withheld" in text
    assert "communication 2.0" not in text
    # The scorecard: the very score the figures give, and the formula under it.
    score = found.scorecard.now.score
    assert score is not None and f"*{score}/100*" in text
    assert "KPIs on target: 50% (1 of 2)" in text
    assert figures.SCORE_FORMULA in text
    assert card["text"].startswith("Health of Acme Payments: amber, score")
    assert action_ids(card) == {UPDATE_BUTTON, CONCERN_BUTTON, CONCERNS_BUTTON}
    assert validate_message_blocks(card["blocks"]) == []


def test_its_people_and_admins_see_it_and_nobody_else_learns_anything(cadence):
    record(cadence)
    for person in (EXTERNAL, STAKEHOLDER, ADMIN):  # a Slack Connect vendor, a client, an admin
        assert "Health: Acme Payments" in text_of(status(cadence, user=person)), person

    refused = status(cadence, user=OUTSIDER)
    assert "for the people on its engagement" in text_of(refused)
    assert "acme" not in text_of(refused).lower() and "globex" not in text_of(refused).lower()
    assert action_ids(refused) == set()


def test_the_button_works_in_the_digest_channel_and_nowhere_else_for_others(cadence):
    engagement = record(cadence)
    digest = {
        "blocks": [ActionsBlock(elements=[health_button(engagement.id)]).to_dict()],
        "ts": "1764500000.000100",
    }
    seen = click(cadence, {**digest, "channel": DIGEST}, HEALTH_ACTION, user=OUTSIDER,
                 channel=DIGEST)  # fmt: skip
    assert "Health: Acme Payments" in text_of(seen)
    assert action_ids(seen) == set()  # reading only: the buttons are for its people

    refused = click(cadence, {**digest, "channel": GENERAL}, HEALTH_ACTION, user=OUTSIDER,
                    channel=GENERAL)  # fmt: skip
    assert "for the people on its engagement" in text_of(refused)
    assert "acme" not in text_of(refused).lower()

    # Without its own digest channel, the workspace's digest channel is the engagement's.
    with cadence.db.session() as session:
        row = session.get(Engagement, engagement.id)
        row.digest_channel_id = None
        session.add(row)
        workspace = session.exec(select(Workspace).where(Workspace.team_id == TEAM)).one()
        workspace.digest_channel_id = GENERAL
        session.add(workspace)
    seen = click(cadence, {**digest, "channel": GENERAL}, HEALTH_ACTION, user=OUTSIDER,
                 channel=GENERAL)  # fmt: skip
    assert "Health: Acme Payments" in text_of(seen)

    # A member may open it anywhere.
    mine = click(cadence, {**digest, "channel": ACME}, HEALTH_ACTION, user=VENDOR, channel=ACME)
    assert action_ids(mine) == {UPDATE_BUTTON, CONCERN_BUTTON, CONCERNS_BUTTON}


def test_the_cards_buttons_open_the_forms_and_list_the_concerns(cadence):
    record(cadence)
    card = status(cadence, user=VENDOR)
    listed = click(cadence, card, CONCERNS_BUTTON, user=VENDOR, channel=ACME)
    assert "Open concerns on Acme Payments" in text_of(listed) and "Keys in email" in text_of(
        listed
    )

    opened = len(cadence.fake.calls_to("views.open"))
    with clock.fixed_at(NOW):
        cadence.sim.click(card, UPDATE_BUTTON, user=VENDOR, channel=ACME)
        cadence.sim.click(card, CONCERN_BUTTON, user=VENDOR, channel=ACME)
    calls = cadence.fake.wait_for("views.open", count=opened + 2)[opened:]
    callbacks = sorted(c.args["view"]["callback_id"] for c in calls)
    assert callbacks == ["concern_form", "status_update_form"]


def test_unknown_or_missing_engagement_gets_the_usage_reply(cadence):
    record(cadence)
    for text, says in (
        ("status nothing-here", "There is no engagement `nothing-here`"),
        ("status", "Say which engagement's health card to show."),
    ):
        reply = text_of(status(cadence, text))
        assert says in reply and "The form is `/cadence status <eng>`" in reply, reply


# --- Slack's limits ----------------------------------------------------------------------------


def test_the_card_stays_within_slacks_limits_with_20_kpis_and_many_concerns():
    now = NOW
    kpis = tuple(
        Kpi(i, f"A very long key performance indicator name number {i:02}", "requests per second",
            1000.5 + i, 900.25 + i, True, i)
        for i in range(1, 21)
    )  # fmt: skip
    reports = lambda value: tuple(  # noqa: E731
        KpiReport(k.kpi_id, value + k.kpi_id, KpiOutcome.MISSED if k.kpi_id % 2 else KpiOutcome.MET)
        for k in kpis
    )
    updates = tuple(
        Update(n, ("green", "amber", "red")[n % 3], now - timedelta(days=7 * n), reports(950.125))
        for n in range(1, 12)
    )
    concerns = tuple(
        ConcernRow(n, ("critical", "high", "medium", "low")[n % 4], "open",
                   now - timedelta(hours=n * 5), None, None, now - timedelta(hours=1),
                   title="Ünïcode & <title> " * 8 + "x" * 6, category="security")
        for n in range(1, 401)
    )  # fmt: skip
    ratings = tuple(Rating(now - timedelta(days=n), 1, 2, 3, 4) for n in range(1, 50))
    inputs = Inputs(
        1, "Ünïcode & <Very> Long Engagement " * 4, "long-engagement", updates=updates,
        kpis=kpis, concerns=concerns, ratings=ratings,
    )  # fmt: skip
    found = figures.compute_one(inputs, now=now, weeks=figures.TREND_WEEKS)
    extra = health.Health(
        engagement_id=1, vendor="V" * 120, timezone="Europe/Berlin", channel_id=ACME,
        archived=False,
        last_update=health.LastUpdate(11, VENDOR, "red", now, True, "word " * 600),
    )  # fmt: skip
    card = health_card(found, extra, now=now)
    blocks = card["blocks"]
    assert len(blocks) <= MAX_MESSAGE_BLOCKS
    assert validate_message_blocks(blocks) == []
    for block in blocks:
        assert len((block.get("text") or {}).get("text", "")) <= MAX_SECTION_TEXT
    text = text_of(card)
    assert all(k.name in text for k in kpis)  # every KPI shown, none cut off
    assert f"*Open concerns* {len(concerns)}" in text and "…and 397 more" in text
    assert [f"#{row.concern_id} " in text for row in found.concerns.worst] == [True] * 3


def test_an_engagement_with_nothing_yet_has_a_plain_card():
    found = figures.compute_one(Inputs(1, "Quiet", "quiet"), now=NOW, weeks=figures.TREND_WEEKS)
    extra = health.Health(1, "Vendor", "UTC", ACME, archived=False)
    text = text_of(health_card(found, extra, now=NOW))
    for says in ("no update yet", "*Last update* none yet", "*Next check-in* none scheduled",
                 "*KPIs* none defined", "*Open concerns* none", "*Feedback* no answers",
                 "*Scorecard* (last 4 weeks): *—*"):  # fmt: skip
        assert says in text, says


def missed_inputs(*asked: figures.Asked, updates: tuple[Update, ...] = ()) -> figures.Figures:
    inputs = Inputs(1, "Quiet", "quiet", asked=asked, updates=updates)
    return figures.compute_one(inputs, now=NOW, weeks=figures.TREND_WEEKS)


def asked_at(user: str, days_before: float, answered: bool = False) -> figures.Asked:
    """Asked `days_before` NOW with a day's window (closed by NOW); answered within an hour."""
    at = NOW - timedelta(days=days_before)
    return figures.Asked(int(days_before), user, "answered" if answered else "pending", at,
                         at + timedelta(days=1), at + timedelta(hours=1) if answered else None)  # fmt: skip


def test_missed_updates_are_said_in_words_never_0_percent_or_no_update_yet():
    # Weeks end at NOW, NOW − 7 d, …: a check-in 8 days before NOW is in week 6, one 2 days
    # before in week 7; both windows closed, nobody ever answered: 4 updates missed.
    found = missed_inputs(asked_at(VENDOR, 8), asked_at(EXTERNAL, 8), asked_at(VENDOR, 2),
                          asked_at(EXTERNAL, 2))  # fmt: skip
    extra = health.Health(1, "Vendor", "UTC", ACME, archived=False)
    text = text_of(health_card(found, extra, now=NOW))
    assert "*RAG* ❌ *4 updates missed*, no RAG given yet" in text  # all of them, in words
    assert text.startswith("Health of Quiet: 2 updates missed,")  # the latest check-in's
    assert "Trend over 2 weeks, oldest first: ❌ ❌  `✗ ✗` (✗ missed)" in text
    assert "On-time updates over 2 weeks: none on time: 4 missed" in text
    assert "On-time updates: none on time: 4 missed" in text  # the scorecard's part
    assert "no update yet" not in text and "0%" not in text


def test_a_missed_update_after_a_rag_keeps_the_rag_and_says_what_was_missed():
    # Week 6: the vendor answered on time (green); week 7: the vendor missed; week 5 was
    # asked of someone away only (not data). The RAG stays green, the miss is said beside it.
    away = figures.Asked(9, EXTERNAL, "away", NOW - timedelta(days=15), NOW - timedelta(days=14))
    green = Update(1, "green", NOW - timedelta(days=10) + timedelta(hours=1))
    found = missed_inputs(away, asked_at(VENDOR, 10, answered=True), asked_at(VENDOR, 2),
                          updates=(green,))  # fmt: skip
    extra = health.Health(1, "Vendor", "UTC", ACME, archived=False)
    text = text_of(health_card(found, extra, now=NOW))
    assert "*RAG* 🟢 *Green* as of Sat 21 Nov 10:00 UTC" in text
    assert (
        "❌ *1 update missed* at the latest check-in: the RAG above is the last one given" in text
    )
    assert "Trend over 2 weeks, oldest first: 🟢 ❌  `G ✗` (✗ missed)" in text
    assert "On-time updates over 2 weeks: 50% (1 of 2), 1 missed" in text
