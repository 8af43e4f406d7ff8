"""``users.info``: a person as Slack describes them
(https://docs.slack.dev/reference/methods/users.info).

Their time zone and its offset now, their roles, their status, whether they are a guest or of
another organisation (``is_stranger``) as seen from the workspace whose token asks.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from bot.demo.fake_slack.methods.base import ApiError


class UsersMethods:
    """Web API methods on people."""

    def _m_users_info(self, args: dict[str, Any]) -> dict[str, Any]:
        u = self._users.get(str(args.get("user") or ""))
        if u is None:
            raise ApiError("user_not_found")
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
