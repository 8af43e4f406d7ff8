"""Message and global shortcuts."""

from __future__ import annotations

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.platform.services import Services
from handlers.guard import guarded, tell

RAISE_CONCERN = "raise_concern_from_message"


def register(app: App, services: Services) -> None:
    @app.shortcut(RAISE_CONCERN)
    @guarded
    def raise_concern(ack: Ack, body: dict, client: WebClient, respond) -> None:
        # The concern register arrives with its own issue; until then say so where the person
        # is, rather than letting Slack show them an error for an unanswered shortcut.
        ack()
        tell(
            {"body": body, "client": client, "respond": respond},
            "Raising a concern from a message is not available in this version of Cadence yet.",
        )
