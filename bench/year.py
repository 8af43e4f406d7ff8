"""A year of data: the job table and the idle tick, before and after (issue 23, item 5).

    python bench/year.py [--database sqlite|postgresql|both] [--copies N]

Two scratch databases with the same engagements and weekly cadences (`--copies`, none due):
one with no history (the baseline), one with a year of it seeded in bulk (tests/year_seed.py:
weekly check-ins and their finished jobs, receipts every half hour, gone processes'
heartbeats). The engine's real pass (`bot.engine.tick`) runs on the year until its pruning
(storage/pruning.py) has nothing more to delete, each pass timed; then the idle pass is timed
on both, in this process and this run (the machine is shared and noisy: compare the ratio).
Printed: the job table's rows and bytes (table and indexes) and the idle pass's median, for
the baseline, the year before pruning and the year after, each with its ratio to the
baseline. PostgreSQL's bytes are after a plain VACUUM, which frees deleted rows for reuse
without giving the file back; SQLite's are the pages the table and its indexes still use.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from common import FakeProcess, Scratch, record_result, stop_recording  # noqa: E402  (bench/ is the script's folder)
from engine import (  # noqa: E402
    DEFAULT_PG,
    TEAM,
    cadence_row,
    insert_cadences,
    insert_engagements,
    next_after,
    services,
)
from sqlalchemy import func, select, text  # noqa: E402
from year_seed import seed_year  # noqa: E402

from bot.engine import tick as engine  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models import Cadence, ScheduledJob  # noqa: E402

UNTIL = datetime(2027, 1, 12, 8, 0, tzinfo=UTC)  # the year's last day: the passes run at it
IDLE_TICKS = 15


def template(db: Database) -> tuple[int, int]:
    """One engagement with a lead and a vendor contact, and its weekly Monday cadence."""
    (engagement_id,) = insert_engagements(db, 1, "year", lambda i: ["U0YEARVENDOR"])
    occurrence = next_after(0, "09:00", "Europe/Berlin", UNTIL)
    insert_cadences(db, [cadence_row(engagement_id, 0, "09:00", "Europe/Berlin", occurrence)])
    with db.read_session() as session:
        cadence_id = session.execute(select(func.max(Cadence.id))).scalar_one()
    return engagement_id, cadence_id


def job_table(db: Database) -> tuple[int, int]:
    """(rows, bytes of the table and its indexes)."""
    with db.engine.connect() as conn:
        rows = conn.execute(select(func.count()).select_from(ScheduledJob)).scalar_one()
        if conn.dialect.name == "postgresql":
            size = conn.execute(text("SELECT pg_total_relation_size('scheduledjob')")).scalar()
        else:
            size = conn.execute(
                text(
                    "SELECT SUM(pgsize) FROM dbstat WHERE name IN "
                    "(SELECT name FROM sqlite_master WHERE tbl_name = 'scheduledjob')"
                )
            ).scalar()
    return rows, int(size or 0)


def tidy(db: Database) -> None:
    """What autovacuum (PostgreSQL) or `PRAGMA optimize` (SQLite) would have done by now."""
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE" if conn.dialect.name == "postgresql" else "ANALYZE")


def idle_passes(pairs: dict[str, object], at: datetime) -> dict[str, float]:
    """The median of `IDLE_TICKS` passes with nothing due on each database (after a warm one),
    in seconds, taken in turn (one on each, then again), so the machine's drift hits both."""
    times: dict[str, list[float]] = {label: [] for label in pairs}
    for svc in pairs.values():
        engine.tick(svc, at)
    for _ in range(IDLE_TICKS):
        for label, svc in pairs.items():
            started = time.perf_counter()
            report = engine.tick(svc, at)
            times[label].append(time.perf_counter() - started)
            assert report.actions == [], report.actions
    return {label: statistics.median(values) for label, values in times.items()}


