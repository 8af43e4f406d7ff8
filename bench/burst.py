"""The Monday burst under chaos (issue 21, item 6): two `worker` and two `web` processes (the
Procfile's lines) on one PostgreSQL of the run's own while thousands of prompts fall due at
once, Slack answering one call in five with a fault; meanwhile one worker is SIGKILLed (and a
replacement started, as a supervisor would), PostgreSQL is restarted, and people keep using
Cadence through the web processes. Counted in the end: every prompt's job and the messages in
Slack naming it (lost, duplicated), every request's answer (200 within Slack's 3 s).

`bench/faults.py --only burst` runs it with 10,000 prompts; tests/test_burst_chaos.py with a
few hundred. The prompts are seeded in bulk (bench/engine.py's `seed_due`: one engagement, one
vendor and one DM cadence each, all due at the same minute), since 10,000 engagements made
through Slack forms would take longer than the burst. Slack is bot/demo/fake_slack/, served
from this process; the workers run on the wall clock, so the cadences are due "now".
"""

from __future__ import annotations

import contextlib
import random
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
for folder in (ROOT, ROOT / "tests", ROOT / "bench"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

import engine as seeding  # noqa: E402  (bench/engine.py: bulk seeding)
from conftest import ADMIN, BOT_TOKEN, SIGNING_SECRET, TEAM  # noqa: E402
from engine_flows import messages_per_job  # noqa: E402
from sqlmodel import select  # noqa: E402
from test_cli_and_serving import clean_env, procfile_command  # noqa: E402
from test_faults import free_port, own_postgres_server  # noqa: E402

from bot.blocks.checkins import ANSWER_ACTION  # noqa: E402
from bot.demo.fake_slack import FakeSlack  # noqa: E402
from bot.demo.slack_sim import SlackSim  # noqa: E402
from bot.demo.waiting import wait_until  # noqa: E402
from bot.domain import recurrence  # noqa: E402
from storage import jobs as jobs_module  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models import ScheduledJob  # noqa: E402

BACKLOG = 1024
ACK_S = 3.0  # Slack's limit for an answer to a request
BERLIN = ZoneInfo("Europe/Berlin")


@dataclass
class Burst:
    """What one burst delivered and how the web processes answered meanwhile."""

    prompts: int  # prompts seeded to fall due
    per_job: Counter  # job key -> messages in Slack naming it
    prompt_jobs: dict[str, str]  # prompt job key -> status
    requests: list[tuple[str, int, float]]  # (kind, HTTP status or 0, seconds to the answer)
    events: list[str]  # what happened when, seconds after the burst began
    drained_s: float | None  # seconds until every prompt was in Slack (None: never)
    faults: Counter  # fault kind -> how many the stand-in served
    wall_s: float = 0.0
    settled: bool = False  # the last prompts went out in passes run at later moments
    errors: dict[str, str | None] = field(default_factory=dict)  # prompt job key -> error

    @property
    def delivered(self) -> int:
        return sum(1 for key in self.prompt_jobs if self.per_job[key] >= 1)

    @property
    def lost(self) -> list[str]:
        """Prompts due but not in Slack, or in Slack while their job does not say sent."""
        missing = self.prompts - len(self.prompt_jobs)  # never even planned
        return [f"unplanned #{n}" for n in range(missing)] + sorted(
            key
            for key, status in self.prompt_jobs.items()
            if status != "sent" or self.per_job[key] == 0
        )

    @property
    def duplicated(self) -> dict[str, int]:
        """Every job (prompts and whatever else went out) with more than one message."""
        return {key: n for key, n in self.per_job.items() if n > 1}

    @property
    def acknowledged(self) -> int:
        return sum(1 for _, status, took in self.requests if status == 200 and took < ACK_S)

    @property
    def slowest(self) -> float:
        return max((took for _, _, took in self.requests), default=0.0)

    def unsent(self) -> list[str]:
        """The prompt jobs not sent at the end, by status and what their error begins with."""
        left = Counter(
            f"{status}: {(self.errors.get(key) or '').split(':')[0][:60]}"
            for key, status in self.prompt_jobs.items()
            if status != "sent"
        )
        return [f"  not sent at the end: {what} x{n}" for what, n in sorted(left.items())]

    def failures(self) -> list[str]:
        """The requests not acknowledged, by kind and answer."""
        failed: dict[tuple[str, int], list[float]] = {}
        for kind, status, took in self.requests:
            if not (status == 200 and took < ACK_S):
                failed.setdefault((kind, status), []).append(took)
        return [
            f"  not acknowledged: {kind}, {'no answer' if status == 0 else f'HTTP {status}'} "
            f"x{len(took)} (slowest {max(took):.2f} s)"
            for (kind, status), took in sorted(failed.items())
        ]

    def lines(self) -> list[str]:
        kinds = Counter(kind for kind, _, _ in self.requests)
        drained = f"{self.drained_s:.0f} s" if self.drained_s is not None else "not drained"
        if self.settled:
            drained += " (the last of them by passes at later moments)"
        ok = not self.lost and not self.duplicated and self.acknowledged == len(self.requests)
        return [
            f"prompts due {self.prompts:,}, delivered {self.delivered:,}, lost {len(self.lost)}, "
            f"duplicated {len(self.duplicated)} (by the job each message's metadata names)",
            f"requests sent {len(self.requests)} ("
            + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items()))
            + f"), acknowledged (200 within 3 s) {self.acknowledged}, "
            f"failed {len(self.requests) - self.acknowledged}, slowest ack {self.slowest:.2f} s",
            *self.failures(),
            *self.unsent(),
            f"time to drain the burst {drained}; faults served: "
            + ", ".join(f"{k} {n}" for k, n in sorted(self.faults.items())),
            *(f"  {event}" for event in self.events),
            f"targets 0 lost, 0 duplicated, every request acknowledged: "
            f"{'PASS' if ok else 'MISS'} ({self.wall_s:.0f} s in all)",
        ]


