"""The command line and the servers, run as a person or a Procfile would run them."""

from __future__ import annotations

import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from wsgiref.simple_server import make_server

import pytest
from conftest import ADMIN, BOT_TOKEN, SIGNING_SECRET, TEAM, _QuietHandler, make_settings
from flows import text_of
from slack_requests import SlackSim
from waiting import wait_until

from bot.entry.wsgi import CadenceWSGI
from bot.platform.config import ConfigError, load_settings
from bot.platform.services import Services
from storage.db import Database
from storage.models import TickerHeartbeat

ROOT = Path(__file__).resolve().parents[1]


def clean_env(**extra: str) -> dict[str, str]:
    """The process environment without any Cadence or Slack setting, plus `extra`."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "CADENCE_", "DATABASE_URL", "PORT", "LOG_LEVEL"))
    }
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.update(extra)
    return env


def run_bot(*args: str, cwd: Path, env: dict[str, str], timeout: float = 60):
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- configuration ---------------------------------------------------------------------------


@pytest.mark.slow
def test_without_credentials_the_app_says_what_to_set_and_exits(tmp_path):
    result = run_bot(cwd=tmp_path, env=clean_env())
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "SLACK_BOT_TOKEN is not set" in result.stderr
    assert "OAuth & Permissions" in result.stderr
    assert "SLACK_SIGNING_SECRET is not set: copy it from Basic Information" in result.stderr
    assert len(result.stderr.splitlines()) <= 10  # one screen
    assert not (tmp_path / "cadence.db").exists()  # nothing was created


@pytest.mark.slow
def test_malformed_values_are_each_named_with_the_fix(tmp_path):
    env = clean_env(
        SLACK_BOT_TOKEN="xoxp-user-token",
        SLACK_SIGNING_SECRET="s",
        SLACK_APP_TOKEN="nope",
        PORT="eighty",
        LOG_LEVEL="LOUD",
        CADENCE_ADMINS="U012ABC,bob",
        DATABASE_URL="mysql://x@y/z",
        SLACK_API_URL="slack.com",
    )
    result = run_bot(cwd=tmp_path, env=env)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    for expected in (
        "SLACK_BOT_TOKEN must be a bot token starting with xoxb-",
        "SLACK_APP_TOKEN must be an app-level token starting with xapp-",
        "PORT must be a whole number from 1 to 65535",
        "LOG_LEVEL must be one of",
        "CADENCE_ADMINS must be Slack member IDs",
        "DATABASE_URL must be sqlite:///",
        "SLACK_API_URL must be an http(s) URL",
    ):
        assert expected in result.stderr


def test_settings_come_from_dotenv_and_the_process_wins(tmp_path, monkeypatch):
    (tmp_path / ".env").write_text(
        f"SLACK_BOT_TOKEN={BOT_TOKEN}\nSLACK_SIGNING_SECRET=from-dotenv\nPORT=4000\n"
    )
    monkeypatch.chdir(tmp_path)
    for key in list(os.environ):
        if key.startswith(("SLACK_", "CADENCE_")) or key in ("PORT", "DATABASE_URL"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("PORT", "5000")
    settings = load_settings()
    assert settings.slack_signing_secret == "from-dotenv"
    assert settings.port == 5000
    assert settings.database_url == "sqlite:///cadence.db"
    assert settings.slack_api_url == "https://slack.com/api/"
    assert BOT_TOKEN not in repr(settings) and "from-dotenv" not in repr(settings)


def test_a_plain_postgresql_url_gets_the_psycopg_driver():
    settings = load_settings(
        {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": "s",
            "DATABASE_URL": "postgresql://postgres@127.0.0.1/test",
        }
    )
    assert settings.database_url.startswith("postgresql+psycopg://")
    with pytest.raises(ConfigError) as raised:
        load_settings({"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": "s", "PORT": "0"})
    assert raised.value.problems == [
        "PORT must be a whole number from 1 to 65535 (a TCP port), not 0"
    ]


def test_an_explicit_mapping_replaces_the_environment_and_migrate_needs_no_slack(monkeypatch):
    monkeypatch.setenv("PORT", "5000")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxp-not-a-bot-token")
    url = "postgresql://cadence:hunter2@db.internal/cadence"
    settings = load_settings({"DATABASE_URL": url}, need_slack=False)
    assert settings.port == 3000 and settings.slack_bot_token == ""
    assert settings.database_url == "postgresql+psycopg://cadence:hunter2@db.internal/cadence"
    assert "hunter2" not in repr(settings) and "hunter2" not in str(settings)
    with pytest.raises(ConfigError) as raised:
        load_settings({"SLACK_BOT_TOKEN": BOT_TOKEN, "CADENCE_TICK_SECONDS": "9" * 5000})
    assert raised.value.problems == [
        "SLACK_SIGNING_SECRET is not set: copy it from Basic Information → App Credentials in "
        "your Slack app settings into .env",
        "CADENCE_TICK_SECONDS must be a whole number from 1 to 3600 (seconds between scheduler "
        "passes), not " + "9" * 59 + "…",
    ]


# --- migrate and tick ------------------------------------------------------------------------


@pytest.mark.slow
def test_migrate_then_tick_at_a_given_moment(tmp_path, database_url, fake_slack):
    env = clean_env(
        DATABASE_URL=database_url,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=fake_slack.base_url,
    )
    early = run_bot("tick", cwd=tmp_path, env=env)
    assert early.returncode == 2 and "python -m bot migrate" in early.stderr
    assert "Traceback" not in early.stderr

    migrated = run_bot("migrate", cwd=tmp_path, env=env)
    assert migrated.returncode == 0, migrated.stderr
    assert "up to date" in migrated.stdout

    before = datetime.now(UTC)
    ticked = run_bot("tick", "--now", "2026-11-30T09:00:00+01:00", cwd=tmp_path, env=env)
    assert ticked.returncode == 0, ticked.stderr
    assert ticked.stdout.strip() == "2026-11-30T08:00:00+00:00 nothing due"
    db = Database.from_url(database_url)
    with db.read_session() as session:
        beats = session.exec(TickerHeartbeat.__table__.select()).all()
    db.dispose()
    # The heartbeat is when the pass really ran, not the simulated moment.
    assert len(beats) == 1 and before <= beats[0].last_tick_at <= datetime.now(UTC)

    for bad, says in (("yesterday", "not ISO-8601"), ("2026-11-30T09:00:00", "needs an offset")):
        result = run_bot("tick", "--now", bad, cwd=tmp_path, env=env)
        assert result.returncode == 2 and says in result.stderr


# --- serving -------------------------------------------------------------------------------------


@contextmanager
def serving(command: list[str], *, cwd: Path, env: dict[str, str], port: int) -> Iterator[str]:
    process = subprocess.Popen(
        command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"server exited: {process.stdout.read()}")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=1) as response:
                return response.status == 200
        except OSError:
            return False

    try:
        wait_until(up, 30, "the server to come up", interval=0.05)
        yield url
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        output = process.stdout.read()
        assert BOT_TOKEN not in output and SIGNING_SECRET not in output  # never log secrets


def procfile_command(process: str, port: int) -> list[str]:
    """A Procfile line as a platform runs it, with this test's Python environment."""
    lines = dict(
        line.split(": ", 1) for line in (ROOT / "Procfile").read_text().splitlines() if line
    )
    words = shlex.split(lines[process].replace("$PORT", str(port)))
    programs = {
        "python": sys.executable,
        "gunicorn": str(Path(sys.executable).with_name("gunicorn")),
    }
    return [programs.get(words[0], words[0]), *words[1:]]


