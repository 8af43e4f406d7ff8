"""What an operator needs to diagnose a set-up (issue 22, item 7): a wrong signing secret is
said in the log, at most once a minute; an in-memory SQLite URL is warned about; migrations
log one line each; arguments are checked before the configuration; forget-workspace needs only
the database; the README's command table lists every command."""

from __future__ import annotations

import logging
import os
import re
import time
from pathlib import Path

import pytest
from conftest import SIGNING_SECRET, TEAM
from flows import create_engagement
from slack_requests import sign
from sqlmodel import select

from bot.entry.cli import EXIT_CONFIG, main
from bot.entry.serve import GRACEFUL_TIMEOUT_S
from bot.entry.wsgi import SignatureFailures
from storage.migrate import MIGRATIONS
from storage.models import Engagement

ROOT = Path(__file__).resolve().parents[1]

WARNED_BY = "bot.entry.wsgi"


def warnings(caplog) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == WARNED_BY and r.levelno == logging.WARNING and "signature" in r.getMessage()
    ]


# --- a signing secret that is not the app's ---------------------------------------------------


def test_a_wrong_signing_secret_is_named_once_a_minute_without_the_secret(cadence, caplog):
    caplog.set_level(logging.WARNING)
    body = cadence.sim.command_body("help")
    signed_elsewhere = sign(body, "the-secret-slack-really-uses")
    for _ in range(3):
        assert cadence.sim.raw_post(body, signed_elsewhere).status == 401
    said = warnings(caplog)
    assert len(said) == 1, said  # three failures, one line
    assert "is SLACK_SIGNING_SECRET the app's Signing Secret" in said[0]
    assert "1 refused with 401" in said[0]
    everything = caplog.text
    for secret in (SIGNING_SECRET, "the-secret-slack-really-uses"):
        assert secret not in everything
    assert signed_elsewhere["X-Slack-Signature"] not in everything
    assert "trigger_id" not in everything  # nor the body
    # A genuine request still works, and says nothing.
    caplog.clear()
    assert cadence.sim.raw_post(body, sign(body, SIGNING_SECRET)).status == 200
    assert warnings(caplog) == []


def test_the_warning_names_a_wrong_clock_or_a_request_not_from_slack(cadence, caplog):
    caplog.set_level(logging.WARNING)
    body = cadence.sim.command_body("help")
    stale = sign(body, SIGNING_SECRET, timestamp=int(time.time()) - 20 * 60)
    assert cadence.sim.raw_post(body, stale).status == 401
    (said,) = warnings(caplog)
    assert "behind this machine's clock" in said and "NTP" in said


def test_a_request_without_slacks_headers_is_told_apart(cadence, caplog):
    caplog.set_level(logging.WARNING)
    unsigned = {"Content-Type": "application/x-www-form-urlencoded"}
    assert cadence.sim.raw_post(cadence.sim.command_body("help"), unsigned).status == 401
    (said,) = warnings(caplog)
    assert said.startswith("Requests without Slack's signature reach /slack/events")


def test_one_line_a_minute_then_the_count_of_those_in_between(caplog):
    caplog.set_level(logging.WARNING)
    moment = [1000.0]
    failures = SignatureFailures(monotonic=lambda: moment[0], wall=lambda: 1_800_000_000.0)
    failures.failed("")  # no Slack headers at all
    for _ in range(4):
        moment[0] += 10
        failures.failed("1800000000")
    moment[0] += 21  # 61 s after the first line
    failures.failed("1800000000")
    said = warnings(caplog)
    assert len(said) == 2, said
    assert said[0].startswith("Requests without Slack's signature reach /slack/events (1 refused")
    assert "(5 refused with 401 since the last warning" in said[1]
    assert "SLACK_SIGNING_SECRET" in said[1]


# --- the command line -----------------------------------------------------------------------------


@pytest.fixture
def no_credentials(tmp_path, monkeypatch):
    """No Slack or Cadence setting in the environment, and no `.env` where it runs."""
    for variable in list(os.environ):
        if variable.startswith(("SLACK_", "CADENCE_")) or variable == "DATABASE_URL":
            monkeypatch.delenv(variable)
    monkeypatch.chdir(tmp_path)
    root = logging.getLogger()
    before = list(root.handlers), root.level
    yield monkeypatch
    for handler in root.handlers[:]:  # main() configured logging: leave the root as it was
        if handler not in before[0]:
            root.removeHandler(handler)
    root.setLevel(before[1])


def test_a_bad_tick_moment_is_said_before_missing_credentials(no_credentials, capsys):
    assert main(["tick", "--now", "garbage"]) == EXIT_CONFIG
    err = capsys.readouterr().err
    assert err.strip() == "--now 'garbage' is not ISO-8601, e.g. 2026-11-30T09:00:00+01:00"
    assert main(["tick", "--now", "2026-11-30T09:00:00"]) == EXIT_CONFIG
    assert capsys.readouterr().err.startswith("--now needs an offset")
    # A good moment goes on to the configuration, which is then what is missing.
    assert main(["tick", "--now", "2026-11-30T09:00:00+01:00"]) == EXIT_CONFIG
    assert "SLACK_BOT_TOKEN is not set" in capsys.readouterr().err


def test_forget_workspace_needs_only_the_database(cadence, database_url, no_credentials, capsys):
    create_engagement(cadence)
    no_credentials.setenv("DATABASE_URL", database_url)
    assert main(["forget-workspace", TEAM, "--yes"]) == 0
    out = capsys.readouterr().out
    assert f"rows of workspace {TEAM}" in out and "  engagement: 1" in out
    with cadence.db.read_session() as session:
        assert session.exec(select(Engagement)).all() == []


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///", "sqlite:///:memory:"])
def test_an_in_memory_sqlite_url_is_warned_about(url, no_credentials, caplog):
    no_credentials.setenv("DATABASE_URL", url)
    assert main(["migrate"]) == 0
    said = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert said == [
        f"DATABASE_URL {url} is an in-memory SQLite database: what Cadence stores is lost when "
        "this process exits, and no other process or thread sees it. Point it at a file, e.g. "
        "sqlite:///cadence.db."
    ]


def test_a_sqlite_file_is_not_warned_about(sqlite_url, no_credentials, caplog):
    no_credentials.setenv("DATABASE_URL", sqlite_url)
    assert main(["migrate"]) == 0
    assert [r for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_each_migration_is_one_log_line(sqlite_url, no_credentials, capfd):
    no_credentials.setenv("DATABASE_URL", sqlite_url)
    assert main(["migrate"]) == 0
    lines = capfd.readouterr().err.splitlines()
    assert len(lines) == len(list(MIGRATIONS.glob("versions/0*.py")))
    assert all(re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO ", line) for line in lines)
    # The docstrings that span several lines arrive whole, on their line.
    assert any("the quoted message, reopenings" in line for line in lines)


# --- documentation ------------------------------------------------------------------------------


def test_the_systemd_unit_waits_longer_than_gunicorns_graceful_stop():
    unit = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    (timeout,) = re.findall(r"^TimeoutStopSec=(\d+)$", unit, re.MULTILINE)
    assert int(timeout) >= GRACEFUL_TIMEOUT_S + 10  # room for the exit after the graceful stop