@contextmanager
def backlog(size: int) -> Iterator[None]:
    """The stand-in's listen backlog while it starts: socketserver's default of 5 drops the
    connections of a burst (the kernel retries a dropped SYN after 1, 3, 7, 15, 31 s), which
    Slack's front ends do not (bench/common.py's `serve_fake` raises it the same way)."""
    before = ThreadingHTTPServer.request_queue_size
    ThreadingHTTPServer.request_queue_size = size
    try:
        yield
    finally:
        ThreadingHTTPServer.request_queue_size = before


def seed_burst(url: str, prompts: int) -> tuple[datetime, list[str]]:
    """`prompts` DM cadences due at this minute (already begun: the first pass plans them)."""
    now = datetime.now(UTC)
    at = now.replace(second=0, microsecond=0)
    rule = recurrence.Rule(kind="weekly", weekdays=(at.astimezone(BERLIN).weekday(),))
    db = Database.from_url(url)
    try:
        users = seeding.seed_due(db, prompts, at, "burst", rule)
    finally:
        db.dispose()
    return at, users


def environment(url: str, fake: FakeSlack, **extra: str) -> dict[str, str]:
    return clean_env(
        SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=fake.base_url, DATABASE_URL=url, CADENCE_ADMINS=ADMIN,
        CADENCE_TICK_SECONDS="1", CADENCE_CHANNEL_PACE_SECONDS="0", LOG_LEVEL="WARNING",
        **extra,
    )  # fmt: skip


class Processes:
    """The Procfile's processes of the run, their output in files under `logs`."""

    def __init__(self, url: str, fake: FakeSlack, logs: Path):
        self.url, self.fake, self.logs = url, fake, logs
        self.running: list[subprocess.Popen] = []
        self._files: list[IO[str]] = []

    def start(self, name: str, port: int = 0) -> subprocess.Popen:
        out = (self.logs / f"{name}.log").open("w")
        self._files.append(out)
        env = environment(self.url, self.fake, **({"PORT": str(port)} if port else {}))
        process = subprocess.Popen(procfile_command(name.split("-")[0], port), cwd=ROOT, env=env,
                                   stdout=out, stderr=subprocess.STDOUT)  # fmt: skip
        self.running.append(process)
        return process

    def web(self, n: int) -> str:
        port = free_port()
        process = self.start(f"web-{n}", port)
        url = f"http://127.0.0.1:{port}"

        def up() -> bool:
            if process.poll() is not None:
                raise RuntimeError(f"web-{n} exited: {self.log(f'web-{n}')[-2000:]}")
            try:
                with urllib.request.urlopen(url + "/healthz", timeout=1):
                    return True
            except urllib.error.HTTPError:
                return True  # it answers (503 until a worker's first pass)
            except OSError:
                return False

        wait_until(up, 60, f"web-{n} to come up", interval=0.1)
        return url

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")

    def stop_workers(self) -> None:
        """SIGTERM to the `worker` processes only, waiting for each to finish its pass."""
        for process in self.running:
            if process.poll() is None and "worker" in process.args:
                process.send_signal(signal.SIGTERM)
        for process in self.running:
            if "worker" in process.args:
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()

    def stop(self) -> None:
        for process in self.running:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.running:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for out in self._files:
            out.close()


