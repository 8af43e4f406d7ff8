"""The figures every view shows, checked by hand: each pure function over small explicit rows
with the expected numbers worked out in comments, the edge cases (no data, everyone away, a
concern met late), the loader through the product, and the loader's statement count, which
must not grow with the number of engagements."""

from __future__ import annotations

from datetime import timedelta

import pytest
from conftest import ACME, EXTERNAL, VENDOR
from engine_flows import answer_prompt, dms_to, schedule, tick, utc
from flows import create_engagement
from sqlalchemy import event
from test_concerns import card_of, raise_by_command, the_concern

from bot.domain import figures
from bot.domain.concerns import ConcernStatus
from bot.domain.figures import (
    Asked,
    ConcernRow,
    Inputs,
    Kpi,
    KpiReport,
    Rate,
    Rating,
    Update,
)
from bot.domain.updates import KpiOutcome
from bot.platform import clock
from storage.models import (
    Cadence,
    CheckIn,
    CheckInRecipient,
    Concern,
    Deliverable,
    DeliverableEvent,
    Engagement,
    Feedback,
    KpiDefinition,
    StatusUpdate,
    UpdateRevision,
)

NOW = utc(2026, 12, 28, 12, 0)  # a Monday noon; with 4 weeks the period is (Nov 30 12:00, NOW]
WEEKS = 4
START = NOW - WEEKS * figures.WEEK


def asked(user, scheduled, closes, status="pending", answered=None, checkin_id=1):
    return Asked(checkin_id, user, status, scheduled, closes, answered)


MON_21 = utc(2026, 12, 21, 9, 0)
WED_23 = utc(2026, 12, 23, 9, 0)
ASKED = (
    asked("A", MON_21, WED_23, "answered", utc(2026, 12, 22, 9, 0)),  # on time
    asked("B", MON_21, WED_23, "answered", utc(2026, 12, 24, 9, 0)),  # late: counted, not met
    asked("C", MON_21, WED_23),  # window closed, never answered: missed
    asked("D", MON_21, WED_23, "away"),  # away: not counted at all
    asked("E", utc(2026, 12, 28, 9), utc(2026, 12, 30, 9)),  # window still open: not yet
    asked("F", utc(2026, 12, 28, 9), utc(2026, 12, 30, 9), "answered", utc(2026, 12, 28, 10)),
    asked("G", utc(2026, 11, 23, 9), utc(2026, 11, 25, 9), "answered", utc(2026, 11, 23, 10)),
)


def test_on_time_rate_counts_answers_by_the_close_out_of_those_asked_and_not_away():
    # Counted: A, B, C (window closed) and F (answered); met: A and F. D is away, E's window
    # is open and unanswered, G was scheduled before the period. 2 of 4.
    rate = figures.on_time_rate(ASKED, now=NOW, start=START)
    assert rate == Rate(2, 4) and rate.value == 0.5


def test_on_time_rate_by_week_buckets_by_when_the_check_in_was_scheduled():
    # Bucket ends: Dec 7, 14, 21 and 28 at 12:00. Dec 21 09:00 falls in (Dec 14, Dec 21 12:00]
    # (A, B, C: 1 of 3); Dec 28 09:00 in the last (F: 1 of 1; E not yet).
    weekly = figures.on_time_by_week(ASKED, now=NOW, weeks=WEEKS)
    assert weekly == (Rate(0, 0), Rate(0, 0), Rate(1, 3), Rate(1, 1))
    assert weekly[0].value is None  # no check-in is not 0 %


def test_missed_is_a_closed_window_without_an_answer_and_the_first_week_is_the_first_asked():
    # Week 2 (Dec 14, Dec 21 12:00]: A on time, B late (answered, so not missed), C missed, D
    # away. Week 3: E's window still open (not yet missed), F answered. Nothing before week 2.
    assert figures.missed_by_week(ASKED, now=NOW, weeks=WEEKS) == (0, 0, 1, 0)
    assert figures.first_week(ASKED, (None,) * WEEKS, now=NOW, weeks=WEEKS) == 2
    # A RAG carried in from before the period is data from the first week on.
    assert figures.first_week(ASKED, ("green",) * WEEKS, now=NOW, weeks=WEEKS) == 0
    # Someone away alone is nobody asked; nothing at all is no first week.
    away = [asked("D", utc(2026, 12, 7, 9), utc(2026, 12, 9, 9), "away")]
    assert figures.first_week(away, (None,) * WEEKS, now=NOW, weeks=WEEKS) is None
    # Answered after `now` (a figure computed as of an earlier moment) is still missed then.
    late = [asked("C", MON_21, WED_23, "answered", utc(2026, 12, 29, 9))]
    assert figures.missed_by_week(late, now=NOW, weeks=WEEKS) == (0, 0, 1, 0)


