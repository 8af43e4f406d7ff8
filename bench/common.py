"""What the benchmarks share: scratch databases, rows seeded in bulk, the fake Slack in a
child process, and the file their headline figures are recorded in.

Every benchmark measures on databases of its own, migrated with Alembic and dropped at the end,
and seeds them with Core bulk inserts (executemany) shaped as the domain writes its rows:
driving thousands of engagements through Slack would take far longer than the measure. Slack
is bot/demo/fake_slack/ run in a child process (`FakeProcess`, which runs this file with
`--serve-fake`), so that its CPU is never counted as the measured process's. What a run prints
as its headline figures it also records with `record_result` in bench/results.json, which the
docs' figures are written from (bench/results.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as the fake Slack's child process (see FakeProcess)
    sys.path.insert(0, str(ROOT))

import results  # noqa: E402  (bench/results.py: the figures file and the docs quoting it)
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from storage import migrate  # noqa: E402
from storage.db import Database  # noqa: E402

# --- the figures file -----------------------------------------------------------------------------

_not_recording: str | None = None  # why this run's figures are not the documented ones
_said_why = False


def stop_recording(why: str) -> None:
    """This run's figures are not the ones the docs quote (smaller sizes, a smoke run): print
    them, record none."""
    global _not_recording, _said_why
    _not_recording, _said_why = why, False


def record_result(
    name: str,
    value: float | tuple[float, float] | str,
    unit: str,
    *,
    digits: int = 0,
    baseline_ratio: float | None = None,
    baseline: str | None = None,
    note: str | None = None,
) -> None:
    """Record one headline figure in bench/results.json (merged: other figures are kept).

    `value` as the docs write it in `unit` ("ms", "s", "MB", "x", "" for a count), with
    `digits` decimals; a (low, high) pair is a range (over request kinds, over repeats).
    `baseline_ratio`: the figure against `baseline`, measured in the same run, since the
    machine is shared and noisy and only ratios compare across runs. The date, the machine
    (cores, load average) and the command line are added, so a reader knows what was run.
    CADENCE_BENCH_RESULTS names another file (a test's)."""
    global _said_why
    if _not_recording is not None:
        if not _said_why:  # once a run
            print(f"(not recorded in bench/results.json: {_not_recording})", flush=True)
            _said_why = True
        return

    def kept(v: float | str) -> float | str:  # two more decimals than shown: enough to compare
        return round(v, digits + 2) if isinstance(v, float) else v

    entry: dict[str, Any] = {
        "value": [kept(v) for v in value] if isinstance(value, tuple) else kept(value),
        "unit": unit,
        "digits": digits,
    }
    if baseline_ratio is not None:
        entry["baseline_ratio"] = round(baseline_ratio, 3)
        entry["baseline"] = baseline
    if note:
        entry["note"] = note
    load = os.getloadavg()[0]
    entry["date"] = datetime.now(UTC).date().isoformat()
    entry["machine"] = f"{os.cpu_count()} cores, load average {load:.1f}"
    script = Path(sys.argv[0]).resolve()
    shown = script.relative_to(ROOT) if script.is_relative_to(ROOT) else Path(script.name)
    entry["run"] = " ".join([str(shown), *sys.argv[1:]])
    path = Path(os.environ.get("CADENCE_BENCH_RESULTS") or results.RESULTS)
    results.record(path, name, entry)


class Scratch:
    """Scratch databases, each migrated with Alembic; all dropped by close() (SQLite: files in a
    temporary folder; PostgreSQL, when `postgres_url` is given: databases created from it)."""

    def __init__(self, postgres_url: str | None, *, prefix: str) -> None:
        self.postgres_url = postgres_url
        self.prefix = prefix
        self.folder = tempfile.TemporaryDirectory(prefix=f"cadence-{prefix}-bench-")
        self.made: list[str] = []
        self.open: list[Database] = []

    def new(self, label: str) -> str:
        """A new database, migrated; its URL."""
        unique = f"{label}_{uuid.uuid4().hex[:8]}"
        if self.postgres_url is None:
            url = f"sqlite:///{Path(self.folder.name) / unique}.db"
        else:
            name = f"cadence_bench_{self.prefix}_{unique}"
            admin = create_engine(self.postgres_url, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            admin.dispose()
            self.made.append(name)
            url = make_url(self.postgres_url).set(database=name).render_as_string(False)
        migrate.upgrade(url)
        return url

    def copy(self, url: str, label: str) -> str:
        """A copy of `url`'s PostgreSQL database (`CREATE DATABASE … TEMPLATE`: nobody may be
        connected to it meanwhile), dropped by close() too; its URL."""
        name = f"cadence_bench_{self.prefix}_{label}_{uuid.uuid4().hex[:8]}"
        source = make_url(url).database
        for db in self.open:  # our own connections to it: closed, opened again when used
            if make_url(db.engine.url.render_as_string(False)).database == source:
                db.engine.dispose()
        admin = create_engine(self.postgres_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{source}"'))
        admin.dispose()
        self.made.append(name)
        return make_url(url).set(database=name).render_as_string(False)

    def database(self, url: str) -> Database:
        """A Database on `url`, disposed of by close()."""
        db = Database.from_url(url)
        self.open.append(db)
        return db

    @staticmethod
    def analyze(db: Database) -> None:
        """What autovacuum (PostgreSQL) or `PRAGMA optimize` would have done by now."""
        with db.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()

    def close(self) -> None:
        for db in self.open:
            db.dispose()
        if self.made:
            admin = create_engine(self.postgres_url, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                for name in self.made:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
        self.folder.cleanup()


@dataclass
class Rows:
    """Rows to insert, per table, with ids assigned here (a fresh database: no clashes), all of
    one workspace."""

    team_id: str
    tables: dict[Any, list[dict[str, Any]]] = field(default_factory=dict)
    ids: dict[Any, int] = field(default_factory=dict)

    def add(self, model: Any, **row: Any) -> int:
        new_id = self.ids.get(model, 0) + 1
        self.ids[model] = new_id
        self.tables.setdefault(model, []).append({"id": new_id, "team_id": self.team_id, **row})
        return new_id

    def count(self) -> int:
        return sum(len(rows) for rows in self.tables.values())


# --- the fake Slack, in a child process -----------------------------------------------------------


def serve_fake(
    *,
    team_id: str,
    app_id: str = "A0CADENCE",
    tz: str = "Europe/Berlin",
    still_clock: bool = False,
    backlog: int | None = None,
    counted: dict[str, str] | None = None,
) -> int:
    """Child-process mode: run FakeSlack and obey one JSON command per line on stdin.

    `tz`: the time zone of every person added. `still_clock`: the fake's clock stands still, so
    trigger ids handed out before a phase do not expire (Slack's would be fresh at each click).
    `backlog`: how many connections may wait to be accepted (socketserver's default of 5 would
    see a burst of posts from 50 clients reset by the stand-in, not by Slack). `counted`: for
    `stats`, a name per text to count in what Cadence said (messages and response_url posts)."""
    from http.server import ThreadingHTTPServer

    from bot.demo.fake_slack import FakeSlack

    if backlog is not None:
        ThreadingHTTPServer.request_queue_size = backlog
    clock = {"clock": lambda: 0.0} if still_clock else {}
    fake = FakeSlack(team_id=team_id, app_id=app_id, **clock).start()
    # Slack's rate tiers (fake_slack/tiers.py), counted on a clock that moves: a still one would
    # keep every call of the run in one minute's window.
    fake.rate_tiers = not still_clock
    print(fake.base_url, flush=True)
    for line in sys.stdin:
        command = json.loads(line)
        op = command["op"]
        answer: dict[str, Any] = {"ok": True}
        if op == "users":
            for user_id in command["ids"]:
                fake.add_user(user_id, tz=tz)
        elif op == "people":
            for user_id in command["users"]:
                fake.add_user(user_id, tz=tz)
            for channel_id in command["channels"]:
                fake.add_channel(channel_id, name=channel_id.lower(), bot_is_member=True)
            answer["dms"] = {u: fake.dm_channel_id(u) for u in command["users"]}
        elif op == "delay":
            fake.delay(command["method"], command["seconds"])
        elif op == "triggers":
            answer["ids"] = [fake.new_trigger_id() for _ in range(command["n"])]
        elif op == "views":
            answer["views"] = fake.opened_views()
        elif op == "activity":
            answer["n"] = len(fake.calls) + len(fake.responses)
        elif op == "sent":
            calls = fake.calls_to("chat.postMessage")
            answer["sent"] = sum(1 for c in calls if c.ok)
            answer["failed"] = sorted({str(c.response.get("error")) for c in calls if not c.ok})
            answer["block_errors"] = len(fake.block_errors)
        elif op == "stats":
            with fake._lock:
                calls, responses = list(fake.calls), list(fake.responses)
            said = [str(c.args.get("text") or "") for c in calls if c.method == "chat.postMessage"]
            said += [json.dumps(r.body) for r in responses]
            for name, needle in (counted or {}).items():
                answer[name] = sum(needle in s for s in said)
            answer["api_errors"] = dict(
                Counter(f"{c.method}:{c.response.get('error')}" for c in calls if not c.ok)
            )
            answer["block_errors"] = len(fake.block_errors)
            answer["calls"] = len(calls)
            answer["responses"] = len(responses)
        elif op == "arrivals":  # per channel, when the first call of `method` Slack took ended
            answer["at"] = {}
            for c in fake.calls_to(command["method"]):
                channel = str(c.args.get("channel") or c.args.get("channel_id") or "")
                if c.ok:
                    answer["at"].setdefault(channel, c.at)
        elif op == "reset":  # the records; with `messages`, the messages posted too
            fake.reset()
            if command.get("messages"):
                fake._messages.clear()
        print(json.dumps(answer), flush=True)
    fake.stop()
    return 0


class FakeProcess:
    """The fake Slack in a child process, so its CPU is never counted as the measured one's.

    `setup` goes to `serve_fake` in the child; `ask` sends it one command and returns its
    answer (one at a time: client threads may share it)."""

    def __init__(self, **setup: Any) -> None:
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--serve-fake", json.dumps(setup)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        assert self.process.stdout is not None
        self.base_url = self.process.stdout.readline().strip()
        if not self.base_url.startswith("http"):
            raise RuntimeError("the fake Slack did not start")
        self.root_url = self.base_url.removesuffix("/api/")
        self._lock = threading.Lock()

    def ask(self, op: str, **args: Any) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        with self._lock:
            self.process.stdin.write(json.dumps({"op": op, **args}) + "\n")
            self.process.stdin.flush()
            return json.loads(self.process.stdout.readline())

    def add_users(self, user_ids: list[str]) -> None:
        for start in range(0, len(user_ids), 1_000):
            self.ask("users", ids=user_ids[start : start + 1_000])

    def wait_quiet(self, quiet_s: float = 1.5, limit_s: float = 600) -> float:
        """Wait until the app has stopped calling Slack for `quiet_s` (its work after the acks
        is done); the seconds that took, not counting the quiet spell."""
        start = time.perf_counter()
        last, last_change = -1, start
        while time.perf_counter() - start < limit_s:
            n = self.ask("activity")["n"]
            now = time.perf_counter()
            if n != last:
                last, last_change = n, now
            elif now - last_change >= quiet_s:
                break
            time.sleep(0.1)
        return last_change - start

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


if __name__ == "__main__" and sys.argv[1:2] == ["--serve-fake"]:
    sys.exit(serve_fake(**json.loads(sys.argv[2])))