def health(url: str) -> dict:
    with urllib.request.urlopen(url + "/healthz", timeout=5) as response:
        return json.loads(response.read())


def ticked(url: str) -> dict | None:
    """The scheduler's part of /healthz, once it has ticked (None before its first heartbeat)."""
    scheduler = health(url)["scheduler"]
    return scheduler if scheduler["age_s"] is not None else None


def slack_env(fake_slack, database_url: str, port: int, **extra: str) -> dict[str, str]:
    return clean_env(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=fake_slack.base_url,
        DATABASE_URL=database_url,
        PORT=str(port),
        CADENCE_ADMINS=ADMIN,
        LOG_LEVEL="DEBUG",
        **extra,
    )


@pytest.mark.slow
def test_the_single_process_serves_slack_and_runs_the_scheduler(tmp_path, fake_slack, sqlite_url):
    port = free_port()
    home = tmp_path / "home"
    env = slack_env(fake_slack, sqlite_url, port, CADENCE_TICK_SECONDS="1", HOME=str(home))
    env.pop("XDG_RUNTIME_DIR", None)  # gunicorn's control socket would go to ~/.gunicorn/
    with serving([sys.executable, "-m", "bot"], cwd=tmp_path, env=env, port=port) as url:
        # It migrated its own database, and the scheduler beside it is ticking.
        scheduler = wait_until(lambda: ticked(url), 15, "the scheduler's heartbeat", interval=0.05)
        assert scheduler["age_s"] < 10
        assert health(url)["database"] == "ok"

        sim = SlackSim(url, fake_slack, SIGNING_SECRET, team_id=TEAM)
        reply = sim.command("help")
        assert reply.status == 200 and "/cadence engagement new" in text_of(reply.json)
        reply = sim.command("engagement list")
        assert reply.status == 200
        answer = fake_slack.wait_for_response()[-1].body
        assert "No engagements yet" in text_of(answer)
        assert (
            sim.raw_post("x=1", {"Content-Type": "application/x-www-form-urlencoded"}).status == 401
        )
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(url + "/nope", timeout=5)
        assert missing.value.code == 404
        # No control socket (gunicorn's default since 25.1): nothing left in the home folder.
        assert not (home / ".gunicorn").exists()


@pytest.mark.slow
def test_the_procfile_web_and_worker_share_one_postgresql_database(
    tmp_path, fake_slack, postgres_url
):
    port = free_port()
    env = slack_env(fake_slack, postgres_url, port, CADENCE_TICK_SECONDS="1")
    release = subprocess.run(
        procfile_command("release", port), cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert release.returncode == 0, release.stderr
    web = procfile_command("web", port)
    worker = subprocess.Popen(
        procfile_command("worker", port),
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        with serving(web, cwd=tmp_path, env=env, port=port) as url:
            wait_until(lambda: ticked(url), 20, "the worker's heartbeat", interval=0.05)
            sim = SlackSim(url, fake_slack, SIGNING_SECRET, team_id=TEAM)
            assert "/cadence help" in text_of(sim.command("help").json)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=15)
    assert BOT_TOKEN not in worker.stdout.read()


def test_health_reports_an_unreachable_database_with_503(fake_slack):
    closed = free_port()  # nothing listens there
    url = f"postgresql+psycopg://postgres@127.0.0.1:{closed}/test?connect_timeout=2"
    services = Services(settings=make_settings(url, fake_slack), db=Database.from_url(url))
    server = make_server("127.0.0.1", 0, CadenceWSGI(services), handler_class=_QuietHandler)
    thread = threading.Thread(target=server.handle_request, daemon=True)
    thread.start()
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(f"http://127.0.0.1:{server.server_port}/healthz", timeout=10)
    thread.join(timeout=10)
    server.server_close()
    assert raised.value.code == 503
    assert json.loads(raised.value.read())["database"].startswith("unreachable")
