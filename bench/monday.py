"""A Monday at many workspaces on one PostgreSQL: prints each figure next to its target.

    python bench/monday.py [--pooler] [--workspaces N] [--engagements M] [--quick]
                           [--pool-size 30] [--clients 50] [--think 1.0] [--web 2]
                           [--postgres-url URL] [--keep-logs DIR]

N workspaces (default 100) of M engagements each (default 100; `--quick`: 10 x 10), spread
over five time zones, each installed through Slack's OAuth flow (/slack/install, Slack's
approval, /slack/oauth_redirect, as tests/test_workspaces.py does), on one scratch PostgreSQL
database. Each engagement has one vendor contact and a weekly check-in on Monday at 09:00 in
its workspace's zone, by DM (two in three) or in its channel: one prompt each, N x M in all.
The engagements themselves are seeded with bulk inserts (bench/engine.py's rows): creating
10,000 through the form would take longer than the measure.

The engine is two worker processes: `python -m bot tick --now T` started together for each
simulated minute T (two `worker`s with a real clock would wait out real minutes), from each
zone's 09:00 until nothing is due by the next minute. Slack is bot/demo/fake_slack/ in this
process (not a measured one), with its rate tiers on and chat.postMessage answered 100 ms late;
the channels' pace is the default (one message a second per channel). Meanwhile the
Procfile's web processes serve, and `--clients` people answer the status updates' prompts
through them (the answer button, then the update form: bench/monday_acks.py); the database's
sessions (and the pooler's clients, waits and transactions) are sampled (bench/monday_pool.py).

A prompt's delay is the simulated minute of the pass that sent it less its due moment, plus
the wall seconds from that pass's start to Slack's answer. Printed: the time until the last
prompt was out (simulated and wall), p50/p95 delay per workspace (the least and most delayed
ones, and the spread), the most/least delayed workspace ratio, CPU and peak RSS of each worker
and web process, the acks' p50/p99 and failures, the connections; then the database's size by
table; Friday's digests at 16:00 local, each workspace's delay; then the Monday after, with
one workspace of the first zone refused by Slack on every call (429, Retry-After 1 s) for ten
minutes, the web processes and clients up again: the other workspaces' p95 against the first
Monday's. With `--pooler` the first Monday runs directly and then on a copy of the database
through a PgBouncer of the run's own (tests/pgbouncer.py, transaction mode) that the workers
and web processes use, the two printed side by side; the rest runs through the pooler. Each
target of issue 23 (items 2, 3 and 4's digest minute) is printed beside its figure with PASS
or MISS. Not measured here: a year of history (bench/year.py).
"""

from __future__ import annotations

import argparse
import contextlib
import html
import json
import os
import re
import resource
import socketserver
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT)]
sys.path.append(str(ROOT / "tests"))  # tests/pgbouncer.py

import pgbouncer  # noqa: E402  (tests/pgbouncer.py: a PgBouncer of our own)
from common import Scratch, record_result, stop_recording  # noqa: E402  (bench/ is the script's folder)
from engine import cadence_row, next_after  # noqa: E402  (bench/engine.py's rows)
from monday_acks import FormClients, WebFigures, WebProcesses, peak_rss_mb  # noqa: E402
from monday_pool import Connections  # noqa: E402
from sqlalchemy import insert, text, update  # noqa: E402
from sqlalchemy.dialects.postgresql import insert as pg_insert  # noqa: E402

from bot.demo.fake_slack import FakeSlack  # noqa: E402
from bot.engine.lookups import JOB_EVENT  # noqa: E402
from bot.entry.wsgi import CadenceWSGI  # noqa: E402
from bot.platform.config import load_settings  # noqa: E402
from bot.platform.services import Services  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models import Engagement, EngagementMember, Person, ScheduledJob, Workspace  # noqa: E402

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
CLIENT_ID = "1111111111.2222222222"
CLIENT_SECRET = "monday-client-secret"
STATE_SECRET = "a long random text only this benchmark knows"
ENCRYPTION_KEY = "cTiWnRT3iNfDjp1J3tDi8W6VjZ8Z2zgxBukmlqRDcFQ="  # a Fernet key, for benches only
SIGNING_SECRET = "monday-signing-secret"
ZONES = ("Australia/Sydney", "Asia/Kolkata", "Europe/Berlin", "Europe/London", "America/New_York")
MONDAY = datetime(2026, 11, 30)  # local dates: Monday 09:00 and Friday 16:00 in each zone
FRIDAY = datetime(2026, 12, 4)
SEEDED = datetime(2026, 11, 2, tzinfo=UTC)  # when the engagements were made
LATENCY = 0.1  # seconds Slack takes to answer chat.postMessage
PACE = 1.0  # Slack's pace: one message a second per channel (the engine's default pace too)
WORKERS = 2
WARM_ZONE = "Pacific/Kiritimati"  # UTC+14: the warm-up workspace's Monday comes first
MAX_MINUTES = 15  # simulated minutes of passes per zone before giving up on what is left
WEEK = timedelta(days=7)
NEXT_PASS = timedelta(minutes=1)
# PgBouncer's server connections (default_pool_size), docs/operations.md's 6 x (W + K) + 6 for
# two web and two worker processes. 20 held the acks at p99 1.4 s with every server connection
# busy and 29 clients waiting (processes starved of CPU hold a connection while they compute
# between statements, so the pool covers their transactions, not the database's cores); 30
# gave 0.41 s with at most 2 waiting.
POOL_SIZE = 30
THINK_S = 1.0  # an ack client's mean pause between requests
THROTTLE_SECONDS = 600.0  # Slack refusing one workspace outright for ten minutes


