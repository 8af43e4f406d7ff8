"""Exactly once against Slack as its reference describes it: a message whose outcome is unknown
(the connection dropped after Slack took it) is looked for before it is sent again, in the right
place and within the right time.

- A thread reply is not in `conversations.history` (Slack returns top-level messages only): it
  is looked for in its thread with `conversations.replies`.
- An app distributed outside the Marketplace reads 15 messages a page, one request a minute: the
  lookup reads only the messages since the job was planned, and a rate limit is handed back (the
  job waits its Retry-After) rather than slept through.
- Where a bot may not read a channel's threads (the reference's reading of conversations.replies),
  the lookup is refused for good, and the line is sent again: a duplicate line, never a lost one.
"""

from __future__ import annotations

from datetime import timedelta

from conftest import ACME, STAKEHOLDER, VENDOR, Cadence
from engine_flows import jobs_of, tick
from test_concerns import RAISED_AT, raise_by_command, set_up, the_concern

from bot.platform import clock
from storage import jobs
from storage.models import Concern


def raise_one(cadence: Cadence) -> None:
    with clock.fixed_at(RAISED_AT):
        raise_by_command(
            cadence,
            "concern acme-payments Backups untested",
            {"severity": "low", "category": "quality"},
            user=STAKEHOLDER,
        )


def copies(cadence: Cadence, key: str) -> list[dict]:
    return [
        m
        for m in cadence.fake.messages()
        if ((m.get("metadata") or {}).get("event_payload") or {}).get("job") == key
    ]


def lost(cadence: Cadence, kind: str) -> jobs.ClaimedJob:
    """The job of `kind` whose answer Slack never gave: pending, its outcome unknown."""
    return cadence.wait_until(
        lambda: next(
            (
                j
                for j in jobs_of(cadence, kind)
                if j.status == "pending" and (j.error or "").startswith(jobs.OUTCOME_UNKNOWN)
            ),
            None,
        ),
        what=f"the {kind} job to be left with its outcome unknown",
    )


def acknowledge(cadence: Cadence, concern: Concern) -> None:
    card = cadence.fake.message(concern.channel_id, concern.message_ts)
    with clock.fixed_at(RAISED_AT + timedelta(hours=1)):
        cadence.sim.click(card, "concern:acknowledge", user=VENDOR, channel=ACME)


def test_a_thread_reply_whose_answer_was_lost_is_found_in_its_thread(cadence, monkeypatch):
    set_up(cadence)
    raise_one(cadence)
    concern = cadence.wait_until(
        lambda: (c := the_concern(cadence)) and c.message_ts and c, what="the card"
    )
    cadence.fake.drop(
        "chat.postMessage", reaches_slack=True, when={"thread_ts": concern.message_ts}
    )
    acknowledge(cadence, concern)
    line = lost(cadence, "concern_line")
    assert len(copies(cadence, line.key)) == 1  # Slack has it; Cadence does not know

    tick(cadence, monkeypatch, RAISED_AT + timedelta(hours=2))
    assert len(copies(cadence, line.key)) == 1, "posted twice"
    (line,) = [j for j in jobs_of(cadence, "concern_line") if j.key == line.key]
    assert (line.status, line.result_ts) == ("sent", copies(cadence, line.key)[0]["ts"])
    looked = cadence.fake.calls_to("conversations.replies")
    assert looked and looked[-1].args["ts"] == concern.message_ts
    assert not cadence.fake.calls_to("conversations.history")


def test_outside_the_marketplace_one_page_of_15_finds_it_since_the_job_was_planned(
    cadence, monkeypatch
):
    """A non-Marketplace app reads 15 messages a page: the lookup asks only for messages since
    the job was planned, and finds the lost card among the newest 15 with one request."""
    set_up(cadence)
    cadence.fake.marketplace_app = False
    cadence.fake.drop("chat.postMessage", reaches_slack=True, when={"channel": ACME})
    raise_one(cadence)
    card = lost(cadence, "concern_card")
    with clock.fixed_at(RAISED_AT + timedelta(minutes=20)):
        for n in range(10):  # the channel goes on after the lost post
            cadence.fake.say(ACME, STAKEHOLDER, f"message {n}")

    tick(cadence, monkeypatch, RAISED_AT + timedelta(hours=1))
    assert len(copies(cadence, card.key)) == 1, "posted twice"
    (card,) = [j for j in jobs_of(cadence, "concern_card") if j.key == card.key]
    assert card.status == "sent"
    (looked,) = cadence.fake.calls_to("conversations.history")  # one request, one page
    assert len(looked.response["messages"]) <= 15
    planned = float(looked.args["oldest"])
    assert planned <= float(copies(cadence, card.key)[0]["ts"])
    assert planned >= (RAISED_AT - timedelta(minutes=10)).timestamp()  # not the whole history


def test_a_rate_limited_lookup_waits_for_slacks_retry_after(cadence, monkeypatch):
    """Tier 1: a second lookup within the minute gets 429; the job is planned again after its
    Retry-After instead of holding the pass (nothing is sent meanwhile)."""
    set_up(cadence)
    cadence.fake.marketplace_app = False
    cadence.fake.drop("chat.postMessage", reaches_slack=True, when={"channel": ACME})
    raise_one(cadence)
    card = lost(cadence, "concern_card")
    cadence.fake.rate_limit("conversations.history", retry_after=45)
    tick(cadence, monkeypatch, RAISED_AT + timedelta(hours=1))
    (card,) = [j for j in jobs_of(cadence, "concern_card") if j.key == card.key]
    assert card.status == "pending" and "ratelimited" in (card.error or ""), card.error
    assert card.due_at >= RAISED_AT + timedelta(hours=1, seconds=45)
    assert len(copies(cadence, card.key)) == 1
    tick(cadence, monkeypatch, RAISED_AT + timedelta(hours=2))
    (card,) = [j for j in jobs_of(cadence, "concern_card") if j.key == card.key]
    assert card.status == "sent" and len(copies(cadence, card.key)) == 1


def test_where_a_bot_may_not_read_a_channels_threads_the_line_is_sent_again(cadence, monkeypatch):
    set_up(cadence)
    cadence.fake.bot_reads_channel_threads = False
    raise_one(cadence)
    concern = cadence.wait_until(
        lambda: (c := the_concern(cadence)) and c.message_ts and c, what="the card"
    )
    cadence.fake.drop(
        "chat.postMessage", reaches_slack=True, when={"thread_ts": concern.message_ts}
    )
    acknowledge(cadence, concern)
    line = lost(cadence, "concern_line")
    tick(cadence, monkeypatch, RAISED_AT + timedelta(hours=2))
    refused = cadence.fake.calls_to("conversations.replies")
    assert refused and refused[-1].response.get("error") == "missing_scope"
    assert len(copies(cadence, line.key)) == 2  # the lesser harm: twice, not never
