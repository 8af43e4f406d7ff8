"""One path for every message: what a request causes is a job written with the change, sent at
once by the engine's runner, and delivered by a later pass when the process dies first. And a
request that Slack retries acts once."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import urllib.parse
import urllib.request
from datetime import timedelta

import pytest
from conftest import ACME, LEAD, SIGNING_SECRET, TEAM, VENDOR, Cadence
from engine_flows import WEEKLY_MONDAY, checkins_of, jobs_of, posted_in, schedule, tick, utc
from flows import GOOD_FORM, count, create_engagement, open_form, text_of
from slack_requests import SlackSim, build_view_submission, sign
from sqlmodel import select
from test_cli_and_serving import free_port, slack_env
from waiting import wait_until

from bot.engine import job_kinds
from bot.platform import clock
from storage.db import Database
from storage.jobs import JobKind
from storage.models import Cadence as CadenceRow
from storage.models import Engagement, ScheduledJob, SlackRequest, StatusUpdate

RETRY = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}


def test_every_job_kind_has_exactly_one_handler():
    """Each handler is named by `module:function` and imported when first asked for: each
    must import and be a function."""
    assert set(job_kinds.KINDS) == set(JobKind)
    for kind, handler in job_kinds.KINDS.items():
        assert (handler.builds_message is None) != (handler.works_in_database is None), kind
        found = handler.works_in_database if handler.in_database else handler.builds_message
        assert callable(found), kind
        assert found.__name__ == handler.where.split(":")[1], kind
    assert job_kinds.handler_for("no_such_kind") is None


# --- the outbox ----------------------------------------------------------------------------------


def test_a_welcome_is_a_job_sent_at_once_with_its_metadata(cadence: Cadence):
    create_engagement(cadence)
    (welcome,) = jobs_of(cadence, JobKind.WELCOME)
    assert welcome.status == "sent" and welcome.result_channel == ACME and welcome.result_ts
    posted = cadence.fake.message(ACME, welcome.result_ts)
    assert "Cadence now keeps *Acme Payments*" in text_of(posted)
    assert posted["metadata"]["event_payload"]["job"] == welcome.key
    # The lead's notice is a job of its own, planned when the welcome went out.
    notices = cadence.wait_until(
        lambda: [
            j
            for j in jobs_of(cadence, JobKind.MESSAGE)
            if j.key.startswith(welcome.key) and j.status == "sent"
        ],
        what="the lead's notice to be recorded as sent",
    )
    assert len(notices) == 1 and notices[0].user_id == LEAD


@pytest.mark.slow  # Slack refusing, retries waited out
def test_a_message_slack_refuses_for_now_is_sent_by_the_next_pass(cadence: Cadence, monkeypatch):
    # Slack answers 503 to the first try and both of slack_sdk's retries of the welcome.
    cadence.fake.server_error("chat.postMessage", status=503, times=3)
    with clock.fixed_at(utc(2026, 11, 27, 10, 0)):
        create_engagement_without_waiting(cadence)
    welcome = wait_until(
        lambda: [j for j in jobs_of(cadence, JobKind.WELCOME) if j.status == "pending" and j.error],
        10,
        "the welcome to wait for a retry",
    )[0]
    assert "503" in (welcome.error or "")
    assert not posted_in(cadence, ACME)
    tick(cadence, monkeypatch, utc(2026, 11, 27, 11, 0))
    assert len([m for m in posted_in(cadence, ACME) if "Cadence now keeps" in text_of(m)]) == 1
    assert [j.status for j in jobs_of(cadence, JobKind.WELCOME)] == ["sent"]


def create_engagement_without_waiting(cadence: Cadence) -> None:
    view = open_form(cadence)
    reply = cadence.sim.submit_view(view, GOOD_FORM)
    assert reply.status == 200 and reply.body == "", reply.body


@pytest.mark.slow
@pytest.mark.parametrize("reaches_slack", [False, True], ids=["lost", "taken"])
def test_a_crash_between_the_save_and_its_slack_call_loses_no_message(
    tmp_path, fake_slack, sqlite_url, reaches_slack
):
    """The process that saved the engagement dies while its welcome is on the wire. Slack never
    got it: once the lease has expired, a pass delivers it, once. Slack took it but the answer
    was lost: the pass finds it by its metadata and does not post it again."""
    port = free_port()
    env = slack_env(fake_slack, sqlite_url, port, CADENCE_TICK_SECONDS="3600")
    fake_slack.hold("chat.postMessage", reaches_slack=reaches_slack)
    server = subprocess.Popen(
        [sys.executable, "-m", "bot"], cwd=tmp_path, env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: _up(url, server), 30, "the server to come up", interval=0.05)
        sim = SlackSim(url, fake_slack, SIGNING_SECRET, team_id=TEAM)
        view = _engagement_form(sim, fake_slack)
        assert sim.submit_view(view, GOOD_FORM, user=LEAD).body == ""
        wait_until(lambda: fake_slack.held, 10, "the welcome to be on its way to Slack")
    finally:  # the machine dies: gunicorn's master and its worker at once
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=10)
    fake_slack.release("chat.postMessage")
    if reaches_slack:
        wait_until(lambda: fake_slack.messages(ACME), 10, "Slack to take the welcome")
    else:
        assert not fake_slack.messages(ACME)  # the welcome never reached Slack

    database = Database.from_url(sqlite_url)
    with database.read_session() as session:
        engagement = session.exec(select(Engagement)).one()
        (welcome,) = session.exec(select(ScheduledJob).where(ScheduledJob.kind == "welcome"))
    assert engagement.name == "Acme Payments" and welcome.status == "claimed"

    # A pass within the lease leaves it alone (the dead process might still be sending) …
    now = clock.now()
    run_tick(tmp_path, env, now + timedelta(minutes=1))
    assert len(fake_slack.messages(ACME)) == int(reaches_slack)
    # … and after it, delivers it and the lead's notice, once each.
    run_tick(tmp_path, env, now + timedelta(minutes=6))
    run_tick(tmp_path, env, now + timedelta(minutes=7))
    welcomes = [m for m in fake_slack.messages(ACME) if "Cadence now keeps" in text_of(m)]
    assert len(welcomes) == 1
    notices = [
        c for c in fake_slack.calls_to("chat.postMessage")
        if c.ok and c.args.get("channel") == LEAD and "is set up" in text_of(c.args)
    ]  # fmt: skip
    assert len(notices) == 1
    with database.read_session() as session:
        (welcome,) = session.exec(select(ScheduledJob).where(ScheduledJob.kind == "welcome"))
    assert (welcome.status, welcome.result_ts) == ("sent", welcomes[0]["ts"])
    database.dispose()


def _up(url: str, server: subprocess.Popen) -> bool:
    if server.poll() is not None:
        raise AssertionError(f"the server exited with {server.returncode}")
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


def _engagement_form(sim: SlackSim, fake) -> dict:
    """`/cadence engagement new`, and the form once the time zone is filled in."""
    assert sim.command("engagement new", user=LEAD).status == 200
    view_id = fake.wait_for("views.open")[-1].response["view"]["id"]
    wait_until(
        lambda: any(c.args.get("view_id") == view_id for c in fake.calls_to("views.update")),
        10,
        "the time zone to be filled in",
    )
    return fake.view(view_id)


def run_tick(cwd, env, at) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "tick", "--now", at.isoformat()],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


# --- a retried request acts once -----------------------------------------------------------------


def post_twice(cadence: Cadence, body: str, *, at_once: bool = False):
    """Slack's delivery and its retry: the same signed body, the second with X-Slack-Retry-Num."""
    headers = sign(body, SIGNING_SECRET)
    if not at_once:
        first = cadence.sim.raw_post(body, headers)
        second = cadence.sim.raw_post(body, {**headers, **RETRY})
        return first, second
    replies: list = [None, None]

    def send(i: int, extra: dict) -> None:
        replies[i] = cadence.sim.raw_post(body, {**headers, **extra})

    threads = [threading.Thread(target=send, args=(0, {})), threading.Thread(target=send, args=(1, RETRY))]  # fmt: skip
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return replies


