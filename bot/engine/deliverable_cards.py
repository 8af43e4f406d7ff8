"""Job kinds of a deliverable's card: the card in the engagement channel (posted, then edited in
place) and a line in its thread for each change.

Each builds from the deliverable as it is when the job runs, so a card edited twice in a row
shows the latest state.
"""

from __future__ import annotations

from functools import partial

from bot.blocks.deliverables import deliverable_card, thread_line
from bot.domain import deliverables
from bot.domain.errors import NotFound
from bot.engine import cards
from bot.engine.delivery import Message, Sender, finish
from storage import jobs
from storage.jobs import JobStatus


def _load(sender: Sender, job: jobs.ClaimedJob) -> deliverables.DeliverableDetails | None:
    with sender.db.read_session() as session:
        try:
            return deliverables.get(
                session=session, team_id=job.team_id, deliverable_id=job.payload["deliverable_id"]
            )
        except NotFound:
            return None


def card(sender: Sender, job: jobs.ClaimedJob) -> Message | None:
    """The card: posted the first time, then edited in place (posted anew if the message was
    deleted or the bot left the channel)."""
    found = _load(sender, job)
    if found is None:
        finish(sender, job, JobStatus.CANCELLED, error="deliverable gone")
        return None
    deliverable, engagement = found.deliverable, found.engagement
    acceptors = deliverable.acceptors or ()
    payload = deliverable_card(deliverable, engagement, acceptors)
    describe = f"card of deliverable {deliverable.id} ({deliverable.status})"
    set_card = partial(deliverables.set_card, deliverable_id=deliverable.id)
    return cards.card_message(deliverable, engagement.channel_id, payload, describe, set_card)


def line(sender: Sender, job: jobs.ClaimedJob) -> Message | None:
    """Who changed what, when: a reply in the card's thread (in the channel when the card could
    not be posted)."""
    found = _load(sender, job)
    event = cards.line_event(found.events, job) if found else None
    if found is None or event is None:
        finish(sender, job, JobStatus.CANCELLED, error="deliverable or event gone")
        return None
    deliverable, engagement = found.deliverable, found.engagement
    return cards.thread_message(
        deliverable,
        engagement.channel_id,
        thread_line(event, engagement.timezone),
        f"thread line of deliverable {deliverable.id}: {event.action}",
    )
