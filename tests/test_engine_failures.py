"""Slack fails in the ways it does; no job is lost, no refused call is doubled, and the leads
are told once per cause."""

from __future__ import annotations

import itertools

import pytest
from conftest import ACME, LEAD, VENDOR
from engine_flows import dms_to, jobs_of, posted_in, schedule, tick, utc
from flows import create_engagement, text_of

from bot.platform import clock

CREATED = utc(2026, 11, 25, 10, 0)
MON = utc(2026, 11, 30, 8, 0)


def setup(cadence, **values):
    with clock.fixed_at(CREATED):
        create_engagement(cadence, vendor_contacts=[VENDOR])
    return schedule(cadence, CREATED, **values)


def prompt_job(cadence):
    (job,) = [j for j in jobs_of(cadence, "prompt") if j.user_id == VENDOR]
    return job


@pytest.mark.slow  # a 429 waited out
def test_a_rate_limit_is_waited_out_and_the_message_sent_once(cadence, monkeypatch):
    setup(cadence)
    cadence.fake.rate_limit("chat.postMessage", retry_after=1)
    tick(cadence, monkeypatch, MON)
    calls = [c for c in cadence.fake.calls_to("chat.postMessage") if c.args["channel"] == VENDOR]
    assert [c.status for c in calls] == [429, 200]
    assert calls[1].at - calls[0].at >= 0.9  # Retry-After honoured
    assert len(dms_to(cadence, VENDOR)) == 1
    assert prompt_job(cadence).status == "sent"


@pytest.mark.slow  # Slack failing, retries waited out
def test_server_errors_that_persist_leave_the_job_for_a_later_pass(cadence, monkeypatch):
    setup(cadence)
    cadence.fake.server_error("chat.postMessage", status=503, times=3)  # more than the retries
    lines = tick(cadence, monkeypatch, MON)
    job = prompt_job(cadence)
    assert job.status == "pending" and job.attempts == 1 and "503" in (job.error or "")
    assert job.due_at > MON
    assert any("will be retried" in line for line in lines)
    assert dms_to(cadence, VENDOR) == []
    tick(cadence, monkeypatch, utc(2026, 11, 30, 8, 1))
    assert len(dms_to(cadence, VENDOR)) == 1
    assert prompt_job(cadence).status == "sent"


def test_a_permanent_error_stops_the_job_and_the_leads_hear_once(cadence, monkeypatch):
    setup(cadence, delivery="channel")
    cadence.fake.kick(ACME)  # someone removed Cadence from the channel
    tick(cadence, monkeypatch, MON)
    (prompt,) = jobs_of(cadence, "prompt")
    assert (prompt.status, prompt.error) == ("failed", "not_in_channel")
    notices = [m for m in dms_to(cadence, LEAD) if "could not deliver" in text_of(m)]
    assert len(notices) == 1 and "/invite @Cadence" in text_of(notices[0])
    # The reminder fails for the same cause: the job stops, the lead is not told again.
    tick(cadence, monkeypatch, utc(2026, 12, 1, 8, 0))
    (reminder,) = jobs_of(cadence, "reminder")
    assert (reminder.status, reminder.error) == ("failed", "not_in_channel")
    assert len([m for m in dms_to(cadence, LEAD) if "could not deliver" in text_of(m)]) == 1
    assert not [m for m in posted_in(cadence, ACME) if "Time for" in text_of(m)]


@pytest.mark.slow  # the channel's pace waited out
def test_messages_to_one_channel_are_paced(cadence, monkeypatch):
    from conftest import EXTERNAL, LEAD2

    with clock.fixed_at(CREATED):
        create_engagement(cadence, vendor_contacts=[VENDOR, LEAD2, EXTERNAL])
    schedule(cadence, CREATED, delivery="channel")
    for other in ("C0PACE1", "C0PACE2"):
        cadence.fake.add_channel(other, name=other.lower(), bot_is_member=True)
    # Three messages for one channel, planned to go at once.
    with cadence.db.session() as session:
        from storage import jobs

        for n in range(3):
            jobs.plan(
                session,
                team_id="T0CADENCE",
                key=f"test-message:{n}",
                kind="message",
                due_at=MON,
                now=MON,
                payload={"channel": "C0PACE1", "message": {"text": f"message {n}"}},
            )
    tick(cadence, monkeypatch, MON, pace="0.5")
    times = [
        c.at for c in cadence.fake.calls_to("chat.postMessage") if c.args["channel"] == "C0PACE1"
    ]
    assert len(times) == 3
    assert all(later - earlier >= 0.45 for earlier, later in itertools.pairwise(times))


@pytest.mark.slow  # Slack unreachable, retries waited out
def test_connection_errors_leave_the_job_for_a_later_pass(cadence, monkeypatch):
    import socket

    setup(cadence)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}/api/"
    lines = tick(cadence, monkeypatch, MON, SLACK_API_URL=closed)
    job = prompt_job(cadence)
    assert job.status == "pending" and "connection" in (job.error or "")
    assert any("will be retried" in line for line in lines)
    tick(cadence, monkeypatch, utc(2026, 11, 30, 8, 1))
    assert len(dms_to(cadence, VENDOR)) == 1
    assert prompt_job(cadence).status == "sent"


def test_a_cadence_that_cannot_be_planned_does_not_block_the_others(cadence, monkeypatch):
    from engine_flows import checkins_of, schedule

    first = setup(cadence)
    second = schedule(cadence, CREATED, rule_local_time="09:30")
    with cadence.db.session() as session:  # a row damaged by hand in the database
        broken = session.get(type(first), first.id)
        broken.rule = "FREQ=SOMETIMES"
        session.add(broken)
    lines = tick(cadence, monkeypatch, utc(2026, 11, 30, 8, 30))
    assert any(f"cadence {first.id} could not be planned" in line for line in lines)
    assert [c.cadence_id for c in checkins_of(cadence)] == [second.id]
    with cadence.db.read_session() as session:
        assert session.get(type(first), first.id).next_run_at == utc(2026, 11, 30, 9, 30)