def submission_body(cadence: Cadence, view: dict, values: dict, user: str = LEAD) -> str:
    payload = build_view_submission(
        view,
        values,
        user=user,
        trigger_id=cadence.fake.new_trigger_id(view_id=view.get("id")),
        team_id=TEAM,
        team_domain="acme",
        api_app_id=cadence.fake.app_id,
        fake=cadence.fake,
    )
    return urllib.parse.urlencode({"payload": json.dumps(payload)})


@pytest.mark.parametrize("at_once", [False, True], ids=["after", "concurrent"])
def test_a_retried_schedule_form_creates_one_cadence(cadence: Cadence, at_once: bool):
    create_engagement(cadence)
    with clock.fixed_at(utc(2026, 11, 27, 10, 0)):
        view = open_form(cadence, "schedule acme-payments")
        replies = post_twice(
            cadence, submission_body(cadence, view, WEEKLY_MONDAY), at_once=at_once
        )
    assert [r.status for r in replies] == [200, 200]
    assert all("errors" not in (r.json or {}) for r in replies), [r.body for r in replies]
    assert count(cadence, CadenceRow) == 1
    confirmations = cadence.wait_until(
        lambda: [m for m in dms(cadence, LEAD) if "Added cadence #" in m], what="the confirmation"
    )
    assert len(confirmations) == 1


