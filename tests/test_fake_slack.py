"""The fake Slack answers like Slack, through slack_sdk's real WebClient."""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from slack_requests import SlackSim, build_view_state, build_view_submission, sign
from slack_sdk import WebClient, WebhookClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator
from slack_sdk.signature import SignatureVerifier

from bot.demo.fake_slack import FakeSlack

SECRET = "test-signing-secret"


@pytest.fixture
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as f:
        f.add_user("U0LEAD", name="lead")
        f.add_user("U0EXT", name="ext", team_id="T0OTHER")
        f.add_user("U0GONE", name="gone", deleted=True)
        f.add_channel("C0GENERAL", name="general", members=["U0LEAD"], bot_is_member=True)
        f.add_channel("C0OUTSIDE", name="outside")
        f.add_channel("G0SECRET", name="secret", is_private=True)
        f.add_channel("C0OLD", name="old", is_archived=True, bot_is_member=True)
        yield f


@pytest.fixture
def client(fake: FakeSlack) -> WebClient:
    return WebClient(token="xoxb-test", base_url=fake.base_url)


def modal(title: str = "Plan", blocks: list[dict] | None = None, **extra: Any) -> dict:
    blocks = blocks or [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}]
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": title},
        "blocks": blocks,
        **extra,
    }


def error_of(call) -> str:
    with pytest.raises(SlackApiError) as exc:
        call()
    return exc.value.response["error"]


# ------------------------------------------------------------------------------ messages


def test_post_message_ok_and_recorded(fake: FakeSlack, client: WebClient) -> None:
    resp = client.chat_postMessage(channel="C0GENERAL", text="hello")
    assert resp["ok"] and resp["channel"] == "C0GENERAL"
    assert resp["message"]["user"] == "U0CADBOT" and resp["message"]["bot_id"] == "B0CADBOT"
    second = client.chat_postMessage(channel="C0GENERAL", text="again")
    assert float(second["ts"]) > float(resp["ts"])
    [call, _] = fake.wait_for("chat.postMessage", count=2)
    assert call.args["text"] == "hello" and call.token == "xoxb-test" and call.status == 200
    assert [m["text"] for m in fake.messages("C0GENERAL")] == ["hello", "again"]


def test_post_message_errors_like_slack(fake: FakeSlack, client: WebClient) -> None:
    post = client.chat_postMessage
    assert error_of(lambda: post(channel="C0OUTSIDE", text="x")) == "not_in_channel"
    assert error_of(lambda: post(channel="C0NOPE", text="x")) == "channel_not_found"
    assert error_of(lambda: post(channel="G0SECRET", text="x")) == "channel_not_found"
    assert error_of(lambda: post(channel="C0OLD", text="x")) == "is_archived"
    assert error_of(lambda: post(channel="U0EXT", text="x")) == "channel_not_found"
    assert error_of(lambda: post(channel="U0GONE", text="x")) == "account_inactive"
    assert fake.calls_to("chat.postMessage")[0].response["error"] == "not_in_channel"


def test_dm_update_delete_permalink(fake: FakeSlack, client: WebClient) -> None:
    dm = client.chat_postMessage(channel="U0LEAD", text="psst")
    assert dm["channel"].startswith("D")
    assert client.conversations_open(users="U0LEAD")["channel"]["id"] == dm["channel"]
    updated = client.chat_update(channel=dm["channel"], ts=dm["ts"], text="edited")
    assert updated["text"] == "edited"
    link = client.chat_getPermalink(channel=dm["channel"], message_ts=dm["ts"])
    assert link["permalink"].endswith(dm["ts"].replace(".", ""))
    client.chat_delete(channel=dm["channel"], ts=dm["ts"])
    assert error_of(lambda: client.chat_update(channel=dm["channel"], ts=dm["ts"], text="x")) == (
        "message_not_found"
    )


def test_auth_and_unknown_method(fake: FakeSlack) -> None:
    assert error_of(WebClient(base_url=fake.base_url).auth_test) == "not_authed"
    assert error_of(WebClient(token="bogus", base_url=fake.base_url).auth_test) == "invalid_auth"
    client = WebClient(token="xoxb-test", base_url=fake.base_url)
    assert client.auth_test()["user_id"] == "U0CADBOT"
    assert error_of(lambda: client.api_call("reactions.add")) == "unknown_method"
    assert fake.calls_to("reactions.add")


