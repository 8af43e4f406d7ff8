"""What the Web API methods share: Slack's error answer, and the rules of posting.

A method raises `ApiError` with Slack's error code; `Methods._perform` (methods/__init__.py)
turns it into ``{"ok": false, "error": …}`` as Slack answers
(https://docs.slack.dev/apis/web-api/). Where a message may land and what Slack says
when it may not, the checks on its text and blocks, and the ids Slack fills in are here, used
by chat, conversations, views and files alike.
"""

from __future__ import annotations

import copy
import secrets
from typing import Any

from bot.demo.fake_slack.blocks import (
    MESSAGE_TEXT_MAX,
    NON_INTERACTIVE_ELEMENT_TYPES,
    validate_message_blocks,
    walk_interactive,
)


class ApiError(Exception):
    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


class RateLimited(Exception):
    """A method's rate tier is used up for the calling workspace: HTTP 429 with Retry-After
    (https://docs.slack.dev/apis/web-api/rate-limits)."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"ratelimited, retry after {retry_after} s")
        self.retry_after = retry_after


class MethodHelpers:
    """Helpers every family of methods uses (they act on State under the fake's lock)."""

    def _new_ts(self) -> str:
        """A message's ts as Slack makes it: the Unix time of its posting, to the microsecond,
        never one given before. The time is the app's (`bot.platform.clock`: a test's or the
        demo's simulated moment, which may jump back), or the one `simulate_time_at` set for
        processes started with `tick --now`, so lookups bounded by time read what they should."""
        moment = getattr(self._caller, "arrived", None) or self.wall_now()
        micros = round(moment * 1_000_000)  # whole microseconds: no float rounding
        while micros in self._given_ts:
            micros += 1
        self._given_ts.add(micros)
        next(self._ts)
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _require(self, args: dict[str, Any], *names: str) -> None:
        for n in names:
            if args.get(n) in (None, ""):
                raise ApiError(
                    "invalid_arguments",
                    response_metadata={"messages": [f"[ERROR] missing required field: {n}"]},
                )

    def _resolve_post_channel(self, channel: str) -> str:
        """Channel id a message to ``channel`` lands in, with Slack's errors."""
        if not channel:
            raise ApiError("channel_not_found")
        if channel[0] in "UW":
            user = self._users.get(channel)
            if user is None or user["team_id"] != self._call_team():
                raise ApiError("channel_not_found")
            if user["deleted"]:
                raise ApiError("account_inactive")
            if user["is_bot"] and channel != self.bot_user_id:
                raise ApiError("cannot_dm_bot")
            return self.dm_channel_id(channel)
        if channel[0] == "D":
            if channel not in self._dms.values():
                raise ApiError("channel_not_found")
            return channel
        ch = self._channels.get(channel)
        if ch is None:
            raise ApiError("channel_not_found")
        if not ch["bot_member"]:
            raise ApiError("channel_not_found" if ch["is_private"] else "not_in_channel")
        if ch["is_archived"]:
            raise ApiError("is_archived")
        return channel

    def _check_message_content(self, method: str, args: dict[str, Any], *, needs_text=True):
        text, blocks = args.get("text"), args.get("blocks")
        if needs_text and not text and not blocks and not args.get("attachments"):
            raise ApiError("no_text")
        if len(str(text or "")) > MESSAGE_TEXT_MAX:
            self._block_error(method, ["msg_too_long"], args)
            raise ApiError("msg_too_long")
        errors = validate_message_blocks(blocks)
        if errors:
            self._block_error(method, errors, args)
            raise ApiError("invalid_blocks", errors=errors)

    def _fill_ids(self, blocks: list[Any] | None) -> list[Any] | None:
        """Give blocks / interactive elements without ids a generated one, as Slack does."""
        if not blocks:
            return blocks
        blocks = copy.deepcopy(blocks)
        for b in blocks:
            if isinstance(b, dict) and not b.get("block_id"):
                b["block_id"] = secrets.token_urlsafe(4)[:5]
        for el in walk_interactive(blocks):
            if el.get("type") not in NON_INTERACTIVE_ELEMENT_TYPES and not el.get("action_id"):
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
            # The workspace of the token that posted it: in a Slack Connect channel, the
            # installation's (https://docs.slack.dev/reference/methods/chat.postMessage, its
            # example answer's `message.team`).
            "team": self._call_team(),
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
            if str(args.get("reply_broadcast", "")).lower() in ("1", "true"):
                msg["subtype"] = "thread_broadcast"  # a reply also shown in the channel
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
