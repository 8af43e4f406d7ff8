"""Job kinds of an assurance item's messages: its card in the engagement channel (posted, then
edited in place), a line in the card's thread for each change, and the DM asking its owner to
provide it (with a Provide button).

Each builds from the item as it is when the job runs, so a card edited twice in a row shows the
latest state, and a request for evidence provided since is not sent.
"""

from __future__ import annotations

from functools import partial

from bot.blocks.assurance import item_card, request_dm, thread_line
from bot.domain.assurance import register
from bot.domain.errors import NotFound
from bot.engine import cards
from bot.engine.delivery import Message, Sender, finish
from storage import jobs
from storage.assurance_statuses import OWED
from storage.jobs import JobStatus


def _load(sender: Sender, job: jobs.ClaimedJob) -> register.ItemDetails | None:
    with sender.db.read_session() as session:
        try:
            return register.get(
                session=session, team_id=job.team_id, item_id=job.payload["item_id"]
            )
        except NotFound:
            return None


def card(sender: Sender, job: jobs.ClaimedJob) -> Message | None:
    """The card: posted the first time, then edited in place."""
    found = _load(sender, job)
    if found is None:
        finish(sender, job, JobStatus.CANCELLED, error="evidence item gone")
        return None
    item, engagement = found.item, found.engagement
    payload = item_card(item, engagement, found.kind, register.reviewers_of(item, found.details))
    describe = f"card of evidence item {item.id} ({item.status})"
    set_card = partial(register.set_card, item_id=item.id)
    return cards.card_message(item, engagement.channel_id, payload, describe, set_card)


def line(sender: Sender, job: jobs.ClaimedJob) -> Message | None:
    """Who changed what, when: a reply in the card's thread."""
    found = _load(sender, job)
    event = cards.line_event(found.events, job) if found else None
    if found is None or event is None:
        finish(sender, job, JobStatus.CANCELLED, error="evidence item or event gone")
        return None
    item, engagement = found.item, found.engagement
    return cards.thread_message(
        item,
        engagement.channel_id,
        thread_line(event, engagement.timezone),
        f"thread line of evidence item {item.id}: {event.action}",
    )


def request(sender: Sender, job: jobs.ClaimedJob) -> Message | None:
    """The DM to the owner, unless it was provided (or waived, or handed over) since."""
    found = _load(sender, job)
    if found is None or job.user_id is None:
        finish(sender, job, JobStatus.CANCELLED, error="evidence item gone")
        return None
    item = found.item
    if item.status not in OWED or item.owner_user_id != job.user_id:
        finish(sender, job, JobStatus.CANCELLED, error="moot: no longer owed by them")
        return None
    return Message(
        job.user_id,
        request_dm(item, found.engagement),
        f"request of evidence item {item.id} to {job.user_id}",
    )
