"""A record's card in its engagement channel (a concern's, a deliverable's): posted once, then
edited in place on each change, with a line in its thread for each change.

The record says where its card went (`channel_id`, `message_ts`, kept by its domain's
`set_card` once posted); each kind builds the payload, these build the Slack call.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeVar

from sqlmodel import Session

from bot.engine.delivery import Message
from storage import jobs


class HasCard(Protocol):
    """A record with a card: where it was posted, once it was."""

    channel_id: str | None
    message_ts: str | None


class HasId(Protocol):
    id: int | None


Event = TypeVar("Event", bound=HasId)


def card_message(
    record: HasCard,
    home_channel: str,
    payload: dict[str, Any],
    describe: str,
    set_card: Callable[..., None],
) -> Message:
    """The card: posted in `home_channel` the first time (`set_card(session=, channel_id=,
    message_ts=)` keeps where), then edited in place (posted anew if the message was deleted
    or the bot left the channel)."""

    def remember_where(session: Session, response: dict[str, Any]) -> None:
        set_card(session=session, channel_id=response["channel"], message_ts=response["ts"])

    post = Message(home_channel, payload, describe, may_rejoin=True, on_sent=remember_where)
    if record.channel_id and record.message_ts:
        return Message(
            record.channel_id, payload, f"{describe}, edited", ts=record.message_ts, fallback=post
        )
    return post


def line_event(events: Sequence[Event], job: jobs.ClaimedJob) -> Event | None:
    """The change a thread-line job is about, among its record's events (None: gone)."""
    return next((e for e in events if e.id == job.payload["event_id"]), None)


def thread_message(
    record: HasCard, home_channel: str, payload: dict[str, Any], describe: str
) -> Message:
    """A line in the card's thread (in `home_channel` when the card could not be posted)."""
    if record.message_ts:
        payload["thread_ts"] = record.message_ts
    return Message(record.channel_id or home_channel, payload, describe, may_rejoin=True)