def test_everyone_away_is_no_rate_at_all():
    rows = [asked(u, MON_21, WED_23, "away") for u in "XYZ"]
    assert figures.on_time_rate(rows, now=NOW, start=START) == Rate(0, 0)
    assert figures.on_time_rate(rows, now=NOW, start=START).value is None


UPDATES = (
    Update(1, "green", utc(2026, 11, 20, 9)),  # before the period: in force at its start
    Update(
        2,
        "amber",
        utc(2026, 12, 10, 9),
        (KpiReport(10, 99.0, KpiOutcome.MISSED),),
    ),
    Update(
        3,
        "red",
        utc(2026, 12, 12, 9),
        (KpiReport(10, 99.6, KpiOutcome.WITHIN), KpiReport(11, 1, KpiOutcome.MET)),
    ),
    Update(
        4,
        "green",
        utc(2026, 12, 25, 9),
        (KpiReport(10, 99.95, KpiOutcome.MET), KpiReport(11, 3, KpiOutcome.MISSED)),
    ),
)


def test_rag_now_and_its_trend_carry_the_latest_update_over_quiet_weeks():
    # At Dec 7 12:00 the Nov 20 green is still in force; by Dec 14 the Dec 12 red; no update
    # in the third week, so red again; by Dec 28 the Dec 25 green.
    assert figures.rag_trend(UPDATES, now=NOW, weeks=WEEKS) == ("green", "red", "red", "green")
    assert figures.rag_at(UPDATES, NOW).update_id == 4
    assert figures.rag_trend(UPDATES[1:], now=NOW, weeks=WEEKS)[0] is None  # before any update


KPIS = (
    Kpi(10, "Uptime", "%", 99.9, 99.5, True, position=0),
    Kpi(11, "Incidents", "", 2, None, False, position=1),
    Kpi(12, "NPS", "", 40, None, True, position=2),
)


def test_kpis_latest_figure_against_target_and_direction_of_change():
    uptime, incidents, nps = figures.kpi_figures(KPIS, UPDATES, now=NOW)
    # Uptime 99.6 → 99.95, higher is better: better, and now met.
    assert (uptime.value, uptime.previous, uptime.outcome, uptime.direction) == (
        99.95, 99.6, KpiOutcome.MET, "better",
    )  # fmt: skip
    assert (uptime.target, uptime.tolerance) == (99.9, 99.5)
    # Incidents 1 → 3, lower is better: worse, and missed.
    assert (incidents.value, incidents.previous, incidents.outcome, incidents.direction) == (
        3, 1, KpiOutcome.MISSED, "worse",
    )  # fmt: skip
    # NPS was never reported: no figure, no direction.
    assert (nps.value, nps.outcome, nps.direction) == (None, None, None)
    # As of Dec 11 only the first Uptime figure exists: no pair, no direction.
    uptime_then = figures.kpi_figures(KPIS, UPDATES, now=utc(2026, 12, 11))[0]
    assert (uptime_then.value, uptime_then.direction) == (99.0, None)


def concern(cid, severity, status, raised, ack=None, resolved=None, ack_due=None, res_due=None):
    return ConcernRow(cid, severity, status, raised, ack, resolved, ack_due, res_due)


