"""The workspaces Slack would hold: people, channels, DMs, messages, views, triggers, files,
and the teams an app is installed in with their tokens.

Tests set it up (``add_user``, ``add_channel``, ``join``, ``add_team``, ``authorize``…) and
read it back (``messages``, ``view``, ``home_view``, ``uploaded_files``…); the Web API methods
in methods/ act on it under the fake's lock. A trigger id is valid once, for 3 seconds, as
Slack's (https://docs.slack.dev/surfaces/modals). Installing in another workspace follows
Slack's OAuth (https://docs.slack.dev/authentication/installing-with-oauth): ``authorize``
stands for a person approving the install, the code it returns is traded by
``oauth.v2.access`` (methods/oauth.py) for a bot token of that workspace, and every call then
acts as the workspace of its token; ``uninstall`` revokes them.
"""

from __future__ import annotations

import copy
import itertools
import secrets
import threading
import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from bot.platform import clock


class State:
    """FakeSlack's workspaces and what is in them."""

    def _init_state(self) -> None:
        self._users: dict[str, dict[str, Any]] = {}
        self._channels: dict[str, dict[str, Any]] = {}
        self._dms: dict[str, str] = {}  # user id -> D channel id
        self._messages: dict[tuple[str, str], dict[str, Any]] = {}
        self._ts = itertools.count(1)
        self._given_ts: set[int] = set()  # every ts given, in microseconds
        self._wall_override: float | None = None
        self._wall_seen: float | None = None
        self._triggers: dict[str, dict[str, Any]] = {}
        self._views: dict[str, dict[str, Any]] = {}
        self._view_order: list[str] = []
        self._stacks: dict[str, list[str]] = {}  # root view id -> stack of view ids
        self._home: dict[str, str] = {}  # user id -> view id
        self._files: dict[str, dict[str, Any]] = {}
        # The app's distribution regime (conversations.history and .replies' reference pages):
        # a Marketplace or internal app (Tier 3, pages up to 999 / 1000), or one distributed
        # outside the Marketplace (one request a minute per workspace, 15 messages a page).
        self.marketplace_app = True  # its one request a minute: tiers.py
        # Whether a bot token reads a channel's threads (practice) or only DMs' (the reference).
        self.bot_reads_channel_threads = True
        # workspaces (OAuth): team id -> name and domain; issued codes and tokens -> team id
        self._teams: dict[str, dict[str, str | None]] = {
            self.team_id: {"name": self.team_name, "domain": self.team_domain}
        }
        self._codes: dict[str, dict[str, Any]] = {}
        self._tokens: dict[str, str] = {}
        self._revoked: set[str] = set()
        self._caller = threading.local()  # the workspace of the call being answered
        self.oauth_client: tuple[str, str] | None = (
            None  # (client id, secret) oauth.v2.access wants
        )

    # ---------------------------------------------------------------- people and channels

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

    def add_team(
        self,
        team_id: str,
        *,
        name: str,
        domain: str | None = None,
        enterprise: tuple[str, str] | None = None,
    ) -> None:
        """Another workspace the app can be installed in (add its people with ``team_id``), or
        the default one again; ``enterprise``: the (id, name) of the Enterprise Grid
        organisation it belongs to."""
        with self._lock:
            self._teams[team_id] = {
                "name": name,
                "domain": domain or name.lower(),
                "enterprise_id": enterprise[0] if enterprise else None,
                "enterprise_name": enterprise[1] if enterprise else None,
            }

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

    # ---------------------------------------------------------------- triggers

    def new_trigger_id(self, view_id: str | None = None) -> str:
        """A trigger id valid once, for 3 s. ``view_id``: the view the interaction came from."""
        tid = f"{next(self._ids)}{secrets.randbelow(10**9):09d}.{secrets.token_hex(16)}"
        with self._lock:
            self._triggers[tid] = {"issued": self.clock(), "used": False, "view_id": view_id}
        return tid

    def wall_now(self) -> float:
        """The Unix time messages are posted at: the app's clock when a test or the demo fixed
        it in this process; else the moment `simulate_time_at` set; else the last fixed moment
        seen (what a request's outbox sends just after its fixed block ended); else real time."""
        if clock.is_fixed():
            self._wall_seen = clock.now().timestamp()
            return self._wall_seen
        if self._wall_override is not None:
            return self._wall_override
        if self._wall_seen is not None:
            return self._wall_seen
        return time.time()

    def simulate_time_at(self, moment: datetime | None) -> None:
        """Post at `moment` while this process's clock is not fixed: for `tick --now` run in
        another process against this stand-in (None: real time again)."""
        self._wall_override = moment.timestamp() if moment is not None else None

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
