"""The `web` side of bench/monday.py: the Procfile's web processes, and people answering the
Monday's prompts through them while the passes run (issue 23, items 1 and 3: acks during the
burst, CPU and peak memory per process).

Each web process is the Procfile's `web:` line (gunicorn, gthread, its threads; bench/ack.py's
`procfile_web`), on a free port, with the benchmark's OAuth settings and the Monday's
DATABASE_URL (direct, or PgBouncer's). The clients are threads of the benchmark's process:
each takes a prompt of a weekly status update that Slack has just received, clicks its answer
button as the vendor it was sent to (block_actions, signed as Slack signs it:
bot/demo/slack_sim.py), waits until the web process has opened the update form (views.open
with the click's trigger id), and submits it (view_submission). Between steps each client
waits `think` seconds, as a person reading and typing would, only faster: the offered load is
printed beside the acks. A request's ack is its HTTP round trip on a fresh connection, as
Slack's are; the clients share the benchmark's process with the stand-in Slack, so their
times include its waits for the interpreter (they err long, not short).
"""

from __future__ import annotations

import random
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ack import Server, _children  # bench/ack.py: the Procfile's web line

from bot.demo.fake_slack import FakeSlack
from bot.demo.slack_sim import SlackSim

ANSWER = "checkin_answer"
VALUES = {"rag": "green", "summary": "On track; nothing to add this week."}
FORM_WAIT_S = 10.0  # a form not opened this long after its click counts as not opened


