"""``conversations.*``: a channel's facts, joining it, its history, opening DMs, its members.

Answers and errors as Slack's, each method as documented under
https://docs.slack.dev/reference/methods/ (conversations.info, conversations.join,
conversations.history, conversations.replies, conversations.open, conversations.members): a
private channel the bot is not in is ``channel_not_found``, history holds top-level messages
only and message metadata only with ``include_all_metadata``, pages follow cursors, a
non-Marketplace app reads 15 messages a page (once a minute: tiers.py), a DM with someone of another
workspace is refused.
"""

from __future__ import annotations

import base64
from typing import Any

from bot.demo.fake_slack.methods.base import ApiError

# A non-Marketplace app's page for conversations.history and .replies (their reference pages).
NON_MARKETPLACE_LIMIT = 15


class ConversationsMethods:
    """Web API methods on channels and DMs."""

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
            raise ApiError("channel_not_found")
        return {"channel": self._channel_info(ch)}

    def _m_conversations_join(self, args: dict[str, Any]) -> dict[str, Any]:
        ch = self._channels.get(str(args.get("channel") or ""))
        if ch is None:
            raise ApiError("channel_not_found")
        if ch["is_private"]:
            if not ch["bot_member"]:
                raise ApiError("channel_not_found")
            raise ApiError("method_not_supported_for_channel_type")
        if ch["is_archived"]:
            raise ApiError("is_archived")
        already = ch["bot_member"]
        ch["bot_member"] = True
        out: dict[str, Any] = {"channel": self._channel_info(ch)}
        if already:
            out["warning"] = "already_in_channel"
            out["response_metadata"] = {"warnings": ["already_in_channel"]}
        return out

    def _readable(self, channel: str) -> None:
        """The checks history and replies share: the conversation exists and the bot may read
        it (a public channel it has not joined is ``not_in_channel``)."""
        if channel[:1] != "D":
            ch = self._channels.get(channel)
            if ch is None or (ch["is_private"] and not ch["bot_member"]):
                raise ApiError("channel_not_found")
            if not ch["bot_member"]:
                raise ApiError("not_in_channel")
        elif channel not in self._dms.values():
            raise ApiError("channel_not_found")

    def _page_limit(self, args: dict[str, Any], default: int, most: int) -> int:
        """`limit` as the method takes it; a non-Marketplace app's default and maximum are 15
        (both methods' reference pages, "As of May 29, 2025 … commercially distributed outside
        of the Marketplace … reduced to 15 objects")."""
        if not self.marketplace_app:
            default = most = NON_MARKETPLACE_LIMIT
        try:
            limit = int(args.get("limit") or default)
        except (TypeError, ValueError):
            raise ApiError("invalid_limit") from None
        return max(1, min(limit, most))

    def _messages_of(self, channel: str) -> list[dict[str, Any]]:
        return [m for (c, _), m in self._messages.items() if c == channel and not m["_deleted"]]

    def _in_range(self, args: dict[str, Any], ts: str) -> bool:
        """`oldest` / `latest` bound the messages; `inclusive` keeps the bounds themselves."""
        inclusive = str(args.get("inclusive", "")).lower() in ("1", "true")
        value = float(ts)
        for key, keeps in (("oldest", lambda b: value > b), ("latest", lambda b: value < b)):
            raw = args.get(key)
            if raw in (None, ""):
                continue
            try:
                bound = float(raw)
            except (TypeError, ValueError):
                raise ApiError(f"invalid_ts_{key}") from None
            if not (keeps(bound) or (inclusive and value == bound)):
                return False
        return True

    def _page(self, found: list[dict[str, Any]], args: dict[str, Any], limit: int) -> dict:
        """One page of `found` (already in the method's order) from the cursor on; the next
        cursor names where the next page starts (https://docs.slack.dev/apis/web-api/pagination)."""
        start = 0
        cursor = str(args.get("cursor") or "")
        if cursor:
            try:
                start = int(base64.b64decode(cursor).decode().removeprefix("next:"))
            except (ValueError, UnicodeDecodeError):
                raise ApiError("invalid_cursor") from None
        with_metadata = str(args.get("include_all_metadata", "")).lower() in ("1", "true")
        messages = []
        for m in found[start : start + limit]:
            public = self._public(m)
            if not with_metadata:
                public.pop("metadata", None)
            messages.append(public)
        more = start + limit < len(found)
        next_cursor = base64.b64encode(f"next:{start + limit}".encode()).decode() if more else ""
        return {
            "messages": messages,
            "has_more": more,
            "response_metadata": {"next_cursor": next_cursor},
        }

    def _m_conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        """Newest first; top-level messages only, and thread replies also sent to the channel
        (https://docs.slack.dev/reference/methods/conversations.history: "returns only parent
        messages"; a thread's replies are read with conversations.replies); metadata only with
        include_all_metadata; `limit` 100 by default, at most 999."""
        self._require(args, "channel")
        channel = str(args["channel"])
        self._readable(channel)
        limit = self._page_limit(args, 100, 999)
        found = sorted(
            (
                self._with_thread_facts(m)
                for m in self._messages_of(channel)
                if m.get("thread_ts") in (None, m["ts"]) or m.get("subtype") == "thread_broadcast"
            ),
            key=lambda m: float(m["ts"]),
            reverse=True,
        )
        return self._page([m for m in found if self._in_range(args, m["ts"])], args, limit)

    def _with_thread_facts(self, m: dict[str, Any]) -> dict[str, Any]:
        """A parent message as history shows it: its reply count and latest reply."""
        replies = [
            r
            for r in self._messages_of(m["channel"])
            if r.get("thread_ts") == m["ts"] and r["ts"] != m["ts"]
        ]
        if not replies:
            return m
        latest = max(replies, key=lambda r: float(r["ts"]))
        return {
            **m,
            "thread_ts": m["ts"],
            "reply_count": len(replies),
            "latest_reply": latest["ts"],
        }

    def _m_conversations_replies(self, args: dict[str, Any]) -> dict[str, Any]:
        """A thread, oldest first, its parent message first
        (https://docs.slack.dev/reference/methods/conversations.replies): `ts` must name an
        existing message (else ``thread_not_found``); one without replies comes back alone.
        The reference says a bot token may read threads of DMs only; in practice a bot with
        channels:history reads channel threads too. `bot_reads_channel_threads` picks: off, a
        channel's thread is refused as ``missing_scope``, as the reference reads."""
        self._require(args, "channel", "ts")
        channel, ts = str(args["channel"]), str(args["ts"])
        self._readable(channel)
        if channel[:1] != "D" and not self.bot_reads_channel_threads:
            raise ApiError("missing_scope", needed="channels:history", provided="bot")
        limit = self._page_limit(args, 1000, 1000)
        parent = self._messages.get((channel, ts))
        if parent is None or parent["_deleted"]:
            raise ApiError("thread_not_found")
        root = parent.get("thread_ts") or parent["ts"]
        thread = sorted(
            (
                m
                for m in self._messages_of(channel)
                if m["ts"] == root or m.get("thread_ts") == root
            ),
            key=lambda m: float(m["ts"]),
        )
        kept = [m for m in thread if m["ts"] == root or self._in_range(args, m["ts"])]
        return self._page(kept, args, limit)

    def _m_conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        if args.get("channel"):
            cid = str(args["channel"])
            if cid not in self._dms.values():
                raise ApiError("channel_not_found")
            return {"channel": {"id": cid}}
        users = args.get("users")
        if isinstance(users, str):
            users = [u for u in users.split(",") if u]
        if not users:
            raise ApiError("users_list_not_supplied")
        for uid in users:
            user = self._users.get(uid)
            if user is None:
                raise ApiError("user_not_found")
            if user["deleted"]:
                raise ApiError("user_disabled")
            if user["team_id"] != self._call_team():
                raise ApiError("channel_not_found")
        if len(users) > 8:
            raise ApiError("too_many_users")
        if len(users) == 1:
            return {"channel": {"id": self.dm_channel_id(users[0])}}
        key = ",".join(sorted(users))
        return {"channel": {"id": self.dm_channel_id(key).replace("D", "G", 1)}}

    def _m_conversations_members(self, args: dict[str, Any]) -> dict[str, Any]:
        ch = self._channels.get(str(args.get("channel") or ""))
        if ch is None or (ch["is_private"] and not ch["bot_member"]):
            raise ApiError("channel_not_found")
        members = list(ch["members"])
        if ch["bot_member"] and self.bot_user_id not in members:
            members.append(self.bot_user_id)
        return {"members": members, "response_metadata": {"next_cursor": ""}}