@dataclass
class Workspace_:
    team_id: str
    zone: str
    lead: str
    channels: list[str] = field(default_factory=list)
    # where each weekly status update's prompt goes (the vendor's id for a DM, else the
    # channel) -> its vendor: what the ack clients answer
    updates: dict[str, str] = field(default_factory=dict)


# --- Slack's side, and the app serving the OAuth flow ---------------------------------------------


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


class _Threading(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True


def environment(url: str, fake: FakeSlack) -> dict[str, str]:
    """The deployment's settings under OAuth: no bot token, each workspace's from its install."""
    return {
        "SLACK_BOT_TOKEN": "",
        "SLACK_CLIENT_ID": CLIENT_ID,
        "SLACK_CLIENT_SECRET": CLIENT_SECRET,
        "SLACK_STATE_SECRET": STATE_SECRET,
        "CADENCE_ENCRYPTION_KEYS": ENCRYPTION_KEY,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake.base_url,
        "DATABASE_URL": url,
        "LOG_LEVEL": "WARNING",
    }


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, str, Any]:
    request = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status, response.read().decode(), response.headers


def install(app_url: str, fake: FakeSlack, team_id: str, installer: str) -> None:
    """The install as a person makes it: /slack/install, Slack's approval page, and Slack
    sending the browser back to /slack/oauth_redirect with a code (tests/test_workspaces.py)."""
    status, page, headers = get(f"{app_url}/slack/install")
    authorize = html.unescape(
        re.search(r'href="(https://slack.com/oauth/v2/authorize[^"]+)"', page)[1]
    )
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(authorize).query)
    cookie = headers["Set-Cookie"].split(";")[0]
    code = fake.authorize(team_id, installer=installer, scopes=query["scope"][0].split(","))
    back = urllib.parse.urlencode({"code": code, "state": query["state"][0]})
    status, page, _ = get(f"{app_url}/slack/oauth_redirect?{back}", {"Cookie": cookie})
    if status != 200:
        raise RuntimeError(f"the install of {team_id} failed: {page[:200]}")


def set_up(db: Database, fake: FakeSlack, url: str, workspaces: int, engagements: int):
    """Every workspace in Slack and installed through OAuth; its engagements, people and
    Monday cadences seeded; its digest every Friday at 16:00 local in its first channel."""
    fake.oauth_client = (CLIENT_ID, CLIENT_SECRET)
    services = Services(settings=load_settings(environment(url, fake)), db=db)
    application = CadenceWSGI(services)
    server = make_server("127.0.0.1", 0, application, server_class=_Threading, handler_class=_Quiet)
    threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
    ).start()
    app_url = f"http://127.0.0.1:{server.server_port}"
    made: list[Workspace_] = []
    try:
        # A workspace whose Monday 09:00 (UTC+14) comes before every other: its passes warm
        # the workers up (imports, connections, statement caches), as a worker that has been
        # running is; it is not in the figures.
        warm = Workspace_("T0WARMUP", WARM_ZONE, "U0WARMUPLEAD")
        fake.add_team(warm.team_id, name="Warm-up", domain="warmup")
        fake.add_user(warm.lead, name="warm.lead", tz=warm.zone, team_id=warm.team_id)
        install(app_url, fake, warm.team_id, warm.lead)
        seed_workspace(db, fake, warm, 10)
        for w in range(workspaces):
            team = f"T0W{w:04d}"
            ws = Workspace_(team, ZONES[w % len(ZONES)], f"U0W{w:04d}LEAD")
            fake.add_team(team, name=f"Workspace {w}", domain=f"w{w}")
            fake.add_user(ws.lead, name=f"lead{w}", tz=ws.zone, team_id=team)
            install(app_url, fake, team, ws.lead)
            seed_workspace(db, fake, ws, engagements)
            made.append(ws)
    finally:
        server.shutdown()
        server.server_close()
        application.close()
    return warm, made


