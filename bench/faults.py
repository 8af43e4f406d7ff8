"""Fault runs (issue 10, item 6) at full length; each prints its figures. CI runs the same
scenarios shortened (tests/test_faults.py), with the same code.

    python bench/faults.py [--database sqlite|postgresql|both] [--only slack,kills,database]
                           [--quick]
    python bench/faults.py --only burst [--prompts 10000]

slack     a month of ticks, one every hour, while the fake Slack fails one call in five
          (429 with Retry-After, 5xx, dropped connections and late answers, some after Slack
          took the message): messages delivered, duplicated, lost, by the job each names.
kills     a month of weekday check-ins, the worker (`python -m bot tick`) SIGKILLed at a random
          moment of twenty sending passes: lost, duplicated, duplicates per kill.
settling (and settling-outside: the same outside the Marketplace)
          200 messages whose outcomes a network cut left unknown (prompts in DMs, concern cards
          in a channel; half of them in Slack), ticking every simulated minute in each of Slack's
          regimes: how long until each is found or sent again, the reads and 429s it took,
          duplicated and lost (tests/lookup_backlog.py).
database  a PostgreSQL of its own (initdb, its own port) away 30 s then frozen (SIGSTOP) 10 s,
          and SQLite locked 30 s by another writer, while Slack uses Cadence and a worker runs:
          the slowest answer to Slack, the slowest /healthz, how soon the worker passes again.
burst     (issue 21, item 6; PostgreSQL only, a server of its own) two `worker` and two `web`
          processes (the Procfile's lines) while 10,000 prompts fall due at once, Slack failing
          one call in five: a worker SIGKILLed mid-burst, PostgreSQL restarted, people using
          Cadence throughout: prompts due, delivered, lost, duplicated; requests sent,
          acknowledged within 3 s, failed, the slowest; the time to drain; what happened when.
          Not in the default --only: it takes minutes (bench/burst.py).

The app is the real one, served over HTTP and driven by signed requests and `tick --now`;
only Slack is faked (bot/demo/fake_slack/). Scratch databases are dropped at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import logging
import shutil
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import pytest  # noqa: E402  (its MonkeyPatch sets the environment `tick` reads)
import test_faults as scenario  # noqa: E402
from common import record_result, stop_recording  # noqa: E402  (bench/common.py)
from conftest import (  # noqa: E402
    ACME,
    ADMIN,
    EXTERNAL,
    GENERAL,
    LEAD,
    LEAD2,
    STAKEHOLDER,
    TEAM,
    VENDOR,
    Cadence,
)
from engine_flows import tick  # noqa: E402
from flows import GOOD_FORM, open_form  # noqa: E402
from lookup_backlog import cut_and_settle  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bot.demo.fake_slack import FakeSlack  # noqa: E402
from bot.platform import clock  # noqa: E402
from bot.platform import slack as slack_platform  # noqa: E402
from storage import migrate  # noqa: E402

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@contextmanager
def fake_slack() -> Iterator[FakeSlack]:
    """The people and channels the scenarios use (as tests/conftest.py's fixture)."""
    with FakeSlack(team_id=TEAM) as fake:
        fake.rate_tiers = (
            True  # Slack's rate tiers (fake_slack/tiers.py), as in tests/test_faults.py
        )
        fake.add_user(LEAD, name="lena.lead", tz="Europe/Berlin")
        fake.add_user(LEAD2, name="lars.lead", tz="Europe/Berlin")
        fake.add_user(ADMIN, name="ada.admin", tz="America/New_York")
        fake.add_user(VENDOR, name="vic.vendor", tz="Asia/Kolkata")
        fake.add_user(EXTERNAL, name="ext.engineer", tz="Asia/Kolkata", team_id="T0VENDORCO")
        fake.add_user(STAKEHOLDER, name="sam.stake", tz="America/New_York")
        fake.add_channel(GENERAL, name="general", bot_is_member=True)
        fake.add_channel(ACME, name="acme-payments")
        yield fake


@contextmanager
def scratch_database(kind: str, postgres_url: str) -> Iterator[str]:
    """A migrated database for one run: a SQLite file, or a database on the server."""
    if kind == "sqlite":
        folder = Path(tempfile.mkdtemp(prefix="cadence-faults-"))
        url = f"sqlite:///{folder / 'cadence.db'}"
        try:
            migrate.upgrade(url)
            yield url
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    name = f"cadence_faults_{uuid.uuid4().hex[:10]}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(postgres_url).set(database=name).render_as_string(hide_password=False)
    try:
        migrate.upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def app_on(url: str) -> Iterator[tuple[Cadence, pytest.MonkeyPatch]]:
    with (
        fake_slack() as fake,
        scenario.serving(url, fake) as cadence,
        pytest.MonkeyPatch.context() as patch,
    ):
        yield cadence, patch


def slack_faults(kind: str, url: str, quick: bool) -> None:
    weeks, people = (1, 8) if quick else (4, 24)
    with app_on(url) as (cadence, patch):
        # The client waits 2 s here (15 s in production), so a late answer costs 2.5 s.
        patch.setattr(slack_platform, "SLACK_TIMEOUT_SECONDS", 2)
        scenario.set_up_weekly_checkins(cadence, people=people)
        started = time.monotonic()
        result = scenario.month_of_slack_faults(
            cadence,
            lambda at: tick(cadence, patch, at),
            weeks=weeks,
            step=timedelta(hours=1),
            timeout_seconds=2.5,
        )
        extra = sum(n - 1 for n in result.duplicates.values())
        record_delivery(f"faults.{kind}.slack", result, extra)
        print(f"  slack  {kind:10} {weeks} weeks, {people} people, ticks every hour, 20% faults")
        print(f"         {result.line()}")
        print(
            f"         extra copies {extra} (target 0: {'PASS' if extra == 0 else 'MISS'}); "
            f"lost {len(result.lost)} ({'PASS' if not result.lost else 'MISS'}); "
            f"{time.monotonic() - started:.0f} s"
        )


def record_delivery(name: str, delivery: scenario.Delivery, extra: int) -> None:
    """What a run delivered, in bench/results.json: messages, message jobs, extra copies, lost."""
    record_result(f"{name}.messages", sum(delivery.per_job.values()), "")
    record_result(f"{name}.jobs", len(delivery.jobs), "")
    record_result(f"{name}.duplicated", extra, "")
    record_result(f"{name}.lost", len(delivery.lost), "")


def kills(kind: str, url: str, quick: bool) -> None:
    weeks, count = (1, 5) if quick else (4, 20)
    with app_on(url) as (cadence, patch):
        weekdays = (0, 1, 2, 3, 4)
        scenario.set_up_weekly_checkins(cadence, people=16, weekdays=weekdays)
        started = time.monotonic()
        result = scenario.month_of_kills(
            cadence, lambda at: tick(cadence, patch, at), weeks=weeks, kills=count,
            weekdays=weekdays,
        )  # fmt: skip
        extra = sum(n - 1 for n in result.delivery.duplicates.values())
        worst = max(result.delivery.duplicates.values(), default=1) - 1
        record_delivery(f"faults.{kind}.kills", result.delivery, extra)
        print(f"  kills  {kind:10} {weeks} weeks of weekday check-ins, 16 people")
        print(f"         {result.line()}")
        print(
            f"         lost {len(result.delivery.lost)} "
            f"({'PASS' if not result.delivery.lost else 'MISS'}); duplicates {extra} "
            f"(target 0, at most one a kill: {'PASS' if extra <= result.kills and worst <= 1 else 'MISS'}); "
            f"{time.monotonic() - started:.0f} s"
        )


def database(kind: str, url: str, quick: bool) -> None:
    away, frozen = (5.0, 5.0) if quick else (30.0, 10.0)
    if kind == "postgresql":
        postgres_outages(away, frozen)
    else:
        sqlite_locked(url, away)


def postgres_outages(away: float, frozen: float) -> None:
    root = Path(tempfile.mkdtemp(prefix="cadence-pg-"))
    server = scenario.OwnPostgres(root)
    try:
        server.init()
        migrate.upgrade(server.url)
        with app_on(server.url) as (cadence, _), scenario.worker(cadence) as process:
            scenario.wait_until(lambda: scenario.last_tick(cadence), 60, "a first pass")
            view = open_form(cadence)
            for name, outage, seconds in (
                (f"away {away:g} s", server.away, away),
                (f"frozen {frozen:g} s", server.frozen, frozen),
            ):
                before = scenario.last_tick(cadence)
                with outage():
                    seen = scenario.during_outage(cadence, view, seconds)
                back = scenario.recovered(cadence, process, before)
                ok = max(seen.requests) < 3 and max(seen.health) < 1.3
                figure = f"faults.postgresql.{name.split()[0]}"
                record_result(f"{figure}.requests", len(seen.requests), "")
                record_result(f"{figure}.slowest_answer", max(seen.requests), "s", digits=2)
                record_result(f"{figure}.slowest_healthz", max(seen.health), "s", digits=2)
                record_result(f"{figure}.worker_back", back, "s", digits=1)
                record_result(f"{figure}.healthz_status", "503", "")  # during_outage asserts it
                print(f"  db     postgresql {seen.line(name)}")
                print(
                    f"         worker passing again {back:.1f} s after, same process; "
                    f"answers within 3 s and /healthz within 1 s: {'PASS' if ok else 'MISS'}"
                )
            reply = cadence.sim.submit_view(view, {**GOOD_FORM, "name": "Typed While Down"})
            saved = reply.json is None or "errors" not in reply.json
            print(f"         the form kept open saved afterwards: {'PASS' if saved else 'MISS'}")
    finally:
        with contextlib.suppress(Exception):
            server.stop()
        shutil.rmtree(root, ignore_errors=True)


def sqlite_locked(url: str, seconds: float) -> None:
    with app_on(url) as (cadence, _), scenario.worker(cadence) as process:
        scenario.wait_until(lambda: scenario.last_tick(cadence), 60, "a first pass")
        view = open_form(cadence)
        answers, health, statuses = [], [], set()
        with scenario.database_held(cadence):
            before = scenario.last_tick(cadence)
            until = time.monotonic() + seconds
            while time.monotonic() < until:
                reply = cadence.sim.submit_view(view, {**GOOD_FORM, "name": "Typed While Locked"})
                answers.append(reply.elapsed)
                started = time.time()
                with clock.fixed_at(scenario.TODAY):
                    reply = cadence.sim.command("away 2026-12-01 2026-12-05")
                _, at = scenario.apology_after(cadence, reply, started)
                answers.append(max(reply.elapsed, at))
                status, _, took = scenario.healthz(cadence)
                health.append(took)
                statuses.add(str(status))
        back = scenario.recovered(cadence, process, before)
        ok = max(answers) < 3 and max(health) < 1.3
        record_result("faults.sqlite.locked.slowest_answer", max(answers), "s", digits=2)
        record_result("faults.sqlite.locked.healthz_status", " and ".join(sorted(statuses)), "",
                      note="every /healthz answer while locked")  # fmt: skip
        record_result("faults.sqlite.locked.worker_back", back, "s", digits=1)
        print(
            f"  db     sqlite     locked {seconds:g} s by another writer: {len(answers)} requests, "
            f"slowest answer {max(answers):.2f} s, slowest /healthz {max(health):.2f} s "
            f"(readers still read); worker passing again {back:.1f} s after, same process: "
            f"{'PASS' if ok else 'MISS'}"
        )


def settling(kind: str, url: str, quick: bool, *, marketplace: bool = True) -> None:
    people, concerns = (16, 4) if quick else (180, 20)
    with app_on(url) as (cadence, patch):
        started = time.monotonic()
        result = cut_and_settle(
            cadence,
            lambda at: tick(cadence, patch, at),
            people=people,
            concerns=concerns,
            marketplace=marketplace,
        )
        ok = result.duplicates == 0 and result.lost == 0 and result.most_refused <= 1
        figure = f"faults.{kind}.settling.{'marketplace' if marketplace else 'outside'}"
        for field in ("unknown", "in_slack", "minutes", "reads", "refused", "duplicates", "lost"):
            record_result(f"{figure}.{field}", getattr(result, field), "")
        print(f"  settling {kind:10} {result.line()}")
        for lost in result.lost_jobs:
            print(f"         lost: {lost}")
        for doubled in result.doubled_jobs:
            print(f"         doubled: {doubled}")
        print(
            f"         {'PASS' if ok else 'MISS'} (targets: 0 duplicated, 0 lost, at most one "
            f"429 a minute per method); {time.monotonic() - started:.0f} s"
        )


RUNS = {
    "slack": slack_faults,
    "kills": kills,
    "settling": settling,
    "settling-outside": functools.partial(settling, marketplace=False),
    "database": database,
}


def burst_run(prompts: int) -> None:
    import burst  # bench/burst.py

    root = Path(tempfile.mkdtemp(prefix="cadence-burst-"))
    result = burst.run(prompts, root, wall_clock_s=480)
    print(f"  burst  postgresql {prompts:,} prompts due at once, 2 workers, 2 web processes, "
          "20% faults")  # fmt: skip
    for line in result.lines():
        print(f"         {line}")
    figure = f"faults.burst.{prompts}"
    record_result(f"{figure}.delivered", result.delivered, "")
    record_result(f"{figure}.duplicated", len(result.duplicated), "")
    record_result(f"{figure}.not_sent", len(result.lost), "")
    record_result(f"{figure}.requests", len(result.requests), "")
    record_result(f"{figure}.unacknowledged", len(result.requests) - result.acknowledged, "")
    record_result(f"{figure}.slowest_ack", result.slowest, "s", digits=2)
    shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--only", default="slack,kills,settling,settling-outside,database")
    parser.add_argument("--quick", action="store_true", help="a week, five kills, 5 s outages")
    parser.add_argument("--postgres-url", default=DEFAULT_PG)
    parser.add_argument("--prompts", type=int, default=10_000, help="burst: prompts due at once")
    args = parser.parse_args()
    logging.basicConfig(level=logging.CRITICAL)  # the faults make the app log a lot, by design
    kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    if args.quick:
        stop_recording("--quick: shorter runs than the documented figures'")
    print(f"Fault runs{' (quick)' if args.quick else ''}, {time.strftime('%Y-%m-%d')}")
    for name in args.only.split(","):
        if name == "burst":
            burst_run(args.prompts)
            continue
        for kind in kinds:
            with scratch_database(kind, args.postgres_url) as url:
                RUNS[name](kind, url, args.quick)


if __name__ == "__main__":
    main()
