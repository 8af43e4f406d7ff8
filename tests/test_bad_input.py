"""Bad input gets a clear message where the person is, and nothing half-written lands."""

from __future__ import annotations

import json
import time
import urllib.parse

import pytest
from conftest import SIGNING_SECRET
from flows import GOOD_FORM, create_engagement, open_form, text_of, wait_reply
from slack_requests import sign
from sqlmodel import select

from storage.models import (
    AuditEvent,
    ConcernSla,
    Engagement,
    EngagementMember,
    KpiDefinition,
)

ALL_TABLES = (Engagement, EngagementMember, KpiDefinition, ConcernSla, AuditEvent)


def rows(cadence) -> dict[str, int]:
    with cadence.db.read_session() as session:
        return {m.__name__: len(session.exec(select(m)).all()) for m in ALL_TABLES}


def submit_errors(cadence, values) -> dict[str, str]:
    view = open_form(cadence)
    reply = cadence.sim.submit_view(view, {**GOOD_FORM, **values}, check_required=False)
    assert reply.status == 200
    assert reply.json and reply.json["response_action"] == "errors", reply.body
    return reply.json["errors"]


@pytest.mark.parametrize(
    ("values", "block", "says"),
    [
        ({"name": None}, "name", "Give the engagement a name"),
        ({"name": "!!!"}, "name", "at least one letter or digit"),
        ({"vendor": "  "}, "vendor", "Name the vendor"),
        ({"channel": None}, "channel", "Pick the channel"),
        ({"leads": []}, "leads", "at least one lead"),
        ({"kpis": "Uptime 99.9"}, "kpis", "Line 1 “Uptime 99.9” is not a KPI"),
        ({"kpis": "Uptime (%) >= 99\nuptime (%) >= 98"}, "kpis", "listed twice"),
        ({"timezone": "Europe/Berln"}, "timezone", "Did you mean Europe/Berlin?"),
        ({"timezone": "Mars/Olympus"}, "timezone", "not a time zone"),
        ({"sla_critical": "0"}, "sla_critical", "whole hours from 1"),
        ({"sla_critical": "100"}, "sla_critical", "should not wait longer than a high one"),
    ],
)
def test_a_bad_field_is_named_inline_and_nothing_is_written(cadence, values, block, says):
    before = rows(cadence)
    errors = submit_errors(cadence, values)
    key = next(k for k in errors if k == block or k.startswith(block + ":"))
    assert says in errors[key]
    assert rows(cadence) == before


def test_several_bad_fields_are_all_named_at_once(cadence):
    errors = submit_errors(cadence, {"name": None, "vendor": None, "kpis": "nonsense"})
    assert {"name", "vendor", "kpis"} <= set(errors)


def test_a_duplicate_name_is_refused_on_the_form(cadence):
    create_engagement(cadence)
    before = rows(cadence)
    errors = submit_errors(cadence, {"name": "ACME payments!"})  # same handle
    assert "`acme-payments` already exists" in errors["name"]
    assert rows(cadence) == before


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("frobnicate", "Cadence has no command `frobnicate`"),
        ("engagement", "Say what to do with engagements"),
        ("engagement destroy x", "`/cadence engagement destroy` is not a command"),
        ("engagement edit", "Say which engagement to edit"),
        ("engagement archive", "Say which engagement to archive"),
        ("engagement edit acme-paymnts", "Did you mean `acme-payments`?"),
        ("engagement archive nothing-here", "There is no engagement `nothing-here`"),
        ("status acme-payments", "not available in this version"),
    ],
)
def test_malformed_commands_get_an_ephemeral_reply_naming_the_fix(cadence, text, says):
    create_engagement(cadence)
    before = rows(cadence)
    reply = cadence.sim.command(text)
    assert reply.status == 200
    answer = wait_reply(cadence, reply)
    assert says in text_of(answer)
    assert answer.get("response_type", "ephemeral") == "ephemeral"
    assert rows(cadence) == before


def test_help_lists_every_command_with_examples(cadence):
    answer = wait_reply(cadence, cadence.sim.command("help"))
    text = text_of(answer)
    for usage in ("engagement new", "schedule <eng>", "concern <eng> [title]", "export <eng>"):
        assert f"/cadence {usage}" in text
    assert "e.g. `/cadence engagement edit acme-payments`" in text
    # A bare /cadence is help too.
    assert text_of(wait_reply(cadence, cadence.sim.command(""))) == text


def _command_body() -> str:
    return urllib.parse.urlencode(
        {
            "team_id": "T0CADENCE",
            "user_id": "U0LEAD",
            "command": "/cadence",
            "text": "engagement list",
            "channel_id": "C0GENERAL",
            "response_url": "http://127.0.0.1:9/response/x",
            "trigger_id": "1.2.3",
        }
    )


def test_requests_without_a_valid_signature_get_401_and_touch_nothing(cadence):
    body = _command_body()
    good = sign(body, SIGNING_SECRET)
    cases = {
        "missing": {"Content-Type": "application/x-www-form-urlencoded"},
        "forged": {**good, "X-Slack-Signature": "v0=" + "0" * 64},
        "wrong secret": sign(body, "not-the-secret"),
        "stale": sign(body, SIGNING_SECRET, timestamp=int(time.time()) - 6 * 60),
        "from the future": sign(body, SIGNING_SECRET, timestamp=int(time.time()) + 6 * 60),
    }
    for what, headers in cases.items():
        reply = cadence.sim.raw_post(body, headers)
        assert reply.status == 401, what
    # A tampered body with a signature of the original is forged too.
    assert cadence.sim.raw_post(body.replace("list", "new"), good).status == 401
    assert cadence.fake.responses == []
    assert [c.method for c in cadence.fake.calls if c.method != "auth.test"] == []
    # And the genuine request works.
    assert cadence.sim.raw_post(body, good).status == 200


def test_an_interactive_payload_with_a_forged_signature_is_refused(cadence):
    engagement = create_engagement(cadence)
    payload = {
        "type": "block_actions",
        "user": {"id": "U0LEAD"},
        "team": {"id": "T0CADENCE"},
        "actions": [{"action_id": "engagement_archive_confirm", "value": str(engagement.id)}],
        "response_url": "http://127.0.0.1:9/x",
    }
    body = urllib.parse.urlencode({"payload": json.dumps(payload)})
    headers = sign(body, "forged-secret")
    assert cadence.sim.raw_post(body, headers).status == 401
    with cadence.db.read_session() as session:
        assert session.get(Engagement, engagement.id).archived_at is None


def test_an_expired_trigger_tells_the_person_to_try_again(cadence):
    cadence.fake.fail("views.open", error="expired_trigger_id")
    reply = cadence.sim.command("engagement new")
    answer = wait_reply(cadence, reply)
    assert "Please run the command again" in text_of(answer)
