"""``auth.test`` and ``oauth.v2.access``: who a token acts for, and trading an install's code
for a bot token.

As Slack's (https://docs.slack.dev/reference/methods/auth.test,
https://docs.slack.dev/reference/methods/oauth.v2.access): the app's credentials come as HTTP
Basic or as client_id/client_secret, the code is good once, and the token issued acts for the
code's workspace.
"""

from __future__ import annotations

import base64
import contextlib
import secrets
from typing import Any


class OAuthMethods:
    """Web API methods about tokens and installs."""

    def _m_auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        team_id = self._call_team()
        return {
            "url": f"https://{self._teams[team_id]['domain']}.slack.com/",
            "team": self._teams[team_id]["name"],
            "user": self._users[self.bot_user_id]["name"],
            "team_id": team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            # A workspace of an Enterprise Grid organisation names it.
            **(
                {"enterprise_id": org} if (org := self._teams[team_id].get("enterprise_id")) else {}
            ),
            "is_enterprise_install": False,
        }

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
            # A workspace install in an Enterprise Grid organisation names the organisation
            # (https://docs.slack.dev/reference/methods/oauth.v2.access, its example answer).
            "enterprise": (
                {"id": team["enterprise_id"], "name": team["enterprise_name"]}
                if team.get("enterprise_id")
                else None
            ),
            "is_enterprise_install": False,
        }
