"""A fake Slack Web API served on 127.0.0.1, for tests.

Only Slack is faked, at its HTTP boundary: the app's real ``slack_sdk.WebClient`` (with
``base_url=fake.base_url``) talks to it unchanged, retry handlers included. Answers follow the
shapes and error codes of the real Web API for the methods Cadence uses; anything else answers
``unknown_method`` and is recorded so a test can spot it.

Usage::

    with FakeSlack() as fake:
        fake.add_channel("C0GENERAL", name="general", members=["U0LEAD"])
        fake.join("C0GENERAL")
        client = WebClient(token="xoxb-test", base_url=fake.base_url)
        client.chat_postMessage(channel="C0GENERAL", text="hi")
        fake.wait_for("chat.postMessage")

Several workspaces: ``add_team`` another, ``authorize`` stands for a person approving the install
on Slack's page (a one-time code for the app's redirect URL), ``oauth.v2.access`` trades the code
for a bot token of that workspace, and every call then acts as the workspace of its token
(``auth.test``, who may be sent a DM, the views' team); ``uninstall`` revokes its tokens. A token
the fake did not issue acts for the default workspace.
"""

from __future__ import annotations

import base64
import contextlib
import copy
import datetime as dt
import itertools
import json
import random
import secrets
import threading
import time
import urllib.parse
import zoneinfo
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block, BlockElement
from slack_sdk.models.views import View

from bot.demo.waiting import wait_until

__all__ = [
    "CHAOS_KINDS",
    "Call",
    "FakeSlack",
    "ResponsePost",
    "validate_message_blocks",
    "validate_view",
]

TRIGGER_TTL_SECONDS = 3.0
MESSAGE_MAX_BLOCKS = 50
VIEW_MAX_BLOCKS = 100
MESSAGE_TEXT_MAX = 40000
VIEW_STACK_MAX = 3

# Form fields that Slack accepts as JSON-encoded strings.
_JSON_FIELDS = frozenset(
    {"blocks", "attachments", "view", "metadata", "files", "unfurls", "users", "channels"}
)


@dataclass
class Call:
    """One recorded Web API call."""

    method: str
    args: dict[str, Any]
    headers: dict[str, str]
    at: float
    status: int = 200
    response: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return bool(self.response.get("ok"))

    @property
    def token(self) -> str | None:
        auth = self.headers.get("Authorization") or self.headers.get("authorization") or ""
        if auth.startswith("Bearer "):
            return auth[len("Bearer ") :]
        return self.args.get("token")


@dataclass
class ResponsePost:
    """One POST to a response_url (Bolt ``respond()`` / WebhookClient)."""

    name: str
    body: dict[str, Any]
    status: int = 200
    at: float = 0.0


DROPPED = -1  # handle_api's status for "close the connection without an answer"
CHAOS_KINDS = ("rate", "server", "drop", "drop_after", "timeout", "timeout_after")
"""What `chaos` picks from: 429 with Retry-After, a 5xx, a connection dropped before Slack took
the call, dropped after it did (performed, answer lost), an answer later than the client waits
(not performed), and the same after Slack took the call."""
_LOST_ANSWERS = frozenset({"drop", "drop_after", "timeout", "timeout_after"})


@dataclass
class _Fault:
    kind: str  # "fail" | "rate" | "server" | "drop" | "drop_after" | "timeout" | "timeout_after"
    error: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    retry_after: int = 1
    status: int = 500
    seconds: float = 0.0  # how long a "timeout" waits before answering


@dataclass
class _Chaos:
    rate: float
    methods: frozenset[str] | None
    kinds: tuple[str, ...]
    rng: random.Random
    timeout_seconds: float
    retry_after: int


class _ApiError(Exception):
    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


# --------------------------------------------------------------------------------------------
# Block Kit validation
# --------------------------------------------------------------------------------------------

_KNOWN_ELEMENT_TYPES = frozenset(
    {getattr(c, "type", None) for c in BlockElement._get_sub_block_elements()} - {None}
) | {"plain_text", "mrkdwn"}
_CONTEXT_ELEMENT_TYPES = frozenset({"image", "plain_text", "mrkdwn"})
_NON_INTERACTIVE_ELEMENT_TYPES = frozenset({"image", "plain_text", "mrkdwn"})


def _text_of(obj: Any) -> str:
    if isinstance(obj, dict):
        return str(obj.get("text", ""))
    if isinstance(obj, str):
        return obj
    return ""


def _check_element(el: Any, where: str, errors: list[str], allowed: Iterable[str] | None = None):
    if not isinstance(el, dict) or "type" not in el:
        errors.append(f"element must be an object with a type [json-pointer:{where}]")
        return
    kind = el["type"]
    allowed_set = set(allowed) if allowed is not None else _KNOWN_ELEMENT_TYPES
    if kind not in allowed_set or kind not in _KNOWN_ELEMENT_TYPES:
        errors.append(f"unsupported type `{kind}` [json-pointer:{where}/type]")
        return
    if "action_id" in el and len(str(el["action_id"])) > 255:
        errors.append(f"must be less than 256 characters [json-pointer:{where}/action_id]")


