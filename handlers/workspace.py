"""Which workspace a request belongs to: the one Cadence is installed in.

In a Slack Connect channel, a person from another organisation sends payloads whose `team_id`
is their own workspace. Cadence's rows belong to the workspace where it is installed, which
the bot token identifies (`auth.test`, cached by Bolt as the authorize result), so that is
the key used, falling back to the payload only when no authorization is known.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import BoltContext


def workspace_id(context: BoltContext, body: dict[str, Any]) -> str:
    authorized = context.authorize_result
    if authorized is not None and authorized.team_id:
        return authorized.team_id
    return (
        context.team_id
        or (body.get("view") or {}).get("app_installed_team_id")
        or (body.get("team") or {}).get("id")
        or body.get("team_id")
    )
