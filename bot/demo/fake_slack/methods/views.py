"""``views.*``: modals and Home tabs, opened, pushed, updated and published.

As Slack's (https://docs.slack.dev/surfaces/modals, and views.open, views.push, views.update,
views.publish under https://docs.slack.dev/reference/methods/): a trigger id is good once and
for 3 seconds, a modal holds a stack of at most 3 views, an update with a stale ``hash`` is a
``hash_conflict``, an ``external_id`` is unique, and a view Block Kit refuses is
``invalid_arguments`` with Slack's messages.
"""

from __future__ import annotations

import copy
import json
import secrets
import time
from typing import Any

from bot.demo.fake_slack.blocks import validate_view
from bot.demo.fake_slack.methods.base import ApiError

TRIGGER_TTL_SECONDS = 3.0
VIEW_STACK_MAX = 3


VIEW_MAX_BYTES = 250 * 1000


class ViewsMethods:
    """Web API methods on views."""

    def _use_trigger(self, trigger_id: Any) -> dict[str, Any]:
        t = self._triggers.get(str(trigger_id or ""))
        if t is None or t["used"]:
            raise ApiError("invalid_trigger_id")
        if self.clock() - t["issued"] > TRIGGER_TTL_SECONDS:
            raise ApiError("expired_trigger_id")
        t["used"] = True
        return t

    def _check_view(self, method: str, view: Any) -> dict[str, Any]:
        # views.open/update/push/publish: "view_too_large: the provided view is greater than
        # 250kb" (each method's reference page, https://docs.slack.dev/reference/methods/).
        if len(json.dumps(view, ensure_ascii=False).encode()) > VIEW_MAX_BYTES:
            raise ApiError("view_too_large")
        errors = validate_view(view)
        if errors:
            self._block_error(method, errors, view)
            raise ApiError(
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
                    raise ApiError("duplicate_external_id")
        self._views[stored_vid] = out
        if not vid:
            self._view_order.append(stored_vid)
        return copy.deepcopy(out)

    def _m_views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        self._use_trigger(args.get("trigger_id") or args.get("interactivity_pointer"))
        view = self._check_view("views.open", args.get("view"))
        if view["type"] != "modal":
            raise ApiError(
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
                raise ApiError("not_found")
            root = roots[-1]
        stack = self._stacks.setdefault(root, [root])
        if len(stack) >= VIEW_STACK_MAX:
            raise ApiError("push_limit_reached")
        stored = self._store_view(view, root_view_id=root, previous_view_id=stack[-1])
        stack.append(stored["id"])
        return {"view": stored}

    def close_view(self, view_id: str, *, clear: bool = False) -> None:
        """A submission answered with a close (``clear``: ``response_action: clear``) takes
        the view (or its whole stack) off the screen, as Slack does: the next push stacks on
        the view beneath it."""
        with self._lock:
            view = self._views.get(view_id)
            stack = self._stacks.get(view["root_view_id"]) if view else None
            if view is None or stack is None:
                return
            if clear or stack == [view_id]:
                del self._stacks[view["root_view_id"]]
            elif view_id in stack:
                stack.remove(view_id)

    def _m_views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        vid = args.get("view_id")
        if not vid and args.get("external_id"):
            vid = next(
                (k for k, v in self._views.items() if v["external_id"] == args["external_id"]),
                None,
            )
        if not vid or vid not in self._views:
            raise ApiError("not_found")
        view = self._check_view("views.update", args.get("view"))
        current = self._views[vid]
        if args.get("hash") and args["hash"] != current["hash"]:
            raise ApiError("hash_conflict")
        if view["type"] != current["type"]:
            raise ApiError(
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
            raise ApiError("user_not_found")
        view = self._check_view("views.publish", args.get("view"))
        if view["type"] != "home":
            raise ApiError(
                "invalid_arguments",
                response_metadata={"messages": ["[ERROR] must be home [json-pointer:/view/type]"]},
            )
        existing = self._home.get(uid)
        if existing and args.get("hash") and args["hash"] != self._views[existing]["hash"]:
            raise ApiError("hash_conflict")
        stored = self._store_view(view, vid=existing) if existing else self._store_view(view)
        self._home[uid] = stored["id"]
        return {"view": stored}
