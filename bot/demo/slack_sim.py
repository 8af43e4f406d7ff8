"""Slack's side of a request to the app: signed HTTP posts to ``<app_url>/slack/events``.

Payloads are built the way Slack builds them (slash commands form-encoded; interactivity as
``payload=<json>``; events as JSON), from what the app actually sent to the fake Web API
(views opened, messages posted), so a caller clicks the buttons the app really rendered.

It lives in the package because `python -m bot demo` drives the real app the same way the
tests do (the tests import it through ``tests/slack_requests.py``): one way to be Slack.
"""

from __future__ import annotations

import copy
import datetime as dt
import itertools
import json
import secrets
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Any

from slack_sdk.signature import SignatureVerifier

from bot.demo.fake_slack import FakeSlack

__all__ = [
    "Reply",
    "SlackSim",
    "build_block_action",
    "build_view_state",
    "build_view_submission",
    "find_element",
    "sign",
]

VERIFICATION_TOKEN = "legacy-verification-token"

# Element type -> the key Slack puts its value under, in view state / block_actions.
VALUE_KEYS: dict[str, str] = {
    "plain_text_input": "value",
    "number_input": "value",
    "email_text_input": "value",
    "url_text_input": "value",
    "static_select": "selected_option",
    "external_select": "selected_option",
    "radio_buttons": "selected_option",
    "overflow": "selected_option",
    "multi_static_select": "selected_options",
    "multi_external_select": "selected_options",
    "checkboxes": "selected_options",
    "users_select": "selected_user",
    "multi_users_select": "selected_users",
    "conversations_select": "selected_conversation",
    "multi_conversations_select": "selected_conversations",
    "channels_select": "selected_channel",
    "multi_channels_select": "selected_channels",
    "datepicker": "selected_date",
    "timepicker": "selected_time",
    "datetimepicker": "selected_date_time",
    "rich_text_input": "rich_text_value",
    "file_input": "files",
}

# Element type -> the attribute holding its initial value.
INITIAL_KEYS: dict[str, str] = {
    "plain_text_input": "initial_value",
    "number_input": "initial_value",
    "email_text_input": "initial_value",
    "url_text_input": "initial_value",
    "static_select": "initial_option",
    "external_select": "initial_option",
    "radio_buttons": "initial_option",
    "multi_static_select": "initial_options",
    "multi_external_select": "initial_options",
    "checkboxes": "initial_options",
    "users_select": "initial_user",
    "multi_users_select": "initial_users",
    "conversations_select": "initial_conversation",
    "multi_conversations_select": "initial_conversations",
    "channels_select": "initial_channel",
    "multi_channels_select": "initial_channels",
    "datepicker": "initial_date",
    "timepicker": "initial_time",
    "datetimepicker": "initial_date_time",
    "rich_text_input": "initial_value",
}

_LIST_KEYS = frozenset(
    {"selected_options", "selected_users", "selected_conversations", "selected_channels", "files"}
)
_OPTION_KEYS = frozenset({"selected_option", "selected_options"})
_STATELESS = frozenset({"button", "overflow", "workflow_button", "image", "icon_button"})


def sign(
    body: str,
    secret: str,
    timestamp: int | None = None,
    *,
    content_type: str = "application/x-www-form-urlencoded",
) -> dict[str, str]:
    """Headers Slack sends with ``body``: Content-Type, timestamp and v0 signature."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = SignatureVerifier(secret).generate_signature(timestamp=ts, body=body)
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": ts,
        "X-Slack-Signature": signature,
    }


@dataclass
class Reply:
    """The app's HTTP answer to one simulated Slack request."""

    status: int
    body: str
    json: dict[str, Any] | None
    elapsed: float
    response_url: str | None = None
    trigger_id: str | None = None
    payload: dict[str, Any] | None = None
    execution: Any = None  # a Workflow Builder step's run, as the stand-in records it


# --------------------------------------------------------------------------------------------
# Pure payload builders
# --------------------------------------------------------------------------------------------


def _options_of(element: dict[str, Any]) -> list[dict[str, Any]]:
    opts = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        opts += group.get("options") or []
    return opts


