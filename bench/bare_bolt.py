"""The floor for `bench/ack.py`: a bare Bolt app that only acknowledges.

It answers the same requests as Cadence (the `/cadence` command, every block action, every view
submission) with the same signing secret and the same Web API base URL, under the same gunicorn
settings (`gunicorn … 'bare_bolt:create_app()'` with `--pythonpath bench`), and does nothing
else: no middleware, no database, no work after the ack, Bolt's own listener executor. What
Cadence takes beyond it is Cadence's.

Configuration from the environment, as Cadence's web process reads it: SLACK_BOT_TOKEN,
SLACK_SIGNING_SECRET, SLACK_API_URL.
"""

from __future__ import annotations

import os
import re
from typing import Any

from slack_bolt import Ack, App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk import WebClient

EVERYTHING = re.compile(".*")


def ack_only(ack: Ack) -> None:
    """Acknowledge, and that is all."""
    ack()


def build_app(env: dict[str, str] | None = None) -> App:
    """The Bolt app: one command, every action and every view acknowledged at once.

    Like Cadence's, it is built with a client (so `auth.test`, once, goes to the same Slack) and
    answers Slack as soon as the listener acks (`process_before_response=False`)."""
    env = dict(os.environ if env is None else env)
    client = WebClient(
        token=env["SLACK_BOT_TOKEN"],
        base_url=env.get("SLACK_API_URL") or "https://slack.com/api/",
    )
    app = App(
        client=client,
        signing_secret=env["SLACK_SIGNING_SECRET"],
        process_before_response=False,
    )
    app.command("/cadence")(ack_only)
    app.action(EVERYTHING)(ack_only)
    app.view(EVERYTHING)(ack_only)
    return app


def create_app() -> Any:
    """gunicorn's factory: the WSGI application serving POST /slack/events."""
    return SlackRequestHandler(build_app())