def test_conversations_and_users(fake: FakeSlack, client: WebClient) -> None:
    assert client.conversations_info(channel="C0OUTSIDE")["channel"]["is_member"] is False
    assert error_of(lambda: client.conversations_join(channel="C0OLD")) == "is_archived"
    assert client.conversations_join(channel="C0OUTSIDE")["channel"]["is_member"] is True
    assert fake.is_member("C0OUTSIDE")
    assert "U0CADBOT" in client.conversations_members(channel="C0GENERAL")["members"]
    user = client.users_info(user="U0LEAD")["user"]
    assert user["tz"] == "America/New_York" and user["tz_offset"] in (-18000, -14400)
    assert client.users_info(user="U0EXT")["user"]["team_id"] == "T0OTHER"
    assert error_of(lambda: client.users_info(user="U0NEVER")) == "user_not_found"


# ------------------------------------------------------------------------------ faults


def test_rate_limit_is_retried_by_slack_sdk(fake: FakeSlack) -> None:
    client = WebClient(token="xoxb-test", base_url=fake.base_url)
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=1))
    fake.rate_limit("chat.postMessage", retry_after=0)
    assert client.chat_postMessage(channel="C0GENERAL", text="hi")["ok"]
    first, second = fake.calls_to("chat.postMessage")
    assert (first.status, first.response["error"], second.status) == (429, "ratelimited", 200)


def test_server_error_is_retried_by_slack_sdk(fake: FakeSlack) -> None:
    fast = FixedValueRetryIntervalCalculator(fixed_internal=0.01)
    client = WebClient(
        token="xoxb-test",
        base_url=fake.base_url,
        retry_handlers=[ServerErrorRetryHandler(max_retry_count=1, interval_calculator=fast)],
    )
    fake.server_error("chat.postMessage", status=500)
    assert client.chat_postMessage(channel="C0GENERAL", text="hi")["ok"]
    assert [c.status for c in fake.calls_to("chat.postMessage")] == [500, 200]


def test_fail_is_consumed_in_order(fake: FakeSlack, client: WebClient) -> None:
    fake.fail("chat.postMessage", "channel_not_found", times=1)
    fake.fail("chat.postMessage", "ratelimited", times=1, extra_field=1)
    assert error_of(lambda: client.chat_postMessage(channel="C0GENERAL", text="a")) == (
        "channel_not_found"
    )
    assert error_of(lambda: client.chat_postMessage(channel="C0GENERAL", text="a")) == (
        "ratelimited"
    )
    assert client.chat_postMessage(channel="C0GENERAL", text="a")["ok"]
    with pytest.raises(AssertionError, match=r"chat\.postMessage"):
        fake.wait_for("views.open", timeout=0.05)


# ------------------------------------------------------------------------------ views


def test_views_open_triggers(fake: FakeSlack, client: WebClient) -> None:
    trigger = fake.new_trigger_id()
    view = client.views_open(trigger_id=trigger, view=modal(callback_id="plan"))["view"]
    assert view["id"].startswith("V") and view["callback_id"] == "plan"
    assert fake.view(view["id"])["hash"] == view["hash"]
    assert error_of(lambda: client.views_open(trigger_id=trigger, view=modal())) == (
        "invalid_trigger_id"
    )
    stale = fake.new_trigger_id()
    fake.expire_trigger(stale)
    assert error_of(lambda: client.views_open(trigger_id=stale, view=modal())) == (
        "expired_trigger_id"
    )
    assert error_of(lambda: client.views_open(trigger_id="made-up", view=modal())) == (
        "invalid_trigger_id"
    )


def test_trigger_expires_with_injected_clock() -> None:
    now = [100.0]
    with FakeSlack(clock=lambda: now[0]) as fake:
        client = WebClient(token="xoxb-test", base_url=fake.base_url)
        trigger = fake.new_trigger_id()
        now[0] += 3.5
        assert error_of(lambda: client.views_open(trigger_id=trigger, view=modal())) == (
            "expired_trigger_id"
        )