def run(backend: str, copies: int, postgres_url: str) -> None:
    print(f"== {backend}: {copies} engagements, weekly cadences ==", flush=True)
    scratch = Scratch(postgres_url if backend == "postgresql" else None, prefix="year")
    fake = FakeProcess(team_id=TEAM)
    wall = datetime.now(UTC)
    try:
        dbs = {}
        for label, weeks in (("baseline", 0), ("year", 52)):
            url = scratch.new(label)
            db = scratch.database(url)
            started = time.perf_counter()
            engagement_id, cadence_id = template(db)
            seeded = seed_year(
                db, engagement_id=engagement_id, cadence_id=cadence_id, copies=copies,
                until=UNTIL, wall=wall, weeks=weeks,
            )  # fmt: skip
            tidy(db)
            dbs[label] = (db, services(db, url, fake.base_url))
            print(f"  {label}: {seeded.checkins:,} check-ins, {seeded.jobs:,} jobs, "
                  f"{seeded.receipts:,} receipts seeded in {time.perf_counter() - started:.1f} s",
                  flush=True)  # fmt: skip
        base_db, base_svc = dbs["baseline"]
        year_db, year_svc = dbs["year"]
        base_rows, base_bytes = job_table(base_db)
        before_rows, before_bytes = job_table(year_db)

        passes, pruned, prune_times = 0, 0, []
        while True:
            started = time.perf_counter()
            report = engine.tick(year_svc, UNTIL)
            prune_times.append(time.perf_counter() - started)
            passes += 1
            pruned += report.pruned.jobs
            if not report.pruned.total:
                break
        tidy(year_db)
        after_rows, after_bytes = job_table(year_db)
        idle = idle_passes({"baseline": base_svc, "year": year_svc}, UNTIL)
        base_idle, after_idle = idle["baseline"], idle["year"]

        def ratio(value: float, base: float) -> str:
            return f"{value / base:.2f}x" if base else "-"

        print(f"  {'':<34} {'rows':>9} {'bytes':>12} {'idle pass':>10}")
        print(f"  {'baseline (no history)':<34} {base_rows:>9,} {base_bytes:>12,} "
              f"{base_idle * 1000:>8.2f} ms")  # fmt: skip
        print(f"  {'a year, before pruning':<34} {before_rows:>9,} {before_bytes:>12,} "
              f"{'':>10}   bytes {ratio(before_bytes, base_bytes)}")  # fmt: skip
        print(f"  {'a year, pruned':<34} {after_rows:>9,} {after_bytes:>12,} "
              f"{after_idle * 1000:>8.2f} ms   bytes {ratio(after_bytes, base_bytes)}, "
              f"idle pass {ratio(after_idle, base_idle)} the baseline")  # fmt: skip
        print(f"  pruning: {pruned:,} finished jobs in {passes - 1} passes "
              f"(slowest {max(prune_times) * 1000:.0f} ms, the last idle: "
              f"{prune_times[-1] * 1000:.1f} ms)", flush=True)  # fmt: skip
        record(backend, base_rows, base_bytes, base_idle, before_rows, before_bytes, after_rows,
               after_bytes, after_idle, pruned, passes - 1, max(prune_times))  # fmt: skip
    finally:
        fake.close()
        scratch.close()


def record(backend: str, *figures: float) -> None:
    """The table bench/README.md quotes (`year.<backend>.…` in bench/results.json)."""
    base_rows, base_bytes, base_idle, before_rows, before_bytes = figures[:5]
    after_rows, after_bytes, after_idle, pruned, passes, slowest = figures[5:]
    key = f"year.{backend}"
    record_result(f"{key}.baseline.rows", base_rows, "")
    record_result(f"{key}.baseline.kb", base_bytes / 1000, "kB")
    record_result(f"{key}.baseline.idle_pass", base_idle * 1000, "ms", digits=1)
    record_result(f"{key}.year.rows", before_rows, "")
    record_result(f"{key}.year.mb", before_bytes / 1e6, "MB", digits=1)
    record_result(f"{key}.pruned.rows", pruned, "")
    record_result(f"{key}.pruned.passes", passes, "")
    record_result(f"{key}.pruned.slowest_pass", slowest, "s", digits=1)
    record_result(f"{key}.after.rows", after_rows, "")
    record_result(f"{key}.after.mb", after_bytes / 1e6, "MB", digits=1)
    record_result(
        f"{key}.after.idle_pass",
        after_idle * 1000,
        "ms",
        digits=1,
        baseline_ratio=after_idle / base_idle if base_idle else None,
        baseline="the idle pass on a database without history, same run",
    )
    if base_idle:
        record_result(f"{key}.after.idle_ratio", after_idle / base_idle, "x", digits=2)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--copies", type=int, default=200, help="engagements with a year each")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get("TEST_DATABASE_URL") or DEFAULT_PG,
        help="a PostgreSQL server database to create scratch databases from",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if args.copies != 1000:
        stop_recording(f"--copies {args.copies}: bench/README.md quotes --copies 1000")
    backends = ("sqlite", "postgresql") if args.database == "both" else (args.database,)
    for backend in backends:
        run(backend, args.copies, args.postgres_url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
