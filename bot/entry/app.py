"""Assembly: build the Bolt app for a configuration and register every listener."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from slack_bolt import App
from slack_bolt.error import BoltError

from bot.engine.outbox import Outbox
from bot.entry.sizing import LISTENER_THREADS
from bot.platform.config import ConfigError, Settings
from bot.platform.services import Services
from bot.platform.slack import web_client
from handlers import register_listeners

log = logging.getLogger(__name__)


def build_app(services: Services, outbox: Outbox | None = None) -> App:
    """The Bolt app. Building it calls `auth.test`, so a wrong token fails here, clearly.

    `outbox` sends what requests cause (one per process; a new one when not given)."""
    settings: Settings = services.settings
    try:
        app = App(
            client=web_client(settings),
            signing_secret=settings.slack_signing_secret,
            # Ack first: Bolt answers Slack as soon as a listener acks and keeps working after.
            process_before_response=False,
            listener_executor=ThreadPoolExecutor(
                max_workers=LISTENER_THREADS, thread_name_prefix="cadence-listener"
            ),
        )
    except BoltError as e:
        raise ConfigError(
            [
                f"SLACK_BOT_TOKEN was refused by Slack ({e}): copy the Bot User OAuth Token "
                "from OAuth & Permissions in your Slack app settings into .env, and check that "
                "the app is installed in the workspace"
            ]
        ) from e
    register_listeners(app, services, outbox or Outbox(services))

    @app.error
    def on_error(error: Exception, body: dict) -> None:
        log.error(
            "unhandled error in a Slack request (type %s): %r",
            body.get("type") or body.get("command"),
            error,
        )

    return app