CONCERNS = (
    # Critical, not acknowledged, its 4 h acknowledge deadline passed: a breach.
    concern(1, "critical", "open", utc(2026, 12, 27, 12), ack_due=utc(2026, 12, 27, 16),
            res_due=utc(2026, 12, 29, 12)),
    # High, acknowledged in time, but its resolve deadline (Dec 23) passed: a breach.
    concern(2, "high", "acknowledged", utc(2026, 12, 20, 12), ack=utc(2026, 12, 20, 13),
            ack_due=utc(2026, 12, 21, 12), res_due=utc(2026, 12, 23, 12)),
    # Medium, raised two days ago, both clocks running: no breach, counted in neither SLA.
    concern(3, "medium", "open", utc(2026, 12, 26, 12), ack_due=utc(2026, 12, 29, 12),
            res_due=utc(2027, 1, 2, 12)),
    # High, acknowledged in time, resolved three days late (met late).
    concern(4, "high", "resolved", utc(2026, 12, 2, 12), ack=utc(2026, 12, 2, 20),
            resolved=utc(2026, 12, 8, 12), ack_due=utc(2026, 12, 3, 12),
            res_due=utc(2026, 12, 5, 12)),
    # Raised and resolved before the period: neither open nor in the SLA figures.
    concern(5, "low", "resolved", utc(2026, 11, 1), ack=utc(2026, 11, 1, 1),
            resolved=utc(2026, 11, 10), ack_due=utc(2026, 11, 2), res_due=utc(2026, 11, 4)),
)  # fmt: skip


def test_open_concerns_by_severity_with_the_oldest_age_and_breaches():
    found = figures.open_concerns(CONCERNS, now=NOW)
    assert dict(found.open_by_severity) == {"critical": 1, "high": 1, "medium": 1, "low": 0}
    assert list(found.open_by_severity) == ["critical", "high", "medium", "low"]
    assert found.open_total == 3
    assert found.oldest_open_age == timedelta(days=8)  # #2, raised Dec 20 12:00
    assert found.breaches == 2  # #1 (acknowledge) and #2 (resolve)


def test_sla_compliance_counts_deadlines_that_passed_or_were_met():
    # Raised in the period: 1-4. Acknowledge: #1 passed unmet, #2 and #4 met, #3 still
    # running → 2 of 3. Resolve: #2 passed unmet, #4 met late, #1 and #3 still running → 0 of 2.
    sla = figures.sla_compliance(CONCERNS, now=NOW, start=START)
    assert (sla.acknowledged, sla.resolved) == (Rate(2, 3), Rate(0, 2))


def test_a_concern_met_late_counts_but_is_not_in_time():
    late = concern(1, "low", "resolved", utc(2026, 12, 1, 13), ack=utc(2026, 12, 9),
                   resolved=utc(2026, 12, 10), ack_due=utc(2026, 12, 8), res_due=utc(2026, 12, 31))  # fmt: skip
    # Acknowledged a day late (counted, not met); resolved before its deadline, which has not
    # even passed yet (counted, met: it was met).
    sla = figures.sla_compliance([late], now=NOW, start=START)
    assert (sla.acknowledged, sla.resolved) == (Rate(0, 1), Rate(1, 1))


RATINGS = (
    Rating(utc(2026, 11, 15), 1, 1, 1, 1),  # before the period
    Rating(utc(2026, 12, 1), 5, 3, 4, 4),
    Rating(utc(2026, 12, 3), 3, 3, 2, 2),
    Rating(utc(2026, 12, 27), 5, 4, 5, 5),
)


def test_feedback_scores_and_their_weekly_trend():
    found = figures.feedback_figures(RATINGS, now=NOW, weeks=WEEKS)
    # Three answers in the period: communication (5+3+5)/3, quality (3+3+4)/3, timeliness
    # (4+2+5)/3, overall (4+2+5)/3.
    assert found.answers == 3
    assert found.means == pytest.approx(
        {"communication": 13 / 3, "quality": 10 / 3, "timeliness": 11 / 3, "overall": 11 / 3}
    )
    # Dec 1 and 3 are in the first week (mean overall 3.0), Dec 27 in the last (5.0).
    assert found.overall_by_week == (3.0, None, None, 5.0)


def test_feedback_is_scored_only_over_whole_batches_of_three_or_more():
    """A batch (a survey, or a month's ad hoc answers) of two is counted, never scored: with
    one or two, an average is someone's rating, and a figure that moved by one answer would
    give that answer away by subtraction."""
    two = [Rating(utc(2026, 12, 2), r, r, r, r, batch="survey:1") for r in (1, 5)]
    three = [Rating(utc(2026, 12, 15), r, r, r, r, batch="survey:2") for r in (2, 3, 4)]
    found = figures.feedback_figures((*two, *three), now=NOW, weeks=WEEKS)
    assert (found.answers, found.withheld) == (3, 2)
    assert found.means == pytest.approx(dict.fromkeys(figures.FEEDBACK_SCORES, 3.0))
    assert found.overall_by_week == (None, None, 3.0, None)
    only_two = figures.feedback_figures(two, now=NOW, weeks=WEEKS)
    assert (only_two.answers, only_two.withheld) == (0, 2)
    assert set(only_two.means.values()) == {None} and set(only_two.overall_by_week) == {None}
    # The scorecard's feedback part is read from the same figures: none from two answers.
    inputs = Inputs(1, ratings=tuple(two))
    assert figures.score_parts(inputs, end=NOW).feedback is None