def test_a_retried_skip_skips_one_occurrence(cadence: Cadence, monkeypatch):
    create_engagement(cadence)
    cadence_row = schedule(cadence, utc(2026, 11, 27, 10, 0))
    fields = {
        "token": "verification",
        "team_id": TEAM,
        "team_domain": "acme",
        "channel_id": "C0GENERAL",
        "channel_name": "general",
        "user_id": LEAD,
        "user_name": "lena.lead",
        "command": "/cadence",
        "text": f"skip {cadence_row.id}",
        "api_app_id": cadence.fake.app_id,
        "response_url": cadence.fake.response_url("skip-1"),
        "trigger_id": cadence.fake.new_trigger_id(),
    }
    with clock.fixed_at(utc(2026, 11, 27, 10, 5)):
        first, second = post_twice(cadence, urllib.parse.urlencode(fields))
    assert (first.status, second.status) == (200, 200)
    cadence.wait_until(lambda: checkins_of(cadence), what="the skipped occurrence")
    skipped = [c for c in checkins_of(cadence) if c.status == "skipped"]
    assert [c.occurrence_key for c in skipped] == ["2026-11-30T09:00"]
    with cadence.db.read_session() as session:
        stored = session.get(CadenceRow, cadence_row.id)
    assert stored.next_slot == "2026-12-07T09:00"  # one week on, not two


def test_a_retried_ad_hoc_update_posts_once(cadence: Cadence):
    create_engagement(cadence)
    before = len(cadence.fake.calls_to("views.open"))
    reply = cadence.sim.command("update acme-payments", user=VENDOR)
    assert reply.status == 200
    opened = cadence.fake.wait_for("views.open", count=before + 1)[-1]
    view = cadence.fake.view(opened.response["view"]["id"])
    values = {"rag": "green", "summary": "All on plan."}
    replies = post_twice(cadence, submission_body(cadence, view, values, user=VENDOR))
    assert [r.body for r in replies] == ["", ""]  # the retry closes the form too
    assert count(cadence, StatusUpdate) == 1
    cadence.wait_until(
        lambda: [j for j in jobs_of(cadence, JobKind.UPDATE_SUMMARY) if j.status == "sent"],
        what="the summary",
    )
    summaries = [m for m in posted_in(cadence, ACME) if "All on plan." in text_of(m)]
    assert len(summaries) == 1


def dms(cadence: Cadence, user_id: str) -> list[str]:
    return [
        text_of(c.args)
        for c in cadence.fake.calls_to("chat.postMessage")
        if c.ok and c.args.get("channel") == user_id
    ]


def test_deliveries_are_remembered_for_a_day_then_let_go(cadence: Cadence, monkeypatch):
    with clock.fixed_at(utc(2026, 11, 27, 10, 0)):
        create_engagement(cadence)
    assert count(cadence, SlackRequest) == 1  # the engagement form's submission
    tick(cadence, monkeypatch, utc(2026, 11, 27, 12, 0))
    assert count(cadence, SlackRequest) == 1
    tick(cadence, monkeypatch, utc(2026, 11, 28, 10, 1))
    assert count(cadence, SlackRequest) == 0
