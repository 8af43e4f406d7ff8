"""Cadence under faults (issue 10, item 6), shortened for CI; `bench/faults.py` runs them long.

- The database away or hanging while people use Slack: every request is answered within Slack's
  3 s, a form stays open with "could not save, try again" and keeps what was typed, and the
  same form saves once the database is back.
- The same request delivered twice by Slack (X-Slack-Retry-Num) acts once: a command, a button,
  a submission.
- The fake Slack failing one call in five (429, 5xx, timeouts, dropped connections, some after
  Slack took the message) through a month of ticks: every scheduled message once in the end.
- The worker SIGKILLed at random points: nothing lost, duplicates counted (at most one a kill).
- A PostgreSQL of the test's own, stopped then frozen, and a SQLite file locked by another
  writer: requests answered in time, `/healthz` says so within 1 s, the worker waits and
  recovers without a restart, nothing half written.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import random
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from wsgiref.simple_server import make_server

import pytest
from conftest import (
    ACME,
    ADMIN,
    BOT_TOKEN,
    HANG_BOUND_S,
    LEAD,
    SIGNING_SECRET,
    TEAM,
    Cadence,
    _QuietHandler,
    _ThreadingWSGIServer,
    in_ci,
    make_settings,
)
from conftest import serving as serving_app
from engine_flows import jobs_of, messages_per_job, schedule, tick, utc
from flows import GOOD_FORM, count, create_engagement, find_engagement, open_form, text_of
from slack_requests import SlackSim, build_block_action, find_element
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import select
from test_cli_and_serving import ROOT, clean_env
from test_engine_processes import tick_process
from test_outbox import post_twice, submission_body
from waiting import wait_until

from bot.demo.fake_slack import FakeSlack
from bot.entry.wsgi import CadenceWSGI
from bot.platform import clock
from bot.platform import slack as slack_platform
from bot.platform.services import Services
from storage import jobs as jobs_module
from storage import migrate
from storage.db import REQUEST_SECONDS, Database
from storage.models import AuditEvent, AwayPeriod, Engagement, EngagementMember

# Answers must come while the database is still out (a request that waited for it would hang);
# that they come within Slack's 3 s and /healthz within 1 s, bench/faults.py measures.
IN_TIME_S = HANG_BOUND_S
LOCKED_TABLES = "slackrequest, engagement, awayperiod, auditevent"
TODAY = utc(2026, 11, 25, 10, 0)


@pytest.fixture(autouse=True)
def slack_rate_tiers(fake_slack: FakeSlack) -> None:
    """Every fault run meets Slack's rate tiers (bot/demo/fake_slack/tiers.py) besides the
    faults it injects."""
    fake_slack.rate_tiers = True


# --- the database away or hanging, seen from Slack ---------------------------------------------


@pytest.fixture
def deadline_app(fake_slack: FakeSlack, db: Database, database_url: str) -> Iterator[Cadence]:
    """The app as production serves it, a request's database work within Slack's 2 s
    (conftest's `cadence` gives a loaded machine more): what a held database does to a request."""
    with serving_app(
        Services(settings=make_settings(database_url, fake_slack), db=db), fake_slack
    ) as app:
        yield app


@contextmanager
def database_held(cadence: Cadence) -> Iterator[None]:
    """Another process holds the database: on SQLite a writer's exclusive transaction, on
    PostgreSQL an ACCESS EXCLUSIVE lock on the tables requests use (every statement waits)."""
    assert cadence.services.request_seconds == REQUEST_SECONDS, "serve it with `deadline_app`"
    url = make_url(cadence.services.settings.database_url)
    if url.get_backend_name() == "sqlite":
        with closing(sqlite3.connect(url.database, isolation_level=None)) as holder:
            holder.execute("BEGIN EXCLUSIVE")
            try:
                yield
            finally:
                holder.execute("ROLLBACK")
        return
    engine = create_engine(url)
    try:
        with engine.begin() as holder:
            holder.execute(text(f"LOCK TABLE {LOCKED_TABLES} IN ACCESS EXCLUSIVE MODE"))
            yield
    finally:
        engine.dispose()


def apology_after(cadence: Cadence, reply, started: float) -> tuple[str, float]:
    """The text the person got for `reply` (inline or through its response_url) and when."""
    if reply.json and reply.json.get("text"):
        return reply.json["text"], reply.elapsed
    got = cadence.wait_until(
        lambda: [r for r in cadence.fake.responses if reply.response_url.endswith("/" + r.name)],
        timeout=5,
        what="an answer through the response_url",
    )[-1]
    return text_of(got.body), got.at - started


@pytest.mark.slow  # the database held
def test_a_form_submitted_while_the_database_is_held_stays_open_and_saves_later(deadline_app):
    view = open_form(deadline_app)
    typed = {**GOOD_FORM, "name": "Kept Typing"}
    with database_held(deadline_app):
        reply = deadline_app.sim.submit_view(view, typed)
    assert reply.status == 200 and reply.elapsed < IN_TIME_S, reply.elapsed
    assert reply.json["response_action"] == "errors", reply.body
    (message,) = reply.json["errors"].values()
    assert "Could not save" in message and "try again" in message
    assert find_engagement(deadline_app, "Kept Typing") is None  # nothing half written
    # The form is still open with what was typed; submitting it again saves it, once.
    again = deadline_app.sim.submit_view(view, typed)
    assert again.json is None or "errors" not in again.json, again.body
    assert find_engagement(deadline_app, "Kept Typing") is not None
    assert count(deadline_app, Engagement) == 1


@pytest.mark.slow  # the database held
def test_a_command_that_writes_gets_an_apology_in_time(deadline_app):
    with database_held(deadline_app), clock.fixed_at(TODAY):
        started = time.time()
        reply = deadline_app.sim.command("away 2026-12-01 2026-12-05")
        said, at = apology_after(deadline_app, reply, started)
    assert reply.status == 200 and reply.elapsed < IN_TIME_S, reply.elapsed
    assert at < IN_TIME_S, at
    assert "did not answer in time" in said and "try again" in said
    assert count(deadline_app, AwayPeriod) == 0
    # The database back, the same command works without a restart.
    with clock.fixed_at(TODAY):
        reply = deadline_app.sim.command("away 2026-12-01 2026-12-05")
    assert "You are away" in text_of(reply.json or {}), reply.body
    assert count(deadline_app, AwayPeriod) == 1


def test_a_command_that_reads_gets_an_apology_or_its_answer_in_time(deadline_app):
    create_engagement(deadline_app)
    with database_held(deadline_app):
        started = time.time()
        reply = deadline_app.sim.command("engagement list")
        said, at = apology_after(deadline_app, reply, started)
    assert reply.status == 200 and reply.elapsed < IN_TIME_S, reply.elapsed
    assert at < IN_TIME_S, at
    if deadline_app.db.is_sqlite:  # WAL: readers do not wait for a writer, so the list comes
        assert "Acme Payments" in said
    else:
        assert "did not answer in time" in said


@pytest.mark.slow  # the database held
def test_a_button_that_writes_gets_an_apology_in_time(deadline_app):
    create_engagement(deadline_app)
    reply = deadline_app.sim.command("engagement archive acme-payments")
    confirmation = deadline_app.wait_until(
        lambda: [
            r.body for r in deadline_app.fake.responses if reply.response_url.endswith(r.name)
        ],
        what="the confirmation",
    )[-1]
    with database_held(deadline_app):
        started = time.time()
        click = deadline_app.sim.click(confirmation, "engagement_archive_confirm", user=LEAD)
        said, at = apology_after(deadline_app, click, started)
    assert click.status == 200 and click.elapsed < IN_TIME_S
    assert at < IN_TIME_S, at
    assert "did not answer in time" in said
    assert find_engagement(deadline_app, "Acme Payments").archived_at is None


# --- the same request twice (X-Slack-Retry-Num) --------------------------------------------------


def click_body(cadence: Cadence, message: dict[str, Any], action_id: str) -> str:
    """A block_actions body for clicking `action_id` in an ephemeral message the app sent."""
    block, element = find_element(message, action_id)
    payload = {
        "type": "block_actions",
        "user": {"id": LEAD, "username": "lena.lead", "name": "lena.lead", "team_id": TEAM},
        "api_app_id": cadence.fake.app_id,
        "token": "verification",
        "team": {"id": TEAM, "domain": "acme"},
        "container": {"type": "message", "message_ts": "1.000", "channel_id": "C0GENERAL",
                      "is_ephemeral": True},
        "trigger_id": cadence.fake.new_trigger_id(),
        "channel": {"id": "C0GENERAL", "name": "general"},
        "response_url": cadence.fake.response_url("retried-click"),
        "actions": [build_block_action(block, element)],
    }  # fmt: skip
    return urllib.parse.urlencode({"payload": json.dumps(payload)})


@pytest.mark.parametrize("at_once", [False, True], ids=["after", "concurrent"])
def test_a_retried_command_acts_once(cadence, at_once):
    with clock.fixed_at(TODAY):
        replies = post_twice(
            cadence, cadence.sim.command_body("away 2026-12-01 2026-12-05"), at_once=at_once
        )
    assert [r.status for r in replies] == [200, 200]
    assert sum("You are away" in text_of(r.json or {}) for r in replies) == 1
    assert count(cadence, AwayPeriod) == 1


def test_a_retried_button_acts_once(cadence, caplog):
    caplog.set_level(logging.INFO, logger="cadence.handlers")
    create_engagement(cadence)
    reply = cadence.sim.command("engagement archive acme-payments")
    confirmation = cadence.wait_until(
        lambda: [r.body for r in cadence.fake.responses if reply.response_url.endswith(r.name)],
        what="the confirmation",
    )[-1]
    replies = post_twice(cadence, click_body(cadence, confirmation, "engagement_archive_confirm"))
    assert [r.status for r in replies] == [200, 200]
    cadence.wait_until(
        lambda: any("archived" in text_of(m) for m in cadence.fake.messages(ACME)),
        what="the channel to hear about it",
    )
    with cadence.db.read_session() as session:
        archives = session.exec(select(AuditEvent).where(AuditEvent.action == "archive")).all()
    assert len(archives) == 1

    def answers() -> list[dict[str, Any]]:
        return [r.body for r in cadence.fake.responses if r.name.startswith("retried-click")]

    def retry_dealt_with() -> bool:  # acknowledged as done, or acted on: a second answer
        said = [r.getMessage() for r in caplog.records]
        told = any("a retried delivery was acted on before" in m for m in said)
        return len(answers()) >= 2 or (told and len(answers()) == 1)

    cadence.wait_until(retry_dealt_with, what="both deliveries to be dealt with")
    assert len(answers()) == 1 and "Archived" in text_of(answers()[0]), answers()


def test_a_retried_submission_creates_one_engagement(cadence):
    view = open_form(cadence)
    replies = post_twice(cadence, submission_body(cadence, view, {**GOOD_FORM, "name": "Once"}))
    assert [r.status for r in replies] == [200, 200]
    assert all("errors" not in (r.json or {}) for r in replies), [r.body for r in replies]
    assert count(cadence, Engagement) == 1
    with cadence.db.read_session() as session:
        created = session.exec(select(AuditEvent).where(AuditEvent.action == "create")).all()
    assert len(created) == 1


# --- Slack failing one call in five through a month of ticks -------------------------------------

MONDAY = utc(2026, 11, 30, 6, 0)  # before the first prompt (09:00 in Berlin)
SET_UP = utc(2026, 11, 25, 10, 0)


@dataclass
class Delivery:
    """What a run delivered, counted by the job each message names in its metadata."""

    per_job: Counter  # job key -> messages in Slack carrying it
    jobs: dict[str, str]  # job key -> status, for every message job due by the end
    faults: Counter  # fault kind -> how many the fake served

    @property
    def duplicates(self) -> dict[str, int]:
        return {key: n for key, n in self.per_job.items() if n > 1}

    @property
    def lost(self) -> list[str]:
        """Jobs that did not end sent (or that are sent without their message in Slack)."""
        return sorted(
            key
            for key, status in self.jobs.items()
            if status != "sent" or (key not in self.per_job and not key.startswith("home"))
        )

    def line(self) -> str:
        return (
            f"{sum(self.per_job.values())} messages for {len(self.jobs)} message jobs, "
            f"{len(self.duplicates)} duplicated, {len(self.lost)} lost; faults served: "
            + ", ".join(f"{kind} {n}" for kind, n in sorted(self.faults.items()))
        )


def vendors(n: int) -> list[str]:
    return [f"U0VF{i:04d}" for i in range(n)]


def set_up_weekly_checkins(cadence: Cadence, people: int, weekdays: tuple[int, ...] = (0,)) -> None:
    """An engagement with `people` vendor contacts and a check-in on `weekdays` (DMs, a
    reminder, an overdue alert and an escalation each time nobody answers), made through Slack."""
    for user in vendors(people):
        cadence.fake.add_user(user, name=user.lower(), tz="Asia/Kolkata")
    with clock.fixed_at(SET_UP):
        create_engagement(cadence, vendor_contacts=vendors(people))
    schedule(cadence, SET_UP, rule_weekdays=[str(d) for d in weekdays])


def delivered(cadence: Cadence, until: datetime) -> Delivery:
    """Messages in Slack by job, and the status of every message job due by `until`."""
    per_job = messages_per_job(cadence.fake)
    jobs = {
        j.key: j.status
        for j in jobs_of(cadence)
        if j.kind not in ("overdue", "escalate", "missed_summary", "digest", "home", "welcome")
        and j.status != "cancelled"
        and not (j.status == "pending" and j.due_at > until)
    }
    return Delivery(per_job, jobs, Counter(kind for _, kind in cadence.fake.injected))


def settle(cadence: Cadence, tick: Callable[[datetime], object], at: datetime) -> datetime:
    """Tick on until nothing is left to send (backoffs are at most an hour, leases 5 minutes)."""
    for _ in range(12):
        at += timedelta(hours=2)
        tick(at)
        if not [
            j for j in jobs_of(cadence) if j.status in ("pending", "claimed") and j.due_at <= at
        ]:
            break
    return at


def month_of_slack_faults(
    cadence: Cadence,
    tick: Callable[[datetime], object],
    *,
    weeks: int,
    step: timedelta,
    rate: float = 0.2,
    seed: int = 10,
    timeout_seconds: float = 1.5,
) -> Delivery:
    """Tick through `weeks` of simulated time every `step` while the fake Slack fails `rate` of
    the calls at random; then calm it and let every retry run out. The first two messages
    surely meet the worst faults: Slack takes them and the answer is lost (dropped, late), and
    the first two lookups of a message's fate lose their answer too."""
    cadence.fake.drop("chat.postMessage", reaches_slack=True)
    cadence.fake.time_out("chat.postMessage", timeout_seconds, reaches_slack=True)
    cadence.fake.drop("conversations.history", times=2)
    cadence.fake.chaos(rate, seed=seed, timeout_seconds=timeout_seconds)
    at, end = MONDAY, MONDAY + timedelta(weeks=weeks)
    while at < end:
        tick(at)
        at += step
    cadence.fake.calm()
    return delivered(cadence, settle(cadence, tick, at))


@pytest.mark.slow
def test_a_month_of_slack_failing_one_call_in_five_delivers_every_message_once(
    cadence, monkeypatch
):
    """Nothing lost and nothing twice: a message whose answer was lost (or whose lookup
    failed) is looked for by its metadata until Slack says, and only then sent again."""
    result = slack_faults_run(cadence, monkeypatch)
    assert sum(result.faults.values()) >= 5, result.faults  # the faults did happen
    assert result.faults["drop_after"] + result.faults["timeout_after"] >= 2, result.faults
    assert len(result.jobs) >= 8 * 2 * 2  # prompts and reminders, at least
    assert result.lost == [], (result.line(), {k: result.jobs[k] for k in result.lost})
    assert result.duplicates == {}, result.line()


def slack_faults_run(cadence: Cadence, monkeypatch) -> Delivery:
    # The client gives up after 1 s here (15 s in production), so a late answer costs 1.5 s.
    monkeypatch.setattr(slack_platform, "SLACK_TIMEOUT_SECONDS", 1)
    set_up_weekly_checkins(cadence, people=8)
    started = time.monotonic()
    result = month_of_slack_faults(
        cadence, lambda at: tick(cadence, monkeypatch, at), weeks=2, step=timedelta(hours=8)
    )
    print(f"\n{result.line()} in {time.monotonic() - started:.0f} s")
    return result


def test_a_message_whose_fate_slack_will_not_tell_waits_and_is_not_sent_again(cadence, monkeypatch):
    """A prompt's answer is lost after Slack took it, then every lookup of it loses its answer
    too, more times than a job may attempt a send: the job waits (pending, outcome unknown,
    its one send attempt all it has used) and, once Slack answers, finds it: one copy."""
    set_up_weekly_checkins(cadence, people=1)
    (vendor,) = vendors(1)
    cadence.fake.drop("chat.postMessage", reaches_slack=True)
    failing = jobs_module.MAX_ATTEMPTS + 1
    cadence.fake.drop("conversations.history", times=failing)

    def prompt() -> Any:
        (job,) = [j for j in jobs_of(cadence, "prompt") if j.user_id == vendor]
        return job

    at = MONDAY + timedelta(hours=2)  # the prompt is due (09:00 in Berlin)
    tick(cadence, monkeypatch, at)
    assert (prompt().status, prompt().attempts) == ("pending", 1)
    for lookup in range(1, failing + 1):
        at += timedelta(hours=1)  # past any backoff (at most an hour)
        tick(cadence, monkeypatch, at)
        job = prompt()
        assert (job.status, job.attempts) == ("pending", 1), (lookup, job.error)
        assert (job.error or "").startswith(f"outcome unknown: lookup {lookup} failed"), job.error
    at += timedelta(hours=1)
    tick(cadence, monkeypatch, at)
    copies = [
        m
        for m in cadence.fake.messages()
        if ((m.get("metadata") or {}).get("event_payload") or {}).get("job") == prompt().key
    ]
    assert len(copies) == 1
    assert (prompt().status, prompt().result_ts) == ("sent", copies[0]["ts"])


# --- the worker SIGKILLed at random points ---------------------------------------------------------


@dataclass
class Kills:
    delivery: Delivery
    kills: int
    points: list[str]  # where each kill landed: how many messages of its pass were out

    def line(self) -> str:
        extra = sum(n - 1 for n in self.delivery.duplicates.values())
        return (
            f"{self.kills} kills ({', '.join(self.points)}): {self.delivery.line()}; "
            f"{extra} extra copies, {extra / max(1, self.kills):.2f} per kill"
        )


def month_of_kills(
    cadence: Cadence,
    tick: Callable[[datetime], object],
    *,
    weeks: int,
    kills: int,
    seed: int = 20,
    step: timedelta = timedelta(hours=8),
    weekdays: tuple[int, ...] = (0,),
) -> Kills:
    """Tick through `weeks` every `step`; on passes that send (prompts on the check-in's
    `weekdays`, reminders the day after) run `python -m bot tick` as its own process and
    SIGKILL it at a random moment while it sends, `kills` times in all; the other passes run
    in this process."""
    rng = random.Random(seed)
    cadence.fake.delay("chat.postMessage", 0.05)  # a pass takes long enough to be caught in
    at, end = MONDAY, MONDAY + timedelta(weeks=weeks)
    sending = []
    while at < end:
        if at.hour == 14 and {at.weekday(), (at.weekday() - 1) % 7} & set(weekdays):
            sending.append(at)
        at += step
    chosen = set(rng.sample(sending, min(kills, len(sending))))
    points = []
    at = MONDAY
    while at < end:
        if at in chosen:
            points.append(kill_mid_pass(cadence, at, rng))
        else:
            tick(at)
        at += step
    cadence.fake.delay("chat.postMessage", 0)
    return Kills(delivered(cadence, settle(cadence, tick, at)), len(points), points)


def kill_mid_pass(cadence: Cadence, at: datetime, rng: random.Random) -> str:
    """Start a pass at `at` in a process of its own and SIGKILL it after it has sent a random
    number of messages (0 = while it claims); say where it was."""
    before = len(cadence.fake.calls_to("chat.postMessage"))
    target = rng.randint(0, 6)
    process = tick_process(cadence, at, CADENCE_SEND_CONCURRENCY="4")
    wait_until(
        lambda: (
            process.poll() is not None
            or len(cadence.fake.calls_to("chat.postMessage")) - before >= target
        ),
        60,
        "the pass to send its first messages",
        interval=0.01,
    )
    time.sleep(rng.uniform(0, 0.05))
    if process.poll() is not None:
        return "after its end"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    cadence.fake.drain()  # what it had sent is performed before the clock moves on
    return f"{len(cadence.fake.calls_to('chat.postMessage')) - before} out"


@pytest.mark.slow
def test_a_worker_killed_three_times_in_two_weeks_loses_nothing(cadence, monkeypatch):
    set_up_weekly_checkins(cadence, people=12)
    started = time.monotonic()
    result = month_of_kills(cadence, lambda at: tick(cadence, monkeypatch, at), weeks=2, kills=3)
    print(f"\n{result.line()} in {time.monotonic() - started:.0f} s")
    assert result.kills == 3
    assert result.delivery.lost == [], result.line()
    assert all(n <= 2 for n in result.delivery.duplicates.values()), result.line()
    assert len(result.delivery.duplicates) <= result.kills, result.line()  # at most one a kill


# --- the database away and hanging: a PostgreSQL of the test's own, and a locked SQLite ----------

PG_BIN = Path("/usr/local/bin")
AWAY_S = 5.0  # shortened for CI: bench/faults.py keeps it away 30 s
HANG_S = 5.0  # and frozen 10 s


class OwnPostgres:
    """A PostgreSQL server of the test's own (initdb in a temporary directory, its own port),
    which the test stops, starts, freezes (SIGSTOP to every process of it) and thaws."""

    def __init__(self, root: Path):
        self.data = root / "data"
        self.port = free_port()
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/cadence"

    def _as_postgres(self, *args: str) -> None:
        """Run a server tool as the postgres user (initdb refuses to run as root)."""
        command = [str(PG_BIN / args[0]), *args[1:]]
        if os.geteuid() == 0:
            command = ["runuser", "-u", "postgres", "--", *command]
        subprocess.run(command, check=True, capture_output=True, timeout=60)

    def init(self) -> None:
        self.data.parent.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.data.parent, "postgres")
        self._as_postgres("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres",
                          "--no-sync", "-E", "UTF8")  # fmt: skip
        self.start()
        admin = create_engine(
            self.url.replace("/cadence", "/postgres"), isolation_level="AUTOCOMMIT"
        )
        with admin.connect() as conn:
            conn.execute(text("CREATE DATABASE cadence"))
        admin.dispose()

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.data} -c listen_addresses=127.0.0.1 "
                   "-c fsync=off -c full_page_writes=off")  # fmt: skip
        self._as_postgres("pg_ctl", "-D", str(self.data), "-o", options, "-w", "-l",
                          str(self.data / "server.log"), "start")  # fmt: skip

    def stop(self) -> None:
        self._as_postgres("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def pids(self) -> list[int]:
        """The postmaster and every process it started (backends, checkpointer, …)."""
        postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        children = subprocess.run(
            ["ps", "-o", "pid=", "--ppid", str(postmaster)], capture_output=True, text=True
        ).stdout.split()
        return [postmaster, *map(int, children)]

    @contextmanager
    def frozen(self) -> Iterator[None]:
        """Every process of the server stopped (SIGSTOP): it accepts connections (the kernel
        does) and answers nothing, as a hung server does."""
        pids = self.pids()
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        try:
            yield
        finally:
            for pid in pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGCONT)

    @contextmanager
    def away(self) -> Iterator[None]:
        self.stop()
        try:
            yield
        finally:
            self.start()