def _block_errors(blocks: Any, *, limit: int, base: str = "/blocks") -> list[str]:
    """Errors Slack would report for a list of blocks; empty list when valid."""
    if blocks is None:
        return []
    if not isinstance(blocks, list):
        return [f"must be an array [json-pointer:{base}]"]
    errors: list[str] = []
    if len(blocks) > limit:
        errors.append(f"no more than {limit} items allowed [json-pointer:{base}]")
    seen_block_ids: set[str] = set()
    for i, raw in enumerate(blocks):
        where = f"{base}/{i}"
        if not isinstance(raw, dict) or not raw.get("type"):
            errors.append(f"must provide an object with a type [json-pointer:{where}]")
            continue
        kind = raw["type"]
        try:
            parsed = Block.parse(raw)
            if parsed is None:
                errors.append(f"unsupported type `{kind}` [json-pointer:{where}/type]")
                continue
            parsed.to_dict()
        except SlackObjectFormationError as e:
            errors.append(f"{e} [json-pointer:{where}]")
        except (TypeError, ValueError, AttributeError, KeyError) as e:
            errors.append(f"invalid block: {e} [json-pointer:{where}]")
            continue
        block_id = raw.get("block_id")
        if block_id is not None:
            if len(str(block_id)) > 255:
                errors.append(f"must be less than 256 characters [json-pointer:{where}/block_id]")
            if block_id in seen_block_ids:
                errors.append(f"duplicate block_id `{block_id}` [json-pointer:{where}/block_id]")
            seen_block_ids.add(block_id)
        action_ids: set[str] = set()

        def note_action(el: Any, el_where: str, action_ids: set[str] = action_ids) -> None:
            if isinstance(el, dict) and el.get("action_id") is not None:
                aid = el["action_id"]
                if aid in action_ids:
                    errors.append(f"duplicate action_id `{aid}` [json-pointer:{el_where}]")
                action_ids.add(aid)

        if kind == "section":
            text, fields = raw.get("text"), raw.get("fields")
            if not text and not fields:
                errors.append(f"must provide `text` or `fields` [json-pointer:{where}]")
            if text is not None and len(_text_of(text)) > 3000:
                errors.append(f"must be less than 3001 characters [json-pointer:{where}/text]")
            if text is not None and len(_text_of(text)) < 1:
                errors.append(f"must be more than 0 characters [json-pointer:{where}/text]")
            for j, f in enumerate(fields or []):
                if len(_text_of(f)) > 2000:
                    errors.append(
                        f"must be less than 2001 characters [json-pointer:{where}/fields/{j}]"
                    )
            if fields is not None and len(fields) > 10:
                errors.append(f"no more than 10 items allowed [json-pointer:{where}/fields]")
            if raw.get("accessory") is not None:
                _check_element(raw["accessory"], f"{where}/accessory", errors)
                note_action(raw["accessory"], f"{where}/accessory")
        elif kind == "header":
            t = raw.get("text")
            if not isinstance(t, dict) or t.get("type") != "plain_text":
                errors.append(f"must be a plain_text object [json-pointer:{where}/text]")
            if len(_text_of(t)) > 150:
                errors.append(f"must be less than 151 characters [json-pointer:{where}/text]")
        elif kind == "input":
            if not raw.get("label"):
                errors.append(f"missing required field: label [json-pointer:{where}]")
            elif len(_text_of(raw["label"])) > 2000:
                errors.append(f"must be less than 2001 characters [json-pointer:{where}/label]")
            el = raw.get("element")
            if not el:
                errors.append(f"missing required field: element [json-pointer:{where}]")
            else:
                _check_element(el, f"{where}/element", errors)
                if isinstance(el, dict) and el.get("type") in _NON_INTERACTIVE_ELEMENT_TYPES:
                    errors.append(f"unsupported type for input [json-pointer:{where}/element]")
        elif kind == "actions":
            els = raw.get("elements") or []
            if not els:
                errors.append(f"must provide at least 1 element [json-pointer:{where}/elements]")
            if len(els) > 25:
                errors.append(f"no more than 25 items allowed [json-pointer:{where}/elements]")
            for j, el in enumerate(els):
                _check_element(el, f"{where}/elements/{j}", errors)
                note_action(el, f"{where}/elements/{j}/action_id")
        elif kind == "context":
            els = raw.get("elements") or []
            if not els:
                errors.append(f"must provide at least 1 element [json-pointer:{where}/elements]")
            if len(els) > 10:
                errors.append(f"no more than 10 items allowed [json-pointer:{where}/elements]")
            for j, el in enumerate(els):
                _check_element(el, f"{where}/elements/{j}", errors, _CONTEXT_ELEMENT_TYPES)
    return errors


def validate_message_blocks(blocks: Any) -> list[str]:
    """Errors Slack would give for a message's ``blocks`` (empty when valid)."""
    return _block_errors(blocks, limit=MESSAGE_MAX_BLOCKS)


def validate_view(view: Any) -> list[str]:
    """Errors Slack would give for a modal / home ``view`` (empty when valid)."""
    if not isinstance(view, dict):
        return ["view must be an object [json-pointer:/view]"]
    errors: list[str] = []
    kind = view.get("type")
    if kind not in ("modal", "home"):
        return [f"unsupported view type `{kind}` [json-pointer:/view/type]"]
    try:
        View(**view).to_dict()
    except SlackObjectFormationError as e:
        errors.append(f"{e} [json-pointer:/view]")
    except (TypeError, ValueError, AttributeError, KeyError) as e:
        errors.append(f"invalid view: {e} [json-pointer:/view]")
    blocks = view.get("blocks")
    if blocks is None:
        errors.append("missing required field: blocks [json-pointer:/view]")
    errors += _block_errors(blocks, limit=VIEW_MAX_BLOCKS, base="/view/blocks")
    if kind == "modal":
        title = view.get("title")
        if not title:
            errors.append("missing required field: title [json-pointer:/view]")
        else:
            if isinstance(title, dict) and title.get("type") != "plain_text":
                errors.append("must be a plain_text object [json-pointer:/view/title]")
            if len(_text_of(title)) > 24:
                errors.append("must be less than 25 characters [json-pointer:/view/title/text]")
        for key in ("submit", "close"):
            if view.get(key) is not None and len(_text_of(view[key])) > 24:
                errors.append(f"must be less than 25 characters [json-pointer:/view/{key}/text]")
        has_input = any(isinstance(b, dict) and b.get("type") == "input" for b in blocks or [])
        if has_input and not view.get("submit"):
            errors.append("must provide submit when input blocks are present [json-pointer:/view]")
    elif view.get("submit") is not None or view.get("close") is not None:
        errors.append("home views cannot have submit or close [json-pointer:/view]")
    if len(str(view.get("private_metadata") or "")) > 3000:
        errors.append("must be less than 3001 characters [json-pointer:/view/private_metadata]")
    if len(str(view.get("callback_id") or "")) > 255:
        errors.append("must be less than 256 characters [json-pointer:/view/callback_id]")
    if len(str(view.get("external_id") or "")) > 255:
        errors.append("must be less than 256 characters [json-pointer:/view/external_id]")
    return list(dict.fromkeys(errors))


# --------------------------------------------------------------------------------------------
# The fake
# --------------------------------------------------------------------------------------------


def _walk_interactive(blocks: list[Any]) -> Iterable[dict[str, Any]]:
    for b in blocks:
        if not isinstance(b, dict):
            continue
        if isinstance(b.get("accessory"), dict):
            yield b["accessory"]
        if isinstance(b.get("element"), dict):
            yield b["element"]
        if b.get("type") == "actions":
            for el in b.get("elements") or []:
                if isinstance(el, dict):
                    yield el