def test_what_changed_since_the_last_digest():
    since = utc(2026, 12, 21, 12)
    # RAG red (Dec 12) then, green (Dec 25) now; one update; #1 and #3 raised; none resolved.
    changes = figures.changes_since(UPDATES, CONCERNS, since=since, now=NOW)
    assert (changes.rag_before, changes.rag_now, changes.rag_changed) == ("red", "green", True)
    assert (changes.updates, changes.concerns_raised, changes.concerns_resolved) == (1, 2, 0)
    # Since Dec 7: #4 resolved on Dec 8.
    earlier = figures.changes_since(UPDATES, CONCERNS, since=utc(2026, 12, 7, 12), now=NOW)
    assert earlier.concerns_resolved == 1 and earlier.updates == 3


def test_no_data_is_no_figures_rather_than_zeros():
    (found,) = figures.compute({7: Inputs(7)}, now=NOW, weeks=WEEKS).values()
    assert found.on_time == Rate(0, 0) and found.on_time.value is None
    assert (found.rag_now, found.rag_as_of) == (None, None)
    assert found.rag_trend == (None,) * WEEKS
    assert found.kpis == ()
    assert (found.concerns.open_total, found.concerns.oldest_open_age) == (0, None)
    assert found.concerns.breaches == 0
    assert (found.sla.acknowledged.value, found.sla.resolved.value) == (None, None)
    assert found.feedback.answers == 0 and set(found.feedback.means.values()) == {None}
    assert not found.changes.rag_changed and found.changes.updates == 0


def test_compute_puts_the_figures_together():
    inputs = Inputs(1, "Acme", "acme", ASKED, UPDATES, KPIS, CONCERNS, RATINGS)
    found = figures.compute({1: inputs}, now=NOW, weeks=WEEKS)[1]
    assert found.on_time == Rate(2, 4)
    assert (found.rag_now, found.rag_as_of) == ("green", utc(2026, 12, 25, 9))
    assert found.rag_trend == ("green", "red", "red", "green")
    assert found.concerns.breaches == 2 and found.sla.acknowledged == Rate(2, 3)
    assert found.changes.since == NOW - figures.WEEK  # by default, a week ago
    with pytest.raises(ValueError):
        figures.compute({1: inputs}, now=NOW, weeks=WEEKS, since=START - timedelta(days=1))


# --- through the app -----------------------------------------------------------------------------

CREATED = utc(2026, 11, 25, 10, 0)  # a Wednesday
MON = utc(2026, 11, 30, 8, 0)  # Monday 09:00 in Berlin; the window closes Wednesday 08:00 UTC
RAISED = utc(2026, 12, 1, 9, 0)
APP_NOW = utc(2026, 12, 10, 12, 0)