def free_port() -> int:
    with closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def own_postgres() -> Iterator[OwnPostgres]:
    if not (PG_BIN / "initdb").exists():
        if in_ci():
            pytest.fail("initdb is needed for the database outage tests")
        pytest.skip("no initdb here")
    with own_postgres_server("cadence-pg-") as server:
        yield server


@contextmanager
def own_postgres_server(prefix: str) -> Iterator[OwnPostgres]:
    """A PostgreSQL server of our own, migrated; thawed, stopped and removed at the end (the
    outage tests and bench/burst.py)."""
    root = Path(tempfile.mkdtemp(prefix=prefix))
    server = OwnPostgres(root)
    try:
        server.init()
        migrate.upgrade(server.url)
        yield server
    finally:
        with contextlib.suppress(Exception):
            for pid in server.pids():
                os.kill(pid, signal.SIGCONT)
        with contextlib.suppress(Exception):
            server.stop()
        shutil.rmtree(root, ignore_errors=True)


@contextmanager
def serving(database_url: str, fake: FakeSlack) -> Iterator[Cadence]:
    """The app on `database_url`, served over HTTP as in conftest's `cadence`."""
    services = Services(
        settings=make_settings(database_url, fake), db=Database.from_url(database_url)
    )
    application = CadenceWSGI(services)
    server = make_server("127.0.0.1", 0, application, server_class=_ThreadingWSGIServer,
                         handler_class=_QuietHandler)  # fmt: skip
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    try:
        sim = SlackSim(url, fake, SIGNING_SECRET, team_id=TEAM)
        yield Cadence(url, services, fake, sim, outbox=application.outbox)
    finally:
        server.shutdown()
        server.server_close()
        application.close()
        services.db.dispose()