def test_views_update_hash_and_push_limit(fake: FakeSlack, client: WebClient) -> None:
    view = client.views_open(trigger_id=fake.new_trigger_id(), view=modal())["view"]
    new = client.views_update(view_id=view["id"], hash=view["hash"], view=modal("Two"))["view"]
    assert new["hash"] != view["hash"] and fake.view(view["id"])["title"]["text"] == "Two"
    assert error_of(
        lambda: client.views_update(view_id=view["id"], hash=view["hash"], view=modal())
    ) == ("hash_conflict")
    assert error_of(lambda: client.views_update(view_id="V0NOPE", view=modal())) == "not_found"
    for _ in range(2):
        client.views_push(trigger_id=fake.new_trigger_id(view["id"]), view=modal())
    assert error_of(
        lambda: client.views_push(trigger_id=fake.new_trigger_id(view["id"]), view=modal())
    ) == ("push_limit_reached")
    home = {
        "type": "home",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "h"}}],
    }
    client.views_publish(user_id="U0LEAD", view=home)
    assert fake.home_view("U0LEAD")["type"] == "home"
    assert fake.opened_views()[0]["id"] == view["id"]


def test_a_view_over_250_kb_is_too_large(fake: FakeSlack, client: WebClient) -> None:
    """views.open/update/push/publish: `view_too_large` past 250 kB (each method's page)."""
    big = "x" * 2900
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": big}}] * 90
    home = {"type": "home", "blocks": blocks}
    assert error_of(lambda: client.views_publish(user_id="U0LEAD", view=home)) == "view_too_large"
    assert fake.home_view("U0LEAD") is None
    small = {"type": "home", "blocks": blocks[:1]}
    assert client.views_publish(user_id="U0LEAD", view=small)["ok"]


def test_a_step_is_ended_once_by_its_own_workspace(fake: FakeSlack, client: WebClient) -> None:
    """functions.completeSuccess/completeError: `function_execution_not_found` for an unknown
    execution, `access_denied` for another workspace's, `execution_not_in_running_state` after
    it ended; Tier 3 like every other call the stand-in limits."""
    fake.add_team("T0OTHER", name="Other")
    other = fake.start_execution("raise_concern", {}, team_id="T0OTHER")
    mine = fake.start_execution("raise_concern", {})
    unknown = lambda: client.functions_completeError(function_execution_id="Fx0NOPE", error="e")  # noqa: E731
    assert error_of(unknown) == "function_execution_not_found"
    theirs = lambda: client.functions_completeSuccess(function_execution_id=other.id, outputs={})  # noqa: E731
    assert error_of(theirs) == "access_denied"
    assert client.functions_completeSuccess(function_execution_id=mine.id, outputs={"a": 1})["ok"]
    again = lambda: client.functions_completeError(function_execution_id=mine.id, error="late")  # noqa: E731
    assert error_of(again) == "execution_not_in_running_state"
    assert (fake.execution(mine.id).state, fake.execution(mine.id).ended) == ("completed", 1)
    assert fake.execution(other.id).state == "running"


def test_invalid_blocks_rejected_and_recorded(fake: FakeSlack, client: WebClient) -> None:
    section = {"type": "section", "text": {"type": "mrkdwn", "text": "x"}}
    err = error_of(
        lambda: client.chat_postMessage(channel="C0GENERAL", text="t", blocks=[section] * 51)
    )
    assert err == "invalid_blocks"
    assert fake.calls_to("chat.postMessage")[0].response["errors"]
    long_section = {"type": "section", "text": {"type": "mrkdwn", "text": "x" * 3001}}
    assert (
        error_of(
            lambda: client.chat_postMessage(channel="C0GENERAL", text="t", blocks=[long_section])
        )
        == "invalid_blocks"
    )
    err = error_of(
        lambda: client.views_open(trigger_id=fake.new_trigger_id(), view=modal("x" * 25))
    )
    assert err == "invalid_arguments"
    dup = [dict(section, block_id="a"), dict(section, block_id="a")]
    assert (
        error_of(lambda: client.chat_postMessage(channel="C0GENERAL", text="t", blocks=dup))
        == "invalid_blocks"
    )
    bogus = [{"type": "frobnicate"}]
    assert (
        error_of(lambda: client.chat_postMessage(channel="C0GENERAL", text="t", blocks=bogus))
        == "invalid_blocks"
    )
    assert [e["method"] for e in fake.block_errors] == [
        "chat.postMessage",
        "chat.postMessage",
        "views.open",
        "chat.postMessage",
        "chat.postMessage",
    ]
    assert any("3001" in e for e in fake.block_errors[1]["errors"])
    fake.reset()
    assert fake.block_errors == [] and fake.calls == []