def test_figures_of_an_engagement_built_through_the_product(cadence, monkeypatch):
    with clock.fixed_at(CREATED):
        engagement = create_engagement(cadence)
    schedule(cadence, CREATED)

    # First check-in: the vendor answers on time; the Slack Connect engineer never does.
    tick(cadence, monkeypatch, MON)
    (prompt,) = dms_to(cadence, VENDOR)
    with clock.fixed_at(utc(2026, 11, 30, 10, 0)):
        answer_prompt(cadence, prompt, VENDOR)
    tick(cadence, monkeypatch, utc(2026, 12, 2, 8, 0))

    # A high concern, acknowledged an hour later (its deadlines: 24 h and 72 h).
    with clock.fixed_at(RAISED):
        raise_by_command(
            cadence,
            "concern acme-payments Release notes missing",
            {"severity": "high", "category": "delivery", "description": "Twice now."},
        )
    card = card_of(cadence)
    with clock.fixed_at(RAISED + timedelta(hours=1)):
        cadence.sim.click(card, "concern:acknowledge", user=VENDOR, channel=ACME)
        cadence.wait_until(
            lambda: the_concern(cadence).status == ConcernStatus.ACKNOWLEDGED, what="the ack"
        )

    # Second check-in: nobody answers before its window closes.
    tick(cadence, monkeypatch, utc(2026, 12, 7, 8, 0))
    tick(cadence, monkeypatch, utc(2026, 12, 9, 8, 0))

    with cadence.db.read_session() as session:
        loaded = figures.load(session, team_id=engagement.team_id, now=APP_NOW, weeks=4)
    assert list(loaded) == [engagement.id]
    assert {(a.user_id, a.status) for a in loaded[engagement.id].asked} == {
        (VENDOR, "answered"), (EXTERNAL, "pending"), (VENDOR, "pending"), (EXTERNAL, "pending"),
    }  # fmt: skip
    found = figures.compute(loaded, now=APP_NOW, weeks=4, since=utc(2026, 11, 29))[engagement.id]

    # Four people asked over two check-ins, one answer on time.
    assert found.on_time == Rate(1, 4)
    # Bucket ends Nov 19, 26, Dec 3 and 10 at 12:00: the check-ins of Nov 30 and Dec 7.
    assert found.on_time_by_week == (Rate(0, 0), Rate(0, 0), Rate(1, 2), Rate(0, 2))
    assert (found.rag_now, found.rag_as_of) == ("green", utc(2026, 11, 30, 10, 0))
    assert found.rag_trend == (None, None, "green", "green")
    # Of the four asked, three windows closed unanswered: one in the first check-in's week,
    # both people in the second's; the first week with data is the first check-in's.
    assert found.missed_by_week == (0, 0, 1, 2) and found.missed == 3
    assert found.first_week == 2
    # The concern: open (acknowledged), resolve deadline Dec 4 09:00 passed: one breach.
    assert found.concerns.open_by_severity["high"] == 1 and found.concerns.open_total == 1
    assert found.concerns.oldest_open_age == timedelta(days=9, hours=3)
    assert found.concerns.breaches == 1
    assert (found.sla.acknowledged, found.sla.resolved) == (Rate(1, 1), Rate(0, 1))
    assert found.feedback.answers == 0
    changes = found.changes
    assert (changes.rag_before, changes.rag_now, changes.updates) == (None, "green", 1)
    assert (changes.concerns_raised, changes.concerns_resolved) == (1, 0)


# --- set-based loading ---------------------------------------------------------------------------


def _volume(db, team_id: str, count: int) -> list[int]:
    """A volume setup, inserted directly: `count` engagements, each with a cadence, a check-in
    with one answered recipient, two updates (one before the period) with a revision and a KPI,
    an open concern, a feedback answer and a deliverable re-planned once."""
    ids = []
    with db.session() as session:
        for n in range(count):
            e = Engagement(
                team_id=team_id, name=f"E{n}", handle=f"e{n}", vendor="V", channel_id="C1",
                timezone="UTC", created_by="U1", created_at=START, updated_at=START,
            )  # fmt: skip
            session.add(e)
            session.flush()
            ids.append(e.id)
            kpi = KpiDefinition(team_id=team_id, engagement_id=e.id, name="Up", target=99)
            c = Cadence(
                team_id=team_id, engagement_id=e.id, kind="status_update", rule="FREQ=WEEKLY",
                rule_kind="weekly", local_time="09:00", timezone="UTC", created_by="U1",
                created_at=START, updated_at=START,
            )  # fmt: skip
            session.add_all([kpi, c])
            session.flush()
            ci = CheckIn(
                team_id=team_id, cadence_id=c.id, engagement_id=e.id, occurrence_key="k",
                scheduled_for=NOW - timedelta(days=3), window_closes_at=NOW - timedelta(days=1),
                created_at=NOW,
            )  # fmt: skip
            session.add(ci)
            session.flush()
            session.add(
                CheckInRecipient(
                    team_id=team_id,
                    checkin_id=ci.id,
                    user_id="U2",
                    status="answered",
                    answered_at=NOW - timedelta(days=2),
                )
            )
            for rag, at in (("amber", START - timedelta(days=3)), ("green", NOW - timedelta(1))):
                u = StatusUpdate(
                    team_id=team_id, engagement_id=e.id, author_user_id="U2", rag=rag,
                    submitted_at=at, updated_at=at,
                )  # fmt: skip
                session.add(u)
                session.flush()
                content = {"kpis": [{"kpi_id": kpi.id, "value": 99.5, "outcome": "met"}]}
                session.add(
                    UpdateRevision(
                        team_id=team_id,
                        update_id=u.id,
                        revision=1,
                        editor_user_id="U2",
                        content=content,
                        created_at=at,
                    )
                )
            session.add(
                Concern(
                    team_id=team_id,
                    engagement_id=e.id,
                    title="t",
                    severity="low",
                    category="other",
                    raised_by="U1",
                    raised_at=NOW - timedelta(days=2),
                    acknowledge_due_at=NOW - timedelta(days=1),
                    resolve_due_at=NOW,
                )
            )
            session.add(
                Feedback(
                    team_id=team_id,
                    engagement_id=e.id,
                    author_user_id="U3",
                    communication=4,
                    quality=4,
                    timeliness=4,
                    overall=4,
                    # Ad hoc, stored at its month's start: it counts from Dec 1, in the period.
                    submitted_at=utc(2026, 11, 1),
                )
            )
            d = Deliverable(
                team_id=team_id, engagement_id=e.id, title="Runbook", due_on=NOW.date(),
                due_at=NOW, original_due_on=NOW.date(), owner_user_id="U2", acceptors=[],
                created_by="U1", created_at=START, updated_at=START, slip_count=1,
                days_slipped=2,
            )  # fmt: skip
            session.add(d)
            session.flush()
            session.add(
                DeliverableEvent(
                    team_id=team_id, deliverable_id=d.id, actor_user_id="U2", action="replanned",
                    to_status="planned", data={"from": "2026-12-29", "to": "2026-12-31", "days": 2},
                    at=NOW - timedelta(days=1),
                )
            )  # fmt: skip
    return ids


