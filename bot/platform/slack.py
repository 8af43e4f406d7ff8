"""The Slack Web API client, from one place, with retries.

slack_sdk's default client retries only connection errors, once. Cadence also retries rate
limits (honouring Retry-After) and server errors. Bolt copies `base_url` and the retry handlers
of the client given to `App` into every per-request client, so this is configured once, here.
"""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler
from slack_sdk.http_retry.builtin_handlers import ServerErrorRetryHandler

from bot.platform.config import Settings

SLACK_TIMEOUT_SECONDS = 15
log = logging.getLogger(__name__)


def retry_handlers() -> list:
    return [
        ConnectionErrorRetryHandler(max_retry_count=2),
        RateLimitErrorRetryHandler(max_retry_count=3),
        ServerErrorRetryHandler(max_retry_count=2),
    ]


def web_client(settings: Settings, *, team_id: str | None = None) -> WebClient:
    """The Web API client for a workspace.

    Cadence is installed in one workspace per bot token today; `team_id` is where a per-workspace
    installation store (slack_sdk's SQLAlchemyInstallationStore) plugs in for several.
    """
    return WebClient(
        token=settings.slack_bot_token,
        base_url=settings.slack_api_url,
        timeout=SLACK_TIMEOUT_SECONDS,
        retry_handlers=retry_handlers(),
    )


def user_timezone(client: WebClient, user_id: str) -> str | None:
    """A person's time zone from their Slack profile, or None if Slack will not say."""
    try:
        return client.users_info(user=user_id)["user"].get("tz") or None
    except SlackApiError as e:
        log.info("users.info for %s failed: %s", user_id, e.response.get("error"))
        return None