class FakeSlack:
    """A fake Slack Web API on 127.0.0.1 (see module docstring)."""

    def __init__(
        self,
        *,
        team_id: str = "T0CADENCE",
        team_name: str = "Acme",
        team_domain: str = "acme",
        bot_user_id: str = "U0CADBOT",
        bot_id: str = "B0CADBOT",
        app_id: str = "A0CADENCE",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.team_id = team_id
        self.team_name = team_name
        self.team_domain = team_domain
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.app_id = app_id
        self.clock = clock
        self._lock = threading.RLock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._ids = itertools.count(1)
        # records
        self.calls: list[Call] = []
        self.responses: list[ResponsePost] = []
        self.block_errors: list[dict[str, Any]] = []
        # fault injection
        self._faults: dict[str, deque[_Fault]] = {}
        self._delays: dict[str, float] = {}
        self._holds: dict[str, tuple[threading.Event, bool]] = {}
        self.held: list[Call] = []  # calls that were held and then lost (see `hold`)
        self._chaos: _Chaos | None = None
        self.injected: list[tuple[str, str]] = []  # (method, fault kind) for every fault served
        # state
        self._users: dict[str, dict[str, Any]] = {}
        self._channels: dict[str, dict[str, Any]] = {}
        self._dms: dict[str, str] = {}  # user id -> D channel id
        self._messages: dict[tuple[str, str], dict[str, Any]] = {}
        self._ts = itertools.count(1)
        self._triggers: dict[str, dict[str, Any]] = {}
        self._views: dict[str, dict[str, Any]] = {}
        self._view_order: list[str] = []
        self._stacks: dict[str, list[str]] = {}  # root view id -> stack of view ids
        self._home: dict[str, str] = {}  # user id -> view id
        self._files: dict[str, dict[str, Any]] = {}
        # workspaces (OAuth): team id -> name and domain; issued codes and tokens -> team id
        self._teams: dict[str, dict[str, str]] = {
            team_id: {"name": team_name, "domain": team_domain}
        }
        self._codes: dict[str, dict[str, Any]] = {}
        self._tokens: dict[str, str] = {}
        self._revoked: set[str] = set()
        self._caller = threading.local()  # the workspace of the call being answered
        self.oauth_client: tuple[str, str] | None = (
            None  # (client id, secret) oauth.v2.access wants
        )
        self.add_user(bot_user_id, name="cadence", is_bot=True, tz="America/Los_Angeles")

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> FakeSlack:
        if self._server is not None:
            return self
        fake = self

        class Handler(_Handler):
            pass

        Handler.fake = fake
        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakeSlack is not started")
        return self._server.server_address[1]

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """Web API base URL (with trailing slash, as WebClient requires)."""
        return f"{self.root_url}/api/"

    def response_url(self, name: str) -> str:
        return f"{self.root_url}/response/{urllib.parse.quote(name, safe='')}"

    # ---------------------------------------------------------------- records

    def reset(self) -> None:
        """Clear recorded calls, responses and block errors (state and faults are kept)."""
        with self._lock:
            self.calls.clear()
            self.responses.clear()
            self.block_errors.clear()

    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def _called_summary(self) -> str:
        with self._lock:
            names = [
                f"{c.method}({c.status}{'' if c.ok else ' ' + str(c.response.get('error'))})"
                for c in self.calls
            ]
        return ", ".join(names) or "nothing"

    def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """Wait until ``method`` was called at least ``count`` times; return those calls."""
        wait_until(
            lambda: len(self.calls_to(method)) >= count,
            timeout,
            lambda: (
                f"{count} call(s) to {method}, got {len(self.calls_to(method))}; "
                f"called: {self._called_summary()}"
            ),
        )
        return self.calls_to(method)

    def wait_for_response(self, count: int = 1, timeout: float = 5.0) -> list[ResponsePost]:
        """Wait until at least ``count`` response_url posts were received; return them."""
        wait_until(
            lambda: len(self.responses) >= count,
            timeout,
            lambda: (
                f"{count} response_url post(s), got {len(self.responses)}; "
                f"called: {self._called_summary()}"
            ),
        )
        with self._lock:
            return list(self.responses)

    # ---------------------------------------------------------------- fault injection

    def fail(self, method: str, error: str = "channel_not_found", times: int = 1, **extra: Any):
        """Next ``times`` calls to ``method`` answer 200 {"ok": false, "error": error, **extra}."""
        with self._lock:
            q = self._faults.setdefault(method, deque())
            q.extend(_Fault("fail", error=error, extra=extra) for _ in range(times))

    def rate_limit(self, method: str, retry_after: int = 1, times: int = 1) -> None:
        """Next ``times`` calls answer HTTP 429 with ``Retry-After``."""
        with self._lock:
            q = self._faults.setdefault(method, deque())
            q.extend(_Fault("rate", retry_after=retry_after) for _ in range(times))

    def server_error(self, method: str, status: int = 500, times: int = 1) -> None:
        """Next ``times`` calls answer HTTP ``status``."""
        with self._lock:
            q = self._faults.setdefault(method, deque())
            q.extend(_Fault("server", status=status) for _ in range(times))

    def delay(self, method: str, seconds: float) -> None:
        """Sleep ``seconds`` before answering every call to ``method`` (0 clears)."""
        with self._lock:
            if seconds > 0:
                self._delays[method] = seconds
            else:
                self._delays.pop(method, None)

    def hold(self, method: str, *, reaches_slack: bool = False) -> None:
        """Calls to ``method`` wait until ``release`` — what a client sees whose process dies
        while the call is in flight. Then they are lost before Slack took them (recorded in
        ``held``, not performed), or with ``reaches_slack`` performed after all, the answer
        going nowhere (Slack took the message; the client never heard)."""
        with self._lock:
            self._holds[method] = (threading.Event(), reaches_slack)

    def drop(self, method: str, *, times: int = 1, reaches_slack: bool = False) -> None:
        """Next ``times`` calls to ``method`` lose their connection without an answer: before
        Slack took them, or with ``reaches_slack`` after (performed; the client never hears)."""
        kind = "drop_after" if reaches_slack else "drop"
        with self._lock:
            self._faults.setdefault(method, deque()).extend(_Fault(kind) for _ in range(times))

    def time_out(
        self, method: str, seconds: float, *, times: int = 1, reaches_slack: bool = True
    ) -> None:
        """Next ``times`` calls to ``method`` are answered only after ``seconds`` (make it longer
        than the client waits): performed first with ``reaches_slack``, else not at all."""
        kind = "timeout_after" if reaches_slack else "timeout"
        with self._lock:
            q = self._faults.setdefault(method, deque())
            q.extend(_Fault(kind, seconds=seconds) for _ in range(times))

    def chaos(
        self,
        rate: float = 0.2,
        *,
        methods: Iterable[str] | None = None,
        kinds: Iterable[str] = CHAOS_KINDS,
        seed: int | None = None,
        timeout_seconds: float = 3.0,
        retry_after: int = 1,
    ) -> None:
        """From now on each call (to ``methods``; default every method but auth.test) meets a
        fault with probability ``rate``, of a kind picked at random from ``kinds`` (see
        CHAOS_KINDS). Faults queued with fail/rate_limit/drop/… come first. ``calm`` ends it."""
        unknown = set(kinds) - set(CHAOS_KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}; known: {CHAOS_KINDS}")
        with self._lock:
            self._chaos = _Chaos(
                rate=rate,
                methods=frozenset(methods) if methods is not None else None,
                kinds=tuple(kinds),
                rng=random.Random(seed),
                timeout_seconds=timeout_seconds,
                retry_after=retry_after,
            )

    def calm(self) -> None:
        """End ``chaos``: calls are answered normally again (queued faults are kept)."""
        with self._lock:
            self._chaos = None

    def release(self, method: str) -> None:
        with self._lock:
            held = self._holds.pop(method, None)
        if held is not None:
            held[0].set()

    # ---------------------------------------------------------------- state setup

    def add_user(
        self,
        user_id: str,
        *,
        name: str | None = None,
        real_name: str | None = None,
        tz: str = "America/New_York",
        team_id: str | None = None,
        is_admin: bool = False,
        is_owner: bool = False,
        is_restricted: bool = False,
        is_bot: bool = False,
        deleted: bool = False,
        email: str | None = None,
    ) -> dict[str, Any]:
        """Add (or replace) a user. ``team_id`` other than the workspace's = Slack Connect;
        ``is_restricted``: one of the workspace's own guests (multi-channel)."""
        name = name or user_id.lower()
        user = {
            "id": user_id,
            "team_id": team_id or self.team_id,
            "name": name,
            "real_name": real_name or name.replace(".", " ").title(),
            "tz": tz,
            "is_admin": is_admin,
            "is_owner": is_owner,
            "is_restricted": is_restricted,
            "is_bot": is_bot,
            "deleted": deleted,
            "email": email or f"{name}@example.com",
        }
        with self._lock:
            self._users[user_id] = user
        return user

    def add_channel(
        self,
        channel_id: str,
        *,
        name: str,
        is_private: bool = False,
        is_ext_shared: bool = False,
        is_archived: bool = False,
        members: Iterable[str] = (),
        bot_is_member: bool = False,
    ) -> dict[str, Any]:
        """Add (or replace) a channel. The bot is not a member unless ``bot_is_member``."""
        channel = {
            "id": channel_id,
            "name": name,
            "is_private": is_private,
            "is_ext_shared": is_ext_shared,
            "is_archived": is_archived,
            "members": list(members),
            "bot_member": bot_is_member,
            "created": 1690000000,
        }
        with self._lock:
            self._channels[channel_id] = channel
        return channel

    def join(self, channel_id: str) -> None:
        """Make the bot a member of a channel directly (as if invited)."""
        with self._lock:
            self._channels[channel_id]["bot_member"] = True

    def kick(self, channel_id: str) -> None:
        """Remove the bot from a channel."""
        with self._lock:
            self._channels[channel_id]["bot_member"] = False

    def archive(self, channel_id: str) -> None:
        with self._lock:
            self._channels[channel_id]["is_archived"] = True

    def is_member(self, channel_id: str) -> bool:
        with self._lock:
            return bool(self._channels.get(channel_id, {}).get("bot_member"))

    def set_status(self, user_id: str, emoji: str, text: str = "") -> None:
        """A person sets their Slack status (e.g. :palm_tree: On holiday)."""
        with self._lock:
            self._users[user_id]["status_emoji"] = emoji
            self._users[user_id]["status_text"] = text

    def user(self, user_id: str) -> dict[str, Any] | None:
        with self._lock:
            u = self._users.get(user_id)
            return copy.deepcopy(u) if u else None

    def channel(self, channel_id: str) -> dict[str, Any] | None:
        with self._lock:
            c = self._channels.get(channel_id)
            return copy.deepcopy(c) if c else None

    def dm_channel_id(self, user_id: str) -> str:
        """The bot's DM channel id with ``user_id`` (stable per user)."""
        with self._lock:
            if user_id not in self._dms:
                self._dms[user_id] = f"D0CAD{len(self._dms) + 1:05d}"
            return self._dms[user_id]

    # ---------------------------------------------------------------- workspaces (OAuth)

    def add_team(self, team_id: str, *, name: str, domain: str | None = None) -> None:
        """Another workspace the app can be installed in (add its people with ``team_id``)."""
        with self._lock:
            self._teams[team_id] = {"name": name, "domain": domain or name.lower()}

    def authorize(
        self, team_id: str, *, installer: str, scopes: Iterable[str] = ("commands", "chat:write")
    ) -> str:
        """A person approved the install in workspace ``team_id``: the one-time code Slack
        sends to the app's redirect URL."""
        code = f"{next(self._ids)}.{secrets.token_hex(12)}"
        with self._lock:
            if team_id not in self._teams:
                raise ValueError(f"unknown workspace {team_id}: add_team it first")
            self._codes[code] = {"team_id": team_id, "installer": installer, "scopes": list(scopes)}
        return code

    def uninstall(self, team_id: str) -> None:
        """The workspace uninstalled the app: every token issued for it is revoked."""
        with self._lock:
            self._revoked.update(t for t, team in self._tokens.items() if team == team_id)

    def team_of(self, token: str | None) -> str:
        """The workspace a token acts for (the default one for a token the fake did not issue)."""
        with self._lock:
            return self._tokens.get(str(token or ""), self.team_id)

    def tokens_of(self, team_id: str) -> list[str]:
        with self._lock:
            return [t for t, team in self._tokens.items() if team == team_id]

    def _call_team(self) -> str:
        return getattr(self._caller, "team_id", None) or self.team_id

    def _oauth_v2_access(self, args: dict[str, Any], auth: str) -> dict[str, Any]:
        """oauth.v2.access: the app's credentials (HTTP Basic, or client_id/client_secret) and a
        code from ``authorize``, for a bot token of the code's workspace."""
        client_id, client_secret = args.get("client_id"), args.get("client_secret")
        if auth.startswith("Basic "):
            with contextlib.suppress(ValueError):
                pair = base64.b64decode(auth[len("Basic ") :]).decode()
                client_id, _, client_secret = pair.partition(":")
        if not client_id:
            return {"ok": False, "error": "invalid_client_id"}
        if self.oauth_client is not None and client_id != self.oauth_client[0]:
            return {"ok": False, "error": "invalid_client_id"}
        if self.oauth_client is not None and client_secret != self.oauth_client[1]:
            return {"ok": False, "error": "bad_client_secret"}
        with self._lock:
            grant = self._codes.pop(str(args.get("code") or ""), None)
            if grant is None:
                return {"ok": False, "error": "invalid_code"}
            team_id = grant["team_id"]
            token = f"xoxb-{team_id}-{next(self._ids)}-{secrets.token_hex(8)}"
            self._tokens[token] = team_id
            team = self._teams[team_id]
        return {
            "ok": True,
            "app_id": self.app_id,
            "authed_user": {"id": grant["installer"]},
            "scope": ",".join(grant["scopes"]),
            "token_type": "bot",
            "access_token": token,
            "bot_user_id": self.bot_user_id,
            "team": {"id": team_id, "name": team["name"]},
            "enterprise": None,
            "is_enterprise_install": False,
        }

    # ---------------------------------------------------------------- triggers

    def new_trigger_id(self, view_id: str | None = None) -> str:
        """A trigger id valid once, for 3 s. ``view_id``: the view the interaction came from."""
        tid = f"{next(self._ids)}{secrets.randbelow(10**9):09d}.{secrets.token_hex(16)}"
        with self._lock:
            self._triggers[tid] = {"issued": self.clock(), "used": False, "view_id": view_id}
        return tid

    def expire_trigger(self, trigger_id: str) -> None:
        with self._lock:
            self._triggers[trigger_id]["issued"] = float("-inf")

    # ---------------------------------------------------------------- inspection

    def say(self, channel: str, user: str, text: str) -> dict[str, Any]:
        """A message a person posts in a channel (not the bot): what a shortcut acts on."""
        with self._lock:
            ts = self._new_ts()
            msg = {"type": "message", "text": text, "user": user, "team": self.team_id,
                   "ts": ts, "channel": channel, "_deleted": False}  # fmt: skip
            self._messages[(channel, ts)] = msg
        return self._public(msg) | {"channel": channel}

    def messages(self, channel: str | None = None, *, include_deleted: bool = False) -> list[dict]:
        """Posted messages (copies, each with "channel"), oldest first."""
        with self._lock:
            msgs = [
                copy.deepcopy(m)
                for (ch, _), m in self._messages.items()
                if (channel is None or ch == channel) and (include_deleted or not m["_deleted"])
            ]
        for m in msgs:
            m.pop("_deleted", None)
        return msgs

    def message(self, channel: str, ts: str) -> dict[str, Any]:
        with self._lock:
            m = copy.deepcopy(self._messages[(channel, ts)])
        m.pop("_deleted", None)
        return m

    def view(self, view_id: str) -> dict[str, Any]:
        """Latest stored version of a view (as views.open/update/push/publish returned it)."""
        with self._lock:
            return copy.deepcopy(self._views[view_id])

    def opened_views(self) -> list[dict[str, Any]]:
        """Latest versions of all modals, in order of opening."""
        with self._lock:
            return [
                copy.deepcopy(self._views[v])
                for v in self._view_order
                if self._views[v]["type"] == "modal"
            ]

    def home_view(self, user_id: str) -> dict[str, Any] | None:
        with self._lock:
            vid = self._home.get(user_id)
            return copy.deepcopy(self._views[vid]) if vid else None

    def uploaded_files(self) -> list[tuple[str, str, bytes, str | None]]:
        """(file_id, filename, bytes, channel) for every file whose bytes were uploaded."""
        with self._lock:
            return [
                (fid, f["filename"], f["data"], f["channel"])
                for fid, f in self._files.items()
                if f["data"] is not None
            ]

    # ---------------------------------------------------------------- HTTP plumbing

    def _record(self, call: Call) -> None:
        with self._lock:
            self.calls.append(call)

    def _next_fault(self, method: str) -> _Fault | None:
        with self._lock:
            q = self._faults.get(method)
            if q:
                return q.popleft()
            chaos = self._chaos
            if chaos is None or method == "auth.test":
                return None
            if chaos.methods is not None and method not in chaos.methods:
                return None
            if chaos.rng.random() >= chaos.rate:
                return None
            kind = chaos.rng.choice(chaos.kinds)
            return _Fault(
                kind,
                status=chaos.rng.choice((500, 502, 503)),
                retry_after=chaos.retry_after,
                seconds=chaos.timeout_seconds,
            )

    def _perform(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        handler = getattr(self, "_m_" + method.replace(".", "_"), None)
        if handler is None:
            return {"ok": False, "error": "unknown_method", "req_method": method}
        try:
            with self._lock:
                return {"ok": True, **handler(args)}
        except _ApiError as e:
            return {"ok": False, "error": e.error, **e.extra}

    def _lost_answer(
        self, fault: _Fault, method: str, args: dict[str, Any], headers: dict[str, str]
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        """A dropped connection or a late answer, performed first if Slack took the call."""
        with self._lock:
            self.injected.append((method, fault.kind))
        taken = fault.kind.endswith("_after")
        body = (
            self._perform(method, args) if taken else {"ok": False, "error": f"lost_{fault.kind}"}
        )
        # Recorded as Slack saw it: a taken call with its answer; a lost one with status 0.
        self._record(Call(method, args, dict(headers), time.time(), 200 if taken else 0, body))
        if fault.kind.startswith("timeout"):
            time.sleep(fault.seconds)
            return (200 if taken else 503), body, {}
        return DROPPED, body, {}

    def handle_api(
        self, method: str, args: dict[str, Any], headers: dict[str, str]
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        """Answer one Web API call: (status, json body, extra headers). Records it."""
        with self._lock:
            delay = self._delays.get(method, 0)
            hold = self._holds.get(method)
        if hold is not None:
            released, reaches_slack = hold
            with self._lock:
                self.held.append(Call(method, args, dict(headers), time.time(), 0, {}))
            released.wait(timeout=60)
            if not reaches_slack:
                return 503, {"ok": False, "error": "service_unavailable"}, {}
        if delay:
            time.sleep(delay)
        status, body, extra_headers = 200, {}, {}
        token = None
        auth = headers.get("Authorization") or headers.get("authorization") or ""
        if auth.startswith("Bearer "):
            token = auth[len("Bearer ") :].strip()
        token = token or args.get("token")
        self._caller.team_id = self.team_of(token)
        if method == "oauth.v2.access":  # the app's credentials, not a token
            body = self._oauth_v2_access(args, auth)
        elif not token:
            body = {"ok": False, "error": "not_authed"}
        elif token in self._revoked:
            body = {"ok": False, "error": "token_revoked"}
        elif not str(token).startswith(("xoxb-", "xoxp-")):
            body = {"ok": False, "error": "invalid_auth"}
        else:
            fault = self._next_fault(method)
            if fault is not None and fault.kind in _LOST_ANSWERS:
                return self._lost_answer(fault, method, args, headers)
            if fault is not None and fault.kind in ("rate", "server"):
                with self._lock:
                    self.injected.append((method, fault.kind))
            if fault is not None and fault.kind == "fail":
                body = {"ok": False, "error": fault.error, **fault.extra}
            elif fault is not None and fault.kind == "rate":
                status = 429
                extra_headers["Retry-After"] = str(fault.retry_after)
                body = {"ok": False, "error": "ratelimited"}
            elif fault is not None and fault.kind == "server":
                status = fault.status
                body = {"ok": False, "error": "fatal_error"}
            else:
                # The call's effect and its record under one lock: whoever waits on the one
                # (a Home tab's content) then finds the other (the views.publish call).
                with self._lock:
                    body = self._perform(method, args)
                    self._record(Call(method, args, dict(headers), time.time(), status, body))
                return status, body, extra_headers
        self._record(Call(method, args, dict(headers), time.time(), status, body))
        return status, body, extra_headers

    def handle_response_url(self, name: str, body: dict[str, Any]) -> tuple[int, str]:
        status, text = 200, "ok"
        errors = validate_message_blocks(body.get("blocks"))
        if len(str(body.get("text") or "")) > MESSAGE_TEXT_MAX:
            errors.append("msg_too_long")
        if errors:
            status, text = 400, "invalid_blocks"
            self._block_error(f"response_url:{name}", errors, body)
        with self._lock:
            self.responses.append(ResponsePost(name, body, status, time.time()))
        return status, text

    def handle_upload(self, file_id: str, data: bytes) -> tuple[int, str]:
        with self._lock:
            f = self._files.get(file_id)
            if f is None:
                return 404, "not_found"
            f["data"] = data
        return 200, f"OK - {len(data)}"

    def _block_error(self, where: str, errors: list[str], payload: Any) -> None:
        with self._lock:
            self.block_errors.append({"method": where, "errors": errors, "payload": payload})

    # ---------------------------------------------------------------- helpers for methods

    def _new_ts(self) -> str:
        return f"{1700000000 + next(self._ts)}.000100"

    def _require(self, args: dict[str, Any], *names: str) -> None:
        for n in names:
            if args.get(n) in (None, ""):
                raise _ApiError(
                    "invalid_arguments",
                    response_metadata={"messages": [f"[ERROR] missing required field: {n}"]},
                )

    def _resolve_post_channel(self, channel: str) -> str:
        """Channel id a message to ``channel`` lands in, with Slack's errors."""
        if not channel:
            raise _ApiError("channel_not_found")
        if channel[0] in "UW":
            user = self._users.get(channel)
            if user is None or user["team_id"] != self._call_team():
                raise _ApiError("channel_not_found")
            if user["deleted"]:
                raise _ApiError("account_inactive")
            if user["is_bot"] and channel != self.bot_user_id:
                raise _ApiError("cannot_dm_bot")
            return self.dm_channel_id(channel)
        if channel[0] == "D":
            if channel not in self._dms.values():
                raise _ApiError("channel_not_found")
            return channel
        ch = self._channels.get(channel)
        if ch is None:
            raise _ApiError("channel_not_found")
        if not ch["bot_member"]:
            raise _ApiError("channel_not_found" if ch["is_private"] else "not_in_channel")
        if ch["is_archived"]:
            raise _ApiError("is_archived")
        return channel

    def _check_message_content(self, method: str, args: dict[str, Any], *, needs_text=True):
        text, blocks = args.get("text"), args.get("blocks")
        if needs_text and not text and not blocks and not args.get("attachments"):
            raise _ApiError("no_text")
        if len(str(text or "")) > MESSAGE_TEXT_MAX:
            self._block_error(method, ["msg_too_long"], args)
            raise _ApiError("msg_too_long")
        errors = validate_message_blocks(blocks)
        if errors:
            self._block_error(method, errors, args)
            raise _ApiError("invalid_blocks", errors=errors)

    def _fill_ids(self, blocks: list[Any] | None) -> list[Any] | None:
        """Give blocks / interactive elements without ids a generated one, as Slack does."""
        if not blocks:
            return blocks
        blocks = copy.deepcopy(blocks)
        for b in blocks:
            if isinstance(b, dict) and not b.get("block_id"):
                b["block_id"] = secrets.token_urlsafe(4)[:5]
        for el in _walk_interactive(blocks):
            if el.get("type") not in _NON_INTERACTIVE_ELEMENT_TYPES and not el.get("action_id"):
                el["action_id"] = secrets.token_urlsafe(4)[:5]
        return blocks

    def _message_dict(self, args: dict[str, Any], ts: str, channel: str) -> dict[str, Any]:
        msg: dict[str, Any] = {
            "type": "message",
            "subtype": None,
            "text": args.get("text") or "",
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "team": self.team_id,
            "ts": ts,
            "channel": channel,
        }
        del msg["subtype"]
        if args.get("blocks") is not None:
            msg["blocks"] = self._fill_ids(args["blocks"])
        if args.get("attachments") is not None:
            msg["attachments"] = args["attachments"]
        if args.get("metadata") is not None:
            msg["metadata"] = args["metadata"]
        if args.get("thread_ts"):
            msg["thread_ts"] = args["thread_ts"]
        return msg

    def _public(self, msg: dict[str, Any]) -> dict[str, Any]:
        out = copy.deepcopy(msg)
        out.pop("_deleted", None)
        out.pop("channel", None)
        return out

    def _channel_info(self, ch: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": ch["id"],
            "name": ch["name"],
            "is_channel": not ch["is_private"],
            "is_group": False,
            "is_im": False,
            "is_mpim": False,
            "is_private": ch["is_private"],
            "is_archived": ch["is_archived"],
            "is_general": ch["name"] == "general",
            "is_shared": ch["is_ext_shared"],
            "is_ext_shared": ch["is_ext_shared"],
            "is_org_shared": False,
            "is_member": ch["bot_member"],
            "context_team_id": self.team_id,
            "created": ch["created"],
            "name_normalized": ch["name"],
            "num_members": len(ch["members"]) + (1 if ch["bot_member"] else 0),
        }

    # ---------------------------------------------------------------- Web API methods

    def _m_auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        team_id = self._call_team()
        return {
            "url": f"https://{self._teams[team_id]['domain']}.slack.com/",
            "team": self._teams[team_id]["name"],
            "user": self._users[self.bot_user_id]["name"],
            "team_id": team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _m_chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        channel = self._resolve_post_channel(str(args.get("channel") or ""))
        self._check_message_content("chat.postMessage", args)
        ts = self._new_ts()
        msg = self._message_dict(args, ts, channel)
        msg["_deleted"] = False
        self._messages[(channel, ts)] = msg
        return {"channel": channel, "ts": ts, "message": self._public(msg)}

    def _m_chat_postEphemeral(self, args: dict[str, Any]) -> dict[str, Any]:
        self._require(args, "channel", "user")
        channel = self._resolve_post_channel(str(args["channel"]))
        user = self._users.get(str(args["user"]))
        if user is None:
            raise _ApiError("user_not_found")
        ch = self._channels.get(channel)
        if ch is not None and ch["members"] and user["id"] not in ch["members"]:
            raise _ApiError("user_not_in_channel")
        self._check_message_content("chat.postEphemeral", args)
        return {"message_ts": self._new_ts()}

    def _find_message(self, args: dict[str, Any]) -> dict[str, Any]:
        self._require(args, "channel", "ts")
        channel = str(args["channel"])
        if channel[0] in "UW":
            channel = self._dms.get(channel, "")
        msg = self._messages.get((channel, str(args["ts"])))
        if msg is None or msg["_deleted"]:
            if channel not in self._channels and channel not in self._dms.values():
                raise _ApiError("channel_not_found")
            raise _ApiError("message_not_found")
        return msg

    def _m_chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        msg = self._find_message(args)
        self._check_message_content("chat.update", args, needs_text=False)
        if args.get("text") is not None:
            msg["text"] = args["text"]
        if args.get("blocks") is not None:
            msg["blocks"] = self._fill_ids(args["blocks"])
        if args.get("attachments") is not None:
            msg["attachments"] = args["attachments"]
        if args.get("metadata") is not None:
            msg["metadata"] = args["metadata"]
        msg["edited"] = {"user": self.bot_user_id, "ts": self._new_ts()}
        return {
            "channel": msg["channel"],
            "ts": msg["ts"],
            "text": msg["text"],
            "message": self._public(msg),
        }

    def _m_chat_delete(self, args: dict[str, Any]) -> dict[str, Any]:
        msg = self._find_message(args)
        msg["_deleted"] = True
        return {"channel": msg["channel"], "ts": msg["ts"]}

    def _m_chat_getPermalink(self, args: dict[str, Any]) -> dict[str, Any]:
        self._require(args, "channel", "message_ts")
        msg = self._find_message({"channel": args["channel"], "ts": args["message_ts"]})
        ts = msg["ts"].replace(".", "")
        return {
            "channel": msg["channel"],
            "permalink": f"https://{self.team_domain}.slack.com/archives/{msg['channel']}/p{ts}",
        }

    def _m_conversations_info(self, args: dict[str, Any]) -> dict[str, Any]:
        cid = str(args.get("channel") or "")
        if cid in self._dms.values():
            user = next(u for u, d in self._dms.items() if d == cid)
            return {
                "channel": {
                    "id": cid,
                    "is_im": True,
                    "user": user,
                    "is_open": True,
                    "created": 1690000000,
                    "is_org_shared": False,
                    "context_team_id": self.team_id,
                }
            }
        ch = self._channels.get(cid)
        if ch is None or (ch["is_private"] and not ch["bot_member"]):
            raise _ApiError("channel_not_found")
        return {"channel": self._channel_info(ch)}

    def _m_conversations_join(self, args: dict[str, Any]) -> dict[str, Any]:
        ch = self._channels.get(str(args.get("channel") or ""))
        if ch is None:
            raise _ApiError("channel_not_found")
        if ch["is_private"]:
            if not ch["bot_member"]:
                raise _ApiError("channel_not_found")
            raise _ApiError("method_not_supported_for_channel_type")
        if ch["is_archived"]:
            raise _ApiError("is_archived")
        already = ch["bot_member"]
        ch["bot_member"] = True
        out: dict[str, Any] = {"channel": self._channel_info(ch)}
        if already:
            out["warning"] = "already_in_channel"
            out["response_metadata"] = {"warnings": ["already_in_channel"]}
        return out

    def _m_conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        """Newest first; metadata only with include_all_metadata, as Slack does."""
        self._require(args, "channel")
        channel = str(args["channel"])
        if channel[:1] != "D":
            ch = self._channels.get(channel)
            if ch is None or (ch["is_private"] and not ch["bot_member"]):
                raise _ApiError("channel_not_found")
            if not ch["bot_member"]:
                raise _ApiError("not_in_channel")
        elif channel not in self._dms.values():
            raise _ApiError("channel_not_found")
        with_metadata = str(args.get("include_all_metadata", "")).lower() in ("1", "true")
        limit = int(args.get("limit") or 100)
        found = sorted(
            (m for (c, _), m in self._messages.items() if c == channel and not m["_deleted"]),
            key=lambda m: float(m["ts"]),
            reverse=True,
        )
        messages = []
        for m in found[:limit]:
            public = self._public(m)
            if not with_metadata:
                public.pop("metadata", None)
            messages.append(public)
        return {"messages": messages, "has_more": len(found) > limit}

    def _m_conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if args.get("channel"):
            cid = str(args["channel"])
            if cid not in self._dms.values():
                raise _ApiError("channel_not_found")
            return {"channel": {"id": cid}}
        users = args.get("users")
        if isinstance(users, str):
            users = [u for u in users.split(",") if u]
        if not users:
            raise _ApiError("users_list_not_supplied")
        for uid in users:
            user = self._users.get(uid)
            if user is None:
                raise _ApiError("user_not_found")
            if user["deleted"]:
                raise _ApiError("user_disabled")
            if user["team_id"] != self._call_team():
                raise _ApiError("channel_not_found")
        if len(users) > 8:
            raise _ApiError("too_many_users")
        if len(users) == 1:
            return {"channel": {"id": self.dm_channel_id(users[0])}}
        key = ",".join(sorted(users))
        return {"channel": {"id": self.dm_channel_id(key).replace("D", "G", 1)}}

    def _m_conversations_members(self, args: dict[str, Any]) -> dict[str, Any]:
        ch = self._channels.get(str(args.get("channel") or ""))
        if ch is None or (ch["is_private"] and not ch["bot_member"]):
            raise _ApiError("channel_not_found")
        members = list(ch["members"])
        if ch["bot_member"] and self.bot_user_id not in members:
            members.append(self.bot_user_id)
        return {"members": members, "response_metadata": {"next_cursor": ""}}

    def _m_users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        u = self._users.get(str(args.get("user") or ""))
        if u is None:
            raise _ApiError("user_not_found")
        tz = zoneinfo.ZoneInfo(u["tz"])
        now = dt.datetime.now(tz)
        offset = now.utcoffset() or dt.timedelta(0)
        profile = {
            "display_name": u["name"],
            "display_name_normalized": u["name"],
            "real_name": u["real_name"],
            "real_name_normalized": u["real_name"],
            "status_emoji": u.get("status_emoji", ""),
            "status_text": u.get("status_text", ""),
            "team": u["team_id"],
        }
        if not u["is_bot"]:
            profile["email"] = u["email"]
        else:
            profile["bot_id"] = self.bot_id
        return {
            "user": {
                "id": u["id"],
                "team_id": u["team_id"],
                "name": u["name"],
                "real_name": u["real_name"],
                "deleted": u["deleted"],
                "tz": u["tz"],
                "tz_label": now.tzname(),
                "tz_offset": int(offset.total_seconds()),
                "is_admin": u["is_admin"],
                "is_owner": u["is_owner"],
                "is_primary_owner": False,
                "is_restricted": u.get("is_restricted", False),
                "is_ultra_restricted": False,
                "is_bot": u["is_bot"],
                "is_app_user": False,
                # Another organisation's person, seen from the workspace whose token asks.
                "is_stranger": u["team_id"] != self._call_team(),
                "updated": 1690000000,
                "profile": profile,
            }
        }

    # ---- views

    def _use_trigger(self, trigger_id: Any) -> dict[str, Any]:
        t = self._triggers.get(str(trigger_id or ""))
        if t is None or t["used"]:
            raise _ApiError("invalid_trigger_id")
        if self.clock() - t["issued"] > TRIGGER_TTL_SECONDS:
            raise _ApiError("expired_trigger_id")
        t["used"] = True
        return t

    def _check_view(self, method: str, view: Any) -> dict[str, Any]:
        errors = validate_view(view)
        if errors:
            self._block_error(method, errors, view)
            raise _ApiError(
                "invalid_arguments",
                response_metadata={"messages": [f"[ERROR] {e}" for e in errors]},
            )
        return view

    def _new_hash(self) -> str:
        return f"{int(time.time())}.{secrets.token_urlsafe(6)}"

    def _store_view(self, view: dict[str, Any], *, vid: str | None = None, **meta: Any) -> dict:
        stored_vid = vid or f"V0CAD{next(self._ids):06d}"
        prev = self._views.get(stored_vid, {})
        out = {
            "id": stored_vid,
            "team_id": self._call_team(),
            "type": view["type"],
            "title": view.get("title"),
            "blocks": self._fill_ids(view.get("blocks")) or [],
            "close": view.get("close"),
            "submit": view.get("submit"),
            "private_metadata": view.get("private_metadata") or "",
            "callback_id": view.get("callback_id") or "",
            "state": {"values": {}},
            "hash": self._new_hash(),
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "root_view_id": prev.get("root_view_id", stored_vid),
            "previous_view_id": prev.get("previous_view_id"),
            "app_id": self.app_id,
            "external_id": view.get("external_id") or "",
            "app_installed_team_id": self._call_team(),
            "bot_id": self.bot_id,
        }
        out.update(meta)
        if out["external_id"]:
            for other_id, other in self._views.items():
                if other_id != stored_vid and other["external_id"] == out["external_id"]:
                    raise _ApiError("duplicate_external_id")
        self._views[stored_vid] = out
        if not vid:
            self._view_order.append(stored_vid)
        return copy.deepcopy(out)

    def _m_views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        self._use_trigger(args.get("trigger_id") or args.get("interactivity_pointer"))
        view = self._check_view("views.open", args.get("view"))
        if view["type"] != "modal":
            raise _ApiError(
                "invalid_arguments",
                response_metadata={"messages": ["[ERROR] must be modal [json-pointer:/view/type]"]},
            )
        stored = self._store_view(view)
        self._stacks[stored["id"]] = [stored["id"]]
        return {"view": stored}

    def _m_views_push(self, args: dict[str, Any]) -> dict[str, Any]:
        trigger = self._use_trigger(args.get("trigger_id") or args.get("interactivity_pointer"))
        view = self._check_view("views.push", args.get("view"))
        source = trigger.get("view_id")
        if source and source in self._views:
            root = self._views[source]["root_view_id"]
        else:
            roots = [v for v in self._view_order if v in self._stacks]
            if not roots:
                raise _ApiError("not_found")
            root = roots[-1]
        stack = self._stacks.setdefault(root, [root])
        if len(stack) >= VIEW_STACK_MAX:
            raise _ApiError("push_limit_reached")
        stored = self._store_view(view, root_view_id=root, previous_view_id=stack[-1])
        stack.append(stored["id"])
        return {"view": stored}

    def _m_views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        vid = args.get("view_id")
        if not vid and args.get("external_id"):
            vid = next(
                (k for k, v in self._views.items() if v["external_id"] == args["external_id"]),
                None,
            )
        if not vid or vid not in self._views:
            raise _ApiError("not_found")
        view = self._check_view("views.update", args.get("view"))
        current = self._views[vid]
        if args.get("hash") and args["hash"] != current["hash"]:
            raise _ApiError("hash_conflict")
        if view["type"] != current["type"]:
            raise _ApiError(
                "invalid_arguments",
                response_metadata={
                    "messages": ["[ERROR] view type cannot change [json-pointer:/view/type]"]
                },
            )
        keep = {
            "root_view_id": current["root_view_id"],
            "previous_view_id": current["previous_view_id"],
        }
        return {"view": self._store_view(view, vid=vid, **keep)}

    def _m_views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        uid = str(args.get("user_id") or "")
        if uid not in self._users:
            raise _ApiError("user_not_found")
        view = self._check_view("views.publish", args.get("view"))
        if view["type"] != "home":
            raise _ApiError(
                "invalid_arguments",
                response_metadata={"messages": ["[ERROR] must be home [json-pointer:/view/type]"]},
            )
        existing = self._home.get(uid)
        if existing and args.get("hash") and args["hash"] != self._views[existing]["hash"]:
            raise _ApiError("hash_conflict")
        stored = self._store_view(view, vid=existing) if existing else self._store_view(view)
        self._home[uid] = stored["id"]
        return {"view": stored}

    # ---- files (files_upload_v2 = getUploadURLExternal + POST + completeUploadExternal)

    def _m_files_getUploadURLExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        self._require(args, "filename", "length")
        try:
            length = int(args["length"])
        except (TypeError, ValueError):
            raise _ApiError("invalid_arguments") from None
        fid = f"F0CAD{next(self._ids):06d}"
        self._files[fid] = {
            "filename": str(args["filename"]),
            "length": length,
            "data": None,
            "channel": None,
            "title": None,
        }
        return {"upload_url": f"{self.root_url}/upload/{fid}", "file_id": fid}

    def _m_files_completeUploadExternal(self, args: dict[str, Any]) -> dict[str, Any]:
        files = args.get("files")
        if not isinstance(files, list) or not files:
            raise _ApiError("invalid_arguments")
        channel = args.get("channel_id")
        channels = args.get("channels")
        if not channel and channels:
            channel = channels[0] if isinstance(channels, list) else str(channels).split(",")[0]
        if channel:
            channel = self._resolve_post_channel(str(channel))
        out = []
        for item in files:
            fid = item.get("id") if isinstance(item, dict) else None
            f = self._files.get(str(fid))
            if f is None or f["data"] is None:
                raise _ApiError("file_not_found")
            f["title"] = item.get("title") or f["filename"]
            f["channel"] = channel
            out.append(
                {
                    "id": fid,
                    "name": f["filename"],
                    "title": f["title"],
                    "size": len(f["data"]),
                    "user": self.bot_user_id,
                    "channels": [channel] if channel else [],
                }
            )
        if channel and args.get("initial_comment"):
            ts = self._new_ts()
            msg = self._message_dict({"text": args["initial_comment"]}, ts, channel)
            msg["_deleted"] = False
            msg["files"] = [o["id"] for o in out]
            self._messages[(channel, ts)] = msg
        return {"files": out}


# --------------------------------------------------------------------------------------------
# HTTP handler
# --------------------------------------------------------------------------------------------


def _decode_args(raw: bytes, content_type: str, query: str) -> dict[str, Any]:
    args: dict[str, Any] = {}
    for k, v in urllib.parse.parse_qsl(query, keep_blank_values=True):
        args[k] = v
    if not raw:
        pass
    elif "application/json" in content_type:
        try:
            body = json.loads(raw.decode("utf-8"))
        except ValueError:
            body = {}
        if isinstance(body, dict):
            args.update(body)
    else:
        for k, v in urllib.parse.parse_qsl(raw.decode("utf-8"), keep_blank_values=True):
            args[k] = v
    for k in _JSON_FIELDS & args.keys():
        v = args[k]
        if isinstance(v, str) and v[:1] in ("[", "{"):
            with contextlib.suppress(ValueError):
                args[k] = json.loads(v)
    return args


class _Handler(BaseHTTPRequestHandler):
    fake: FakeSlack
    server_version = "FakeSlack/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _send(self, status: int, body: bytes, content_type: str, headers=None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        # the client may have given up (e.g. its timeout); the call is still recorded
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(body)

    def _send_json(self, status: int, payload: dict[str, Any], headers=None) -> None:
        body = json.dumps(payload).encode("utf-8")
        self._send(status, body, "application/json; charset=utf-8", headers)

    def _dispatch(self) -> None:
        parsed = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        path = parsed.path
        if path.startswith("/api/"):
            method = path[len("/api/") :]
            args = _decode_args(raw, self.headers.get("Content-Type") or "", parsed.query)
            status, payload, headers = self.fake.handle_api(method, args, dict(self.headers))
            if status == DROPPED:  # close the connection without a word
                self.close_connection = True
                return
            self._send_json(status, payload, headers)
        elif path.startswith("/response/") and self.command == "POST":
            name = urllib.parse.unquote(path[len("/response/") :])
            try:
                body = json.loads(raw.decode("utf-8") or "{}")
            except ValueError:
                body = {"_raw": raw.decode("utf-8", "replace")}
            status, text = self.fake.handle_response_url(name, body)
            self._send(status, text.encode(), "text/html")
        elif path.startswith("/upload/") and self.command == "POST":
            status, text = self.fake.handle_upload(path[len("/upload/") :], raw)
            self._send(status, text.encode(), "text/plain")
        else:
            self._send(HTTPStatus.NOT_FOUND, b"not found", "text/plain")

    def do_POST(self) -> None:
        self._dispatch()

    def do_GET(self) -> None:
        self._dispatch()