def seed_workspace(db: Database, fake: FakeSlack, ws: Workspace_, count: int) -> None:
    team = ws.team_id
    vendors = [f"U0{team[2:]}V{i:04d}" for i in range(count)]
    ws.channels = [f"C0{team[2:]}E{i:04d}" for i in range(count)]
    for user in vendors:
        fake.add_user(user, name=user.lower(), tz=ws.zone, team_id=team)
    for channel in ws.channels:
        fake.add_channel(channel, name=channel.lower(), bot_is_member=True)
    rows = [
        {
            "team_id": team, "handle": f"e{i}", "name": f"Engagement {i}",
            "vendor": f"Vendor {i}", "channel_id": ws.channels[i], "timezone": ws.zone,
            "holidays": [], "created_by": ws.lead, "created_at": SEEDED, "updated_at": SEEDED,
        }
        for i in range(count)
    ]  # fmt: skip
    table = Engagement.__table__
    local = ZoneInfo(ws.zone)
    with db.engine.begin() as conn:
        ids = list(
            conn.execute(
                insert(table).returning(table.c.id, sort_by_parameter_order=True), rows
            ).scalars()
        )
        conn.execute(
            insert(EngagementMember.__table__),
            [
                {"team_id": team, "engagement_id": eid, "user_id": user, "role": role}
                for eid, vendor in zip(ids, vendors, strict=True)
                for user, role in ((ws.lead, "lead"), (vendor, "vendor"))
            ],
        )
        conn.execute(
            insert(Person.__table__),
            [
                {"team_id": team, "user_id": user, "tz": ws.zone, "status_emoji": "",
                 "external": False, "refreshed_at": SEEDED}
                for user in [ws.lead, *vendors]
            ],
        )  # fmt: skip
        occurrence = next_after(0, "09:00", ws.zone, SEEDED + timedelta(days=27))
        cadences = []
        for i, eid in enumerate(ids):
            delivery = "dm" if i % 3 else "channel"
            row = cadence_row(eid, 0, "09:00", ws.zone, occurrence, delivery)
            cadences.append({**row, "team_id": team, "created_by": ws.lead})
            if row["kind"] == "status_update":
                ws.updates[vendors[i] if delivery == "dm" else ws.channels[i]] = vendors[i]
        from storage.models import Cadence

        conn.execute(insert(Cadence.__table__), cadences)
        friday = datetime.combine(FRIDAY.date(), datetime.min.time().replace(hour=16), local)
        schedule = {
            "digest_channel_id": ws.channels[0],
            "digest_rule": "FREQ=WEEKLY;BYDAY=FR",
            "digest_local_time": "16:00",
            "digest_timezone": ws.zone,
            "digest_next_run_at": friday.astimezone(UTC),
        }
        conn.execute(
            pg_insert(Workspace.__table__)
            .values(team_id=team, name=team, created_at=SEEDED, **schedule)
            .on_conflict_do_update(index_elements=["team_id"], set_=schedule)
        )


# --- the worker processes ---------------------------------------------------------------------------


class WorkerProcess:
    """A worker process that stays up between passes, as `python -m bot worker` does: this
    file in `--worker` mode, running `python -m bot tick --now T`'s own code (bot.entry.cli
    main) for each simulated minute it is given, so that no pass pays the interpreter's start
    and imports. Its CPU is read from its rusage when it ends (wait4); its peak RSS is the
    VmHWM it says as its last line, not rusage's `ru_maxrss`: Linux carries the parent's peak
    over to a child at exec, so that would be this (larger, growing) process's peak whenever
    it is the higher (a worker through the pooler "peaked" at 396 MB, as this process had by
    the second Monday, against its own 126 MB)."""

    def __init__(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--worker"],
            cwd=ROOT,
            env={**os.environ, **env},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.passes = 0
        self.cpu = 0.0
        self.peak_rss_mb = 0.0

    def start_pass(self, moment: datetime) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(moment.isoformat() + "\n")
        self.process.stdin.flush()

    def wait_pass(self) -> None:
        assert self.process.stdout is not None
        status = self.process.stdout.readline().strip()
        if status not in ("0", "1"):
            raise RuntimeError(f"a worker's pass ended with {status!r}")
        self.passes += 1

    def close(self) -> None:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.close()
        said = self.process.stdout.read().split()  # its last line: its peak RSS, in MB
        _, _, usage = os.wait4(self.process.pid, 0)
        self.cpu = usage.ru_utime + usage.ru_stime
        if not said:
            raise RuntimeError("a worker ended without saying its peak RSS")
        self.peak_rss_mb = float(said[-1])


def serve_as_worker() -> int:
    """`--worker` mode: one pass (`tick --now`) per line of stdin, its exit status on stdout;
    at the end of stdin, its own peak RSS in MB (VmHWM)."""
    import io
    from contextlib import redirect_stdout

    from bot.entry.cli import main as cli

    for line in sys.stdin:
        with redirect_stdout(io.StringIO()):
            status = cli(["tick", "--now", line.strip()])
        print(status, flush=True)
    print(f"{peak_rss_mb(os.getpid()):.1f}", flush=True)
    return 0


def passes_at(moment: datetime, env: dict[str, str], workers: list[WorkerProcess]) -> float:
    """Each worker's pass at `moment`, started together; the wall seconds until both ended."""
    began = time.perf_counter()
    for worker in workers:
        worker.start_pass(moment)
    for worker in workers:
        worker.wait_pass()
    return time.perf_counter() - began


def left_due(db: Database, kind: str, by: datetime, excluding: str = "") -> int:
    """Jobs of `kind` due by `by` and not yet ended (pending or claimed), but `excluding`'s
    (a workspace Slack throttles: its prompts wait for the throttle's end, not measured)."""
    with db.engine.connect() as conn:
        return conn.execute(
            text(
                "SELECT count(*) FROM scheduledjob WHERE kind = :kind AND due_at <= :by"
                " AND status IN ('pending', 'claimed') AND team_id <> :excluding"
            ),
            {"kind": kind, "by": by.replace(tzinfo=None), "excluding": excluding},
        ).scalar_one()


@dataclass
class Day:
    """What one day's passes sent: per workspace, each message's delay (simulated seconds);
    per zone's moment, the wall seconds from its first pass's start to its last message."""

    delays: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    wall: float = 0.0  # wall seconds of all its passes
    # (simulated minute, the moment it serves, wall start) of each pass
    passes: list[tuple[datetime, datetime, float]] = field(default_factory=list)
    last_wall: dict[datetime, float] = field(default_factory=dict)
    sent: dict[datetime, int] = field(default_factory=lambda: defaultdict(int))


def run_day(
    db: Database, fake: FakeSlack, env: dict[str, str], moments: dict[str, datetime],
    kind: str, prefix: str, workers: list[WorkerProcess], excluding: str = "",
) -> Day:  # fmt: skip
    """Passes every simulated minute from each zone's moment until its `kind` jobs are out;
    each `prefix` message's delay from its workspace's moment."""
    day = Day()
    since = len(fake.calls)
    for moment in sorted(set(moments.values())):
        minute = moment
        while minute - moment < timedelta(minutes=MAX_MINUTES):
            day.passes.append((minute, moment, time.time()))
            day.wall += passes_at(minute, env, workers)
            # Due by the next minute, not by the zone's moment: a job put off (a 429 from a
            # channel's pace, a retry) is due again later, and the workers would send it then.
            if not left_due(db, kind, minute + NEXT_PASS, excluding):
                break
            minute += timedelta(minutes=1)
    first = {}
    for _, moment, start in day.passes:
        first.setdefault(moment, start)
    for call in fake.calls[since:]:
        if call.method != "chat.postMessage" or not call.ok:
            continue
        metadata = call.args.get("metadata") or {}
        if isinstance(metadata, str):
            metadata = json.loads(metadata)
        job = (metadata.get("event_payload") or {}).get("job", "")
        if metadata.get("event_type") != JOB_EVENT or not job.startswith(prefix):
            continue
        team = fake.team_of(call.token)
        minute, moment, start = next(p for p in reversed(day.passes) if p[2] <= call.at)
        day.delays[team].append((minute - moments[team]).total_seconds() + (call.at - start))
        day.last_wall[moment] = max(day.last_wall.get(moment, 0.0), call.at - first[moment])
        day.sent[moment] += 1
    return day


def at_local(day: datetime, hour: int, zone: str) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=ZoneInfo(zone)).astimezone(UTC)


