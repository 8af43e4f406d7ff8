"""Request bodies as Slack's own documentation and SDK fixtures show them (`tests/payloads/`,
each file's source in its README), signed and sent to every kind of listener Cadence binds.

Each file keeps its source's shape (the envelope's fields, enterprise and `is_enterprise_install`,
`response_urls`, `authorizations`), with this project's ids. What only a live conversation can
give is filled in from what Cadence really rendered: the clicked message or view and its action,
a valid `trigger_id`, a `response_url` the stand-in serves, a command's text, a step's execution.
Each must be acknowledged as Slack expects (200; a view submission's body empty or a
`response_action` Slack knows) and do what it asks, and none may end in the guard's apology.
"""

from __future__ import annotations

import copy
import json
import logging
import secrets
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import ACME, LEAD, SIGNING_SECRET, TEAM, VENDOR, Cadence
from engine_flows import schedule, tick, utc
from flows import create_engagement, text_of, wait_reply
from slack_requests import Reply, build_block_action, build_view_state, find_element, sign
from sqlmodel import select
from test_workspaces import OAUTH_ENV, install, serving_workspaces

from bot.blocks.checkins import ANSWER_ACTION
from bot.blocks.concerns import RAISE_SHORTCUT
from bot.blocks.question_editor import QUESTION_ADD
from bot.demo.fake_slack import FakeSlack
from bot.demo.fake_slack.methods.functions import COMPLETED, FAILED
from bot.platform import clock
from handlers import ACTIONS, COMMANDS, EVENTS, FUNCTIONS, SHORTCUTS, VIEWS
from handlers.workflow_steps import function_object
from storage.db import Database
from storage.models import Concern, ScheduledJob, StatusUpdate

PAYLOADS = Path(__file__).resolve().parent / "payloads"
CREATED = utc(2026, 11, 25, 10, 0)  # a Wednesday
MON = utc(2026, 11, 30, 8, 0)  # the weekly check-in opens
GRID = ("E0ACMEORG", "Acme Org")  # the organisation of tests/payloads/*_grid.json
APOLOGY = "something went wrong on Cadence's side"
# A view submission's answers Slack knows (https://docs.slack.dev/surfaces/modals#response).
RESPONSE_ACTIONS = {"errors", "update", "push", "clear"}


def load(name: str) -> dict[str, Any]:
    return json.loads((PAYLOADS / name).read_text())


def corpus() -> set[str]:
    return {p.name for p in PAYLOADS.glob("*.json")}


# --- sending, as Slack does ------------------------------------------------------------------------


def send_form(c: Cadence, fields: dict[str, Any]) -> Reply:
    """A slash command: form-encoded fields."""
    body = urllib.parse.urlencode(fields)
    reply = c.sim.raw_post(body, sign(body, SIGNING_SECRET))
    reply.response_url, reply.payload = fields.get("response_url"), fields
    return reply


def send_interaction(c: Cadence, payload: dict[str, Any]) -> Reply:
    """An interaction: `payload=<json>`, form-encoded."""
    body = urllib.parse.urlencode({"payload": json.dumps(payload)})
    reply = c.sim.raw_post(body, sign(body, SIGNING_SECRET))
    reply.response_url, reply.payload = payload.get("response_url"), payload
    return reply


def send_event(c: Cadence, envelope: dict[str, Any]) -> Reply:
    """An Events API delivery: JSON; each one its own event id."""
    envelope["event_id"] = f"Ev0CAD{secrets.token_hex(5).upper()}"
    body = json.dumps(envelope)
    reply = c.sim.raw_post(body, sign(body, SIGNING_SECRET, content_type="application/json"))
    reply.payload = envelope
    return reply


def acknowledged(reply: Reply) -> None:
    assert reply.status == 200, (reply.status, reply.body)
    assert APOLOGY not in reply.body, reply.body


def submission_acknowledged(reply: Reply) -> None:
    """What Slack expects for a view submission: an empty body closes the modal; otherwise
    JSON with a response_action it knows, and never errors for a form filled in right."""
    acknowledged(reply)
    if reply.body.strip():
        assert reply.json is not None, reply.body
        assert reply.json.get("response_action") in RESPONSE_ACTIONS, reply.json
        assert reply.json.get("response_action") != "errors", reply.json


