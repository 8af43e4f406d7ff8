"""``conversations.*``: a channel's facts, joining it, its history, opening DMs, its members.

Answers and errors as Slack's, each method as documented under
https://docs.slack.dev/reference/methods/ (conversations.info, conversations.join,
conversations.history, conversations.open, conversations.members): a private channel the bot
is not in is ``channel_not_found``, history holds message metadata only with
``include_all_metadata``, a DM with someone of another workspace is refused.
"""

from __future__ import annotations

from typing import Any

from bot.demo.fake_slack.methods.base import ApiError


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

    def _m_conversations_history(self, args: dict[str, Any]) -> dict[str, Any]:
        """Newest first; metadata only with include_all_metadata, as Slack does."""
        self._require(args, "channel")
        channel = str(args["channel"])
        if channel[:1] != "D":
            ch = self._channels.get(channel)
            if ch is None or (ch["is_private"] and not ch["bot_member"]):
                raise ApiError("channel_not_found")
            if not ch["bot_member"]:
                raise ApiError("not_in_channel")
        elif channel not in self._dms.values():
            raise ApiError("channel_not_found")
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