def _resolve_option(element: dict[str, Any], value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    value = str(value)
    options = _options_of(element)
    for opt in options:
        if opt.get("value") == value:
            return copy.deepcopy(opt)
    if element.get("type") in ("external_select", "multi_external_select"):
        return {"text": {"type": "plain_text", "text": value, "emoji": True}, "value": value}
    raise ValueError(
        f"option {value!r} is not among {element.get('action_id')!r}'s options "
        f"{[o.get('value') for o in options]}"
    )


def _convert(element: dict[str, Any], key: str, value: Any) -> Any:
    """Turn a test-friendly value into what Slack sends under ``key`` for ``element``."""
    if value is None:
        return [] if key in _LIST_KEYS else None
    if key == "selected_option":
        return _resolve_option(element, value)
    if key == "selected_options":
        values = [value] if isinstance(value, str | dict) else list(value)
        return [_resolve_option(element, v) for v in values]
    if key in _LIST_KEYS:
        return [value] if isinstance(value, str) else list(value)
    if key == "selected_date" and isinstance(value, dt.date):
        return value.isoformat()
    if key == "selected_time" and isinstance(value, dt.time):
        return value.strftime("%H:%M")
    if key == "selected_date_time":
        return int(value.timestamp()) if isinstance(value, dt.datetime) else int(value)
    if key == "value":
        return str(value)
    return value


def _initial(element: dict[str, Any], key: str) -> Any:
    init_key = INITIAL_KEYS.get(element["type"])
    init = element.get(init_key) if init_key else None
    if init is None:
        return [] if key in _LIST_KEYS else None
    return copy.deepcopy(init)


def _stateful_elements(blocks: list[dict[str, Any]]):
    """(block, element, in_input_block) for every element that has state."""
    for block in blocks or []:
        kind = block.get("type")
        if kind == "input" and isinstance(block.get("element"), dict):
            yield block, block["element"], True
        elif kind == "section" and isinstance(block.get("accessory"), dict):
            if block["accessory"].get("type") not in _STATELESS:
                yield block, block["accessory"], False
        elif kind == "actions":
            for el in block.get("elements") or []:
                if isinstance(el, dict) and el.get("type") not in _STATELESS:
                    yield block, el, False


def build_view_state(
    view: dict[str, Any], values: dict[str, Any] | None = None, *, check_required: bool = True
) -> dict[str, Any]:
    """Slack's ``state`` for ``view`` (or a message dict with ``blocks``) as a user left it.

    Each input element starts from its initial value; ``values`` overrides by ``action_id``
    (or ``"block_id/action_id"``). None clears. Selects take an option value string (resolved
    against the element's options) or a full option dict; multi-selects take lists.
    Non-input stateful elements (section accessories, actions) appear only when they have an
    initial value or are given in ``values``. With ``check_required``, an empty required input
    raises ValueError, since Slack's client would not let the user submit.
    """
    values = dict(values or {})
    unused = set(values)
    state: dict[str, dict[str, Any]] = {}
    seen: list[str] = []
    for block, element, is_input in _stateful_elements(view.get("blocks") or []):
        kind = element.get("type")
        key = VALUE_KEYS.get(kind)
        block_id, action_id = block.get("block_id"), element.get("action_id")
        if key is None or block_id is None or action_id is None:
            continue
        seen.append(f"{block_id}/{action_id}")
        full = f"{block_id}/{action_id}"
        given = full if full in values else action_id if action_id in values else None
        if given is not None:
            unused.discard(given)
            current = _convert(element, key, values[given])
        else:
            current = _initial(element, key)
            if kind == "datetimepicker" and current is not None:
                current = int(current)
            if not is_input and current in (None, []):
                continue
        if is_input and check_required and not block.get("optional") and current in (None, [], ""):
            raise ValueError(
                f"required input {full!r} is empty: Slack would not let the user submit"
            )
        state.setdefault(block_id, {})[action_id] = {"type": kind, key: current}
    if unused:
        raise ValueError(
            f"values name action ids not in the view: {sorted(unused)}; the view has {seen}"
        )
    return {"values": state}


def _team(team_id: str, team_domain: str) -> dict[str, str]:
    return {"id": team_id, "domain": team_domain}


def _user(user_id: str, fake: FakeSlack | None, team_id: str) -> dict[str, str]:
    info = fake.user(user_id) if fake is not None else None
    name = info["name"] if info else user_id.lower()
    return {
        "id": user_id,
        "username": name,
        "name": name,
        "team_id": info["team_id"] if info else team_id,
    }


def build_view_submission(
    view: dict[str, Any],
    values: dict[str, Any] | None = None,
    *,
    user: str = "U0LEAD",
    trigger_id: str | None = None,
    team_id: str = "T0CADENCE",
    team_domain: str = "acme",
    api_app_id: str = "A0CADENCE",
    fake: FakeSlack | None = None,
    check_required: bool = True,
) -> dict[str, Any]:
    """The ``view_submission`` payload Slack sends when ``user`` submits ``view``."""
    submitted = copy.deepcopy(view)
    submitted["state"] = build_view_state(view, values, check_required=check_required)
    return {
        "type": "view_submission",
        "team": _team(team_id, team_domain),
        "user": _user(user, fake, team_id),
        "api_app_id": api_app_id,
        "token": VERIFICATION_TOKEN,
        "trigger_id": trigger_id or f"{secrets.randbelow(10**12)}.{secrets.token_hex(16)}",
        "view": submitted,
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }


def find_element(
    container: dict[str, Any], action_id: str, block_id: str | None = None
) -> tuple[dict, dict]:
    """(block, element) with ``action_id`` among ``container["blocks"]`` (in the block
    ``block_id`` when given: several blocks may carry the same button); raises if absent."""
    found: list[str] = []
    for block in container.get("blocks") or []:
        if block_id is not None and block.get("block_id") != block_id:
            continue
        candidates = []
        if isinstance(block.get("accessory"), dict):
            candidates.append(block["accessory"])
        if isinstance(block.get("element"), dict):
            candidates.append(block["element"])
        if block.get("type") == "actions":
            candidates += [e for e in block.get("elements") or [] if isinstance(e, dict)]
        for el in candidates:
            if el.get("action_id") == action_id:
                return block, el
            if el.get("action_id"):
                found.append(el["action_id"])
    raise ValueError(f"no element with action_id {action_id!r}; present: {found}")


def build_block_action(
    block: dict[str, Any], element: dict[str, Any], value: Any = None
) -> dict[str, Any]:
    """One entry of a block_actions payload's ``actions`` list."""
    kind = element.get("type")
    action: dict[str, Any] = {
        "action_id": element.get("action_id"),
        "block_id": block.get("block_id"),
        "type": kind,
        "action_ts": f"{time.time():.6f}",
    }
    if kind in ("button", "workflow_button"):
        if value is not None:
            raise ValueError("a button carries its own value; don't pass value= for it")
        action["text"] = copy.deepcopy(element.get("text"))
        if "value" in element:
            action["value"] = element["value"]
        if "style" in element:
            action["style"] = element["style"]
        return action
    key = VALUE_KEYS.get(kind)
    if key is None:
        raise ValueError(f"don't know how to act on a {kind!r} element")
    if value is None and kind == "overflow":
        raise ValueError("an overflow click needs value= (the chosen option's value)")
    action[key] = _convert(element, key, value) if value is not None else _initial(element, key)
    if kind in ("static_select", "multi_static_select", "external_select"):
        action["placeholder"] = copy.deepcopy(element.get("placeholder"))
    return action


# --------------------------------------------------------------------------------------------
# The simulator
# --------------------------------------------------------------------------------------------


class SlackSim:
    """Sends signed Slack requests to the app under test (one per test)."""

    def __init__(
        self,
        app_url: str,
        fake: FakeSlack,
        signing_secret: str,
        team_id: str = "T0CADENCE",
        team_domain: str = "acme",
        *,
        path: str = "/slack/events",
        timeout: float = 10.0,
    ) -> None:
        self.url = app_url.rstrip("/") + path
        self.fake = fake
        self.signing_secret = signing_secret
        self.team_id = team_id
        self.team_domain = team_domain
        self.timeout = timeout
        self._n = itertools.count(1)

    # ---------------------------------------------------------------- transport

    def raw_post(self, body: str, headers: dict[str, str]) -> Reply:
        """POST ``body`` with exactly ``headers`` (for forged / stale signature tests)."""
        self.fake.wall_now()  # the moment of the person's action is Slack's "now" too
        req = urllib.request.Request(
            self.url, data=body.encode("utf-8"), headers=headers, method="POST"
        )
        start = time.monotonic()
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                status, text = resp.status, resp.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as e:
            status, text = e.code, e.read().decode("utf-8", "replace")
        elapsed = time.monotonic() - start
        try:
            parsed = json.loads(text) if text.strip() else None
        except ValueError:
            parsed = None
        return Reply(status, text, parsed if isinstance(parsed, dict) else None, elapsed)

    def _post_form(self, fields: dict[str, str]) -> Reply:
        body = urllib.parse.urlencode(fields)
        return self.raw_post(body, sign(body, self.signing_secret))

    def _post_payload(self, payload: dict[str, Any]) -> Reply:
        reply = self._post_form({"payload": json.dumps(payload)})
        reply.payload = payload
        reply.trigger_id = payload.get("trigger_id")
        reply.response_url = payload.get("response_url")
        return reply

    def _user(self, user: str) -> dict[str, str]:
        return _user(user, self.fake, self.team_id)

    def _channel_name(self, channel: str) -> str:
        info = self.fake.channel(channel)
        if info:
            return info["name"]
        return "directmessage" if channel.startswith("D") else channel.lower()

    def _response_url(self, kind: str) -> str:
        return self.fake.response_url(f"{kind}-{next(self._n)}-{secrets.token_hex(3)}")

    # ---------------------------------------------------------------- requests

    def command(self, text: str, **kwargs: Any) -> Reply:
        """A slash command, form-encoded exactly like Slack's (`command_fields` names the
        keyword arguments: user, channel, command, user_team_id)."""
        fields = self.command_fields(text, **kwargs)
        reply = self._post_form(fields)
        reply.response_url, reply.trigger_id = fields["response_url"], fields["trigger_id"]
        reply.payload = fields
        return reply

    def command_body(self, text: str, **kwargs: Any) -> str:
        """A slash command's form body, to sign and post by hand (`raw_post`): its response_url
        is the stand-in's, so what the app answers there arrives rather than being retried."""
        return urllib.parse.urlencode(self.command_fields(text, **kwargs))

    def command_fields(
        self,
        text: str,
        *,
        user: str = "U0LEAD",
        channel: str = "C0GENERAL",
        command: str = "/cadence",
        user_team_id: str | None = None,
    ) -> dict[str, str]:
        """A slash command's fields, as Slack sends them.

        ``user_team_id``: the invoking user's team (Slack Connect); defaults to the fake's
        record of the user, else the workspace. Slack puts the invoking user's team in team_id.
        """
        u = self._user(user)
        response_url = self._response_url("cmd")
        trigger_id = self.fake.new_trigger_id()
        return {
            "token": VERIFICATION_TOKEN,
            "team_id": user_team_id or u["team_id"],
            "team_domain": self.team_domain,
            "channel_id": channel,
            "channel_name": self._channel_name(channel),
            "user_id": user,
            "user_name": u["name"],
            "command": command,
            "text": text,
            "api_app_id": self.fake.app_id,
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": trigger_id,
        }

    def submit_view(
        self,
        view: dict[str, Any],
        values: dict[str, Any] | None = None,
        *,
        user: str = "U0LEAD",
        check_required: bool = True,
    ) -> Reply:
        """Submit ``view`` (as returned by ``fake.view(view_id)``) with ``values`` filled in."""
        payload = build_view_submission(
            view,
            values,
            user=user,
            trigger_id=self.fake.new_trigger_id(view_id=view.get("id")),
            team_id=self.team_id,
            team_domain=self.team_domain,
            api_app_id=self.fake.app_id,
            fake=self.fake,
            check_required=check_required,
        )
        reply = self._post_payload(payload)
        action = (reply.json or {}).get("response_action")
        if reply.status == 200 and action not in ("errors", "update", "push") and view.get("id"):
            self.fake.close_view(view["id"], clear=action == "clear")  # Slack closes it
        return reply

    def close_view(self, view: dict[str, Any], *, user: str = "U0LEAD") -> Reply:
        """``view_closed`` (sent only when the view had notify_on_close)."""
        submitted = copy.deepcopy(view)
        submitted["state"] = build_view_state(view, check_required=False)
        payload = {
            "type": "view_closed",
            "team": _team(self.team_id, self.team_domain),
            "user": self._user(user),
            "api_app_id": self.fake.app_id,
            "token": VERIFICATION_TOKEN,
            "view": submitted,
            "is_cleared": False,
            "is_enterprise_install": False,
            "enterprise": None,
        }
        return self._post_payload(payload)

    def click(
        self,
        message_or_view: dict[str, Any],
        action_id: str,
        *,
        user: str = "U0LEAD",
        value: Any = None,
        channel: str = "C0GENERAL",
        response_url: str | None = None,
        block_id: str | None = None,
    ) -> Reply:
        """A block_actions payload for clicking / choosing ``action_id`` in what the app sent.

        ``message_or_view``: a stored message (``fake.messages()`` / chat.postMessage's
        ``message``; ephemeral when it has no ``ts``), a response_url post body, or a view.
        ``value``: for selects / overflow / pickers, the chosen value(s).
        ``block_id``: the block whose element it is, when several carry the same action_id.
        """
        block, element = find_element(message_or_view, action_id, block_id)
        action = build_block_action(block, element, value)
        is_view = message_or_view.get("type") in ("modal", "home") and "id" in message_or_view
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": self._user(user),
            "api_app_id": self.fake.app_id,
            "token": VERIFICATION_TOKEN,
            "team": _team(self.team_id, self.team_domain),
            "enterprise": None,
            "is_enterprise_install": False,
        }
        if is_view:
            view = copy.deepcopy(message_or_view)
            # Slack's state already holds what the person just chose in an input.
            chosen = (
                {action_id: value} if value is not None and block.get("type") == "input" else {}
            )
            view["state"] = build_view_state(message_or_view, chosen, check_required=False)
            payload["container"] = {"type": "view", "view_id": view["id"]}
            payload["trigger_id"] = self.fake.new_trigger_id(view_id=view["id"])
            payload["view"] = view
        else:
            ts = message_or_view.get("ts")
            ch = message_or_view.get("channel") or channel
            ephemeral = ts is None or message_or_view.get("is_ephemeral", False)
            payload["container"] = {
                "type": "message",
                "message_ts": ts or f"{time.time():.6f}",
                "channel_id": ch,
                "is_ephemeral": bool(ephemeral),
            }
            payload["trigger_id"] = self.fake.new_trigger_id()
            payload["channel"] = {"id": ch, "name": self._channel_name(ch)}
            if not ephemeral:
                message = copy.deepcopy(message_or_view)
                message.pop("channel", None)
                payload["message"] = message
            payload["state"] = build_view_state(message_or_view, check_required=False)
            payload["response_url"] = response_url or self._response_url("action")
        payload["actions"] = [action]
        return self._post_payload(payload)

    def message_shortcut(
        self,
        callback_id: str,
        message: dict[str, Any],
        *,
        user: str = "U0LEAD",
        channel: str = "C0GENERAL",
    ) -> Reply:
        msg = copy.deepcopy(message)
        ch = msg.pop("channel", None) or channel
        payload = {
            "type": "message_action",
            "token": VERIFICATION_TOKEN,
            "action_ts": f"{time.time():.6f}",
            "team": _team(self.team_id, self.team_domain),
            "user": self._user(user),
            "channel": {"id": ch, "name": self._channel_name(ch)},
            "is_enterprise_install": False,
            "enterprise": None,
            "callback_id": callback_id,
            "trigger_id": self.fake.new_trigger_id(),
            "response_url": self._response_url("shortcut"),
            "message_ts": msg.get("ts"),
            "message": msg,
        }
        return self._post_payload(payload)

    def global_shortcut(self, callback_id: str, *, user: str = "U0LEAD") -> Reply:
        payload = {
            "type": "shortcut",
            "token": VERIFICATION_TOKEN,
            "action_ts": f"{time.time():.6f}",
            "team": _team(self.team_id, self.team_domain),
            "user": self._user(user),
            "is_enterprise_install": False,
            "enterprise": None,
            "callback_id": callback_id,
            "trigger_id": self.fake.new_trigger_id(),
        }
        return self._post_payload(payload)

    def event(self, event: dict[str, Any]) -> Reply:
        """An Events API ``event_callback`` envelope around ``event``, sent as signed JSON."""
        now = int(time.time())
        envelope = {
            "token": VERIFICATION_TOKEN,
            "team_id": self.team_id,
            "context_team_id": self.team_id,
            "context_enterprise_id": None,
            "api_app_id": self.fake.app_id,
            "event": event,
            "type": "event_callback",
            "event_id": f"Ev0CAD{next(self._n):06d}{secrets.token_hex(2).upper()}",
            "event_time": now,
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.team_id,
                    "user_id": self.fake.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": f"4-{secrets.token_urlsafe(24)}",
        }
        body = json.dumps(envelope)
        headers = sign(body, self.signing_secret, content_type="application/json")
        reply = self.raw_post(body, headers)
        reply.payload = envelope
        return reply

    def function_executed(
        self,
        callback_id: str,
        inputs: dict[str, Any],
        *,
        definition: dict[str, Any] | None = None,
        retry_of: Reply | None = None,
    ) -> Reply:
        """A workflow reaches the app's step `callback_id`: Slack starts a function execution
        (the stand-in records it, with its own token) and sends the ``function_executed``
        event as its reference shows it
        (https://docs.slack.dev/reference/events/function_executed): the ``function`` it runs
        (`definition`: its title, description and parameters as the manifest declares them),
        ``inputs``, ``function_execution_id``, ``workflow_execution_id``, ``event_ts`` and
        ``bot_access_token``. The reply's ``execution`` is the stand-in's record of it.

        `retry_of`: Slack delivering the same event again (the same event id, signed anew,
        with X-Slack-Retry-Num), as it does when the first delivery got no answer in time."""
        if retry_of is not None:
            envelope = retry_of.payload or {}
            body = json.dumps(envelope)
            headers = sign(body, self.signing_secret, content_type="application/json")
            headers |= {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
            reply = self.raw_post(body, headers)
            reply.payload, reply.execution = envelope, retry_of.execution
            return reply
        execution = self.fake.start_execution(callback_id, inputs, team_id=self.team_id)
        described = definition or {}
        now = time.time()
        event = {
            "type": "function_executed",
            "function": {
                "id": f"Fn0CAD{secrets.token_hex(3).upper()}",
                "callback_id": callback_id,
                "title": described.get("title", callback_id),
                "description": described.get("description", ""),
                "type": "app",
                "input_parameters": described.get("input_parameters", []),
                "output_parameters": described.get("output_parameters", []),
                "app_id": self.fake.app_id,
                "date_created": 1694727597,
                "date_updated": 1698947481,
                "date_deleted": 0,
            },
            "inputs": inputs,
            "function_execution_id": execution.id,
            "workflow_execution_id": execution.workflow_execution_id,
            "event_ts": f"{now:.6f}",
            "bot_access_token": execution.token,
        }
        reply = self.event(event)
        reply.execution = execution
        return reply

    def app_home_opened(self, user: str) -> Reply:
        view = self.fake.home_view(user)
        event: dict[str, Any] = {
            "type": "app_home_opened",
            "user": user,
            "channel": self.fake.dm_channel_id(user),
            "tab": "home",
            "event_ts": f"{time.time():.6f}",
        }
        if view is not None:
            event["view"] = view
        return self.event(event)