# --- what a live conversation fills in -------------------------------------------------------------


def fresh(c: Cadence, name: str) -> str:
    return c.fake.response_url(f"{name}-{secrets.token_hex(3)}")


def clicked(c: Cadence, template: dict[str, Any], container: dict[str, Any], action_id: str,
            *, channel: str | None = None) -> dict[str, Any]:  # fmt: skip
    """The template's envelope around a click on `action_id` in what Cadence rendered: a
    message (with `channel`) or a view."""
    payload = copy.deepcopy(template)
    block, element = find_element(container, action_id)
    payload["actions"] = [build_block_action(block, element)]
    if channel is None:  # a view: a modal or the Home tab
        view = copy.deepcopy(container)
        view["state"] = build_view_state(container, check_required=False)
        payload["view"] = view
        payload["container"] = {"type": "view", "view_id": view["id"]}
        payload["trigger_id"] = c.fake.new_trigger_id(view_id=view["id"])
    else:
        message = {k: v for k, v in copy.deepcopy(container).items() if k != "channel"}
        payload["message"] = message
        payload["container"].update(message_ts=message["ts"], channel_id=channel)
        payload["channel"] = {"id": channel, "name": payload["channel"]["name"]}
        payload["trigger_id"] = c.fake.new_trigger_id()
        payload["response_url"] = fresh(c, "action")
    return payload


