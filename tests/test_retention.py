"""Retention: a steward sets how long answers and audit events are kept (`/cadence retention`,
audited; default forever), and each pass deletes what is past it in batches, saying what it
deleted and how much of it was inside the digest's trend window; trimming audit events keeps
`audit verify` intact. Driven through signed requests and `python -m bot tick --now`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from conftest import ADMIN, LEAD, STAKEHOLDER, TEAM, VENDOR
from engine_flows import tick
from flows import create_engagement
from sqlmodel import select
from test_answers import good_update, run_command, told
from test_audit_chain import verify
from test_authorization import resolve
from test_concerns import raise_by_command, the_concern

from bot.domain import audit, retention
from bot.platform import clock
from storage.models import AuditChainHead, AuditEvent, Concern, Feedback, StatusUpdate

NOW = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


def days_ago(n: int) -> datetime:
    return NOW - timedelta(days=n)


def said(cadence, text: str, user: str = ADMIN) -> str:
    reply = cadence.sim.command(text, user=user)
    assert reply.status == 200, reply.body
    return told(cadence, reply)


def update_at(cadence, when: datetime, summary: str) -> None:
    with clock.fixed_at(when):
        view = run_command(cadence, "update acme-payments", user=VENDOR)
        reply = cadence.sim.submit_view(view, good_update(cadence, summary=summary), user=VENDOR)
        assert reply.status == 200 and "errors" not in (reply.json or {}), reply.body


def feedback_at(cadence, when: datetime, comment: str) -> None:
    with clock.fixed_at(when):
        view = run_command(cadence, "feedback acme-payments", user=STAKEHOLDER)
        ratings = {"communication": "4", "quality": "4", "timeliness": "4", "overall": "4"}
        reply = cadence.sim.submit_view(view, {**ratings, "comment": comment}, user=STAKEHOLDER)
        assert reply.status == 200, reply.body


def resolved_concern_at(cadence, when: datetime) -> int:
    with clock.fixed_at(when):
        raise_by_command(
            cadence, "concern acme-payments VPN keys shared by email",
            {"severity": "high", "category": "security", "description": "Seen in #ops."},
            user=STAKEHOLDER,
        )  # fmt: skip
        concern = cadence.wait_until(
            lambda: (c := the_concern(cadence)) and c.message_ts and c, what="the card"
        )
        resolve(cadence, concern.id)
    return concern.id


def summaries(cadence, model, column) -> list[str]:
    with cadence.db.read_session() as session:
        return sorted(session.exec(select(column).select_from(model)).all())


def test_the_default_is_forever_and_said_so(cadence):
    text = said(cadence, "retention", user=VENDOR)
    assert "Audit events: kept forever (the default)" in text
    assert "resolved concerns: kept forever (the default)" in text


def test_a_setting_out_of_range_is_refused_and_nothing_changes(cadence):
    for typed, fix in (
        ("retention answers 3", "from 7 to 36500"),
        ("retention answers soon", "from 7 to 36500"),
        ("retention everything 30", "`answers` or `audit`"),
    ):
        assert fix in said(cadence, typed)
    assert "Only a Cadence admin or a Slack admin or owner" in said(
        cadence, "retention answers 30", user=LEAD
    )
    with cadence.db.read_session() as session:
        assert session.exec(select(AuditEvent).where(AuditEvent.action == "retention")).all() == []
    assert "kept forever (the default)" in said(cadence, "retention")


def test_each_pass_deletes_what_is_past_the_setting_and_says_what(cadence, monkeypatch):
    with clock.fixed_at(days_ago(420)):
        create_engagement(cadence, stakeholders=[STAKEHOLDER])
    update_at(cadence, days_ago(400), "Four hundred days ago")
    update_at(cadence, days_ago(100), "A hundred days ago")
    update_at(cadence, days_ago(20), "Twenty days ago")
    feedback_at(cadence, days_ago(390), "Old comment")
    feedback_at(cadence, days_ago(10), "Recent comment")
    old_concern = resolved_concern_at(cadence, days_ago(380))

    # Forever (the default): a pass deletes nothing and plans no retention job.
    lines = tick(cadence, monkeypatch, NOW)
    assert not [line for line in lines if "retention" in line]

    # A year: what is older goes, nothing inside the trend window.
    with clock.fixed_at(NOW):
        text = said(cadence, "retention answers 365")
    assert "Saved." in text and "kept 365 days" in text and "trends" not in text
    lines = tick(cadence, monkeypatch, NOW)
    (done,) = [line for line in lines if "retention of T0CADENCE, batch 1" in line]
    assert "deleted 1 status updates, 1 feedback, 1 resolved concerns" in done
    assert "trend window" not in done
    assert summaries(cadence, StatusUpdate, StatusUpdate.summary) == [
        "A hundred days ago",
        "Twenty days ago",
    ]
    assert summaries(cadence, Feedback, Feedback.comment) == ["Recent comment"]
    with cadence.db.read_session() as session:
        assert session.get(Concern, old_concern) is None
        audited = session.exec(
            select(AuditEvent).where(AuditEvent.action == "retention").order_by(AuditEvent.id)
        ).all()
    assert audited[0].actor_user_id == ADMIN
    assert audited[0].after == {"retention_days": 365} and audited[0].before == {
        "retention_days": None
    }
    assert audited[1].actor_user_id == retention.ACTOR
    assert audited[1].after["deleted"] == {
        "status updates": 1, "feedback": 1, "resolved concerns": 1,
    }  # fmt: skip

    # A second pass the same day plans nothing more.
    assert not [line for line in tick(cadence, monkeypatch, NOW) if "retention" in line]

    # A week, shorter than the trend window: said when chosen, and counted when deleted.
    with clock.fixed_at(NOW):
        text = said(cadence, "retention answers 7")
    assert "shorter than the digest's 8-week trends" in text
    lines = tick(cadence, monkeypatch, NOW + timedelta(days=1))
    (done,) = [line for line in lines if "retention of T0CADENCE, batch 1" in line]
    assert "deleted 2 status updates, 1 feedback" in done
    assert "(2 of them inside the digest's 8-week trend window: its figures change)" in done
    assert summaries(cadence, StatusUpdate, StatusUpdate.summary) == []


def test_audit_events_are_cut_from_the_chains_start_and_it_still_verifies(
    cadence, monkeypatch, database_url
):
    with clock.fixed_at(days_ago(420)):
        create_engagement(cadence)
    update_at(cadence, days_ago(400), "Old")  # audits nothing, but is past the answers' limit
    with cadence.db.read_session() as session:
        old_events = session.exec(select(AuditEvent).where(AuditEvent.team_id == TEAM)).all()
    assert old_events and all(e.at < days_ago(365) for e in old_events)
    with clock.fixed_at(NOW):
        assert "Audit events: kept 365 days" in said(cadence, "retention audit 365")

    lines = tick(cadence, monkeypatch, NOW)
    (done,) = [line for line in lines if "retention of T0CADENCE, batch 1" in line]
    assert f"deleted {len(old_events)} audit events" in done
    assert "status updates" not in done  # answers are kept forever still
    with cadence.db.read_session() as session:
        head = session.get(AuditChainHead, TEAM)
        kept = session.exec(
            select(AuditEvent).where(AuditEvent.team_id == TEAM).order_by(AuditEvent.seq)
        ).all()
    assert head.first_seq == len(old_events) + 1 == kept[0].seq
    assert head.start_hash == old_events[-1].hash and head.trimmed_at == NOW
    status, out = verify(monkeypatch, database_url)
    assert status == 0 and f"intact, {len(kept)} events" in out


def test_a_batch_deletes_at_most_its_size_and_says_there_is_more(cadence):
    with clock.fixed_at(days_ago(420)):
        create_engagement(cadence)
    for n in range(3):
        update_at(cadence, days_ago(400 - n), f"Update {n}")
    setting = retention.Setting(answers_days=30, audit_days=30)
    rounds = []
    while True:
        with cadence.db.session() as session:
            purged = retention.purge(session, team_id=TEAM, setting=setting, now=NOW, batch=2)
        rounds.append((purged.counts, purged.more))
        if not purged.more:
            break
    assert rounds[0] == ({"status updates": 2, "audit events": 1}, True)  # one: its creation
    assert summaries(cadence, StatusUpdate, StatusUpdate.summary) == []
    assert len(rounds) >= 2 and not rounds[-1][1]


def test_a_pass_runs_batch_after_batch_until_nothing_is_past(cadence, monkeypatch, database_url):
    """510 audit events past a 30-day limit: the pass's first batch deletes 500 and plans the
    next, which the same pass runs; the chain still verifies."""
    with cadence.db.session() as session:
        for n in range(retention.BATCH + 10):
            audit.record(
                session=session, team_id=TEAM, actor=LEAD, entity_type="engagement",
                entity_id=n, action="update", now=days_ago(100), after={"n": n},
            )  # fmt: skip
    with clock.fixed_at(NOW):
        said(cadence, "retention audit 30")

    lines = tick(cadence, monkeypatch, NOW)
    done = [line for line in lines if "retention of T0CADENCE, batch" in line]
    assert len(done) == 2, lines
    assert "batch 1: deleted 500 audit events; more in the next batch" in done[0]
    assert "batch 2: deleted 10 audit events" in done[1] and "more" not in done[1]
    status, out = verify(monkeypatch, database_url)
    assert status == 0, out