def posted(fake: FakeSlack) -> int:
    """Messages in Slack so far (cheap: counted, not copied)."""
    with fake._lock:
        return len(fake._messages)


class Clients:
    """People using Cadence throughout: `/cadence help`, and a vendor clicking the button of
    the prompt just received (which opens a form), spread over the web processes."""

    def __init__(self, fake: FakeSlack, urls: list[str], users: set[str], n: int, pause: float):
        self.fake, self.users, self.pause = fake, users, pause
        self.sims = [SlackSim(url, fake, SIGNING_SECRET, team_id=TEAM) for url in urls]
        self.requests: list[tuple[str, int, float]] = []
        self.stopping = threading.Event()
        self.threads = [
            threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(n)
        ]

    def __enter__(self) -> Clients:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(timeout=30)

    def _a_prompt(self, rng: random.Random) -> dict[str, Any] | None:
        """A prompt that went out lately, as the vendor sees it in their DM."""
        calls = self.fake.calls[-300:]
        sent = [c for c in calls if c.method == "chat.postMessage" and c.ok
                and c.args.get("channel") in self.users]  # fmt: skip
        if not sent:
            return None
        call = rng.choice(sent)
        with contextlib.suppress(KeyError):
            return self.fake.message(call.response["channel"], call.response["ts"]) | {
                "user_id": call.args["channel"]
            }
        return None

    def _run(self, n: int) -> None:
        rng = random.Random(n)
        while not self.stopping.is_set():
            sim = self.sims[n % len(self.sims)] if rng.random() < 0.5 else rng.choice(self.sims)
            prompt = self._a_prompt(rng) if rng.random() < 0.5 else None
            started = time.monotonic()
            try:
                if prompt is None:
                    kind, reply = "/cadence help", sim.command("help")
                else:
                    kind = "button click"
                    reply = sim.click(prompt, ANSWER_ACTION, user=prompt["user_id"],
                                      channel=prompt["channel"])  # fmt: skip
                status, took = reply.status, reply.elapsed
            except OSError:  # refused or reset: not acknowledged
                status, took = 0, time.monotonic() - started
            self.requests.append((kind, status, took))
            self.stopping.wait(self.pause)


def prompt_jobs(db: Database) -> dict[str, str] | None:
    """Every prompt job's status (None while the database is away)."""
    try:
        with db.read_session() as session:
            rows = session.exec(
                select(ScheduledJob.key, ScheduledJob.status).where(ScheduledJob.kind == "prompt")
            ).all()
        return dict(rows)
    except Exception:  # the restart: asked again on the next look
        return None


def prompt_errors(db: Database) -> dict[str, str | None]:
    """The last error of every prompt job not sent."""
    with db.read_session() as session:
        rows = session.exec(
            select(ScheduledJob.key, ScheduledJob.error).where(
                ScheduledJob.kind == "prompt", ScheduledJob.status != "sent"
            )
        ).all()
    return dict(rows)