@contextmanager
def worker(cadence: Cadence) -> Iterator[subprocess.Popen]:
    """`python -m bot worker` on the app's database, a pass every second."""
    env = clean_env(
        SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=cadence.fake.base_url, DATABASE_URL=cadence.services.settings.database_url,
        CADENCE_ADMINS=ADMIN, CADENCE_TICK_SECONDS="1", CADENCE_CHANNEL_PACE_SECONDS="0",
        LOG_LEVEL="WARNING",
    )  # fmt: skip
    process = subprocess.Popen([sys.executable, "-m", "bot", "worker"], cwd=ROOT, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def healthz(cadence: Cadence) -> tuple[int, dict[str, Any], float]:
    started = time.monotonic()
    try:
        with urllib.request.urlopen(cadence.url + "/healthz", timeout=10) as response:
            status, body = response.status, json.loads(response.read())
    except urllib.error.HTTPError as e:
        status, body = e.code, json.loads(e.read())
    return status, body, time.monotonic() - started


def last_tick(cadence: Cadence) -> str | None:
    status, body, _ = healthz(cadence)
    return body["scheduler"]["last_tick_at"] if status == 200 else None


@dataclass
class Outage:
    """What Slack and a monitor saw while the database was out."""

    requests: list[float] = field(default_factory=list)  # seconds to each answer
    health: list[float] = field(default_factory=list)  # seconds to each /healthz answer
    refused_forms: int = 0
    apologies: int = 0

    def line(self, name: str) -> str:
        return (
            f"{name}: {len(self.requests)} requests, slowest answer {max(self.requests):.2f} s "
            f"({self.refused_forms} forms kept open, {self.apologies} apologies); "
            f"{len(self.health)} health checks, slowest {max(self.health):.2f} s, all 503"
        )


def during_outage(cadence: Cadence, view: dict[str, Any], seconds: float) -> Outage:
    """Use Cadence from Slack for `seconds` while the database is out: a form, a command that
    writes, /healthz; every answer timed."""
    seen = Outage()
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        reply = cadence.sim.submit_view(view, {**GOOD_FORM, "name": "Typed While Down"})
        seen.requests.append(reply.elapsed)
        assert reply.json and reply.json.get("response_action") == "errors", reply.body
        seen.refused_forms += 1
        started = time.time()
        with clock.fixed_at(TODAY):
            reply = cadence.sim.command("away 2026-12-01 2026-12-05")
        said, at = apology_after(cadence, reply, started)
        seen.requests.append(max(reply.elapsed, at))
        assert "did not answer in time" in said, said
        seen.apologies += 1
        status, body, elapsed = healthz(cadence)
        assert status == 503, body
        seen.health.append(elapsed)
    return seen


def recovered(cadence: Cadence, worker_process: subprocess.Popen, before: str | None) -> float:
    """Seconds until /healthz is green again with a heartbeat newer than `before`, from the same
    worker process (never restarted)."""
    started = time.monotonic()
    wait_until(lambda: (last_tick(cadence) or "") > (before or ""), 60,
               "the worker to pass again after the outage", interval=0.2)  # fmt: skip
    assert worker_process.poll() is None, worker_process.stderr.read()
    return time.monotonic() - started


@pytest.mark.slow
def test_postgres_away_then_frozen_slack_is_answered_and_the_worker_recovers(
    own_postgres, fake_slack
):
    with serving(own_postgres.url, fake_slack) as cadence, worker(cadence) as process:
        wait_until(lambda: last_tick(cadence), 60, "the worker's first pass", interval=0.2)
        view = open_form(cadence)
        figures = []
        for name, outage, seconds in (
            ("away", own_postgres.away, AWAY_S),
            ("frozen", own_postgres.frozen, HANG_S),
        ):
            before = last_tick(cadence)
            with outage():
                seen = during_outage(cadence, view, seconds)
            figures.append(
                seen.line(name) + f"; green again after {recovered(cadence, process, before):.1f} s"
            )
            assert max(seen.requests) < IN_TIME_S, seen.line(name)
            assert max(seen.health) < IN_TIME_S, seen.line(name)
        print("\n" + "\n".join(figures))
        # Nothing half written, and the form kept open saves, once, as typed.
        assert count(cadence, Engagement) == 0 and count(cadence, AwayPeriod) == 0
        reply = cadence.sim.submit_view(view, {**GOOD_FORM, "name": "Typed While Down"})
        assert reply.json is None or "errors" not in reply.json, reply.body
        saved = find_engagement(cadence, "Typed While Down")
        assert saved is not None and count(cadence, Engagement) == 1
        with cadence.db.read_session() as session:
            members = session.exec(
                select(EngagementMember).where(EngagementMember.engagement_id == saved.id)
            ).all()
        assert {m.user_id for m in members} >= {
            LEAD,
            *GOOD_FORM["vendor_contacts"],
            *GOOD_FORM["stakeholders"],
        }


@pytest.mark.slow
def test_sqlite_locked_by_another_writer_the_worker_waits_and_recovers(deadline_app):
    if not deadline_app.db.is_sqlite:
        pytest.skip("the PostgreSQL outage has a test of its own")
    with worker(deadline_app) as process:
        wait_until(lambda: last_tick(deadline_app), 60, "the worker's first pass", interval=0.2)
        view = open_form(deadline_app)
        before = None
        with database_held(deadline_app):
            before = last_tick(deadline_app)  # readers still read under WAL: health stays green
            reply = deadline_app.sim.submit_view(view, {**GOOD_FORM, "name": "Typed While Locked"})
            assert reply.elapsed < IN_TIME_S and reply.json["response_action"] == "errors"
            time.sleep(AWAY_S)  # the worker's passes wait for the lock meanwhile
            assert process.poll() is None
        print(
            f"\nworker passing again {recovered(deadline_app, process, before):.1f} s after the lock"
        )
        reply = deadline_app.sim.submit_view(view, {**GOOD_FORM, "name": "Typed While Locked"})
        assert reply.json is None or "errors" not in reply.json, reply.body
        assert count(deadline_app, Engagement) == 1
