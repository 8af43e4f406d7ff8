"""100 workspaces' digests due at the same minute, sent by the engine's real tick against the
stand-in Slack (issue 23, item 4): how long until the last digest and its chart are out, and
each workspace's delay.

    python bench/digest_minute.py [--workspaces 100] [--engagements 10,100] [--postgres URL]

Each workspace gets between the two numbers of engagements (at random, the same each run),
every one with the year of history bench/digest.py seeds (`digest._engagement`), and its own
digest channel; every workspace's digest is due at NOW. Seeding runs in a child process and is
not measured. Then `bot.engine.tick` runs at NOW plus the time gone by, pass after pass, until
the stand-in (bench/common.py's child process, rate tiers on, 100 ms on each call that posts)
has taken every digest and every chart, or LIMIT_S has passed.

One token speaks for every workspace here (the deployment's SLACK_BOT_TOKEN), so the stand-in
counts all 100 workspaces' calls against one workspace's tiers: stricter than Slack, whose
limits are per workspace (the files.* calls of 100 charts fill Tier 4's 100 a minute).

Target: every digest and chart out within 5 minutes of the minute they were due.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]

import digest as one  # noqa: E402  (bench/digest.py: its seeding and its NOW)
from common import FakeProcess, Rows, Scratch, record_result, stop_recording  # noqa: E402

from bot.engine import tick as engine  # noqa: E402
from bot.platform.config import load_settings  # noqa: E402
from bot.platform.services import Services  # noqa: E402
from storage.db import Database  # noqa: E402

TARGET_S = 300.0
LIMIT_S = 900.0  # give up past this (three times the target)
LATENCY_S = 0.1  # on each call that posts, as bench/monday.py's stand-in
POSTING = ("chat.postMessage", "files.getUploadURLExternal", "files.completeUploadExternal")


def team(w: int) -> str:
    return f"T0DW{w:04d}"


def channel(w: int) -> str:
    return f"C0DW{w:05d}"


def seed_workspaces(db: Database, count: int, low: int, high: int) -> dict[str, int]:
    """`count` workspaces of `low`–`high` engagements each, inserted one workspace at a time
    (the rows of all of them would not fit in memory); ids shared, so none clash."""
    rng = random.Random(count * 1_000 + high)
    ids: dict = {}
    sizes: dict[str, int] = {"rows": 0}
    first = 0
    for w in range(count):
        rows = Rows(team(w), ids=ids)
        n = rng.randint(low, high)
        for i in range(first, first + n):
            one._engagement(rows, rng, i, digest_channel=channel(w))
        first += n
        one.insert_workspace(db, rows, channel(w))
        sizes[team(w)] = n
        sizes["rows"] += rows.count() + 1
    one.finish_seeding(db)
    return sizes


def seed_apart(url: str, count: int, low: int, high: int) -> dict[str, int]:
    done = subprocess.run(
        [sys.executable, __file__, "--seed", url, str(count), str(low), str(high)],
        cwd=ROOT, capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(done.stdout.splitlines()[-1])


def services(db: Database, url: str, base_url: str) -> Services:
    environment = {
        "SLACK_BOT_TOKEN": "xoxb-1111-2222-digestminute",
        "SLACK_SIGNING_SECRET": "bench-signing-secret",
        "SLACK_API_URL": base_url,
        "DATABASE_URL": url,
        "LOG_LEVEL": "WARNING",
    }
    return Services(settings=load_settings(environment), db=db)


@dataclass
class Outcome:
    sizes: dict[str, int]
    posts: dict[str, float]  # channel -> seconds after the start the digest was out
    charts: dict[str, float]  # channel -> seconds after the start its chart was out
    ticks: int
    wall_s: float
    cpu_s: float


def run_minute(svc: Services, fake: FakeProcess, count: int) -> Outcome:
    """Passes at NOW + the time gone by until every digest and chart is out (or LIMIT_S)."""
    channels = {channel(w) for w in range(count)}
    start, cpu = time.time(), time.process_time()
    ticks = 0
    posts: dict[str, float] = {}
    charts: dict[str, float] = {}
    while True:
        gone = time.time() - start
        engine.tick(svc, one.NOW + timedelta(seconds=gone))
        ticks += 1
        posts = fake.ask("arrivals", method="chat.postMessage")["at"]
        charts = fake.ask("arrivals", method="files.completeUploadExternal")["at"]
        if (channels <= set(posts) and channels <= set(charts)) or gone > LIMIT_S:
            break
    return Outcome(
        {},
        {c: at - start for c, at in posts.items() if c in channels},
        {c: at - start for c, at in charts.items() if c in channels},
        ticks,
        time.time() - start,
        time.process_time() - cpu,
    )


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p * (len(ordered) - 1)))]


def report(label: str, outcome: Outcome, count: int) -> bool:
    sizes = outcome.sizes
    engagements = sum(sizes[team(w)] for w in range(count))
    print(f"\n== {label}: {count} workspaces' digests due at the same minute "
          f"({engagements:,} engagements, {sizes['rows']:,} rows) ==")  # fmt: skip
    missing = [channel(w) for w in range(count) if channel(w) not in outcome.charts]
    posts, charts = list(outcome.posts.values()), list(outcome.charts.values())
    last = max(charts + posts, default=float("inf")) if not missing else float("inf")
    print(f"passes: {outcome.ticks}; wall {outcome.wall_s:.1f} s; this process's CPU "
          f"{outcome.cpu_s:.1f} s ({outcome.cpu_s / count:.2f} s a workspace's digest and chart)")  # fmt: skip
    for name, values in (("digest", posts), ("chart", charts)):
        if values:
            print(f"{name:>6} out after: p50 {statistics.median(values):6.1f} s   "
                  f"p95 {percentile(values, 0.95):6.1f} s   last {max(values):6.1f} s   "
                  f"({len(values)} of {count})")  # fmt: skip
    print("per workspace (engagements: digest s / chart s), in the order the engine served them:")
    order = sorted(range(count), key=lambda w: outcome.charts.get(channel(w), float("inf")))
    cells = [
        f"{sizes[team(w)]:>3}: {outcome.posts.get(channel(w), float('nan')):5.1f}/"
        f"{outcome.charts.get(channel(w), float('nan')):5.1f}"
        for w in order
    ]
    for start in range(0, len(cells), 6):
        print("   " + "   ".join(cells[start : start + 6]))
    good = last <= TARGET_S
    print(f"last digest and chart out after  {last:>6.1f} s   target <= {TARGET_S:.0f} s   "
          f"{'PASS' if good else 'MISS'}" + (f"   ({len(missing)} never out)" if missing else ""))  # fmt: skip
    key = f"digest.{label.lower()}.minute_{count}"
    record_result(f"{key}.last", last, "s", digits=0)
    if charts:
        record_result(f"{key}.p50", statistics.median(charts), "s", digits=0)
    record_result(f"{key}.cpu_per_workspace", outcome.cpu_s / count, "s", digits=2)
    return good


def run_backend(label: str, postgres_url: str | None, count: int, low: int, high: int) -> bool:
    scratch = Scratch(postgres_url, prefix="digestminute")
    fake = FakeProcess(team_id="T0DW0000")
    try:
        url = scratch.new("minute")
        t0 = time.perf_counter()
        sizes = seed_apart(url, count, low, high)
        print(f"  ({label}: seeded {sizes['rows']:,} rows in {time.perf_counter() - t0:.0f} s)",
              flush=True)  # fmt: skip
        db = scratch.database(url)
        fake.ask("people", users=[], channels=[channel(w) for w in range(count)])
        for method in POSTING:
            fake.ask("delay", method=method, seconds=LATENCY_S)
        outcome = run_minute(services(db, url, fake.base_url), fake, count)
        outcome.sizes = sizes
        return report(label, outcome, count)
    finally:
        fake.close()
        scratch.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspaces", type=int, default=100)
    parser.add_argument("--engagements", default="10,100",
                        help="the fewest and most engagements a workspace has (default 10,100)")  # fmt: skip
    parser.add_argument("--postgres", metavar="URL",
                        help="run on PostgreSQL instead: a server database to create a scratch "
                             "database from, e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test")  # fmt: skip
    parser.add_argument("--seed", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.seed:  # child-process mode: seed one database, print what was seeded
        url, count, low, high = args.seed
        db = Database.from_url(url)
        print(json.dumps(seed_workspaces(db, int(count), int(low), int(high))))
        db.dispose()
        return 0
    low, high = (int(n) for n in args.engagements.split(","))
    if (args.workspaces, low, high) != (100, 10, 100):
        stop_recording("other sizes than the documented figures' (100 workspaces of 10-100)")
    label = "PostgreSQL" if args.postgres else "SQLite"
    return 0 if run_backend(label, args.postgres, args.workspaces, low, high) else 1


if __name__ == "__main__":
    sys.exit(main())
