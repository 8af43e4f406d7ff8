"""Server CPU per request kind, and where it goes (issue 23, item 3), beside the bare Bolt app.

    python bench/profile_requests.py [--database sqlite|postgresql|both] [--per-kind 30]
                                     [--size 1000] [--top 25] [--only help,list,...] [--record]

`bench/ack.py` times acks through gunicorn and reads the server's CPU from /proc; on a machine
other work is busy on, that CPU moves with the load. This script calls the same WSGI
applications in its own process instead (Cadence's `bot.entry.wsgi.create_app()` with the
environment `bench/ack.py` gives the web process, and `bench/bare_bolt.py`), with the same
signed requests on the same seeded database (1,000 engagements by default), against the fake
Slack in a child process, and counts `time.process_time()` of this process: every thread, the
work after the ack included (it waits until every listener and outbox task submitted has
finished). gunicorn's own share (parsing HTTP) is left out of both apps alike.

For each kind it runs `--per-kind` requests unprofiled (the CPU figures, median of three
rounds), then again under cProfile, one profiler per thread (the request's thread, each
listener task after the ack, each outbox send), merged, and prints the functions with the
largest cumulative time. Bodies are built and signed before a round starts.

`--record` writes the per-kind CPU and its ratio to the bare app into results.json
(`profile.<backend>.cpu_per_request.<kind>`).

`--rss` only starts the Procfile's gunicorn line, Cadence's and the bare app's, and reads each
idle worker's RSS after one /healthz: on SQLite (`profile.web_idle_rss`) and on PostgreSQL
(`profile.web_idle_rss.postgresql`, which adds psycopg and libpq), as `--database` selects.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import random
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(Path(__file__).resolve().parent)]

import ack  # noqa: E402  (bench/ is the script's folder)
import bare_bolt  # noqa: E402
from common import FakeProcess, Scratch, record_result  # noqa: E402
from slack_bolt.adapter.wsgi import SlackRequestHandler  # noqa: E402

from bot.demo.slack_sim import sign  # noqa: E402

KINDS = ("help", "list", "skip", "button", "submit")  # the kinds issue 23 names
ROUNDS = 3
WSGIApp = Callable[[dict[str, Any], Callable], Any]


class Tasks:
    """Every task submitted to a thread pool in this process: counted until it ends, and run
    under a profiler of its own while `profiling` is on (cProfile sees one thread)."""

    def __init__(self) -> None:
        self.pending = 0
        self.cond = threading.Condition()
        self.profiling = False
        self.profiles: list[cProfile.Profile] = []
        self._submit = ThreadPoolExecutor.submit

    def install(self) -> None:
        tasks = self

        def submit(pool: ThreadPoolExecutor, fn: Callable, /, *args: Any, **kwargs: Any) -> Future:
            with tasks.cond:
                tasks.pending += 1

            def run() -> Any:
                profile = cProfile.Profile(time.thread_time) if tasks.profiling else None
                try:
                    if profile is None:
                        return fn(*args, **kwargs)
                    return profile.runcall(fn, *args, **kwargs)
                finally:
                    with tasks.cond:
                        if profile is not None:
                            tasks.profiles.append(profile)
                        tasks.pending -= 1
                        tasks.cond.notify_all()

            return tasks._submit(pool, run)

        ThreadPoolExecutor.submit = submit  # type: ignore[method-assign]

    def wait_idle(self, limit_s: float = 120) -> None:
        with self.cond:
            if not self.cond.wait_for(lambda: self.pending == 0, limit_s):
                raise RuntimeError(f"{self.pending} tasks still running after {limit_s} s")


class Direct:
    """A client that calls a WSGI application in this process (what gunicorn would hand it)."""

    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    def environ(self, body: str, headers: dict[str, str]) -> dict[str, Any]:
        data = body.encode()
        env = {
            "REQUEST_METHOD": "POST", "PATH_INFO": "/slack/events", "QUERY_STRING": "",
            "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1",
            "CONTENT_TYPE": headers["Content-Type"], "CONTENT_LENGTH": str(len(data)),
            "wsgi.input": io.BytesIO(data), "wsgi.url_scheme": "http", "wsgi.errors": sys.stderr,
            "wsgi.version": (1, 0), "wsgi.multithread": True, "wsgi.multiprocess": False,
            "wsgi.run_once": False,
        }  # fmt: skip
        for name, value in headers.items():
            env["HTTP_" + name.upper().replace("-", "_")] = value
        return env

    def call(self, env: dict[str, Any]) -> tuple[str, bytes]:
        status: list[str] = []
        chunks = self.app(env, lambda s, h, exc_info=None: status.append(s))
        answer = b"".join(chunks)
        if hasattr(chunks, "close"):
            chunks.close()
        return status[0], answer

    def post(self, body: str, content_type: str) -> tuple[int, float, bytes]:
        """As ack.Client.post: (status, seconds, body)."""
        start = time.perf_counter()
        status, answer = self.call(self.environ(body, sign(body, ack.SIGNING_SECRET, content_type=content_type)))  # fmt: skip
        return int(status.split()[0]), time.perf_counter() - start, answer

    def close(self) -> None:
        pass


def run_round(client: Direct, tasks: Tasks, bodies: list[str]) -> float:
    """CPU seconds per request of `bodies`, sent one at a time, the work after each ack included."""
    envs = [client.environ(b, sign(b, ack.SIGNING_SECRET)) for b in bodies]
    tasks.wait_idle()
    cpu0 = time.process_time()
    for env in envs:
        status, answer = client.call(env)
        if not status.startswith("200"):
            raise RuntimeError(f"answered {status}: {answer[:300]!r}")
        tasks.wait_idle()
    return (time.process_time() - cpu0) / len(envs)


def profile_round(client: Direct, tasks: Tasks, bodies: list[str]) -> pstats.Stats:
    envs = [client.environ(b, sign(b, ack.SIGNING_SECRET)) for b in bodies]
    tasks.wait_idle()
    tasks.profiles.clear()
    tasks.profiling = True
    main = cProfile.Profile(time.thread_time)
    try:
        for env in envs:
            main.runcall(client.call, env)
            tasks.wait_idle()
    finally:
        tasks.profiling = False
    stats = pstats.Stats(main)
    for p in tasks.profiles:
        stats.add(p)
    return stats


def print_top(stats: pstats.Stats, n: int, requests: int, own: bool = False) -> None:
    """The `n` functions with the largest cumulative time (`own`: time in the function
    itself), per request."""
    rows = []
    for (file, line, name), (_cc, calls, tt, ct, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        where = file.replace(str(ROOT) + "/", "")
        if "site-packages/" in where:
            where = where.split("site-packages/", 1)[1]
        rows.append((ct, tt, calls, f"{where}:{line}({name})"))
    rows.sort(key=lambda row: row[1] if own else row[0], reverse=True)
    print(f"      {'cum ms':>8} {'own ms':>8} {'calls':>8}  function (per request)")
    for ct, tt, calls, label in rows[:n]:
        print(f"      {ct / requests * 1e3:8.2f} {tt / requests * 1e3:8.3f} {calls / requests:8.1f}  {label}")  # fmt: skip


def measure(label: str, postgres_url: str | None, args: argparse.Namespace) -> dict[str, tuple[float, float]]:  # fmt: skip
    scratch = Scratch(postgres_url, prefix="prof")
    fake = FakeProcess(team_id=ack.TEAM, app_id=ack.APP_ID, tz=ack.TZ, still_clock=True,
                       backlog=512, counted={"apologies": ack.APOLOGY})  # fmt: skip
    tasks = Tasks()
    tasks.install()
    figures: dict[str, tuple[float, float]] = {}
    cadence = None
    try:
        url = scratch.new(f"e{args.size}")
        facts = ack.seed_apart(url, args.size)
        channels = [e["channel"] for e in facts["engagements"]]
        dms: dict[str, str] = {}
        for start in range(0, len(facts["users"]), 1_000):
            chunk = facts["users"][start : start + 1_000]
            dms.update(fake.ask("people", users=chunk, channels=channels if start == 0 else [])["dms"])  # fmt: skip
        env = ack.server_env(url, fake)
        for key in [k for k in os.environ if k not in env]:
            del os.environ[key]
        os.environ.update(env)
        from bot.entry.wsgi import create_app  # after the environment: what the web process does

        cadence = create_app()
        bare = SlackRequestHandler(bare_bolt.build_app(env))
        apps = {"cadence": Direct(cadence), "bare": Direct(bare)}
        requests = ack.Requests(facts, fake, dms)
        requests.open_forms("", apps["cadence"])
        rng = random.Random(args.size)
        for client in apps.values():  # warm: imports, pools, statement caches
            for kind in args.kinds:
                run_round(client, tasks, [b for _, b in requests.plan(3, rng, (kind,))])
        print(f"\n{label}, {args.size} engagements, {args.per_kind} requests per kind, "
              f"CPU per request (median of {ROUNDS} rounds), the work after the ack included:")  # fmt: skip
        for kind in args.kinds:
            cpu: dict[str, float] = {}
            for app, client in apps.items():
                plans = [requests.plan(args.per_kind, rng, (kind,)) for _ in range(ROUNDS)]
                rounds = [run_round(client, tasks, [b for _, b in plan]) for plan in plans]
                cpu[app] = statistics.median(rounds)
            figures[kind] = (cpu["cadence"], cpu["bare"])
            print(f"  {ack.LABELS[kind]:<38} cadence {cpu['cadence'] * 1e3:6.2f} ms   "
                  f"bare {cpu['bare'] * 1e3:5.2f} ms   {cpu['cadence'] / cpu['bare']:5.1f}x")  # fmt: skip
            if args.top:
                stats = profile_round(apps["cadence"], tasks, [b for _, b in requests.plan(args.per_kind, rng, (kind,))])  # fmt: skip
                print_top(stats, args.top, args.per_kind, args.own)
        fake.wait_quiet(quiet_s=0.5)
        stats_after = fake.ask("stats")
        if stats_after.get("apologies"):
            print(f"  apologies after the acks: {stats_after['apologies']}")
    finally:
        if cadence is not None:
            cadence.close()
            cadence.services.db.dispose()
        fake.close()
        scratch.close()
    return figures


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for {pid}")


def idle_rss(postgres_url: str | None = None) -> tuple[float, float]:
    """The RSS of an idle `web` worker (the Procfile's gunicorn line, after one /healthz) and of
    the bare Bolt app's worker under the same line, in MB; on SQLite, or on a PostgreSQL
    database made from `postgres_url` (the worker then also holds psycopg and libpq)."""
    scratch = Scratch(postgres_url, prefix="rss")
    fake = FakeProcess(team_id=ack.TEAM, app_id=ack.APP_ID, tz=ack.TZ)
    found: dict[str, float] = {}
    try:
        url = scratch.new("idle")
        with tempfile.TemporaryDirectory(prefix="cadence-rss-") as tmp:
            for label, bare in (("cadence", False), ("bare", True)):
                server = ack.Server(f"{label}-rss", ack.server_env(url, fake), Path(tmp), bare=bare)
                try:
                    (ack.wait_bare if bare else ack.wait_ready)(server)
                    time.sleep(1.0)
                    workers = ack._children(server.process.pid)
                    found[label] = max(rss_mb(pid) for pid in workers)
                finally:
                    server.close()
    finally:
        fake.close()
        scratch.close()
    return found["cadence"], found["bare"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--postgres-url", default=os.environ.get("TEST_DATABASE_URL") or ack.DEFAULT_PG)  # fmt: skip
    parser.add_argument("--per-kind", type=int, default=30)
    parser.add_argument("--size", type=int, default=1_000)
    parser.add_argument("--top", type=int, default=25, help="functions shown per kind (0: none)")
    parser.add_argument("--own", action="store_true", help="sort by time in the function itself")
    parser.add_argument("--only", default=",".join(KINDS), help="kinds, comma-separated")
    parser.add_argument("--record", action="store_true", help="write the figures to results.json")
    parser.add_argument("--rss", action="store_true", help="only the idle web worker's RSS")
    args = parser.parse_args(argv)
    if args.rss:
        if args.database in ("sqlite", "both"):
            cadence, bare = idle_rss()
            print(f"idle web worker RSS, SQLite: cadence {cadence:.1f} MB, bare Bolt app {bare:.1f} MB")  # fmt: skip
            if args.record:
                record_result("profile.web_idle_rss", cadence, "MB", digits=0,
                              baseline_ratio=cadence / bare, baseline="bare Bolt app")  # fmt: skip
                record_result("profile.web_idle_rss.bare", bare, "MB", digits=0)
        if args.database in ("postgresql", "both"):
            cadence, bare = idle_rss(args.postgres_url)
            print(f"idle web worker RSS, PostgreSQL: cadence {cadence:.1f} MB, bare Bolt app {bare:.1f} MB")  # fmt: skip
            if args.record:
                record_result("profile.web_idle_rss.postgresql", cadence, "MB", digits=0,
                              baseline_ratio=cadence / bare, baseline="bare Bolt app")  # fmt: skip
        return 0
    args.kinds = tuple(k for k in args.only.split(",") if k)
    backends = []
    if args.database in ("sqlite", "both"):
        backends.append(("SQLite", None))
    if args.database in ("postgresql", "both"):
        backends.append(("PostgreSQL", args.postgres_url))
    sys.stderr = open(os.devnull, "w")  # noqa: SIM115  (the app's log lines: not this report)
    for label, pg in backends:
        figures = measure(label, pg, args)
        if args.record and args.size == 1_000:
            for kind, (cpu, bare) in figures.items():
                name = f"profile.{label.lower()}.{kind}"
                record_result(f"{name}.cpu", cpu * 1e3, "ms", digits=1, baseline_ratio=cpu / bare,
                              baseline="bare Bolt app")  # fmt: skip
                record_result(f"{name}.bare_cpu", bare * 1e3, "ms", digits=1)
                record_result(f"{name}.ratio", cpu / bare, "x", digits=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
