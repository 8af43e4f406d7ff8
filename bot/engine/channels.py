"""Getting Cadence into an engagement's channel and greeting it.

The bot joins public channels itself; a private channel needs a person to invite it, so the
lead is told exactly how. Slack Connect (shared) channels work like any other once the bot is in.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

log = logging.getLogger(__name__)


def join_and_post(client: WebClient, channel_id: str, payload: dict[str, Any]) -> str | None:
    """Join `channel_id` if possible and post `payload` there.

    Returns None on success, or a sentence for the lead saying what to do.
    """
    try:
        info = client.conversations_info(channel=channel_id)["channel"]
    except SlackApiError as e:
        error = e.response.get("error")
        if error == "channel_not_found":
            return (
                f"Cadence cannot see <#{channel_id}>: if it is private, open it and type "
                "`/invite @Cadence`, then Cadence will post there."
            )
        log.warning("conversations.info failed for %s: %s", channel_id, error)
        return f"Cadence could not check <#{channel_id}> ({error})."
    if info.get("is_archived"):
        return f"<#{channel_id}> is archived: pick another channel with `/cadence engagement edit`."
    if not info.get("is_member"):
        if info.get("is_private"):
            return (
                f"<#{channel_id}> is private, so Cadence cannot join it by itself: open the "
                "channel and type `/invite @Cadence`."
            )
        try:
            client.conversations_join(channel=channel_id)
        except SlackApiError as e:
            error = e.response.get("error")
            log.warning("conversations.join failed for %s: %s", channel_id, error)
            return (
                f"Cadence could not join <#{channel_id}> ({error}): open the channel and type "
                "`/invite @Cadence`."
            )
    try:
        client.chat_postMessage(channel=channel_id, **payload)
    except SlackApiError as e:
        error = e.response.get("error")
        log.warning("welcome message to %s failed: %s", channel_id, error)
        return f"Cadence could not post in <#{channel_id}> ({error})."
    return None


def user_timezone(client: WebClient, user_id: str) -> str | None:
    """A person's time zone from their Slack profile, or None if Slack will not say."""
    try:
        return client.users_info(user=user_id)["user"].get("tz") or None
    except SlackApiError as e:
        log.info("users.info for %s failed: %s", user_id, e.response.get("error"))
        return None


def direct_message(client: WebClient, user_id: str, payload: dict[str, Any]) -> bool:
    """DM a person from the app; False when Slack refuses (e.g. someone in another org)."""
    try:
        client.chat_postMessage(channel=user_id, **payload)
        return True
    except SlackApiError as e:
        log.info("DM to %s refused: %s", user_id, e.response.get("error"))
        return False
