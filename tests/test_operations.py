"""Operations a person can trust (issue 11, item 3), run as an operator runs Cadence.

A database Cadence cannot use is one line from every command; the logs say what Cadence did
and nothing of the libraries' routine; `tick` tells cron when something failed for good; the
worker and the single process stop cleanly on SIGTERM and SIGINT, finishing the Slack call in
flight; a pass that hangs is abandoned loudly and the next one runs; the heartbeat is the wall
clock's, old ones go, and `/healthz` calls a stale scheduler unhealthy; a message typed in the
Messages tab gets one short answer.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import logging
import re
import signal
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from contextlib import redirect_stderr, redirect_stdout, suppress
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from conftest import ACME, ADMIN, BOT_TOKEN, GENERAL, LEAD, SIGNING_SECRET, TEAM, make_settings
from flows import text_of
from slack_requests import SlackSim
from sqlalchemy.engine import make_url
from sqlmodel import select
from test_cli_and_serving import clean_env, free_port, run_bot
from waiting import wait_until

from bot.engine import ticker
from bot.engine.heartbeat import last_heartbeat, process_name
from bot.entry.cli import EXIT_DATABASE, EXIT_FAILED, main
from bot.platform import logs
from bot.platform.services import Services
from storage import jobs
from storage.db import Database
from storage.models import ScheduledJob, TickerHeartbeat

MON = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
COMMANDS = (
    ("serve",),
    ("worker",),
    ("tick",),
    ("migrate",),
    ("forget-workspace", TEAM, "--yes"),
    ("backup", "cadence-backup"),
    ("restore-mark",),
)


def plan_message(db: Database, key: str, channel: str, due_at: datetime, text: str = "hello"):
    """A prepared message job, as a change plans one (what the engine sends)."""
    with db.session() as session:
        jobs.plan(
            session,
            team_id=TEAM,
            key=key,
            kind="message",
            due_at=due_at,
            now=due_at,
            payload={"channel": channel, "message": {"text": text}, "describe": key},
        )


def job(db: Database, key: str) -> ScheduledJob:
    with db.read_session() as session:
        return session.exec(select(ScheduledJob).where(ScheduledJob.key == key)).one()


def env_for(database_url: str, fake_slack=None, **extra: str) -> dict[str, str]:
    return clean_env(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        DATABASE_URL=database_url,
        CADENCE_ADMINS=ADMIN,
        CADENCE_CHANNEL_PACE_SECONDS="0",
        LOG_LEVEL="INFO",
        **({"SLACK_API_URL": fake_slack.base_url} if fake_slack is not None else {}),
        **extra,
    )


# --- a database Cadence cannot use: one line, from every command ----------------------------------


def unusable_database(case: str, tmp_path: Path, request: pytest.FixtureRequest):
    """(DATABASE_URL, what the line must say) for each way a database is not there."""
    if case == "sqlite folder missing":
        return f"sqlite:///{tmp_path / 'no-such-folder' / 'cadence.db'}", (
            "does not exist",
            "create it",
        )
    if case == "nothing listens":
        return f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/cadence", (
            "connection refused",
            "start PostgreSQL",
        )
    server = request.getfixturevalue("postgres_server_url")
    url = make_url(server).set(database="cadence_never_created")
    return url.render_as_string(hide_password=False), (
        '"cadence_never_created" does not exist',
        "createdb cadence_never_created",
    )


@pytest.mark.slow
@pytest.mark.parametrize("case", ["sqlite folder missing", "nothing listens", "no such database"])
def test_a_database_cadence_cannot_use_is_one_line_from_every_command(case, tmp_path, request):
    url, says = unusable_database(case, tmp_path, request)
    for command in COMMANDS:
        result = run_bot(*command, cwd=tmp_path, env=env_for(url), timeout=30)
        lines = result.stderr.strip().splitlines()
        assert result.returncode == EXIT_DATABASE, (command, result.stderr)
        assert len(lines) == 1 and "Traceback" not in result.stderr, (command, result.stderr)
        assert all(part in lines[0] for part in says), (command, lines[0])
        assert "DATABASE_URL" in lines[0] or "create it" in lines[0]
        assert result.stdout == "", command
    assert not (tmp_path / "no-such-folder").exists()  # nothing was created on the way


# --- logs --------------------------------------------------------------------------------------


@pytest.mark.slow
def test_migrate_says_what_it_changed_and_an_idle_tick_logs_nothing(tmp_path, sqlite_url):
    migrated = run_bot("migrate", cwd=tmp_path, env=env_for(sqlite_url))
    assert migrated.returncode == 0, migrated.stderr
    assert "Running upgrade  -> 0001" in migrated.stderr
    for chatter in ("setup plugin", "Context impl", "Will assume"):
        assert chatter not in migrated.stderr

    idle = run_bot("tick", cwd=tmp_path, env=env_for(sqlite_url))
    assert idle.returncode == 0
    assert idle.stderr == ""  # nothing logged at INFO by a pass with nothing to do
    assert idle.stdout.strip().endswith("nothing due")


@pytest.mark.slow
def test_json_logs_are_one_object_per_line(tmp_path, sqlite_url):
    migrated = run_bot("migrate", cwd=tmp_path, env=env_for(sqlite_url, LOG_FORMAT="json"))
    assert migrated.returncode == 0, migrated.stderr
    entries = [json.loads(line) for line in migrated.stderr.splitlines()]
    assert len(entries) > 5
    assert all(set(e) == {"time", "level", "logger", "message"} for e in entries)
    assert all(e["level"] == "INFO" and e["logger"].startswith("alembic") for e in entries)
    assert datetime.fromisoformat(entries[0]["time"]).tzinfo is not None
    assert any(e["message"].startswith("Running upgrade") for e in entries)


def test_a_json_log_line_carries_the_exception(capfd):
    root = logging.getLogger()
    before = list(root.handlers), root.level
    logs.setup(level="INFO", fmt="json")
    try:
        try:
            raise ValueError("the cause")
        except ValueError:
            logging.getLogger("cadence.test").exception("it went wrong")
        logging.getLogger("apscheduler.executors.default").info("Running job x")
    finally:
        for handler in root.handlers[:]:
            if handler not in before[0]:
                root.removeHandler(handler)
        root.setLevel(before[1])
    (line,) = capfd.readouterr().err.splitlines()
    entry = json.loads(line)
    assert (entry["level"], entry["logger"], entry["message"]) == (
        "ERROR",
        "cadence.test",
        "it went wrong",
    )
    assert "Traceback" in entry["exception"] and "ValueError: the cause" in entry["exception"]


@pytest.mark.slow
def test_the_single_process_logs_neither_chatter_nor_request_bodies(
    tmp_path, fake_slack, sqlite_url
):
    port = free_port()
    env = env_for(sqlite_url, fake_slack, PORT=str(port), CADENCE_TICK_SECONDS="1")
    env["LOG_FORMAT"] = "json"
    process = subprocess.Popen(
        [sys.executable, "-m", "bot"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        db = Database.from_url(sqlite_url)

        def beating() -> bool:
            assert process.poll() is None, process.stdout.read()
            try:
                return last_heartbeat(db) is not None
            except Exception:  # not migrated yet
                return False

        wait_until(beating, 30, "two scheduler passes", interval=0.1)
        first = last_heartbeat(db)
        wait_until(lambda: last_heartbeat(db) > first, 10, "another pass", interval=0.1)
        db.dispose()
        sim = SlackSim(f"http://127.0.0.1:{port}", fake_slack, SIGNING_SECRET, team_id=TEAM)
        reply = sim.command("help MARKER-IN-A-BODY")
        assert reply.status == 200 and "/cadence" in text_of(reply.json)
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=40)
    output = process.stdout.read()
    assert code == 0, output
    entries = [json.loads(line) for line in output.splitlines()]  # every line is JSON
    text = "\n".join(e["message"] for e in entries)
    for chatter in ("Running job", "executed successfully", "will be unused", "will be ignored"):
        assert chatter not in text
    assert "MARKER-IN-A-BODY" not in output and BOT_TOKEN not in output
    assert "Traceback" not in output
    assert any("Cadence stopped" in e["message"] for e in entries)


# --- tick's exit status ------------------------------------------------------------------------


def tick_status(cadence, monkeypatch, at: datetime) -> tuple[int, str, str]:
    """`python -m bot tick --now <at>` in this process: exit status, stdout, stderr."""
    settings = cadence.services.settings
    for key, value in env_for(settings.database_url, cadence.fake).items():
        if key.startswith(("SLACK_", "CADENCE_", "DATABASE_URL", "LOG_")):
            monkeypatch.setenv(key, value)
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["tick", "--now", at.isoformat()])
    return code, out.getvalue(), err.getvalue()


@pytest.mark.slow  # Slack failing, retries waited out
def test_tick_exits_1_when_a_send_failed_for_good_and_0_while_retries_wait(cadence, monkeypatch):
    plan_message(cadence.db, "test:gone", GENERAL, MON)
    cadence.fake.fail("chat.postMessage", "channel_not_found")
    code, out, err = tick_status(cadence, monkeypatch, MON)
    assert code == EXIT_FAILED, (out, err)
    assert "test:gone failed: channel_not_found" in out
    assert "1 message(s) failed for good" in err
    assert job(cadence.db, "test:gone").status == "failed"

    plan_message(cadence.db, "test:later", GENERAL, MON + timedelta(minutes=1))
    cadence.fake.server_error("chat.postMessage", status=503, times=3)
    code, out, err = tick_status(cadence, monkeypatch, MON + timedelta(minutes=1))
    assert code == 0, (out, err)
    assert "will be retried" in out and err == ""
    assert job(cadence.db, "test:later").status == "pending"

    code, out, _ = tick_status(cadence, monkeypatch, MON + timedelta(minutes=10))
    assert code == 0 and job(cadence.db, "test:later").status == "sent"


# --- stopping on a signal ------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    ("command", "signum"),
    [
        (["worker"], signal.SIGTERM),
        (["worker"], signal.SIGINT),
        ([], signal.SIGTERM),
        ([], signal.SIGINT),
    ],
    ids=["worker-SIGTERM", "worker-SIGINT", "single-SIGTERM", "single-SIGINT"],
)
def test_a_signal_lets_the_slack_call_in_flight_finish_and_leaves_no_lease(
    command, signum, tmp_path, fake_slack, sqlite_migrated_url
):
    db = Database.from_url(sqlite_migrated_url)
    plan_message(db, "test:in-flight", GENERAL, datetime.now(UTC), text="in flight")
    # Claimed with it, to the same channel, so it waits its turn behind the call in flight:
    # stopping hands it back to pending instead of holding it until its lease runs out.
    plan_message(db, "test:not-started", GENERAL, datetime.now(UTC), text="not started")
    fake_slack.hold("chat.postMessage", reaches_slack=True)
    env = env_for(sqlite_migrated_url, fake_slack, PORT=str(free_port()), CADENCE_TICK_SECONDS="1")
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", *command],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_until(lambda: fake_slack.held, 30, "the call to reach Slack", interval=0.05)
        process.send_signal(signum)
        with pytest.raises(subprocess.TimeoutExpired):  # it waits for the call in flight
            process.wait(timeout=1)
        fake_slack.release("chat.postMessage")
        code = process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    output = process.stdout.read()
    assert code == 0, output
    assert "Traceback" not in output
    sent = job(db, "test:in-flight")
    assert (sent.status, sent.lease_owner) == ("sent", None) and sent.result_ts
    waiting = job(db, "test:not-started")
    assert (waiting.status, waiting.lease_owner, waiting.attempts) == ("pending", None, 0)
    assert "handed back 1 claimed jobs not started" in output
    with db.read_session() as session:
        assert (
            session.exec(select(ScheduledJob).where(ScheduledJob.status == "claimed")).all() == []
        )
    db.dispose()
    assert [m["text"] for m in fake_slack.messages(GENERAL)] == ["in flight"]


# --- a pass that hangs -------------------------------------------------------------------------------


@pytest.mark.slow  # a pass that hangs
def test_a_hanging_pass_is_abandoned_loudly_and_the_next_one_runs(
    fake_slack, db, database_url, caplog
):
    settings = make_settings(database_url, fake_slack, CADENCE_TICK_SECONDS="1")
    services = Services(settings=settings, db=db)
    plan_message(db, "test:stuck", GENERAL, datetime.now(UTC), text="stuck")
    fake_slack.hold("chat.postMessage", reaches_slack=True)  # Slack takes it and never answers
    caplog.set_level(logging.INFO, logger="bot.engine.ticker")
    running = ticker.start_background(services, hang_after=1.0, poll=0.05)
    try:
        abandoned = wait_until(
            lambda: [r for r in caplog.records if "ABANDONED" in r.getMessage()],
            15,
            "the stuck pass to be abandoned",
        )
        line = abandoned[0]
        assert line.levelno == logging.ERROR
        assert "without progress" in line.getMessage()
        assert "check that the database answers" in line.getMessage()
        assert "planning and sending" in line.getMessage()
        # The next passes run (the stuck one never recorded a heartbeat).
        wait_until(lambda: last_heartbeat(db) is not None, 10, "a later pass to finish")
        assert job(db, "test:stuck").status == "claimed"  # still the stuck pass's lease
        fake_slack.release("chat.postMessage")
        wait_until(lambda: job(db, "test:stuck").status == "sent", 10, "the stuck call's end")
    finally:
        assert running.stop(grace=10)
    assert [m["text"] for m in fake_slack.messages(GENERAL)] == ["stuck"]  # sent once


# --- the heartbeat and /healthz --------------------------------------------------------------------


def beat(db: Database, process: str, at: datetime) -> None:
    with db.session() as session:
        session.merge(TickerHeartbeat(process=process, last_tick_at=at))


def heartbeats(db: Database) -> dict[str, datetime]:
    with db.read_session() as session:
        return {r.process: r.last_tick_at for r in session.exec(select(TickerHeartbeat)).all()}


def test_the_heartbeat_is_the_wall_clock_and_old_ones_go(cadence, monkeypatch):
    real = datetime.now(UTC)
    beat(cadence.db, "gone-host:1", real - timedelta(days=2))
    beat(cadence.db, "other-host:2", real - timedelta(hours=1))
    code, _, _ = tick_status(cadence, monkeypatch, MON)  # a simulated moment
    after = datetime.now(UTC)
    assert code == 0
    beats = heartbeats(cadence.db)
    assert set(beats) == {process_name(), "other-host:2"}
    assert real <= beats[process_name()] <= after  # not MON


def health(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url + "/healthz", timeout=5) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_healthz_calls_a_stale_scheduler_unhealthy(cadence):
    status, body = health(cadence.url)
    assert status == 200 and body["scheduler"]["last_tick_at"] is None  # none has run yet
    beat(cadence.db, "worker-host:7", datetime.now(UTC) - timedelta(minutes=6))  # 30 s ticks
    status, body = health(cadence.url)
    assert status == 503 and body["database"] == "ok"
    assert "no scheduler pass has finished for 36" in body["scheduler"]["problem"]
    assert "worker" in body["scheduler"]["problem"]
    beat(cadence.db, "worker-host:7", datetime.now(UTC) - timedelta(minutes=4))
    status, body = health(cadence.url)
    assert status == 200 and 239 < body["scheduler"]["age_s"] < 260
    assert "problem" not in body["scheduler"]


# --- the Messages tab ----------------------------------------------------------------------------


def typed(cadence, user: str, text: str, **extra) -> dict:
    event = {
        "type": "message",
        "channel_type": "im",
        "channel": cadence.fake.dm_channel_id(user),
        "user": user,
        "text": text,
        "ts": f"{datetime.now(UTC).timestamp():.6f}",
        **extra,
    }
    assert cadence.sim.event(event).status == 200
    return event


def answers_in(cadence, channel: str) -> list[dict]:
    return [
        c.args
        for c in cadence.fake.calls_to("chat.postMessage")
        if c.args.get("channel") == channel and c.ok
    ]


def test_a_message_typed_to_the_bot_gets_one_short_answer(cadence):
    dm = cadence.fake.dm_channel_id(LEAD)
    # Not answered: a bot's message, an edit, a message in a channel.
    typed(cadence, LEAD, "from a bot", bot_id="B0OTHER")
    typed(cadence, LEAD, "edited", subtype="message_changed")
    typed(cadence, LEAD, "in a channel", channel_type="channel", channel=ACME)
    event = typed(cadence, LEAD, "hello? how do I send my update")
    cadence.wait_until(lambda: answers_in(cadence, dm), what="the answer")
    # The same message delivered again (Slack retries) is not answered twice.
    assert cadence.sim.event(event).status == 200
    typed(cadence, LEAD, "and another question")
    cadence.wait_until(lambda: len(answers_in(cadence, dm)) == 2, what="the second answer")
    for answer in answers_in(cadence, dm):
        assert "/cadence help" in text_of(answer) and "Home" in text_of(answer)
    assert answers_in(cadence, ACME) == []
    with cadence.db.read_session() as session:
        keys = session.exec(
            select(ScheduledJob.key).where(ScheduledJob.key.startswith("dm-answer:"))
        ).all()
    assert len(keys) == 2


# --- Socket Mode --------------------------------------------------------------------------------


class SocketModeSlack:
    """Slack's side of Socket Mode, as little as a connection needs: `auth.test`,
    `apps.connections.open` (a WebSocket URL), and that WebSocket saying hello and answering
    pings. (The fake Slack speaks the Web API only.)"""

    def __init__(self):
        self.connections = 0
        self._ws = socket.create_server(("127.0.0.1", 0))
        threading.Thread(target=self._accept, daemon=True).start()
        ws_url = f"ws://127.0.0.1:{self._ws.getsockname()[1]}/link/?ticket=t"

        class Api(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                method = self.path.rsplit("/", 1)[-1]
                body = {"ok": False, "error": "unknown_method"}
                if method == "auth.test":
                    body = {"ok": True, "team_id": TEAM, "user_id": "U0BOT", "bot_id": "B0BOT",
                            "team": "Cadence", "user": "cadence", "url": "https://x.slack.com/"}  # fmt: skip
                elif method == "apps.connections.open":
                    body = {"ok": True, "url": ws_url}
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self._api = ThreadingHTTPServer(("127.0.0.1", 0), Api)
        threading.Thread(target=self._api.serve_forever, daemon=True).start()
        self.base_url = f"http://127.0.0.1:{self._api.server_port}/api/"

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._ws.accept()
            except OSError:
                return
            threading.Thread(target=self._session, args=(conn,), daemon=True).start()

    def _session(self, conn) -> None:
        with conn:
            request = b""
            while b"\r\n\r\n" not in request:
                request += conn.recv(4096)
            key = re.search(rb"Sec-WebSocket-Key: (\S+)", request, re.IGNORECASE).group(1)
            accept = base64.b64encode(
                hashlib.sha1(key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest()
            )
            conn.sendall(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n"
            )
            hello = json.dumps({"type": "hello", "num_connections": 1}).encode()
            conn.sendall(bytes([0x81, len(hello)]) + hello)
            self.connections += 1
            while True:  # answer pings (opcode 9) with pongs; the client's frames are masked
                try:
                    head = conn.recv(2)
                except OSError:
                    return
                if len(head) < 2:
                    return
                opcode, size = head[0] & 0x0F, head[1] & 0x7F
                if size == 126:
                    size = int.from_bytes(conn.recv(2), "big")
                mask = conn.recv(4)
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(conn.recv(size)))
                if opcode == 0x9:
                    conn.sendall(bytes([0x8A, len(payload)]) + payload)
                elif opcode == 0x8:
                    return

    def close(self) -> None:
        self._api.shutdown()
        self._ws.close()


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_socket_mode_stops_on_a_signal_without_a_traceback(signum, tmp_path, sqlite_migrated_url):
    slack = SocketModeSlack()
    env = env_for(sqlite_migrated_url, CADENCE_TICK_SECONDS="1", SLACK_APP_TOKEN="xapp-1-test")
    env["SLACK_API_URL"] = slack.base_url
    process = subprocess.Popen(
        [sys.executable, "-m", "bot"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    db = Database.from_url(sqlite_migrated_url)
    try:

        def connected_and_ticking() -> bool:
            assert process.poll() is None, process.stdout.read()
            return slack.connections > 0 and last_heartbeat(db) is not None

        wait_until(connected_and_ticking, 30, "a connection and a pass", interval=0.05)
        process.send_signal(signum)
        try:  # the pass in flight may take the ticker's grace (20 s), then the socket closes
            code = process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            process.kill()
            pytest.fail("not stopped 40 s after the signal:\n" + process.communicate()[0])
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        db.dispose()
        slack.close()
    output = process.stdout.read()
    assert code == 0, output
    assert "Traceback" not in output and "KeyboardInterrupt" not in output
    assert "Cadence stopped" in output


@pytest.mark.slow
def test_a_slack_that_cannot_be_reached_is_one_line_before_serving(tmp_path, sqlite_url):
    closed = f"http://127.0.0.1:{free_port()}/api/"
    env = env_for(sqlite_url, SLACK_API_URL=closed)
    env["LOG_LEVEL"] = "WARNING"  # the migration's INFO lines aside
    result = run_bot("serve", cwd=tmp_path, env=env)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"Slack cannot be reached at {closed}" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 2  # "cannot start:" and the one problem


class FreezingProxy:
    """A TCP proxy in front of PostgreSQL that can stop passing bytes: a database that hangs
    (a network gone quiet) rather than refusing, which no server-side timeout can cut."""

    def __init__(self, host: str, port: int):
        self.target = (host, port)
        self.flowing = threading.Event()
        self.flowing.set()
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = self._server.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                self.flowing.wait()
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        self.flowing.set()
        self._server.close()


@pytest.mark.slow
def test_a_pass_hanging_on_the_database_is_abandoned_and_the_ticker_recovers(
    fake_slack, postgres_migrated_url, caplog
):
    url = make_url(postgres_migrated_url)
    proxy = FreezingProxy(url.host or "127.0.0.1", url.port or 5432)
    proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    db = Database.from_url(proxied)
    settings = make_settings(proxied, fake_slack, CADENCE_TICK_SECONDS="1")
    caplog.set_level(logging.INFO, logger="bot.engine.ticker")
    running = ticker.start_background(Services(settings=settings, db=db), hang_after=1.0, poll=0.05)
    try:
        wait_until(lambda: last_heartbeat(db) is not None, 15, "a first pass")
        proxy.flowing.clear()  # the database goes quiet mid-conversation
        abandoned = wait_until(
            lambda: [r for r in caplog.records if "ABANDONED" in r.getMessage()],
            15,
            "the hanging pass to be abandoned",
        )
        assert abandoned[0].levelno == logging.ERROR
        assert "DATABASE_URL" in abandoned[0].getMessage()
        frozen_at = datetime.now(UTC)
        proxy.flowing.set()  # it answers again: passes finish again, without a restart
        wait_until(lambda: last_heartbeat(db) > frozen_at, 20, "a pass after the database is back")
    finally:
        assert running.stop(grace=10)
        proxy.close()
        db.dispose()


@pytest.mark.slow
def test_the_procfile_web_process_logs_json_lines_gunicorns_own_included(
    tmp_path, fake_slack, sqlite_url
):
    """`LOG_FORMAT=json` covers the Procfile's `web` process: gunicorn's own start lines go
    through Cadence's handler (`--logger-class`), not gunicorn's format."""
    from test_cli_and_serving import procfile_command, slack_env

    port = free_port()
    env = {**slack_env(fake_slack, sqlite_url, port, LOG_FORMAT="json"), "LOG_LEVEL": "INFO"}
    assert run_bot("migrate", cwd=tmp_path, env=env).returncode == 0
    process = subprocess.Popen(
        procfile_command("web", port),
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}"

        def answering() -> bool:
            assert process.poll() is None, process.stdout.read()
            try:
                with urllib.request.urlopen(url + "/healthz", timeout=2):
                    return True
            except OSError:
                return False

        wait_until(answering, 30, "the web process to answer", interval=0.1)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=40)
    lines = [line for line in process.stdout.read().splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    assert any(
        e["logger"].startswith("gunicorn") and "Listening at" in e["message"] for e in entries
    ), lines