def _statements(db, team_id: str) -> tuple[int, dict]:
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        with db.read_session() as session:
            loaded = figures.load(session, team_id=team_id, now=NOW, weeks=WEEKS)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    selects = [
        s
        for s in seen
        if s.lstrip().upper().startswith(("SELECT", "WITH")) and "set_config(" not in s
    ]  # not the transaction's time limits (PostgreSQL)
    return len(selects), loaded


def test_loading_issues_the_same_few_selects_for_one_engagement_and_for_thirty(db):
    _volume(db, "T1", 1)
    _volume(db, "T30", 30)
    one, loaded_one = _statements(db, "T1")
    thirty, loaded_thirty = _statements(db, "T30")
    # Six for updates, KPIs, concerns and feedback; two for deliverables and their re-plans;
    # two for custom questions' answers and the rules that fired; one for assurance evidence.
    assert one == thirty == 11
    assert len(loaded_one) == 1 and len(loaded_thirty) == 30
    for inputs in loaded_thirty.values():
        # Each engagement got its own rows, and only its own: the update before the period
        # (amber, in force at its start) and the one in it.
        assert [u.rag for u in inputs.updates] == ["amber", "green"]
        assert len(inputs.asked) == len(inputs.concerns) == len(inputs.ratings) == 1
        assert len(inputs.deliverables) == 1
        assert [k.name for k in inputs.kpis] == ["Up"]
        assert [(r.deliverable_id, r.days) for r in inputs.replans] == [
            (d.deliverable_id, 2) for d in inputs.deliverables
        ]
    found = figures.compute(loaded_thirty, now=NOW, weeks=WEEKS)
    assert {f.on_time for f in found.values()} == {Rate(1, 1)}
    assert {f.rag_trend for f in found.values()} == {("amber", "amber", "amber", "green")}
    assert {f.concerns.breaches for f in found.values()} == {1}


def test_kpi_reports_read_a_revision_as_the_loader_does():
    # What the export reads for updates outside the loader's period: the target, tolerance and
    # direction recorded then; a revision from before tolerances has only met_target.
    content = {
        "kpis": [
            {"kpi_id": 10, "value": 99.7, "target": 99.9, "tolerance": 99.5,
             "higher_is_better": True, "outcome": "within", "met_target": False},
            {"kpi_id": 11, "value": 3, "target": 2, "higher_is_better": False,
             "met_target": True},
            {"kpi_id": 12, "value": None},
        ]
    }  # fmt: skip
    assert figures.kpi_reports(content) == (
        KpiReport(10, 99.7, KpiOutcome.WITHIN, 99.9, 99.5, True),
        KpiReport(11, 3.0, KpiOutcome.MET, 2, None, False),
    )
    assert figures.kpi_reports({}) == ()
