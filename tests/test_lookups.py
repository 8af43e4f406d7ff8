"""Exactly once against Slack as its reference describes it: a message whose outcome is unknown
(the connection dropped after Slack took it) is looked for before it is sent again, in the right
place and within the right time.

- A thread reply is not in `conversations.history` (Slack returns top-level messages only): it
  is looked for in its thread with `conversations.replies`.
- An app distributed outside the Marketplace reads 15 messages a page, one request a minute: the
  lookup reads only the messages between the job's planning and a pass's span after its lost
  attempt, so one page finds it in a busy channel; one read serves every lost message of the
  conversation; a rate limit is handed back (the job waits its Retry-After) rather than slept
  through, and the pass's other lookups in that workspace wait too.
- Where a bot may not read a channel's threads (the reference's reading of conversations.replies),
  the lookup is refused for good, and the line is sent again: a duplicate line, never a lost one.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from conftest import ACME, STAKEHOLDER, VENDOR, Cadence
from engine_flows import jobs_of, tick
from flows import create_engagement
from lookup_backlog import cut_and_settle
from test_concerns import RAISED_AT, raise_by_command, set_up, the_concern

from bot.platform import clock
from storage import jobs
from storage.models import Concern

OTHER = "C0OTHER"  # a second engagement's channel


def raise_one(cadence: Cadence, title: str = "Backups untested", *, settle: bool = True) -> None:
    """A concern raised at RAISED_AT, its card sent at once (`settle`: before the clock moves)."""
    with clock.fixed_at(RAISED_AT):
        raise_by_command(
            cadence,
            f"concern acme-payments {title}",
            {"severity": "low", "category": "quality"},
            user=STAKEHOLDER,
        )
        if settle:
            cadence.settle()


def lost_cards(cadence: Cadence, count: int) -> list[jobs.ClaimedJob]:
    """`count` concerns raised whose cards Slack took without the answer reaching Cadence."""
    cadence.fake.drop("chat.postMessage", reaches_slack=True, when={"channel": ACME}, times=count)
    for n in range(count):
        raise_one(cadence, f"Backups untested on site {n + 1}")
    return cadence.wait_until(
        lambda: found if len(found := lost_cards_now(cadence)) == count else None,
        what=f"{count} cards left with their outcome unknown",
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


def test_outside_the_marketplace_a_busy_channel_is_read_only_up_to_the_lost_attempt(
    cadence, monkeypatch
):
    """Forty messages (nearly three pages of 15) after the lost post: the lookup's upper bound
    (a pass's span after the attempt) leaves them out, so one request of one page finds it."""
    set_up(cadence)
    cadence.fake.marketplace_app = False
    (card,) = lost_cards(cadence, 1)
    with clock.fixed_at(RAISED_AT + timedelta(minutes=50)):
        for n in range(40):
            cadence.fake.say(ACME, STAKEHOLDER, f"message {n}")

    tick(cadence, monkeypatch, RAISED_AT + timedelta(hours=1))
    assert len(copies(cadence, card.key)) == 1, "posted twice"
    (card,) = [j for j in jobs_of(cadence, "concern_card") if j.key == card.key]
    assert card.status == "sent"
    (looked,) = cadence.fake.calls_to("conversations.history")  # one request, one page
    sent_at = float(copies(cadence, card.key)[0]["ts"])
    assert float(looked.args["oldest"]) <= sent_at <= float(looked.args["latest"])
    assert float(looked.args["latest"]) < (RAISED_AT + timedelta(minutes=50)).timestamp()


def card_behind_a_busy_outbox(cadence: Cadence, *, seconds: float, lose_it: bool = False) -> None:
    """A card raised at RAISED_AT whose send waits for a thread: both outbox threads are busy
    with another engagement's cards, each post answered `seconds` late (left so: the caller
    ends the delay). `lose_it`: Slack takes the card and its answer is lost."""
    set_up(cadence)
    cadence.fake.add_channel(OTHER, name="other")
    with clock.fixed_at(RAISED_AT - timedelta(hours=1)):
        create_engagement(cadence, name="Other Payments", channel=OTHER, vendor_contacts=[VENDOR])
        cadence.settle()
    cadence.fake.delay("chat.postMessage", seconds)
    with clock.fixed_at(RAISED_AT):
        for n in (1, 2):  # both outbox threads busy with another channel's card
            raise_by_command(
                cadence,
                f"concern other-payments Laptops unencrypted {n}",
                {"severity": "low", "category": "security"},
                user=STAKEHOLDER,
            )
        cadence.wait_until(
            lambda: len(cadence.fake.calls_to("chat.postMessage")) >= 2, what="both busy"
        )
        if lose_it:
            cadence.fake.drop("chat.postMessage", reaches_slack=True, when={"channel": ACME})
        raise_one(cadence, settle=False)  # its card waits for a thread


@pytest.mark.slow  # Slack answers each post 3 s late
def test_a_post_sent_long_after_its_request_is_looked_for_where_it_landed(cadence, monkeypatch):
    """The outbox sends a request's jobs off the request thread, with the request's moment as
    its `now`, and its two threads may be busy: here with two other engagements' cards, each
    call answered 3 s late, while the simulated clock moves two hours on. The card's call
    begins then, Slack takes it and the answer is lost. The unknown outcome is dated when the
    call began, not at the request's moment, so the lookup's window (up to a pass's span after
    that date) reaches the copy Slack took, and the card is not posted twice."""
    card_behind_a_busy_outbox(cadence, seconds=3, lose_it=True)
    later = RAISED_AT + timedelta(hours=2)
    with clock.fixed_at(later):
        card = lost(cadence, "concern_card")
        (copy,) = copies(cadence, card.key)
        cadence.settle()
    cadence.fake.delay("chat.postMessage", 0)
    assert float(copy["ts"]) >= later.timestamp()

    tick(cadence, monkeypatch, later + timedelta(hours=1))
    assert len(copies(cadence, card.key)) == 1, "posted twice"
    (card,) = [j for j in jobs_of(cadence, "concern_card") if j.key == card.key]
    assert (card.status, card.result_ts) == ("sent", copy["ts"])


@pytest.mark.slow  # Slack answers each post 4 s late
def test_a_pass_leaves_alone_a_card_the_outbox_claimed_late_and_is_sending(cadence, monkeypatch):
    """The outbox's `now` is the request's moment; a busy outbox claims the card ten minutes on.
    Its lease runs from that claim, so a pass a minute later, while the card's call is still on
    the wire, leaves it alone (a lease dated from the request would look expired, and the pass
    would send it too)."""
    card_behind_a_busy_outbox(cadence, seconds=4)
    with clock.fixed_at(RAISED_AT + timedelta(minutes=10)):
        card = cadence.wait_until(
            lambda: next(
                (j for j in jobs_of(cadence, "concern_card")
                 if j.status == "claimed" and _on(j, ACME)),
                None,
            ),
            what="the card claimed by the outbox",
        )  # fmt: skip
    # Its call still on the wire: the pass must meet it, not wait for it.
    tick(cadence, monkeypatch, RAISED_AT + timedelta(minutes=11), settle=False)
    with clock.fixed_at(RAISED_AT + timedelta(minutes=11)):
        cadence.settle()
    cadence.fake.delay("chat.postMessage", 0)
    (now,) = [j for j in jobs_of(cadence, "concern_card") if j.key == card.key]
    assert now.status == "sent"
    assert len(copies(cadence, card.key)) == 1, "posted twice"


def _on(job: jobs.ClaimedJob, channel: str) -> bool:
    return (job.payload or {}).get("channel") == channel


def test_outside_the_marketplace_a_read_of_several_pages_goes_on_where_it_stopped(
    cadence, monkeypatch
):
    """Forty messages within minutes of the lost post, inside the lookup's window: newest first,
    the card is on the third page of 15, and at Tier 1 each page is a minute. Each pass reads
    what the minute allows and the next goes on from there, rather than starting again from
    the newest page every minute (which would never reach the card)."""
    set_up(cadence)
    cadence.fake.marketplace_app = False
    (card,) = lost_cards(cadence, 1)
    with clock.fixed_at(RAISED_AT + timedelta(minutes=10)):
        for n in range(40):
            cadence.fake.say(ACME, STAKEHOLDER, f"message {n}")

    at = {"now": RAISED_AT}
    cadence.fake.clock = lambda: at["now"].timestamp()  # Tier 1's minute is a simulated minute
    for minute in range(8):
        at["now"] = RAISED_AT + timedelta(hours=1, minutes=minute)
        tick(cadence, monkeypatch, at["now"])
        (now,) = [j for j in jobs_of(cadence, "concern_card") if j.key == card.key]
        if now.status == "sent":
            break
    assert len(copies(cadence, card.key)) == 1, "posted twice"
    assert (now.status, now.result_ts) == ("sent", copies(cadence, card.key)[0]["ts"])
    pages = [c for c in cadence.fake.calls_to("conversations.history") if c.status == 200]
    assert len(pages) == 3, [c.args.get("cursor") for c in pages]  # each page read once


def test_a_read_stopped_part_way_settles_what_it_found_and_keeps_its_place(cadence, monkeypatch):
    """Two cards lost in one channel, twenty messages apart. Outside the Marketplace the
    pass's one read gets the newest page (the later card and fourteen messages) before Tier 1
    says wait: the later card is settled from that page, and the earlier one goes on below it
    in the next minute's pass, each posted once."""
    set_up(cadence)
    cadence.fake.marketplace_app = False
    (first,) = lost_cards(cadence, 1)
    with clock.fixed_at(RAISED_AT + timedelta(minutes=5)):
        for n in range(20):
            cadence.fake.say(ACME, STAKEHOLDER, f"message {n}")
    cadence.fake.drop("chat.postMessage", reaches_slack=True, when={"channel": ACME})
    with clock.fixed_at(RAISED_AT + timedelta(minutes=10)):
        raise_by_command(
            cadence,
            "concern acme-payments Firewall rules unreviewed",
            {"severity": "low", "category": "security"},
            user=STAKEHOLDER,
        )
        cadence.settle()
    (second,) = [j for j in lost_cards_now(cadence) if j.key != first.key]
    at = {"now": RAISED_AT}
    cadence.fake.clock = lambda: at["now"].timestamp()  # Tier 1's minute is a simulated minute

    at["now"] = RAISED_AT + timedelta(hours=1)
    tick(cadence, monkeypatch, at["now"])
    now = {j.key: j for j in jobs_of(cadence, "concern_card")}
    assert now[second.key].status == "sent", now[second.key].error
    assert now[first.key].status == "pending" and now[first.key].lookup_below is not None
    at["now"] += timedelta(minutes=1)
    tick(cadence, monkeypatch, at["now"])
    now = {j.key: j for j in jobs_of(cadence, "concern_card")}
    for card in (first, second):
        assert len(copies(cadence, card.key)) == 1, f"{card.key} posted twice"
        assert (now[card.key].status, now[card.key].result_ts) == (
            "sent",
            copies(cadence, card.key)[0]["ts"],
        )


def lost_cards_now(cadence: Cadence) -> list[jobs.ClaimedJob]:
    return [
        j
        for j in jobs_of(cadence, "concern_card")
        if j.status == "pending" and (j.error or "").startswith(jobs.OUTCOME_UNKNOWN)
    ]


def test_one_read_serves_every_lost_message_of_a_conversation(cadence, monkeypatch):
    """Three cards lost in one channel: at Tier 1 a read is a minute, so the pass reads the
    channel once for all three, and sends none of them again."""
    set_up(cadence)
    cadence.fake.marketplace_app = False
    cards = lost_cards(cadence, 3)
    assert all(len(copies(cadence, card.key)) == 1 for card in cards)

    tick(cadence, monkeypatch, RAISED_AT + timedelta(hours=1))
    assert len(cadence.fake.calls_to("conversations.history")) == 1
    assert not [c for c in cadence.fake.calls if c.status == 429]
    for card in cards:
        assert len(copies(cadence, card.key)) == 1, f"{card.key} posted twice"
        (now,) = [j for j in jobs_of(cadence, "concern_card") if j.key == card.key]
        assert (now.status, now.result_ts) == ("sent", copies(cadence, card.key)[0]["ts"])


def test_a_rate_limit_holds_the_workspaces_other_lookups_of_the_pass(cadence, monkeypatch):
    """Slack said wait 45 s to the first lookup: the second lost card of the workspace is not
    looked for in the same pass (asking again within the Retry-After is what Slack's rate limit
    page asks apps not to do), and both are found after the wait."""
    set_up(cadence)
    first, second = lost_cards(cadence, 2)
    cadence.fake.rate_limit("conversations.history", retry_after=45)
    tick(cadence, monkeypatch, RAISED_AT + timedelta(hours=1))
    assert len(cadence.fake.calls_to("conversations.history")) == 1  # the 429, and no more
    for card in (first, second):
        (now,) = [j for j in jobs_of(cadence, "concern_card") if j.key == card.key]
        assert now.status == "pending" and now.due_at >= RAISED_AT + timedelta(hours=1, seconds=45)
    tick(cadence, monkeypatch, RAISED_AT + timedelta(hours=2))
    for card in (first, second):
        (now,) = [j for j in jobs_of(cadence, "concern_card") if j.key == card.key]
        assert now.status == "sent" and len(copies(cadence, card.key)) == 1


@pytest.mark.slow  # a 429's Retry-After waited out
def test_a_short_retry_after_is_waited_out_within_the_pass(cadence, monkeypatch):
    """A 429 of one second (a Tier 3 minute's edge) is waited out, as a send's is: both lost
    cards are found in the same pass instead of being put off to the next."""
    set_up(cadence)
    first, second = lost_cards(cadence, 2)
    cadence.fake.rate_limit("conversations.history", retry_after=1)
    tick(cadence, monkeypatch, RAISED_AT + timedelta(hours=1))
    assert [c.status for c in cadence.fake.calls_to("conversations.history")][:1] == [429]
    for card in (first, second):
        (now,) = [j for j in jobs_of(cadence, "concern_card") if j.key == card.key]
        assert now.status == "sent" and len(copies(cadence, card.key)) == 1


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


@pytest.mark.slow  # a simulated day of one-minute ticks
@pytest.mark.parametrize("marketplace", [True, False], ids=["marketplace", "outside"])
def test_a_backlog_of_unknown_outcomes_settles_once_each_in_either_regime(
    cadence, monkeypatch, marketplace
):
    """The network cut during a Monday pass and while concerns were raised: every prompt (a DM
    each) and card (one channel) lost its answer, half after Slack took it. Ticking every
    minute, each is found or sent again exactly once; outside the Marketplace it takes about
    a minute per conversation (Tier 1), and no 429 is met twice in a minute by one method."""
    settled = cut_and_settle(
        cadence, lambda at: tick(cadence, monkeypatch, at), people=8, concerns=3,
        marketplace=marketplace,
    )  # fmt: skip
    print("\n" + settled.line())
    assert settled.unknown >= 8 + 3 and 0 < settled.in_slack < settled.unknown
    assert (settled.duplicates, settled.lost) == (0, 0), settled.line()
    assert settled.most_refused <= 1, settled.line()
    conversations = 8 + 1  # each person's DM, and the channel
    if marketplace:
        assert settled.minutes <= 3 and settled.refused == 0, settled.line()
    else:  # one read a minute per workspace
        assert settled.minutes >= conversations - 1, settled.line()