def test_response_url_posts_recorded(fake: FakeSlack) -> None:
    url = fake.response_url("cmd-1")
    resp = WebhookClient(url).send(text="done", response_type="ephemeral")
    assert resp.status_code == 200 and resp.body == "ok"
    [post] = fake.wait_for_response()
    assert post.name == "cmd-1" and post.body["text"] == "done"
    bad = WebhookClient(url).send(text="x", blocks=[{"type": "header"}])
    assert bad.status_code == 400 and fake.block_errors


# ------------------------------------------------------------------------------ files


def test_files_upload_v2(fake: FakeSlack, client: WebClient) -> None:
    resp = client.files_upload_v2(
        channel="C0GENERAL",
        filename="report.csv",
        content="a,b\n1,2\n",
        title="Report",
        initial_comment="Weekly report",
    )
    assert resp["ok"] and resp["file"]["title"] == "Report"
    [(file_id, name, data, channel)] = fake.uploaded_files()
    assert (name, data, channel) == ("report.csv", b"a,b\n1,2\n", "C0GENERAL")
    assert file_id == resp["file"]["id"]


# ------------------------------------------------------------------------------ SlackSim


VIEW = {
    "id": "V0TEST",
    "type": "modal",
    "callback_id": "plan",
    "hash": "1.abc",
    "private_metadata": "{}",
    "blocks": [
        {
            "type": "input",
            "block_id": "name",
            "label": {"type": "plain_text", "text": "N"},
            "element": {"type": "plain_text_input", "action_id": "name", "initial_value": "Acme"},
        },
        {
            "type": "input",
            "block_id": "cadence",
            "label": {"type": "plain_text", "text": "C"},
            "element": {
                "type": "static_select",
                "action_id": "cadence",
                "options": [
                    {"text": {"type": "plain_text", "text": t}, "value": t}
                    for t in ("weekly", "biweekly")
                ],
                "initial_option": {
                    "text": {"type": "plain_text", "text": "weekly"},
                    "value": "weekly",
                },
            },
        },
        {
            "type": "input",
            "block_id": "people",
            "optional": True,
            "label": {"type": "plain_text", "text": "P"},
            "element": {"type": "multi_users_select", "action_id": "people"},
        },
        {
            "type": "input",
            "block_id": "start",
            "optional": True,
            "label": {"type": "plain_text", "text": "S"},
            "element": {"type": "datepicker", "action_id": "start", "initial_date": "2025-01-06"},
        },
        {
            "type": "actions",
            "block_id": "act",
            "elements": [
                {
                    "type": "button",
                    "action_id": "go",
                    "value": "1",
                    "text": {"type": "plain_text", "text": "Go"},
                }
            ],
        },
    ],
}


def test_build_view_state_from_initial_values() -> None:
    state = build_view_state(VIEW, {"cadence": "biweekly", "people": ["U1", "U2"]})
    assert state == {
        "values": {
            "name": {"name": {"type": "plain_text_input", "value": "Acme"}},
            "cadence": {
                "cadence": {
                    "type": "static_select",
                    "selected_option": {
                        "text": {"type": "plain_text", "text": "biweekly"},
                        "value": "biweekly",
                    },
                }
            },
            "people": {"people": {"type": "multi_users_select", "selected_users": ["U1", "U2"]}},
            "start": {"start": {"type": "datepicker", "selected_date": "2025-01-06"}},
        }
    }
    cleared = build_view_state(VIEW, {"start/start": None})
    assert cleared["values"]["start"]["start"]["selected_date"] is None
    with pytest.raises(ValueError, match="not in the view"):
        build_view_state(VIEW, {"nope": "x"})
    with pytest.raises(ValueError, match="options"):
        build_view_state(VIEW, {"cadence": "hourly"})
    with pytest.raises(ValueError, match="required"):
        build_view_state(VIEW, {"name": None})


