"""Message and global shortcuts."""

from __future__ import annotations

from slack_bolt import Ack, Respond
from slack_sdk import WebClient

from handlers.guard import tell

RAISE_CONCERN = "raise_concern_from_message"


def raise_concern(ack: Ack, body: dict, client: WebClient, respond: Respond) -> None:
    # The concern register arrives with its own issue; until then say so where the person
    # is, rather than letting Slack show them an error for an unanswered shortcut.
    ack()
    tell(
        {"body": body, "client": client, "respond": respond},
        "Raising a concern from a message is not available in this version of Cadence yet.",
    )
