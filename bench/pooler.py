"""What the pooler-safe connection costs (issue 23, item 6): CPU per request and per engine
transaction on PostgreSQL, with and without server-side prepared statements, directly and
through PgBouncer in transaction mode.

    python bench/pooler.py [--postgres-url postgresql+psycopg://postgres@127.0.0.1:5432/test]
                           [--rounds 5] [--quick]

A scratch database seeded as bench/digest.py seeds it (1,000 engagements of one workspace, a
year of history). Three ways in, measured in turns within each round, since the machine is
shared and noisy:

- `direct, prepared`: DATABASE_PREPARED_STATEMENTS=true on a direct connection (the baseline:
  closest to what Cadence did before its limits moved into each transaction, which adds one
  short statement to a transaction without a request's deadline);
- `direct`: the default, psycopg prepares nothing on the server;
- `PgBouncer`: the default through a PgBouncer of our own (tests/pgbouncer.py,
  pool_mode = transaction), its own CPU counted too.

A request-shaped unit runs within a request's deadline, as a listener does: the engagement
list's page (`engagements.queries.page`, 20 of 1,000) or one engagement's figures
(`figures.load`), in turns. An engine-shaped unit is one short transaction reading one row.
CPU is this process's (`time.process_time`) plus the server backends' of the scratch database
(and PgBouncer's), read from /proc: CPU, not wall time, since other processes share the cores.
Printed: the median over rounds per unit, and each way's ratio against the baseline.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for folder in (ROOT, ROOT / "tests", ROOT / "bench"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

import pgbouncer  # noqa: E402  (tests/pgbouncer.py)
from common import Scratch, record_result, stop_recording  # noqa: E402
from digest import TEAM, seed_apart  # noqa: E402
from sqlalchemy import select  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlmodel import Session  # noqa: E402

from bot.domain import figures  # noqa: E402
from bot.domain.engagements import queries  # noqa: E402
from storage.db import REQUEST_SECONDS, Database, Deadline, within  # noqa: E402
from storage.models import Engagement  # noqa: E402

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SIZE = 1_000
NOW = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)
TICK = os.sysconf("SC_CLK_TCK")
BASELINE = "direct, prepared"


def process_cpu(pid: int) -> float:
    """User and system CPU seconds of a process (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


@dataclass
class Way:
    """One way in: its Database, and the processes besides ours whose CPU it costs."""

    name: str
    db: Database
    database: str  # the scratch database's name (its backends are found by it)
    watcher: Database  # a direct connection, to list the backends
    extra_pids: tuple[int, ...] = ()

    def backends(self) -> set[int]:
        with self.watcher.read() as conn:
            rows = conn.exec_driver_sql(
                "SELECT pid FROM pg_stat_activity WHERE datname = %(name)s "
                "AND pid <> pg_backend_pid()",
                {"name": self.database},
            ).all()
        return {pid for (pid,) in rows}

    def measure(self, unit: Callable[[Database, int], None], n: int) -> tuple[float, float]:
        """CPU milliseconds per unit: ours, the backends' and the pooler's; and the backends'
        and the pooler's alone."""
        unit(self.db, 0)  # a connection open before the count starts
        pids = self.backends() | set(self.extra_pids)
        before = {pid: process_cpu(pid) for pid in pids}
        ours = time.process_time()
        for i in range(n):
            unit(self.db, i)
        ours = time.process_time() - ours
        pids |= self.backends()
        others = sum(process_cpu(pid) - before.get(pid, 0.0) for pid in pids)
        return (ours + others) / n * 1000, others / n * 1000


def request_unit(ids: list[int]) -> Callable[[Database, int], None]:
    def unit(db: Database, i: int) -> None:
        with within(Deadline.after(REQUEST_SECONDS)), Session(db.engine) as session:
            if i % 2:
                queries.page(session=session, team_id=TEAM, limit=20)
            else:
                figures.load(
                    session, team_id=TEAM, engagement_ids=[ids[i % len(ids)]], now=NOW, weeks=8
                )
            session.rollback()

    return unit


def engine_unit(ids: list[int]) -> Callable[[Database, int], None]:
    def unit(db: Database, i: int) -> None:
        with db.session() as session:
            session.get(Engagement, ids[i % len(ids)])

    return unit


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--postgres-url", default=os.environ.get("TEST_DATABASE_URL") or DEFAULT_PG)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="fewer units per round")
    args = parser.parse_args(argv)
    if args.quick:
        stop_recording("--quick")
    if not pgbouncer.available():
        print(f"PgBouncer is not installed ({pgbouncer.PGBOUNCER}): apt-get install pgbouncer")
        return 1
    scratch = Scratch(args.postgres_url, prefix="pooler")
    try:
        url = scratch.new("pooler")
        seed_apart(url, SIZE)
        name = make_url(url).database or ""
        watcher = scratch.database(url)
        with pgbouncer.pgbouncer(args.postgres_url, pool_size=4) as bouncer:
            ways = [
                Way(BASELINE, Database.from_url(url, prepared_statements=True), name, watcher),
                Way("direct", Database.from_url(url), name, watcher),
                Way(
                    "PgBouncer",
                    Database.from_url(bouncer.url_for(url)),
                    name,
                    watcher,
                    (bouncer.pid,),
                ),
            ]
            scratch.open.extend(way.db for way in ways)
            with ways[0].db.read_session() as session:
                ids = list(session.exec(select(Engagement.id).limit(50)).scalars())
            units = {
                "request": (request_unit(ids), 20 if args.quick else 60),
                "engine": (engine_unit(ids), 200 if args.quick else 1000),
            }
            print(f"pooler: {SIZE:,} engagements, {args.rounds} rounds; CPU per unit (ours, "
                  "the database's backends and PgBouncer's), median over rounds")  # fmt: skip
            for label, (unit, n) in units.items():
                for way in ways:
                    way.measure(unit, max(1, n // 5))  # warm: caches, plans, connections
                seen: dict[str, list[float]] = {way.name: [] for way in ways}
                server: dict[str, list[float]] = {way.name: [] for way in ways}
                for _ in range(args.rounds):
                    for way in ways:
                        total, others = way.measure(unit, n)
                        seen[way.name].append(total)
                        server[way.name].append(others)
                base = statistics.median(seen[BASELINE])
                base_server = statistics.median(server[BASELINE])
                print(f"{label} ({n} a round):")
                for way in ways:
                    median = statistics.median(seen[way.name])
                    ratio = median / base
                    on_server = statistics.median(server[way.name])
                    print(f"  {way.name:18s} {median:7.2f} ms  {ratio:.2f}× {BASELINE};  "
                          f"database side {on_server:6.2f} ms  {on_server / base_server:.2f}×")  # fmt: skip
                    if way.name == BASELINE:
                        continue
                    key = f"pooler.{label}.{way.name.lower()}"
                    note = f"median of {args.rounds} rounds of {n}"
                    record_result(f"{key}.cpu_ratio", ratio, "x", digits=2, baseline_ratio=ratio,
                                  baseline=BASELINE, note=f"{note}; {median:.2f} ms")  # fmt: skip
                    ratio = on_server / base_server
                    record_result(f"{key}.database_ratio", ratio, "x", digits=2,
                                  baseline_ratio=ratio, baseline=BASELINE,
                                  note=f"{note}; {on_server:.2f} ms")  # fmt: skip
    finally:
        scratch.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