def peak_rss_mb(pid: int) -> float:
    """A process's peak resident set (VmHWM), in MB; 0 once it is gone. Its own address
    space's: unlike `ru_maxrss` (wait4, getrusage), which Linux carries over from the parent at
    exec, so that a child of a larger process reports the parent's peak."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


@dataclass
class WebFigures:
    """What one web process (gunicorn's master and its worker) cost over the measure."""

    label: str
    cpu_s: float
    peak_rss_mb: float  # its worker's (the master's is a few MB more and idle)


class WebProcesses:
    """`count` web processes from the Procfile's line, each in a process group of its own."""

    def __init__(self, count: int, env: dict[str, str], log_dir: Path, prefix: str) -> None:
        self.servers = [Server(f"{prefix}-web-{n}", env, log_dir, bare=False) for n in range(1, count + 1)]  # fmt: skip
        self.urls = [f"http://127.0.0.1:{s.port}" for s in self.servers]
        for server, url in zip(self.servers, self.urls, strict=True):
            _wait_answering(server, url)
        self._cpu0 = [s.cpu_seconds() for s in self.servers]

    def figures(self) -> list[WebFigures]:
        """CPU since they came up (their start and imports not counted), peak RSS so far."""
        out = []
        for server, cpu0 in zip(self.servers, self._cpu0, strict=True):
            workers = _children(server.process.pid)
            rss = max((peak_rss_mb(pid) for pid in workers), default=0.0)
            out.append(WebFigures(server.label, server.cpu_seconds() - cpu0, rss))
        return out

    def errors(self) -> int:
        return sum(len(s.log_lines(" ERROR ", "Traceback")) for s in self.servers)

    def close(self) -> None:
        for server in self.servers:
            server.close()


def _wait_answering(server: Server, url: str, limit_s: float = 60.0) -> None:
    """Until /healthz answers at all (503 is an answer: no worker heartbeat yet)."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.label} exited:\n{server.log_path.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2):
                return
        except urllib.error.HTTPError:
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{server.label} did not answer:\n{server.log_path.read_text()[-3000:]}")


@dataclass
class Ack:
    kind: str  # "button" or "submit"
    status: int  # HTTP status, 0 for no answer
    seconds: float
    problem: str = ""  # a form that did not open, or a submission answered with errors


@dataclass
class Prompt:
    team: str
    user: str  # the vendor it asks
    channel: str  # where Slack holds it (a DM or the engagement's channel)
    ts: str


@dataclass
class FormClients:
    """`count` people answering prompts through `urls` (client n mostly on web process n % 2,
    as a load balancer spreads them) while the context is open. `targets`: where a status
    update's prompt is posted (the vendor's user id for a DM, the channel otherwise) ->
    (team, vendor)."""

    fake: FakeSlack
    urls: list[str]
    signing_secret: str
    targets: dict[str, tuple[str, str]]
    count: int = 50
    think: float = 1.0
    acks: list[Ack] = field(default_factory=list)
    began: float = 0.0
    ended: float = 0.0

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._fresh: list[Prompt] = []  # prompts nobody has answered yet (each answered once)
        self._forms: dict[str, str] = {}  # trigger id -> the view views.open made of it
        self._cursor = len(self.fake.calls)
        self._sims: dict[tuple[str, str], SlackSim] = {}
        self._threads = [threading.Thread(target=self._client, args=(n,), daemon=True)
                         for n in range(self.count)]  # fmt: skip
        self._feeder = threading.Thread(target=self._feed, daemon=True)

    def __enter__(self) -> FormClients:
        self.began = time.monotonic()
        self._feeder.start()
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=60)
        self.ended = time.monotonic()
        self._feeder.join(timeout=10)

    # --- what Slack has seen, read in one thread -------------------------------------------------

    def _feed(self) -> None:
        while not self._stop.is_set():
            self._read_calls()
            self._stop.wait(0.1)

    def _read_calls(self) -> None:
        calls = self.fake.calls[self._cursor :]
        self._cursor += len(calls)
        fresh, forms = [], {}
        for call in calls:
            if call.method == "views.open":  # refused (an expired trigger): said so at once
                forms[call.args.get("trigger_id", "")] = (
                    call.response["view"]["id"] if call.ok else f"!{call.response.get('error')}"
                )
            elif not call.ok:
                continue
            elif call.method == "chat.postMessage" and call.args.get("channel") in self.targets:
                if ANSWER not in str(call.args.get("blocks")):
                    continue  # not a prompt (an update posted in the channel, a reminder's text)
                team, user = self.targets[call.args["channel"]]
                fresh.append(Prompt(team, user, call.response["channel"], call.response["ts"]))
        with self._lock:
            self._fresh += fresh
            self._forms.update(forms)

    def _take(self, rng: random.Random) -> Prompt | None:
        with self._lock:
            if self._fresh:
                return self._fresh.pop(rng.randrange(len(self._fresh)))
            return None

    def _form(self, trigger: str) -> str | None:
        deadline = time.monotonic() + FORM_WAIT_S
        while time.monotonic() < deadline and not self._stop.is_set():
            with self._lock:
                if trigger in self._forms:
                    return self._forms.pop(trigger)
            time.sleep(0.05)
        return None

    # --- one person ------------------------------------------------------------------------------

    def _sim(self, url: str, team: str) -> SlackSim:
        with self._lock:
            key = (url, team)
            if key not in self._sims:
                self._sims[key] = SlackSim(url, self.fake, self.signing_secret, team_id=team)
            return self._sims[key]

    def _client(self, n: int) -> None:
        rng = random.Random(n)

        def pause() -> bool:  # True once the measure is over
            return self._stop.wait(rng.expovariate(1 / self.think) if self.think else 0)

        while not self._stop.is_set():
            prompt = self._take(rng)
            if prompt is None:
                self._stop.wait(0.2)
                continue
            url = self.urls[n % len(self.urls)] if rng.random() < 0.8 else rng.choice(self.urls)
            sim = self._sim(url, prompt.team)
            try:
                message = self.fake.message(prompt.channel, prompt.ts)
            except KeyError:
                continue
            reply, ack = self._send("button", sim.click, message, ANSWER, user=prompt.user,
                                    channel=prompt.channel)  # fmt: skip
            if reply is None or reply.status != 200:
                pause()
                continue
            view_id = self._form(reply.trigger_id or "")
            if view_id is None or view_id.startswith("!"):
                if not self._stop.is_set():
                    ack.problem = f"no form opened ({view_id or 'no views.open'})"
                continue
            if pause():
                return
            view = self.fake.view(view_id)
            reply, ack = self._send("submit", sim.submit_view, view, VALUES, user=prompt.user)
            if reply is not None and reply.status == 200 and "errors" in (reply.json or {}):
                ack.problem = str(reply.json["errors"])[:120]
            pause()

    def _send(self, kind: str, request: Any, *args: Any, **kwargs: Any) -> tuple[Any, Ack]:
        """`request(*args, **kwargs)`: (Slack's reply or None, its ack as recorded)."""
        started = time.monotonic()
        try:
            reply = request(*args, **kwargs)
        except OSError:  # refused, reset or timed out: not acknowledged
            ack, reply = Ack(kind, 0, time.monotonic() - started), None
        else:
            ack = Ack(kind, reply.status, reply.elapsed)
        with self._lock:
            self.acks.append(ack)
        return reply, ack

    # --- figures -----------------------------------------------------------------------------------

    def seconds(self, kind: str | None = None) -> list[float]:
        return [a.seconds for a in self.acks if kind is None or a.kind == kind]

    def failed(self) -> list[Ack]:
        """Requests not answered 200, forms that did not open, submissions refused."""
        return [a for a in self.acks if a.status != 200 or a.problem]