def submitted(c: Cadence, template: dict[str, Any], view: dict[str, Any],
              values: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
    payload = copy.deepcopy(template)
    payload["view"] = copy.deepcopy(view)
    payload["view"]["state"] = build_view_state(view, values)
    if "trigger_id" in payload:
        payload["trigger_id"] = c.fake.new_trigger_id(view_id=view["id"])
    return payload


def opened(c: Cadence, method: str, before: int) -> dict[str, Any]:
    call = c.fake.wait_for(method, count=before + 1)[-1]
    assert call.ok, call.response
    return c.fake.view(call.response["view"]["id"])


def concern_form(c: Cadence, title: str) -> dict[str, Any]:
    before = len(c.fake.calls_to("views.open"))
    acknowledged(c.sim.command(f"concern acme-payments {title}", user=LEAD))
    return opened(c, "views.open", before)


def count(c: Cadence, model) -> int:
    with c.db.read_session() as session:
        return len(session.exec(select(model)).all())


def everything_said(c: Cadence) -> list[str]:
    """Every text Cadence sent people: messages, ephemerals, response_url posts."""
    said = [json.dumps(r.body) for r in c.fake.responses]
    for method in ("chat.postMessage", "chat.postEphemeral", "chat.update"):
        said += [text_of(call.args) for call in c.fake.calls_to(method)]
    return said


# --- the test --------------------------------------------------------------------------------------


def test_the_corpus_covers_every_kind_of_listener_cadence_binds():
    names = corpus()
    sent = {name.split(".")[0] for name in names}
    kinds = {
        "slash_command": COMMANDS,
        "block_actions_message": ACTIONS,
        "block_actions_modal": ACTIONS,
        "block_actions_home": ACTIONS,
        "view_submission": VIEWS,
        "view_closed": VIEWS,
        "message_action": SHORTCUTS,
        "function_executed": FUNCTIONS,
    }
    for name, bound in kinds.items():
        assert bound and name in sent, name
    for event in EVENTS:
        assert any(n.startswith(f"event_{event}") for n in sent), event
    readme = (PAYLOADS / "README.md").read_text()
    for name in names:
        line = next((x for x in readme.splitlines() if f"`{name}`" in x), "")
        assert "https://" in line, f"README names no source for {name}"
    assert names == set(HANDLED), sorted(names ^ set(HANDLED))


HANDLED: list[str] = [
    "slash_command.json",
    "slash_command_grid.json",
    "block_actions_home.json",
    "block_actions_message.json",
    "view_submission.json",
    "block_actions_message_grid.json",
    "view_submission_grid.json",
    "view_submission_response_urls.json",
    "view_closed.json",
    "block_actions_modal.json",
    "message_action.json",
    "event_app_home_opened.json",
    "event_app_home_opened_grid.json",
    "event_message_im.json",
    "function_executed.json",
    "event_tokens_revoked.json",
    "event_app_uninstalled.json",
]


@pytest.fixture(params=["one token", "OAuth, a Grid workspace"])
def served(
    request: pytest.FixtureRequest, fake_slack: FakeSlack, db: Database, database_url: str
) -> Iterator[tuple[Cadence, dict[str, str]]]:
    """The app with one token, or under OAuth installed in a workspace of an Enterprise Grid
    organisation: its installation names the organisation, the `_grid` payloads name it too,
    the others (taken from workspaces outside any organisation) do not, and each is still
    served by the workspace's installation; with the environment a tick needs."""
    if request.param == "one token":
        yield request.getfixturevalue("cadence"), {}
        return
    fake_slack.add_team(TEAM, name=fake_slack.team_name, domain="acme", enterprise=GRID)
    with serving_workspaces(fake_slack, db, database_url) as d:
        install(d, TEAM, installer=LEAD)
        yield d.acme, OAUTH_ENV


def test_slacks_own_payloads_are_acknowledged_and_acted_on(served, monkeypatch, caplog):
    caplog.set_level(logging.WARNING)
    c, env = served
    with clock.fixed_at(CREATED):
        create_engagement(c)
    made = schedule(c, CREATED)
    tick(c, monkeypatch, MON, **env)
    dm = c.fake.dm_channel_id(VENDOR)
    (prompt,) = [m for m in c.fake.messages(dm) if "Time for" in text_of(m)]

    # Slash commands: the documented fields, and an Enterprise Grid workspace's.
    for name, words in (("slash_command.json", "Acme Payments"), ("slash_command_grid.json",
                                                                  "/cadence")):  # fmt: skip
        fields = load(name)
        fields.update(response_url=fresh(c, "cmd"), trigger_id=c.fake.new_trigger_id())
        reply = send_form(c, fields)
        acknowledged(reply)
        assert words in text_of(wait_reply(c, reply)), name

    # A click in the Home tab opens the check-in's form (container: view).
    c.sim.app_home_opened(VENDOR)
    home = c.wait_until(lambda: c.fake.home_view(VENDOR), what="the vendor's Home")
    before = len(c.fake.calls_to("views.open"))
    acknowledged(send_interaction(c, clicked(c, load("block_actions_home.json"), home,
                                             ANSWER_ACTION)))  # fmt: skip
    opened(c, "views.open", before)

    # A click on the prompt in the DM (container: message), plain and from a Grid workspace.
    for name in ("block_actions_message.json", "block_actions_message_grid.json"):
        before = len(c.fake.calls_to("views.open"))
        acknowledged(send_interaction(c, clicked(c, load(name), prompt, ANSWER_ACTION,
                                                 channel=dm)))  # fmt: skip
        form = opened(c, "views.open", before)

    # Its submission: an update filed, the modal closed.
    values = {"rag": "green", "summary": "On track."}
    submission_acknowledged(send_interaction(c, submitted(c, load("view_submission.json"),
                                                          form, values)))  # fmt: skip
    c.wait_until(lambda: count(c, StatusUpdate) == 1, what="the update")

    # A Grid workspace's submission, and one with response_urls (channel inputs that ask).
    concern = {"severity": "high", "category": "security"}
    submission_acknowledged(
        send_interaction(
            c,
            submitted(
                c, load("view_submission_grid.json"), concern_form(c, "Card data in logs"), concern
            ),
        )
    )
    asked = load("view_submission_response_urls.json")
    asked["response_urls"][0].update(channel_id=ACME, response_url=fresh(c, "ru"))
    submission_acknowledged(send_interaction(c, submitted(
        c, asked, concern_form(c, "Keys in a wiki"), concern)))  # fmt: skip
    c.wait_until(lambda: count(c, Concern) == 2, what="two concerns")

    # A modal closed (view_closed): acknowledged, nothing saved.
    closing = load("view_closed.json")
    closing["view"] = concern_form(c, "Never mind")
    acknowledged(send_interaction(c, closing))

    # A click in a modal (container: view): the questions' list pushes the editor.
    before = len(c.fake.calls_to("views.open"))
    acknowledged(c.sim.command(f"questions {made.id}", user=LEAD))
    listed = opened(c, "views.open", before)
    pushed = len(c.fake.calls_to("views.push"))
    acknowledged(send_interaction(c, clicked(c, load("block_actions_modal.json"), listed,
                                             QUESTION_ADD)))  # fmt: skip
    opened(c, "views.push", pushed)

    # The message shortcut on a person's message in the engagement channel: the concern form.
    shortcut = load("message_action.json")
    shortcut.update(callback_id=RAISE_SHORTCUT, trigger_id=c.fake.new_trigger_id(),
                    response_url=fresh(c, "shortcut"))  # fmt: skip
    before = len(c.fake.calls_to("views.open"))
    acknowledged(send_interaction(c, shortcut))
    opened(c, "views.open", before)

    # Events: the Home tab opened (plain, and a Grid workspace's Messages tab), a DM typed.
    event = load("event_app_home_opened.json")
    event["event"]["channel"] = c.fake.dm_channel_id(LEAD)
    event["event"]["view"] = c.fake.home_view(LEAD) or event["event"]["view"]
    published = len(c.fake.calls_to("views.publish"))
    acknowledged(send_event(c, event))
    call = c.wait_until(
        lambda: next((x for x in c.fake.calls_to("views.publish")[published:]
                      if x.args.get("user_id") == LEAD), None),
        what="the lead's Home published",
    )  # fmt: skip
    assert "Acme Payments" in json.dumps(call.args["view"])
    acknowledged(send_event(c, load("event_app_home_opened_grid.json")))
    typed = load("event_message_im.json")
    typed["event"]["channel"] = c.fake.dm_channel_id(LEAD)
    acknowledged(send_event(c, typed))
    c.wait_until(
        lambda: any("/cadence help" in text_of(x.args) for x in c.fake.calls_to("chat.postMessage")
                    if x.args.get("channel") == typed["event"]["channel"]),
        what="the Messages tab's answer",
    )  # fmt: skip

    # A Workflow Builder step reached: its function_executed event, the step completed.
    step = load("function_executed.json")
    inputs = {"engagement": "acme-payments", "raised_by": {"id": LEAD, "secret": "b4a7f0c2"},
              "title": "Audit logs missing", "severity": "medium", "category": "quality"}  # fmt: skip
    execution = c.fake.start_execution("raise_concern", inputs)
    step["event"].update(
        function={
            **step["event"]["function"],
            **function_object("raise_concern"),
            "callback_id": "raise_concern",
        },
        inputs=inputs,
        function_execution_id=execution.id,
        workflow_execution_id=execution.workflow_execution_id,
        bot_access_token=execution.token,
    )
    acknowledged(send_event(c, step))
    c.wait_until(lambda: execution.state in (COMPLETED, FAILED), what="the step to end")
    assert execution.state == COMPLETED, execution.error
    assert count(c, Concern) == 3  # the closed modal saved nothing

    # A user token revoked (Cadence holds none), then the app uninstalled: what was pending
    # is cancelled.
    acknowledged(send_event(c, load("event_tokens_revoked.json")))
    acknowledged(send_event(c, load("event_app_uninstalled.json")))
    c.wait_until(lambda: not pending(c), what="pending jobs cancelled")

    # None of it ended in the guard's apology, nor in an error Bolt or a listener logged.
    assert not [s for s in everything_said(c) if APOLOGY in s]
    failures = [r.getMessage() for r in caplog.records
                if "failed (reference" in r.getMessage() or "unhandled error" in r.getMessage()]  # fmt: skip
    assert failures == []


def pending(c: Cadence) -> list[ScheduledJob]:
    with c.db.read_session() as session:
        return list(session.exec(select(ScheduledJob).where(ScheduledJob.status == "pending")))