# --- figures -----------------------------------------------------------------------------------------


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def table_sizes(db: Database) -> list[tuple[str, float, int]]:
    with db.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT relname, pg_total_relation_size(relid), n_live_tup"
                " FROM pg_stat_user_tables ORDER BY 2 DESC"
            )
        ).all()
    return [(name, size / 1e6, live) for name, size, live in rows]


def line(label: str, figure: str, target: str = "", ok: bool | None = None) -> None:
    mark = "" if ok is None else verdict(ok)
    print(f"  {label:<46} {figure:<28} {target:<34} {mark}", flush=True)


def report_monday(
    day: Day, expected: int, workers: list[WorkerProcess], concurrency: int, title: str
) -> dict[str, float]:
    sent = sum(len(v) for v in day.delays.values())
    last = max(max(v) for v in day.delays.values())
    p95s = {team: p(v, 0.95) for team, v in day.delays.items()}
    p50s = {team: p(v, 0.5) for team, v in day.delays.items()}
    median95 = statistics.median(p95s.values())
    worst, best = max(p95s, key=p95s.get), min(p95s, key=p95s.get)
    ratio = p95s[worst] / max(p95s[best], 1e-9)
    print(title, flush=True)
    line("prompts sent", f"{sent} of {expected}", "all", sent == expected)
    line("last prompt out after its 09:00", f"{last:.1f} s simulated, "
         f"{max(day.last_wall.values()):.1f} s wall")  # fmt: skip
    line("wall time of the Monday's passes", f"{day.wall:.1f} s ({len(day.passes)} minutes)")
    # The ideal: every worker thread busy sending from the first moment, each call taking
    # Slack's latency; Slack's pace is one message a second per channel.
    ideal = {m: day.sent[m] * LATENCY / (WORKERS * concurrency) for m in day.last_wall}
    worst_zone = max(day.last_wall, key=lambda m: day.last_wall[m] - ideal[m])
    behind = day.last_wall[worst_zone] - ideal[worst_zone]
    line("last prompt behind the ideal (worst zone)",
         f"{behind:.1f} s ({day.last_wall[worst_zone]:.1f} s against {ideal[worst_zone]:.1f} s)",
         f"within {PACE:.0f} s (a channel's pace)", behind <= PACE)  # fmt: skip
    line("p50 delay per workspace (min / median / max)",
         f"{min(p50s.values()):.1f} / {statistics.median(p50s.values()):.1f} / "
         f"{max(p50s.values()):.1f} s")  # fmt: skip
    line("p95 delay per workspace (min / median / max)",
         f"{p95s[best]:.1f} / {median95:.1f} / {p95s[worst]:.1f} s")  # fmt: skip
    line("least-served workspace's p95 / median p95", f"{p95s[worst] / median95:.2f}x",
         "within 2x", p95s[worst] <= 2 * median95)  # fmt: skip
    line("most / least delayed workspace (p95)", f"{ratio:.2f}x ({worst} / {best})")
    for n, worker in enumerate(workers, 1):
        line(f"worker {n}: CPU, peak RSS ({worker.passes} passes)",
             f"{worker.cpu:.1f} s, {worker.peak_rss_mb:.0f} MB")  # fmt: skip
    # Not Cadence: the stand-in Slack's recorded calls and the clients' acks, growing over the run.
    line("this benchmark process: peak RSS so far",
         f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")  # fmt: skip
    return {"last": last, "wall": day.wall, "p95_median": median95, "p95_worst": p95s[worst],
            "spread": p95s[worst] / median95, "ratio": ratio,
            "behind": day.last_wall[worst_zone] / ideal[worst_zone],
            "rss": max(w.peak_rss_mb for w in workers),
            "worker_cpu": sum(w.cpu for w in workers)}  # fmt: skip


def report_friday(day: Day, expected: int, workers: list[WorkerProcess]):
    delays = {team: max(v) for team, v in day.delays.items()}
    print("Friday 16:00 local: the digests", flush=True)
    line("digests posted", f"{len(delays)} of {expected}", "all", len(delays) == expected)
    worst = max(delays.values()) if delays else float("nan")
    line("each workspace's delay (min / median / max)",
         f"{min(delays.values()):.1f} / {statistics.median(delays.values()):.1f} / "
         f"{worst:.1f} s", "out within 5 minutes", worst <= 300)  # fmt: skip
    cpu = sum(w.cpu for w in workers)  # their own processes: imports included
    line(
        "CPU of Friday's passes (both workers)",
        f"{cpu:.1f} s ({cpu / max(1, expected) * 1000:.0f} ms a digest)",
    )
    return {"worst": worst, "cpu": cpu}


def cancel_pending(db: Database) -> None:
    """Every pending job cancelled: what the days between planned is not this measure."""
    with db.engine.begin() as conn:
        conn.execute(
            update(ScheduledJob.__table__)
            .where(ScheduledJob.__table__.c.status == "pending")
            .values(status="cancelled")
        )


def report_throttled(
    plain: Day, throttled: Day, stuck: Workspace_, made: list[Workspace_], refused: int
) -> float:
    """The other workspaces' p95 on the throttled Monday against the plain one: the median
    workspace's, the worst one's, and those of the throttled one's zone. The first ratio."""
    others = [ws.team_id for ws in made if ws.team_id != stuck.team_id]
    zone = [ws.team_id for ws in made if ws.zone == stuck.zone and ws.team_id != stuck.team_id]

    def p95s(day: Day, teams: list[str]) -> list[float]:
        return [p(day.delays[t], 0.95) for t in teams if day.delays.get(t)]

    print(f"The next Monday, {stuck.team_id} ({stuck.zone}) refused by Slack: 429 on every "
          f"call for {THROTTLE_SECONDS / 60:.0f} minutes", flush=True)  # fmt: skip
    sent = len(throttled.delays.get(stuck.team_id, []))
    line(f"{stuck.team_id}: refused calls, prompts sent", f"{refused}, {sent}")
    line("wall time of the passes, beside it / without it",
         f"{throttled.wall:.1f} s ({len(throttled.passes)} minutes) / {plain.wall:.1f} s "
         f"({len(plain.passes)} minutes)")  # fmt: skip
    ratio = statistics.median(p95s(throttled, others)) / statistics.median(p95s(plain, others))
    line("others' median p95, beside it / without it", f"{ratio:.2f}x", "within 1.2x",
         ratio <= 1.2)  # fmt: skip
    worst = max(p95s(throttled, others)) / max(p95s(plain, others))
    line("others' worst p95, beside it / without it", f"{worst:.2f}x")
    if zone:
        same = statistics.median(p95s(throttled, zone)) / statistics.median(p95s(plain, zone))
        line("its zone's others' median p95, beside / without", f"{same:.2f}x", "within 1.2x",
             same <= 1.2)  # fmt: skip
    return ratio


@dataclass
class Way:
    """How the processes reach PostgreSQL: `url` is what they are given (the server itself,
    or PgBouncer in front of it), `server_url` the same database on the server."""

    name: str  # "postgresql" (direct) or "pgbouncer"
    url: str
    server_url: str
    bouncer: tuple[str, int] | None = None

    @property
    def label(self) -> str:
        return "through PgBouncer" if self.bouncer else "directly"


@dataclass
class Monday:
    """One Monday's figures: the passes' delays, the processes' costs, the acks meanwhile."""

    way: Way
    day: Day
    figures: dict[str, float]
    workers: list[WorkerProcess]
    web: list[WebFigures]
    clients: FormClients | None
    connections: Connections
    web_errors: int = 0


@dataclass
class Passes:
    """One day's passes with the web processes up and people answering prompts meanwhile."""

    day: Day
    workers: list[WorkerProcess]
    web: list[WebFigures]
    clients: FormClients | None
    connections: Connections
    web_errors: int


def passes_with_clients(
    db: Database, fake: FakeSlack, way: Way, made: list[Workspace_], moments: dict[str, datetime],
    warm_moments: dict[str, datetime], options: argparse.Namespace, log_dir: Path,
    label: str, excluding: str = "",
) -> Passes:  # fmt: skip
    """The prompts' passes at `moments` through `way` (after the warm-up workspace's at
    `warm_moments`), `options.web` web processes up and `options.clients` people answering
    the prompts through them from the first measured pass to the last."""
    env = environment(way.url, fake)
    web_env = {k: v for k, v in os.environ.items()
               if not k.startswith(("SLACK_", "CADENCE_", "DATABASE_", "WEB_CONCURRENCY", "PORT"))}  # fmt: skip
    web = WebProcesses(options.web, {**web_env, **env, "PYTHONUNBUFFERED": "1"}, log_dir, label)
    workers = [WorkerProcess(env) for _ in range(WORKERS)]
    targets = {where: (ws.team_id, user) for ws in made for where, user in ws.updates.items()}
    clients = None
    try:
        try:
            run_day(db, fake, env, warm_moments, "prompt", "prompt", workers)
            with Connections(way.server_url, way.bouncer) as connections:
                if options.clients:
                    clients = FormClients(fake, web.urls, SIGNING_SECRET, targets,
                                          options.clients, options.think)  # fmt: skip
                    with clients:
                        day = run_day(db, fake, env, moments, "prompt", "prompt", workers,
                                      excluding)  # fmt: skip
                else:
                    day = run_day(db, fake, env, moments, "prompt", "prompt", workers, excluding)
        finally:
            for worker in workers:
                worker.close()
        figures_of_web = web.figures()
        errors = web.errors()
    finally:
        web.close()
    return Passes(day, workers, figures_of_web, clients, connections, errors)


def monday_with_acks(
    db: Database, fake: FakeSlack, way: Way, warm: Workspace_, made: list[Workspace_],
    options: argparse.Namespace, log_dir: Path,
) -> Monday:  # fmt: skip
    """The first Monday through `way`, with the acks meanwhile; its figures printed."""
    mondays = {ws.team_id: at_local(MONDAY, 9, ws.zone) for ws in made}
    warm_monday = {warm.team_id: at_local(MONDAY, 9, warm.zone)}
    run = passes_with_clients(db, fake, way, made, mondays, warm_monday, options, log_dir, way.name)
    concurrency = load_settings(environment(way.url, fake)).send_concurrency
    title = f"Monday 09:00 local, {way.label}"
    expected = sum(len(ws.channels) for ws in made)
    figures = report_monday(run.day, expected, run.workers, concurrency, title)
    monday = Monday(way, run.day, figures, run.workers, run.web, run.clients, run.connections,
                    run.web_errors)  # fmt: skip
    report_web(monday)
    return monday


def report_web(monday: Monday) -> None:
    """The acks during the burst, each web process's cost, and the connections used."""
    for figure in monday.web:
        line(f"{figure.label}: CPU, peak RSS", f"{figure.cpu_s:.1f} s, {figure.peak_rss_mb:.0f} MB")
    clients = monday.clients
    if clients is not None:
        acks = clients.seconds()
        wall = max(clients.ended - clients.began, 1e-9)
        failed = clients.failed()
        print(f"  acks while {clients.count} clients answered prompts (think {clients.think:g} s):"
              f" {len(acks)} requests, {len(acks) / wall:.1f} a second", flush=True)  # fmt: skip
        if acks:
            for kind, label in (("button", "answer button (opens the form)"),
                                ("submit", "update form submitted")):  # fmt: skip
                of = clients.seconds(kind)
                if of:
                    line(f"  {label}: n, p50 / p99", f"{len(of)}, {p(of, 0.5) * 1e3:.0f} / "
                         f"{p(of, 0.99) * 1e3:.0f} ms")  # fmt: skip
            line("acks p50 / p99 (both kinds)",
                 f"{p(acks, 0.5) * 1e3:.0f} / {p(acks, 0.99) * 1e3:.0f} ms", "p99 < 1 s",
                 p(acks, 0.99) < 1.0)  # fmt: skip
        line("requests failed (not 200, no form, refused)", f"{len(failed)}", "0", not failed)
        for problem in sorted({f"{a.kind} {a.status} {a.problem}" for a in failed})[:3]:
            print(f"    {problem}", flush=True)
    line("errors in the web processes' logs", f"{monday.web_errors}")
    c = monday.connections
    line("server sessions open / in a transaction (peak)", f"{c.sessions} / {c.busy} "
         f"(mean in a transaction {c.busy_mean:.1f})")  # fmt: skip
    if monday.way.bouncer is not None:
        line("pooler: clients (peak), waiting (peak)", f"{c.clients}, {c.waiting} "
             f"(longest wait {c.max_wait_s * 1e3:.0f} ms)")  # fmt: skip
        line("pooler: transactions, a second, mean time",
             f"{c.transactions}, {c.transactions / max(c.wall_s, 1e-9):.0f}/s, "
             f"{c.xact_mean_ms:.1f} ms")  # fmt: skip
        line("pooler: transactions in flight (rate x time)", f"{c.in_flight:.1f} "
             f"(clients' waits {c.wait_total_s:.1f} s in all)")  # fmt: skip


def run(postgres_url: str, workspaces: int, engagements: int, options: argparse.Namespace) -> None:
    scratch = Scratch(postgres_url, prefix="monday")
    fake = FakeSlack(team_id="T0NOBODY").start()
    logs = tempfile.TemporaryDirectory(prefix="cadence-monday-logs-")
    log_dir = Path(options.keep_logs or logs.name)
    log_dir.mkdir(parents=True, exist_ok=True)
    try:
        url = scratch.new("monday")
        db = scratch.database(url)
        began = time.perf_counter()
        warm, made = set_up(db, fake, url, workspaces, engagements)
        Scratch.analyze(db)
        print(f"{workspaces} workspaces x {engagements} engagements installed and seeded in "
              f"{time.perf_counter() - began:.0f} s", flush=True)  # fmt: skip
        fake.rate_tiers = True
        fake.delay("chat.postMessage", LATENCY)
        with contextlib.ExitStack() as stack:
            ways = [Way("postgresql", url, url)]
            if options.pooler:
                # The same workspaces, copied before their first Monday (a template copy of the
                # seeded database), measured through PgBouncer after the direct run.
                copy = scratch.copy(url, "monday_pooled")
                Scratch.analyze(scratch.database(copy))  # a copy starts without statistics
                bouncer = stack.enter_context(
                    pgbouncer.pgbouncer(postgres_url, pool_size=options.pool_size)
                )
                ways.append(Way("pgbouncer", bouncer.url_for(copy), copy,
                                (bouncer.host, bouncer.port)))  # fmt: skip
                print(f"PgBouncer {bouncer.host}:{bouncer.port}: pool_mode = transaction, "
                      f"default_pool_size = {options.pool_size}", flush=True)  # fmt: skip
            mondays = []
            for way in ways:
                way_db = db if way.server_url == url else scratch.database(way.server_url)
                mondays.append(monday_with_acks(way_db, fake, way, warm, made, options, log_dir))
            main = mondays[-1]  # the pooler's when there is one: the rest runs through it
            main_db = db if main.way.server_url == url else scratch.database(main.way.server_url)
            if len(mondays) == 2:
                report_beside(mondays[0], mondays[1])
            print("Database size by table (MB, rows as the statistics estimate them)", flush=True)
            for name, size, live in table_sizes(main_db)[:8]:
                line(name, f"{size:.1f} MB, {live} rows")
            rest = the_rest(main_db, fake, main, warm, made, options, log_dir)
        record(mondays, rest, workspaces, engagements)
    finally:
        fake.stop()
        scratch.close()
        logs.cleanup()


def report_beside(direct: Monday, pooled: Monday) -> None:
    """The two Mondays' headline figures side by side, the pooler's against the direct's."""
    print("Through PgBouncer against directly (same run, same workspaces)", flush=True)
    for key, label in (("last", "last prompt out (simulated s)"),
                       ("p95_median", "median workspace's p95 delay (s)"),
                       ("wall", "wall time of the passes (s)"),
                       ("worker_cpu", "workers' CPU (s)")):  # fmt: skip
        a, b = direct.figures[key], pooled.figures[key]
        line(label, f"{b:.1f} against {a:.1f}: {b / max(a, 1e-9):.2f}x")
    if direct.clients and pooled.clients and direct.clients.acks and pooled.clients.acks:
        a, b = p(direct.clients.seconds(), 0.99), p(pooled.clients.seconds(), 0.99)
        line("acks p99", f"{b * 1e3:.0f} against {a * 1e3:.0f} ms: {b / max(a, 1e-9):.2f}x")


@dataclass
class Rest:
    """Friday's digests and the throttled Monday after, through the main way."""

    digest: dict[str, float]
    throttled_ratio: float


def the_rest(db: Database, fake: FakeSlack, monday: Monday, warm: Workspace_,
             made: list[Workspace_], options: argparse.Namespace, log_dir: Path) -> Rest:  # fmt: skip
    """Friday's digests, then the Monday after with one workspace refused by Slack."""
    env = environment(monday.way.url, fake)
    # The week's reminders, overdue notices and escalations are not this measure: cancelled,
    # so that Friday's passes run the digests alone.
    cancel_pending(db)
    workers = [WorkerProcess(env) for _ in range(WORKERS)]
    fridays = {ws.team_id: at_local(FRIDAY, 16, ws.zone) for ws in made}
    try:
        warm_friday = {warm.team_id: at_local(FRIDAY, 16, warm.zone)}
        run_day(db, fake, env, warm_friday, "digest_post", "digest-post", workers)
        friday = run_day(db, fake, env, fridays, "digest_post", "digest-post", workers)
    finally:
        for worker in workers:
            worker.close()
    digest = report_friday(friday, len(made), workers)

    # The Monday after, one workspace of the first zone refused by Slack on every call
    # (429, Retry-After 1 s) for ten minutes: the others' delays against the first Monday's.
    cancel_pending(db)
    stuck = made[0]
    fake.throttle(stuck.team_id, retry_after=1, seconds=THROTTLE_SECONDS)
    after = {ws.team_id: at_local(MONDAY, 9, ws.zone) + WEEK for ws in made}
    warm_next = {warm.team_id: at_local(MONDAY + WEEK, 9, warm.zone)}
    # The clients answer this Monday's prompts too: the first Monday, its baseline, had them.
    throttled = passes_with_clients(db, fake, monday.way, made, after, warm_next, options,
                                    log_dir, f"{monday.way.name}-throttled", stuck.team_id).day  # fmt: skip
    refused = [c for c in fake.rate_limited_calls() if c[0] == stuck.team_id]
    ratio = report_throttled(monday.day, throttled, stuck, made, len(refused))
    return Rest(digest, ratio)


def record(mondays: list[Monday], rest: Rest, workspaces: int, engagements: int) -> None:
    """Each Monday's figures under its way's name; the rest under the main way's."""
    size = f"{workspaces} workspaces x {engagements} engagements"
    for monday in mondays:
        f, name = monday.figures, f"monday.{monday.way.name}"
        record_result(f"{name}.last_prompt", f["last"], "s", digits=1, note=size,
                      baseline_ratio=f["behind"],
                      baseline="the ideal: every worker thread sending from 09:00")  # fmt: skip
        record_result(f"{name}.worker_peak_rss", f["rss"], "MB", note=size)
        record_result(f"{name}.worker_cpu", f["worker_cpu"], "s", digits=1, note=size)
        record_result(f"{name}.p95_spread", f["spread"], "x", digits=2, note=size)
        record_result(f"{name}.p95_median", f["p95_median"], "s", digits=1, note=size)
        c = monday.connections
        record_result(f"{name}.sessions_peak", c.sessions, "", note=size)
        record_result(f"{name}.in_transaction_peak", c.busy, "", note=size)
        record_result(f"{name}.in_transaction_mean", c.busy_mean, "", digits=1, note=size)
        if monday.way.bouncer is not None:
            record_result(f"{name}.clients_peak", c.clients, "", note=size)
            record_result(f"{name}.waiting_peak", c.waiting, "", note=size)
            record_result(f"{name}.transactions_per_s", c.transactions / max(c.wall_s, 1e-9),
                          "", note=size)  # fmt: skip
            record_result(f"{name}.xact_mean", c.xact_mean_ms, "ms", digits=1, note=size)
        web = monday.web
        if web:
            record_result(f"{name}.web_cpu", (min(w.cpu_s for w in web), max(w.cpu_s for w in web)),
                          "s", digits=1, note=size)  # fmt: skip
            record_result(f"{name}.web_peak_rss", max(w.peak_rss_mb for w in web), "MB", note=size)
        clients = monday.clients
        if clients is not None and clients.acks:
            acks = clients.seconds()
            record_result(f"{name}.acks", len(acks), "", note=size)
            record_result(f"{name}.acks_per_s", len(acks) / max(clients.ended - clients.began,
                          1e-9), "", digits=1, note=size)  # fmt: skip
            record_result(f"{name}.ack_p50", p(acks, 0.5) * 1e3, "ms", note=size)
            record_result(f"{name}.ack_p99", p(acks, 0.99) * 1e3, "ms", note=size)
            record_result(f"{name}.acks_failed", len(clients.failed()), "", note=size)
    if len(mondays) == 2:
        direct, pooled = mondays
        record_result("monday.pgbouncer.last_prompt_ratio",
                      pooled.figures["last"] / direct.figures["last"], "x", digits=2, note=size,
                      baseline_ratio=pooled.figures["last"] / direct.figures["last"],
                      baseline="the direct run's last prompt, same run")  # fmt: skip
    name = f"monday.{mondays[-1].way.name}"
    record_result(f"{name}.digest_worst", rest.digest["worst"], "s", digits=1, note=size)
    record_result(f"{name}.throttled_p95_ratio", rest.throttled_ratio, "x", digits=2, note=size)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workspaces", type=int, default=100)
    parser.add_argument("--engagements", type=int, default=100)
    parser.add_argument("--quick", action="store_true", help="10 workspaces x 10 engagements")
    parser.add_argument("--postgres-url", default=os.environ.get("CADENCE_BENCH_PG", DEFAULT_PG))
    parser.add_argument("--pooler", action="store_true",
                        help="the Monday directly, then again (and Friday and the Monday after) "
                             "through a PgBouncer in transaction mode")  # fmt: skip
    parser.add_argument(
        "--pool-size",
        type=int,
        default=POOL_SIZE,
        help="PgBouncer's default_pool_size (server connections)",
    )
    parser.add_argument(
        "--clients",
        type=int,
        default=50,
        help="people answering prompts through the web processes (0: none)",
    )
    parser.add_argument(
        "--think",
        type=float,
        default=THINK_S,
        help="a client's mean pause between its requests, in seconds",
    )
    parser.add_argument("--web", type=int, default=2, help="web processes (the Procfile's line)")
    parser.add_argument("--keep-logs", metavar="DIR", help="keep the web processes' logs here")
    args = parser.parse_args(argv)
    if args.quick:
        args.workspaces = args.engagements = 10
    if (args.workspaces, args.engagements) != (100, 100):
        stop_recording(f"{args.workspaces} x {args.engagements}, not 100 x 100")
    elif not args.pooler or (args.clients, args.think, args.web) != (50, THINK_S, 2):
        stop_recording("not the documented run (--pooler, 50 clients, 2 web processes)")
    if args.pooler and not pgbouncer.available():
        parser.error(f"--pooler: PgBouncer is not installed ({pgbouncer.PGBOUNCER})")
    run(args.postgres_url, args.workspaces, args.engagements, args)
    return 0


if __name__ == "__main__" and sys.argv[1:2] == ["--worker"]:
    sys.exit(serve_as_worker())
if __name__ == "__main__":
    sys.exit(main())
