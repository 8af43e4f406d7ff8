"""``chat.*``: post, post ephemerally, update, delete and link to messages.

Answers and errors as Slack's, each method as documented under
https://docs.slack.dev/reference/methods/ (chat.postMessage, chat.postEphemeral, chat.update,
chat.delete, chat.getPermalink): ``not_in_channel``, ``is_archived``, ``message_not_found``,
``invalid_blocks``…
"""

from __future__ import annotations

from typing import Any

from bot.demo.fake_slack.methods.base import ApiError


class ChatMethods:
    """Web API methods on messages."""

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
            raise ApiError("user_not_found")
        ch = self._channels.get(channel)
        if ch is not None and ch["members"] and user["id"] not in ch["members"]:
            raise ApiError("user_not_in_channel")
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
                raise ApiError("channel_not_found")
            raise ApiError("message_not_found")
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
