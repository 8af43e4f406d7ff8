"""A message a person types to Cadence in its Messages tab gets one short answer: a pointer
to `/cadence help` (Cadence reads no conversation; the tab stays open because Slack shows
prompts and notices there).

Only what a person typed in the bot's DM is answered: not messages in channels, not bots
(Cadence's own messages come back as events too), not edits or deletions (subtypes). The
answer is a job under a key naming the message, planned in the request's transaction, so a
delivery Slack retries is answered once.
"""

from __future__ import annotations

from slack_bolt import BoltContext

from bot.blocks.messages_tab import direct_message_answer
from bot.engine import outbox
from handlers.context import Request
from storage import job_keys


def typed_to_the_bot(event: dict) -> bool:
    return (
        event.get("channel_type") == "im"
        and not event.get("subtype")
        and not event.get("bot_id")
        and bool(event.get("user"))
    )


def direct_message(event: dict, context: BoltContext) -> None:
    if not typed_to_the_bot(event):
        return
    req = Request.of(context)
    channel = event["channel"]
    with req.change() as session:
        outbox.message(
            session,
            team_id=req.team_id,
            key=job_keys.dm_answer(req.team_id, channel, event["ts"]),
            to=channel,
            payload=direct_message_answer(),
            describe=f"the answer to {event['user']}'s message in the Messages tab",
            now=req.now,
            quiet=True,
        )