def test_build_view_submission_shape() -> None:
    payload = build_view_submission(VIEW, {"name": "Globex"}, user="U0LEAD", trigger_id="t1")
    assert payload["type"] == "view_submission" and payload["trigger_id"] == "t1"
    assert payload["view"]["id"] == "V0TEST" and payload["view"]["hash"] == "1.abc"
    assert payload["view"]["state"]["values"]["name"]["name"]["value"] == "Globex"
    assert payload["user"]["id"] == "U0LEAD" and payload["team"]["id"] == "T0CADENCE"


class _Receiver(BaseHTTPRequestHandler):
    """A stand-in app endpoint: verifies Slack's signature, records the request."""

    received: list[dict[str, Any]]

    def log_message(self, *args: Any) -> None:
        return

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        ok = SignatureVerifier(SECRET).is_valid_request(body, dict(self.headers))
        self.received.append({"body": body, "headers": dict(self.headers)})
        out = json.dumps({"ok": ok}).encode()
        self.send_response(200 if ok else 401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)


@pytest.fixture
def app_url() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []
    handler = type("Receiver", (_Receiver,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()


def test_slack_sim_signs_and_builds_payloads(fake: FakeSlack, app_url) -> None:
    url, received = app_url
    sim = SlackSim(url, fake, SECRET)
    reply = sim.command("new Acme")
    assert reply.status == 200 and reply.json == {"ok": True}
    form = dict(urllib.parse.parse_qsl(received[-1]["body"]))
    assert form["command"] == "/cadence" and form["text"] == "new Acme"
    assert form["response_url"] == reply.response_url and form["trigger_id"] == reply.trigger_id
    assert form["user_name"] == "lead" and form["channel_name"] == "general"

    client = WebClient(token="xoxb-test", base_url=fake.base_url)
    to_open = {k: v for k, v in VIEW.items() if k not in ("id", "hash")}
    to_open |= modal(submit={"type": "plain_text", "text": "Save"}, blocks=VIEW["blocks"])
    opened = client.views_open(trigger_id=reply.trigger_id, view=to_open)["view"]
    sub = sim.submit_view(fake.view(opened["id"]), {"cadence": "biweekly"})
    assert sub.status == 200 and sub.payload["view"]["id"] == opened["id"]
    # the trigger from a view interaction works for views.push
    client.views_push(trigger_id=sub.trigger_id, view=modal())

    posted = client.chat_postMessage(channel="C0GENERAL", text="t", blocks=VIEW["blocks"][-1:])
    click = sim.click(fake.message("C0GENERAL", posted["ts"]), "go")
    action = click.payload["actions"][0]
    assert (action["value"], action["block_id"], click.payload["container"]["message_ts"]) == (
        "1",
        "act",
        posted["ts"],
    )
    with pytest.raises(ValueError, match="no element"):
        sim.click(fake.message("C0GENERAL", posted["ts"]), "missing")

    ev = sim.app_home_opened("U0LEAD")
    assert ev.status == 200 and received[-1]["headers"]["Content-Type"] == "application/json"
    stale = sign("x=1", SECRET, timestamp=1)
    assert sim.raw_post("x=1", stale).status == 401


def test_form_encoded_json_fields_and_delay(fake: FakeSlack, client: WebClient) -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "form"}}]
    resp = client.api_call(
        "chat.postEphemeral",
        params={"channel": "C0GENERAL", "user": "U0LEAD", "blocks": json.dumps(blocks)},
    )
    assert resp["message_ts"]
    assert fake.calls_to("chat.postEphemeral")[0].args["blocks"] == blocks
    fake.delay("auth.test", 0.2)
    slow = WebClient(token="xoxb-test", base_url=fake.base_url, timeout=0.05)
    with pytest.raises(TimeoutError):
        slow.auth_test()
    fake.delay("auth.test", 0)
    assert client.auth_test()["ok"]