def run(
    prompts: int,
    root: Path,
    *,
    rate: float = 0.2,
    latency: float = 0.1,
    clients: int = 4,
    pause: float = 0.25,
    wall_clock_s: float = 1800.0,
    restart_database: bool = True,
    seed: int = 21,
) -> Burst:
    """One burst of `prompts` under chaos at `rate`, Slack taking `latency` s a message.

    After `wall_clock_s` on the wall clock (the CI test's shortening), what is still unsent
    (jobs a dead process had claimed wait 5 minutes for their lease; a retry up to an hour for
    its backoff) is sent by passes run at the moments the workers would reach them."""
    started = time.monotonic()
    events: list[str] = []

    def event(what: str) -> None:
        events.append(f"{time.monotonic() - begun:6.1f} s  {what}")

    (root / "logs").mkdir(parents=True, exist_ok=True)
    with (
        own_postgres_server("cadence-burst-pg-") as server,
        backlog(BACKLOG),
        FakeSlack(team_id=TEAM) as fake,
    ):
        fake.rate_tiers = True  # Slack's rate tiers (fake_slack/tiers.py) besides the faults
        _, users = seed_burst(server.url, prompts)
        for user in users:
            fake.add_user(user, name=user.lower(), tz="Asia/Kolkata")
        db = Database.from_url(server.url)
        processes = Processes(server.url, fake, root / "logs")
        try:
            urls = [processes.web(1), processes.web(2)]
            fake.delay("chat.postMessage", latency)
            fake.chaos(rate, seed=seed, timeout_seconds=2.0)
            begun = time.monotonic()
            workers = [processes.start("worker-1"), processes.start("worker-2")]
            event("2 workers started, 2 web processes serving, Slack failing 1 call in 5")
            drained_at, settled = None, False
            with Clients(fake, urls, set(users), clients, pause) as people:
                killed = restarted = False
                while True:
                    out = posted(fake)
                    if not killed and out >= prompts * 0.25:
                        workers[0].send_signal(signal.SIGKILL)
                        workers[0].wait()
                        event(f"worker-1 SIGKILLed mid-burst ({out:,} messages out)")
                        workers[0] = processes.start("worker-3")
                        event("worker-3 started in its place")
                        killed = True
                    if killed and not restart_database:
                        restarted = True
                    if killed and not restarted and out >= prompts * 0.5:
                        event(f"PostgreSQL stopped (immediate; {out:,} messages out)")
                        server.stop()
                        time.sleep(2)
                        server.start()
                        event("PostgreSQL started again")
                        restarted = True
                    jobs = prompt_jobs(db) if restarted else None
                    if jobs is not None and len(jobs) >= prompts:
                        if all(status == "sent" for status in jobs.values()):
                            drained_at = time.monotonic() - begun
                            event("every prompt job sent")
                            break
                        if time.monotonic() - begun > wall_clock_s:
                            left = sum(1 for status in jobs.values() if status != "sent")
                            event(f"{left} prompts still waiting (a lease or a backoff): passes "
                                  "at later moments, as the workers would make them")  # fmt: skip
                            # The passes stand for the workers at those moments: the workers
                            # stop first (SIGTERM hands back what they claimed and had not
                            # started), or both would spend one workspace's rate tiers on the
                            # wall clock, the passes finding each minute's budget already gone.
                            processes.stop_workers()
                            drained_at = settle(server.url, fake, db, events, begun)
                            settled = True
                            break
                    time.sleep(0.25)
            processes.stop()  # the workers' lookups would keep the stand-in busy
            fake.calm()
            fake.drain()
            jobs = prompt_jobs(db) or {}
            return Burst(
                prompts=prompts,
                per_job=messages_per_job(fake),
                prompt_jobs=jobs,
                requests=list(people.requests),
                events=events,
                drained_s=drained_at,
                faults=Counter(kind for _, kind in fake.injected),
                wall_s=time.monotonic() - started,
                settled=settled,
                errors=prompt_errors(db),
            )
        finally:
            processes.stop()
            db.dispose()


def settle(url: str, fake: FakeSlack, db: Database, events: list[str], begun: float) -> float:
    """Passes (`python -m bot tick --now`) past the leases of the dead and then an hour apart
    (the longest backoff) until every prompt is sent; the seconds after `begun` it ended."""
    at = datetime.now(UTC) + jobs_module.LEASE + timedelta(seconds=5)
    # The stand-in's rate tiers count minutes on the passes' clock too: a pass an hour later
    # finds a fresh minute, as the workers would (on the wall clock, 24 passes in a minute of
    # real time shared one Tier 3 minute, and the lookups of an unknown outcome waited it out).
    real_clock = fake.clock
    fake.clock = lambda: at.timestamp()
    for _ in range(24):
        fake.simulate_time_at(at)
        subprocess.run(
            [sys.executable, "-m", "bot", "tick", "--now", at.isoformat()],
            cwd=ROOT, env=environment(url, fake), capture_output=True, timeout=600,
        )  # fmt: skip
        jobs = prompt_jobs(db) or {}
        left = sum(1 for status in jobs.values() if status != "sent")
        events.append(
            f"{time.monotonic() - begun:6.1f} s  a pass at {at:%H:%M:%S}: {left} prompts left"
        )
        if jobs and not left:
            break
        at += timedelta(hours=1)
    fake.simulate_time_at(None)
    fake.clock = real_clock
    return time.monotonic() - begun
