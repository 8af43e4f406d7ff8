"""Every log line names its workspace, the Slack delivery it was logged for and the job being
run (`bot/platform/logs.py`), in the text format and in JSON, and never a token or a secret."""

from __future__ import annotations

import json
import logging
import urllib.parse
from datetime import timedelta

import pytest
from conftest import BOT_TOKEN, LEAD, SIGNING_SECRET, TEAM, Cadence
from engine_flows import schedule, tick, utc
from flows import create_engagement
from slack_requests import sign
from test_faults import MONDAY, set_up_weekly_checkins, vendors
from waiting import wait_until

from bot.platform import clock, logs

RETRIED = "a retried delivery was acted on before"


def _skip_twice(cadence: Cadence) -> dict[str, str]:
    """`/cadence skip` delivered, then retried by Slack (X-Slack-Retry-Num): the retry is
    acknowledged and logged by the listener's guard, on one of Bolt's listener threads. The
    signed headers."""
    create_engagement(cadence)
    row = schedule(cadence, utc(2026, 11, 27, 10, 0))
    body = urllib.parse.urlencode(
        {
            "team_id": TEAM,
            "channel_id": "C0GENERAL",
            "user_id": LEAD,
            "command": "/cadence",
            "text": f"skip {row.id}",
            "api_app_id": cadence.fake.app_id,
            "response_url": cadence.fake.response_url("skip-1"),
            "trigger_id": cadence.fake.new_trigger_id(),
        }
    )
    headers = sign(body, SIGNING_SECRET)
    with clock.fixed_at(utc(2026, 11, 27, 10, 5)):
        assert cadence.sim.raw_post(body, headers).status == 200
        assert cadence.sim.raw_post(body, {**headers, "X-Slack-Retry-Num": "1"}).status == 200
    return headers


def test_a_request_s_lines_name_its_workspace_and_delivery(cadence: Cadence, caplog):
    caplog.handler.addFilter(logs.LogContext())  # what `logs.setup` puts on Cadence's handler
    caplog.set_level(logging.INFO)
    headers = _skip_twice(cadence)
    (line,) = wait_until(
        lambda: [r for r in caplog.records if RETRIED in r.getMessage()], 5, "the retry's line"
    )
    assert line.workspace == TEAM
    assert line.request.startswith("request:") and len(line.request) == len("request:") + 40
    assert line.job is None
    assert line.context == f" [workspace={TEAM} request={line.request}]"
    # Neither the signature it was derived from, nor a token or the signing secret.
    signature = headers["X-Slack-Signature"]
    for record in caplog.records:
        fields = f"{record.workspace} {record.request} {record.job}"
        for secret in (BOT_TOKEN, SIGNING_SECRET, signature, signature.removeprefix("v0=")):
            assert secret not in fields
            assert secret not in record.getMessage()


def test_a_job_s_lines_name_its_workspace_and_job_in_json(cadence: Cadence, monkeypatch, capfd):
    """A tick's line logged while the runner runs a job (a lookup Slack refuses for good)
    carries the job's key and its workspace; nothing outside it keeps them."""
    set_up_weekly_checkins(cadence, people=1)
    (vendor,) = vendors(1)
    cadence.fake.drop("chat.postMessage", reaches_slack=True)  # the prompt's outcome: unknown
    at = MONDAY + timedelta(hours=2)
    tick(cadence, monkeypatch, at)
    cadence.fake.fail("conversations.history", "missing_scope")
    capfd.readouterr()
    tick(cadence, monkeypatch, at + timedelta(hours=1), LOG_LEVEL="INFO", LOG_FORMAT="json")
    output = capfd.readouterr().err
    entries = [json.loads(line) for line in output.splitlines()]  # every line is JSON
    (looked,) = [e for e in entries if e["message"].startswith("could not look for")]
    assert looked["workspace"] == TEAM
    assert looked["job"].startswith("prompt:checkin=") and looked["job"].endswith(f":user={vendor}")
    assert "request" not in looked
    assert not [e for e in entries if "job" in e and "could not look for" not in e["message"]]
    assert BOT_TOKEN not in output and SIGNING_SECRET not in output


def test_the_text_format_ends_a_line_with_its_context(capfd):
    root = logging.getLogger()
    before = list(root.handlers), root.level
    logs.setup(level="INFO", fmt="text")
    try:
        with (
            logs.log_context(workspace="T9", request="view:V1"),
            logs.log_context(job="overdue:checkin=4", request=None),
        ):
            logging.getLogger("cadence.test").warning("inside")
        logging.getLogger("cadence.test").warning("outside")
    finally:
        for handler in root.handlers[:]:
            if handler not in before[0]:
                root.removeHandler(handler)
        root.setLevel(before[1])
    inside, outside = capfd.readouterr().err.splitlines()
    assert inside.endswith(
        "cadence.test: inside [workspace=T9 request=view:V1 job=overdue:checkin=4]"
    )
    assert outside.endswith("cadence.test: outside")


@pytest.fixture(autouse=True)
def _no_context_left():
    """What a test sets in the log context stays in it."""
    yield
    record = logging.LogRecord("x", logging.INFO, "", 0, "", None, None)
    logs.LogContext().filter(record)
    assert record.context == ""
