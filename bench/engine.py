"""Scheduling-engine benchmark: prints each figure next to its target, with PASS or MISS.

    python bench/engine.py [--database sqlite|postgresql|both] [--quick]

(a) a tick with nothing due, with 1,000 / 10,000 / 100,000 active cadences of every delivery
    kind (a DM, the channel, a DM at each recipient's local time) and 100,000 pending and
    1,000,000 finished jobs (a month's: pruning keeps no more) in the job table (flat);
(b) CPU time per delivered prompt, against a bare loop making the same writes and Slack calls;
(c) prompts/s with 100 ms Slack latency, default concurrency against CADENCE_SEND_CONCURRENCY=1;
(d) peak RSS of `python -m bot tick --now …` sending 10,000 prompts in one pass.

The engine is the real one (`bot.engine.tick` with `Services`, or the CLI for (d)); Slack is
bot/demo/fake_slack/, run in a child process so that its CPU is not counted. Every section gets
a scratch database of its own (PostgreSQL: created from --postgres-url, dropped at the end).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from common import FakeProcess, Scratch, record_result, stop_recording  # noqa: E402  (bench/ is the script's folder)
from sqlalchemy import insert, update  # noqa: E402

from bot.blocks import checkins as checkin_blocks  # noqa: E402
from bot.domain import cadences, recurrence  # noqa: E402
from bot.engine import planner  # noqa: E402
from bot.engine import tick as engine  # noqa: E402
from bot.platform.config import load_settings  # noqa: E402
from bot.platform.services import Services  # noqa: E402
from bot.platform.slack import web_client  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models import Cadence, Engagement, EngagementMember, Person, ScheduledJob  # noqa: E402
from storage.pruning import FINISHED_KEPT  # noqa: E402

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TEAM = "T0CADENCE"
TOKEN = "xoxb-1111-2222-cadencebench"
SECRET = "bench-signing-secret"
LEAD = "U0BLEAD"
NOW = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)  # a Monday, 09:00 in Berlin
WARM_UP = NOW - timedelta(hours=1)  # 08:00 in Berlin: a few prompts to warm the process up
LATER = NOW + timedelta(hours=1)  # 10:00 in Berlin
CHANNEL_AT = NOW + timedelta(hours=2)  # 11:00 in Berlin
MINUTE = timedelta(minutes=1)
ZONES = ("Europe/Berlin", "America/New_York", "Asia/Kolkata", "Europe/London", "Australia/Sydney")
LOCAL_TIMES = ("08:30", "09:00", "10:00", "14:00", "16:30")
KINDS = ("status_update", "risk_review", "feedback_survey")
CADENCES_PER_ENGAGEMENT = 4
# How a cadence is delivered: (delivery, at each recipient's local time)
DELIVERIES = (("dm", False), ("channel", False), ("dm", True))


@dataclass(frozen=True)
class Sizes:
    idle: tuple[int, ...]
    idle_ticks: int
    idle_pending: int  # future jobs in the table while idle ticks are timed
    idle_finished: int  # finished jobs (sent, done, cancelled, failed) beside them
    cpu_prompts: int
    latency_prompts: int
    memory_cadences: int
    memory_due: int
    contacts: int


FULL = Sizes((1_000, 10_000, 100_000), 15, 100_000, 1_000_000, 1_000, 160, 12_000, 10_000, 300)
QUICK = Sizes((1_000, 10_000, 30_000), 7, 10_000, 100_000, 300, 48, 3_000, 2_000, 100)


# --- seeding, with bulk inserts -------------------------------------------------------------------


RULES = (
    recurrence.Rule(kind="weekly", weekdays=(0,)),
    recurrence.Rule(kind="weekly", weekdays=(4,)),
    recurrence.Rule(kind="weekly", weekdays=(0, 1, 2, 3, 4)),
    recurrence.Rule(kind="weekly", weekdays=(1, 3)),
    recurrence.Rule(kind="every_n_weeks", weekdays=(2,), interval=2, start_date=date(2026, 1, 7)),
    recurrence.Rule(kind="monthly_day", month_day=15),
    recurrence.Rule(kind="monthly_weekday", nth=1, weekday=0),
)
_next: dict[tuple[int, str, str], recurrence.Occurrence] = {}


def next_after(rule_index: int, local_time: str, zone: str, after: datetime):
    key = (rule_index, local_time, zone)
    if key not in _next:
        found = recurrence.next_occurrence(
            RULES[rule_index], recurrence.parse_local_time(local_time), zone, after
        )
        assert found is not None
        _next[key] = found
    return _next[key]


def insert_engagements(db: Database, count: int, prefix: str, members: Callable[[int], list[str]]):
    """`count` engagements (one lead each, `members(i)` vendor contacts); their ids."""
    rows = [
        {
            "team_id": TEAM,
            "handle": f"{prefix}-{i}",
            "name": f"Engagement {prefix} {i}",
            "vendor": f"Vendor {i % 97}",
            "channel_id": f"C0B{prefix.upper()}{i:07d}"[:32],
            "timezone": "Europe/Berlin",
            "holidays": [],
            "created_by": LEAD,
            "created_at": NOW - timedelta(days=30),
            "updated_at": NOW - timedelta(days=30),
        }
        for i in range(count)
    ]
    table = Engagement.__table__
    with db.engine.begin() as conn:
        ids = list(
            conn.execute(
                insert(table).returning(table.c.id, sort_by_parameter_order=True), rows
            ).scalars()
        )
        people = [
            {"team_id": TEAM, "engagement_id": eid, "user_id": user, "role": role}
            for i, eid in enumerate(ids)
            for user, role in [(LEAD, "lead"), *((u, "vendor") for u in members(i))]
        ]
        for start in range(0, len(people), 10_000):
            conn.execute(insert(EngagementMember.__table__), people[start : start + 10_000])
    return ids


def cadence_row(
    engagement_id: int,
    rule_index: int | recurrence.Rule,
    local_time: str,
    zone: str,
    occurrence,
    delivery: str = "dm",
    local: bool = False,
):
    rule = RULES[rule_index] if isinstance(rule_index, int) else rule_index
    return {
        "team_id": TEAM,
        "engagement_id": engagement_id,
        "kind": KINDS[engagement_id % len(KINDS)],
        "rule": rule.to_rrule(),
        "rule_kind": rule.kind,
        "local_time": local_time,
        "timezone": zone,
        "start_date": rule.start_date,
        "window_hours": 48,
        "reminder_hours": 24,
        "escalation_hours": 24,
        "escalation_user_ids": [],
        "audience": "vendor",
        "audience_user_ids": [],
        "delivery": delivery,
        "recipient_local_time": local,
        "status": "active",
        "next_run_at": occurrence.at,
        "next_slot": occurrence.key,
        "created_by": LEAD,
        "created_at": NOW - timedelta(days=30),
        "updated_at": NOW - timedelta(days=30),
    }


def insert_cadences(db: Database, rows: list[dict[str, Any]]) -> None:
    with db.engine.begin() as conn:
        for start in range(0, len(rows), 10_000):
            conn.execute(insert(Cadence.__table__), rows[start : start + 10_000])


def seed_idle(db: Database, count: int, offset: int) -> None:
    """`count` active cadences, none due at NOW: weekly, fortnightly and monthly rules at
    several local times in several zones, four per engagement (one lead, one vendor each), of
    every delivery kind (a DM, the channel, a DM at each recipient's local time: those are
    planned when the slot first happens on Earth). Everyone's zone is known (a person row
    refreshed at NOW), as in a running deployment."""
    rng = random.Random(offset)
    engagements = -(-count // CADENCES_PER_ENGAGEMENT)
    vendors = [f"U0V{offset + i:08d}" for i in range(engagements)]
    ids = insert_engagements(db, engagements, f"idle{offset}", lambda i: [vendors[i]])
    rows = []
    for n in range(count):
        rule_index = rng.randrange(len(RULES))
        local_time, zone = rng.choice(LOCAL_TIMES), rng.choice(ZONES)
        delivery, local = DELIVERIES[n % len(DELIVERIES)]
        plan_zone = cadences.EARLIEST_ZONE if local else zone
        occurrence = next_after(rule_index, local_time, plan_zone, NOW)
        engagement_id = ids[n // CADENCES_PER_ENGAGEMENT]
        rows.append(
            cadence_row(engagement_id, rule_index, local_time, zone, occurrence, delivery, local)
        )
    insert_cadences(db, rows)
    people = [
        {"team_id": TEAM, "user_id": user, "tz": rng.choice(ZONES), "status_emoji": "",
         "external": False, "refreshed_at": NOW}
        for user in vendors
    ]  # fmt: skip
    if offset == 0:
        people.append({**people[0], "user_id": LEAD})
    with db.engine.begin() as conn:
        for start in range(0, len(people), 10_000):
            conn.execute(insert(Person.__table__), people[start : start + 10_000])


def seed_jobs(db: Database, pending: int, finished: int) -> None:
    """`pending` jobs due after NOW (the weeks ahead) and `finished` ones before it (a month of
    sent, done, cancelled and failed jobs: what pruning keeps, storage/pruning.py), as a
    deployment's job table holds them. Older ones would be pruned by the passes measured
    (bench/year.py measures that)."""
    table = ScheduledJob.__table__
    statuses = ("sent", "sent", "sent", "done", "cancelled", "failed")

    def row(key: str, due_at: datetime, status: str) -> dict[str, Any]:
        done = status != "pending"
        return {
            "team_id": TEAM, "key": key, "kind": "prompt", "due_at": due_at,
            "payload": {}, "status": status, "attempts": int(done),
            "cadence_id": None, "checkin_id": None, "user_id": "U0BENCH",
            "lease_owner": None, "lease_expires_at": None,
            "result_channel": "D0BENCH" if status == "sent" else None,
            "result_ts": f"{n}.000100" if status == "sent" else None,
            "error": None, "created_at": due_at, "updated_at": due_at,
        }  # fmt: skip

    kept = (FINISHED_KEPT - timedelta(hours=1)).total_seconds()
    month = timedelta(days=30).total_seconds()
    chunk: list[dict[str, Any]] = []
    with db.engine.begin() as conn:
        for n in range(pending + finished):
            if n < pending:
                at = NOW + timedelta(seconds=60 + month * n / pending)
                chunk.append(row(f"bench:pending={n}", at, "pending"))
            else:
                at = NOW - timedelta(seconds=60 + kept * (n - pending) / finished)
                chunk.append(row(f"bench:finished={n}", at, statuses[n % len(statuses)]))
            if len(chunk) == 20_000:
                conn.execute(insert(table), chunk)
                chunk = []
        if chunk:
            conn.execute(insert(table), chunk)


def seed_due(
    db: Database,
    count: int,
    at: datetime,
    prefix: str,
    rule: recurrence.Rule = RULES[0],
    delivery: str = "dm",
) -> list[str]:
    """`count` engagements with one vendor contact each and a weekly cadence (`rule`: Mondays)
    whose occurrence fires at `at` (by DM, or in the engagement's channel): one prompt each.
    Returns the vendors' IDs."""
    users = [f"U0{prefix.upper()}{i:07d}" for i in range(count)]
    if not users:
        return users
    ids = insert_engagements(db, count, prefix, lambda i: [users[i]])
    local_time = at.astimezone(ZoneInfo("Europe/Berlin")).strftime("%H:%M")
    occurrence = recurrence.next_occurrence(
        rule, recurrence.parse_local_time(local_time), "Europe/Berlin", at - MINUTE
    )
    assert occurrence is not None and occurrence.at == at
    insert_cadences(
        db,
        [cadence_row(eid, rule, local_time, "Europe/Berlin", occurrence, delivery) for eid in ids],
    )
    return users


# --- running ticks --------------------------------------------------------------------------------


def environment(url: str, base_url: str, **extra: str) -> dict[str, str]:
    return {
        "SLACK_BOT_TOKEN": TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": base_url,
        "DATABASE_URL": url,
        "CADENCE_CHANNEL_PACE_SECONDS": "0",
        "LOG_LEVEL": "WARNING",
        **extra,
    }


def services(db: Database, url: str, base_url: str, **extra: str) -> Services:
    return Services(settings=load_settings(environment(url, base_url, **extra)), db=db)


@contextmanager
def measured() -> Iterator[dict[str, float]]:
    figures: dict[str, float] = {}
    wall, cpu = time.perf_counter(), time.process_time()
    yield figures
    figures["wall"] = time.perf_counter() - wall
    figures["cpu"] = time.process_time() - cpu


def expect_sent(fake: FakeProcess, count: int) -> None:
    answer = fake.ask("sent")
    if answer["sent"] != count or answer["failed"] or answer["block_errors"]:
        raise RuntimeError(f"expected {count} prompts delivered, the fake saw {answer}")


def warm_up(svc: Services, fake: FakeProcess, db: Database, prefix: str) -> None:
    """A first tick with a few prompts, so imports, pools and statement caches are warm."""
    fake.add_users(seed_due(db, 8, WARM_UP, prefix))
    engine.tick(svc, WARM_UP)
    fake.ask("reset", messages=True)


# --- the four measurements ------------------------------------------------------------------------


@dataclass
class Line:
    label: str
    figure: str
    target: str = ""
    verdict: str = ""


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def backend(scratch: Scratch) -> str:
    """The database a section measures, as bench/results.json names it."""
    return "sqlite" if scratch.postgres_url is None else "postgresql"


def bench_idle(scratch: Scratch, fake: FakeProcess, sizes: Sizes) -> list[Line]:
    url = scratch.new("idle")
    db = scratch.database(url)
    svc = services(db, url, fake.base_url)
    lines, medians, seeded = [], {}, 0
    started = time.perf_counter()
    seed_jobs(db, sizes.idle_pending, sizes.idle_finished)
    lines.append(Line(f"    job table: {sizes.idle_pending:,} pending, {sizes.idle_finished:,} "
                      f"finished (seeded in {time.perf_counter() - started:.0f} s)", ""))  # fmt: skip
    for size in sizes.idle:
        seed_idle(db, size - seeded, seeded)
        seeded = size
        scratch.analyze(db)
        engine.tick(svc, NOW)  # warm
        times = []
        for _ in range(sizes.idle_ticks):
            with measured() as m:
                report = engine.tick(svc, NOW)
            assert report.actions == [], report.actions
            times.append(m["wall"])
        medians[size] = statistics.median(times)
        record_result(
            f"engine.{backend(scratch)}.idle_tick.{size}", medians[size] * 1e3, "ms", digits=2
        )
        lines.append(Line(f"(a) idle tick, {size:,} cadences, all kinds (median of {len(times)}; "
                          f"min {min(times) * 1000:.2f} ms)", f"{medians[size] * 1000:.2f} ms"))  # fmt: skip
    small, large = sizes.idle[0], sizes.idle[-1]
    ratio = medians[large] / medians[small]
    record_result(f"engine.{backend(scratch)}.idle_tick.growth", ratio, "x", digits=2,
                  note=f"the idle tick with {large:,} cadences against {small:,}")  # fmt: skip
    lines[-1].target = f"<= 2x the {small:,} figure"
    lines[-1].verdict = f"{verdict(ratio <= 2)} ({ratio:.2f}x)"
    return lines


def bare_loop(db: Database, svc: Services, users: list[str]) -> float:
    """The floor: per prompt one INSERT of a job row, one chat.postMessage, one UPDATE of the
    row (one transaction each, as the engine plans and finishes), with the same client and
    message. Returns its CPU seconds."""
    table = ScheduledJob.__table__
    client = web_client(svc.settings, team_id=TEAM)
    message = checkin_blocks.prompt(
        checkin_id=1, kind="status_update", engagement_name="Engagement bare 1",
        closes_at=NOW + timedelta(hours=48), tz="Europe/Berlin",
    )  # fmt: skip

    def one(user: str) -> None:
        key = f"bare:{uuid.uuid4().hex}:user={user}"
        with db.engine.begin() as conn:
            job_id = conn.execute(
                insert(table)
                .values(team_id=TEAM, key=key, kind="prompt", due_at=NOW, user_id=user,
                        payload={}, status="claimed", attempts=1, created_at=NOW, updated_at=NOW)
                .returning(table.c.id)
            ).scalar_one()  # fmt: skip
        metadata = {"event_type": "cadence_job", "event_payload": {"job": key}}
        response = client.chat_postMessage(channel=user, metadata=metadata, **message)
        with db.engine.begin() as conn:
            conn.execute(
                update(table)
                .where(table.c.id == job_id)
                .values(status="sent", result_channel=response["channel"],
                        result_ts=response["ts"], updated_at=NOW)
            )  # fmt: skip

    for user in users[:8]:  # warm up
        one(user)
    with measured() as m:
        for user in users:
            one(user)
    return m["cpu"]


def tick_in_two(svc: Services, at: datetime) -> tuple[dict[str, float], dict[str, float]]:
    """One tick, its planning phase measured apart: `planner.plan_due` (what `tick` calls
    first), then `tick` itself, which finds nothing left to plan and delivers."""
    with measured() as plan:
        planner.plan_due(svc.db, at)
    with measured() as deliver:
        engine.tick(svc, at)
    return plan, deliver


def bench_cpu(scratch: Scratch, fake: FakeProcess, sizes: Sizes) -> list[Line]:
    url = scratch.new("cpu")
    db = scratch.database(url)
    svc = services(db, url, fake.base_url)
    warm_up(svc, fake, db, "warmcpu")
    count = sizes.cpu_prompts
    users = seed_due(db, count, NOW, "cpu")
    fake.add_users(users)
    scratch.analyze(db)
    plan, deliver = tick_in_two(svc, NOW)
    expect_sent(fake, count)
    fake.ask("reset", messages=True)
    bare = bare_loop(db, svc, users) / count
    fake.ask("reset", messages=True)

    # The same number of prompts... from one engagement with many vendor contacts.
    contacts = sizes.contacts
    people = [f"U0MANY{i:06d}" for i in range(contacts)]
    [engagement_id] = insert_engagements(db, 1, "many", lambda i: people)
    occurrence = recurrence.next_occurrence(
        RULES[0], recurrence.parse_local_time("10:00"), "Europe/Berlin", LATER - MINUTE
    )
    insert_cadences(db, [cadence_row(engagement_id, 0, "10:00", "Europe/Berlin", occurrence)])
    fake.add_users(people)
    plan_one, deliver_one = tick_in_two(svc, LATER)
    expect_sent(fake, contacts)
    fake.ask("reset", messages=True)

    # The same number of prompts again, each in its engagement's channel (a third of a Monday's
    # in bench/monday.py): a channel prompt records the check-in's thread as well.
    in_channel = seed_in_channels(db, fake, count, CHANNEL_AT)
    plan_channel, deliver_channel = tick_in_two(svc, CHANNEL_AT)
    expect_sent(fake, in_channel)
    fake.ask("reset", messages=True)

    total = (plan["cpu"] + deliver["cpu"]) / count
    one = (plan_one["cpu"] + deliver_one["cpu"]) / contacts
    channel = (plan_channel["cpu"] + deliver_channel["cpu"]) / count
    b, floor = f"engine.{backend(scratch)}", "the bare loop"
    record_result(f"{b}.cpu_per_prompt", total * 1e3, "ms", digits=2, baseline_ratio=total / bare,
                  baseline=floor)  # fmt: skip
    record_result(f"{b}.cpu_per_prompt.plan", plan["cpu"] / count * 1e3, "ms", digits=2)
    record_result(f"{b}.cpu_per_prompt.deliver", deliver["cpu"] / count * 1e3, "ms", digits=2)
    record_result(f"{b}.cpu_per_prompt.bare_loop", bare * 1e3, "ms", digits=2)
    record_result(f"{b}.cpu_per_prompt.ratio", total / bare, "x", digits=2)
    record_result(f"{b}.one_engagement.cpu_per_prompt", one * 1e3, "ms", digits=2,
                  baseline_ratio=one / bare, baseline=floor)  # fmt: skip
    record_result(f"{b}.one_engagement.ratio", one / bare, "x", digits=2)
    record_result(f"{b}.channel.cpu_per_prompt", channel * 1e3, "ms", digits=2,
                  baseline_ratio=channel / bare, baseline=floor)  # fmt: skip
    record_result(f"{b}.channel.deliver", deliver_channel["cpu"] / count * 1e3, "ms", digits=2)
    record_result(f"{b}.channel.ratio", channel / bare, "x", digits=2)
    return [
        Line(f"(b) tick CPU per prompt, {count:,} cadences due (DM)", f"{total * 1000:.2f} ms",
             "<= 2x the bare loop", f"{verdict(total <= 2 * bare)} ({total / bare:.2f}x)"),
        Line("    of which planning (check-in, recipient, 4 jobs)",
             f"{plan['cpu'] / count * 1000:.2f} ms"),
        Line("    of which claiming, building, sending, recording",
             f"{deliver['cpu'] / count * 1000:.2f} ms"),
        Line("    bare loop (INSERT + chat.postMessage + UPDATE)", f"{bare * 1000:.2f} ms"),
        Line(f"    same, one engagement with {contacts} vendor contacts", f"{one * 1000:.2f} ms",
             "<= 2x the bare loop", f"{verdict(one <= 2 * bare)} ({one / bare:.2f}x)"),
        Line("    of which claiming, building, sending, recording",
             f"{deliver_one['cpu'] / contacts * 1000:.2f} ms"),
        Line(f"    same, {count:,} prompts each in its engagement's channel",
             f"{channel * 1000:.2f} ms", "<= 2x the bare loop",
             f"{verdict(channel <= 2 * bare)} ({channel / bare:.2f}x)"),
        Line("    of which claiming, building, sending, recording (the thread too)",
             f"{deliver_channel['cpu'] / count * 1000:.2f} ms"),
    ]  # fmt: skip


def seed_in_channels(db: Database, fake: FakeProcess, count: int, at: datetime) -> int:
    """`seed_due`'s engagements with the check-in asked in each one's channel, the channel
    known to the stand-in with the app in it; the prompts that will be sent."""
    users = seed_due(db, count, at, "chan", delivery="channel")
    channels = [f"C0BCHAN{i:07d}"[:32] for i in range(count)]  # as insert_engagements names them
    for start in range(0, count, 1_000):
        fake.ask(
            "people", users=users[start : start + 1_000], channels=channels[start : start + 1_000]
        )
    return count


def bench_latency(scratch: Scratch, fake: FakeProcess, sizes: Sizes) -> list[Line]:
    url = scratch.new("latency")
    db = scratch.database(url)
    serial = services(db, url, fake.base_url, CADENCE_SEND_CONCURRENCY="1")
    concurrent = services(db, url, fake.base_url)
    warm_up(concurrent, fake, db, "warmlat")
    count = sizes.latency_prompts
    fake.add_users(seed_due(db, count, NOW, "serial") + seed_due(db, count, LATER, "conc"))
    scratch.analyze(db)
    fake.ask("delay", method="chat.postMessage", seconds=0.1)
    try:
        one = whole_tick(serial, NOW)
        expect_sent(fake, count)
        fake.ask("reset", messages=True)
        many = whole_tick(concurrent, LATER)
        expect_sent(fake, count)
        fake.ask("reset", messages=True)
    finally:
        fake.ask("delay", method="chat.postMessage", seconds=0)
    serial_rate, rate = count / one["wall"], count / many["wall"]
    n = concurrent.settings.send_concurrency
    b = f"engine.{backend(scratch)}.latency"
    record_result(f"{b}.serial", serial_rate, "prompts/s", digits=1)
    record_result(f"{b}.concurrent", rate, "prompts/s", digits=1, baseline_ratio=rate / serial_rate,
                  baseline="the same tick sending one at a time")  # fmt: skip
    record_result(f"{b}.speedup", rate / serial_rate, "x", digits=1)
    return [
        Line(f"(c) prompts/s of a tick, 100 ms latency, {count} prompts, serial",
             f"{serial_rate:.1f} /s"),
        Line(f"    same, CADENCE_SEND_CONCURRENCY={n} (default)", f"{rate:.1f} /s",
             ">= 5x serial", f"{verdict(rate >= 5 * serial_rate)} ({rate / serial_rate:.1f}x)"),
    ]  # fmt: skip


def whole_tick(svc: Services, at: datetime) -> dict[str, float]:
    """One real tick (planning and sending overlap inside it), measured whole."""
    with measured() as figures:
        engine.tick(svc, at)
    return figures


# Peak RSS is read with wait4() from a tiny launcher, not from this process: Linux carries the
# parent's peak RSS over to a child at exec (the pre-exec copy of the address space counts), so a
# child of this large process would report at least this process's own peak.
LAUNCHER = """
import json, os, sys
pid = os.fork()
if pid == 0:
    os.dup2(2, 1)
    os.execv(sys.executable, [sys.executable, *sys.argv[1:]])
_, status, usage = os.wait4(pid, 0)
print(json.dumps({"code": os.waitstatus_to_exitcode(status), "maxrss_kib": usage.ru_maxrss}))
"""


def peak_rss(args: list[str], env: dict[str, str]) -> float:
    """Peak RSS in MB of `python <args>`, run in ROOT with `env`."""
    result = subprocess.run(
        [sys.executable, "-S", "-c", LAUNCHER, *args],
        cwd=ROOT, env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    answer = json.loads(result.stdout.strip().splitlines()[-1])
    if answer["code"] != 0:
        raise RuntimeError(f"python {' '.join(args)} failed: {result.stderr[-2000:]}")
    return answer["maxrss_kib"] / 1024  # Linux reports KiB


def bench_memory(scratch: Scratch, fake: FakeProcess, sizes: Sizes) -> list[Line]:
    command = ["-m", "bot", "tick", "--now", NOW.isoformat()]
    empty = scratch.new("memory_empty")
    baseline = peak_rss(command, {**os.environ, **environment(empty, fake.base_url)})
    url = scratch.new("memory")
    db = scratch.database(url)
    due = sizes.memory_due
    seed_idle(db, sizes.memory_cadences - due, 0)
    fake.add_users(seed_due(db, due, NOW, "mem"))
    scratch.analyze(db)
    peak = peak_rss(command, {**os.environ, **environment(url, fake.base_url)})
    expect_sent(fake, due)
    fake.ask("reset", messages=True)
    record_result(f"engine.{backend(scratch)}.peak_rss", peak, "MB", baseline_ratio=peak / baseline,
                  baseline="the same command on an empty database (imports alone)")  # fmt: skip
    record_result(f"engine.{backend(scratch)}.peak_rss.imports", baseline, "MB")
    return [
        Line(f"(d) peak RSS, python -m bot tick sending {due:,} prompts in one pass "
             f"({sizes.memory_cadences:,} cadences)", f"{peak:.0f} MB", "< 200 MB",
             verdict(peak < 200)),
        Line("    same, empty database (imports alone)", f"{baseline:.0f} MB"),
    ]  # fmt: skip


# --- main -----------------------------------------------------------------------------------------


def run(backend: str, sizes: Sizes, postgres_url: str) -> None:
    print(f"== {backend} ({'quick' if sizes is QUICK else 'full'} sizes) ==", flush=True)
    scratch = Scratch(postgres_url if backend == "postgresql" else None, prefix="engine")
    fake = FakeProcess(team_id=TEAM)
    started = time.perf_counter()
    try:
        for bench in (bench_idle, bench_cpu, bench_latency, bench_memory):
            for line in bench(scratch, fake, sizes):
                print(f"{line.label:<62} {line.figure:>11}   {line.target:<22} {line.verdict}",
                      flush=True)  # fmt: skip
    finally:
        fake.close()
        scratch.close()
    print(f"({time.perf_counter() - started:.0f} s)", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--quick", action="store_true", help="smaller sizes, for a quick look")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("TEST_DATABASE_URL") or DEFAULT_PG,
        help="a PostgreSQL server database to create scratch databases from",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    sizes = QUICK if args.quick else FULL
    if args.quick:
        stop_recording("--quick: smaller sizes than the documented figures'")
    backends = ("sqlite", "postgresql") if args.database == "both" else (args.database,)
    for backend in backends:
        run(backend, sizes, args.postgres_url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
