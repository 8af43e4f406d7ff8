"""Several scheduler processes on one database, and a process killed mid-pass: every message
goes out, and none twice (but for the one call in flight when a process died)."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections import Counter

import pytest
from conftest import ADMIN, BOT_TOKEN, SIGNING_SECRET
from engine_flows import jobs_of, schedule, utc
from flows import create_engagement
from test_cli_and_serving import ROOT, clean_env
from waiting import wait_until

from bot.platform import clock

pytestmark = pytest.mark.slow  # starts tick processes and kills one

CREATED = utc(2026, 11, 25, 10, 0)
MON = utc(2026, 11, 30, 8, 0)
PEOPLE = [f"U0VEND{n:03d}" for n in range(24)]


def many_vendors(cadence):
    for user in PEOPLE:
        cadence.fake.add_user(user, name=user.lower(), tz="Asia/Kolkata")
    with clock.fixed_at(CREATED):
        create_engagement(cadence, vendor_contacts=PEOPLE)
    schedule(cadence, CREATED)


def tick_process(cadence, at, **extra) -> subprocess.Popen:
    """`python -m bot tick --now <at>` in a process of its own; the stand-in Slack posts its
    messages at `at` too (Slack's ts is the moment of posting: lookups are bounded by it)."""
    cadence.fake.simulate_time_at(at)
    env = clean_env(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=cadence.fake.base_url,
        DATABASE_URL=cadence.services.settings.database_url,
        CADENCE_ADMINS=ADMIN,
        CADENCE_CHANNEL_PACE_SECONDS="0",
        LOG_LEVEL="WARNING",
        **extra,
    )
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "tick", "--now", at.isoformat()],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def prompts_received(cadence) -> Counter:
    return Counter(
        c.args["channel"]
        for c in cadence.fake.calls_to("chat.postMessage")
        if c.args["channel"] in PEOPLE and c.ok
    )


def test_four_tick_processes_started_together_send_every_prompt_exactly_once(cadence):
    many_vendors(cadence)
    processes = [tick_process(cadence, MON) for _ in range(4)]
    outputs = [p.communicate(timeout=120) for p in processes]
    assert [p.returncode for p in processes] == [0, 0, 0, 0], [err for _, err in outputs]
    received = prompts_received(cadence)
    assert received == Counter(dict.fromkeys(PEOPLE, 1))
    assert {j.status for j in jobs_of(cadence, "prompt")} == {"sent"}
    sent_lines = [line for out, _ in outputs for line in out.splitlines() if "sent (ts" in line]
    assert len(sent_lines) == len(PEOPLE)
    assert sum(1 for out, _ in outputs if "check-in acme-payments" in out) == 1


def test_a_pass_killed_after_claiming_loses_nothing(cadence):
    many_vendors(cadence)
    cadence.fake.delay("chat.postMessage", 1.5)
    process = tick_process(cadence, MON, CADENCE_SEND_CONCURRENCY="2")

    def mid_pass() -> bool:
        """Prompts claimed and the first ones delivered: the pass is busy sending the rest."""
        if process.poll() is not None:
            raise AssertionError(f"the pass ended before it was killed: {process.stderr.read()}")
        return bool(prompts_received(cadence)) and any(
            j.status == "claimed" for j in jobs_of(cadence, "prompt")
        )

    wait_until(mid_pass, 60, "the pass to claim prompts and start sending them", interval=0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    cadence.fake.drain()  # what it had sent is performed before the clock moves on
    cadence.fake.delay("chat.postMessage", 0)
    stuck = [j for j in jobs_of(cadence, "prompt") if j.status == "claimed"]
    assert stuck, "the killed pass should have left leased jobs behind"

    # Before the lease expires another pass leaves them alone; after it, they are retried.
    early = tick_process(cadence, utc(2026, 11, 30, 8, 1))
    early.communicate(timeout=120)
    assert [j.id for j in jobs_of(cadence, "prompt") if j.status == "claimed"] == [
        j.id for j in stuck
    ]
    late = tick_process(cadence, utc(2026, 11, 30, 8, 6))
    _, err = late.communicate(timeout=120)
    assert late.returncode == 0, err
    assert {j.status for j in jobs_of(cadence, "prompt")} == {"sent"}
    received = prompts_received(cadence)
    assert set(received) == set(PEOPLE)  # nobody lost
    doubled = [user for user, n in received.items() if n > 1]
    assert all(n <= 2 for n in received.values())
    assert len(doubled) <= 2  # at most the calls in flight (concurrency 2) when it was killed
