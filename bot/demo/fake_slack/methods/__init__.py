"""The Web API methods the stand-in Slack answers, one module per family.

A method is ``_m_<family>_<name>`` on FakeSlack (``chat.postMessage`` is
``_m_chat_postMessage``); `Methods._perform` finds it by the name in the URL, so a method the
fake does not know answers ``unknown_method`` as Slack does, recorded for a test to spot.
"""

from __future__ import annotations

from typing import Any

from bot.demo.fake_slack.methods.base import ApiError, MethodHelpers
from bot.demo.fake_slack.methods.chat import ChatMethods
from bot.demo.fake_slack.methods.conversations import ConversationsMethods
from bot.demo.fake_slack.methods.files import FilesMethods
from bot.demo.fake_slack.methods.functions import FunctionsMethods
from bot.demo.fake_slack.methods.oauth import OAuthMethods
from bot.demo.fake_slack.methods.users import UsersMethods
from bot.demo.fake_slack.methods.views import ViewsMethods


class Methods(
    OAuthMethods,
    ChatMethods,
    ConversationsMethods,
    UsersMethods,
    ViewsMethods,
    FilesMethods,
    FunctionsMethods,
    MethodHelpers,
):
    """Every Web API method FakeSlack answers, and the way a call finds its method."""

    def _perform(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        handler = getattr(self, "_m_" + method.replace(".", "_"), None)
        if handler is None:
            return {"ok": False, "error": "unknown_method", "req_method": method}
        try:
            with self._lock:
                return {"ok": True, **handler(args)}
        except ApiError as e:
            return {"ok": False, "error": e.error, **e.extra}
