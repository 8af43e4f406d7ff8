"""A backlog of unknown outcomes settling: the scenario `tests/test_lookups.py` runs short and
`bench/faults.py --only settling,settling-outside` runs at full size, in either of Slack's regimes.

The network is cut during a Monday pass: every `chat.postMessage` loses its answer, half of them
after Slack took the message. The prompts are DMs (one conversation each), the concern cards
share the engagement's channel. Ticks follow every simulated minute until no job is left with an
unknown outcome; the stand-in's rate tiers run on the same simulated clock, so a minute of Tier 1
is a simulated minute. What counts: every message once (none lost, none twice), and no 429 loop:
after a 429 the pass asks that method no more (at most one 429 per method and minute).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from conftest import STAKEHOLDER, Cadence
from engine_flows import jobs_of, messages_per_job, schedule
from flows import create_engagement
from test_concerns import raise_by_command
from test_faults import MONDAY, SET_UP, set_up_weekly_checkins, vendors

from bot.platform import clock
from storage import jobs

READS = ("conversations.history", "conversations.replies")
MOST_PER_ENGAGEMENT = 50  # vendor contacts an engagement may have


@dataclass
class Settled:
    regime: str
    unknown: int  # jobs left with an unknown outcome by the cut
    in_slack: int  # of which Slack had taken
    minutes: int  # simulated minutes from the cut until none was left unknown
    reads: int  # history and replies requests
    refused: int  # of which answered 429
    most_refused: int  # the most 429s one method was answered in one simulated minute
    duplicates: int
    lost: int
    lost_jobs: list[str]  # each lost job: its key, status and last error
    doubled_jobs: list[str]  # each duplicated job: its key and its copies' ts

    def line(self) -> str:
        return (
            f"{self.regime}: {self.unknown} unknown outcomes ({self.in_slack} in Slack) settled in "
            f"{self.minutes} simulated min; {self.reads} reads, {self.refused} answered 429, "
            f"at most {self.most_refused} a minute per method; {self.duplicates} duplicated, "
            f"{self.lost} lost"
        )


def cut_and_settle(
    cadence: Cadence,
    tick: Callable[[datetime], object],
    *,
    people: int,
    concerns: int,
    marketplace: bool,
) -> Settled:
    """`people` vendor contacts prompted in DMs (at most 50 an engagement: beyond the first
    engagement's, more engagements in channels of their own), `concerns` cards in one channel."""
    fake = cadence.fake
    first = min(people, MOST_PER_ENGAGEMENT)
    set_up_weekly_checkins(cadence, people=first)
    more = vendors(people)[first:]
    for n in range(0, len(more), MOST_PER_ENGAGEMENT):
        _another_engagement(cadence, n // MOST_PER_ENGAGEMENT, more[n : n + MOST_PER_ENGAGEMENT])
    with clock.fixed_at(SET_UP):
        # What setting up sent at once (the creator's DM waiting out a channel's 429 in the SDK)
        # is done before the clock jumps: no real call spans days.
        cadence.settle()
    cut = MONDAY + timedelta(hours=2)  # the prompts' moment: 09:00 in Berlin
    now = {"at": cut - timedelta(hours=1)}
    fake.clock = lambda: now["at"].timestamp()  # Tier 1's minute is a simulated minute
    fake.marketplace_app = marketplace
    # From here every post loses its answer, at random before or after Slack took it.
    fake.chaos(1.0, methods=["chat.postMessage"], kinds=("drop", "drop_after"), seed=people)
    with clock.fixed_at(cut - timedelta(hours=1)):
        for n in range(concerns):  # their cards go to the channel as each is raised
            raise_by_command(
                cadence,
                f"concern acme-payments Backups untested on site {n + 1}",
                {"severity": "low", "category": "quality"},
                user=STAKEHOLDER,
            )
    cadence.wait_until(
        lambda: len([j for j in jobs_of(cadence, "concern_card") if j.error]) == concerns,
        what="the concern cards' posts to be lost",
    )
    with clock.fixed_at(cut - timedelta(hours=1)):
        cadence.settle()
    unknown = {j.key: j for j in _unknown(cadence)}
    now["at"] = cut
    tick(cut)
    fake.calm()  # the network is back
    unknown |= {j.key: j for j in _unknown(cadence)}
    in_slack = sum(1 for key in unknown if messages_per_job(cadence.fake).get(key))
    minutes, refused_by_minute = 0, Counter()
    while _unknown(cadence):
        minutes += 1
        now["at"] = cut + timedelta(minutes=minutes)
        heard = len(fake.calls)
        tick(now["at"])
        for call in fake.calls[heard:]:
            if call.method in READS and call.status == 429:
                refused_by_minute[(minutes, call.method)] += 1
        assert minutes < 6 * 60, f"6 hours passed and {len(_unknown(cadence))} are still unknown"
    settled_in = minutes
    # What else the cut left waiting (a send retried after a 429 or a refused connection) goes
    # out too before anything is counted lost.
    while _expected_pending(cadence, unknown) and minutes < settled_in + 180:
        minutes += 1
        now["at"] = cut + timedelta(minutes=minutes)
        tick(now["at"])
    reads = [c for c in fake.calls if c.method in READS]
    copies = messages_per_job(cadence.fake)
    expected = set(unknown)
    finished = {j.key for j in jobs_of(cadence) if j.status == "sent"}
    return Settled(
        regime="Marketplace or internal app" if marketplace else "outside the Marketplace",
        unknown=len(unknown),
        in_slack=in_slack,
        minutes=settled_in,
        reads=len(reads),
        refused=sum(1 for c in reads if c.status == 429),
        most_refused=max(refused_by_minute.values(), default=0),
        duplicates=sum(1 for key in expected if copies.get(key, 0) > 1),
        lost=len(lost := {key for key in expected if not copies.get(key) or key not in finished}),
        lost_jobs=[f"{j.key} {j.status} {j.error}" for j in jobs_of(cadence) if j.key in lost],
        doubled_jobs=[
            f"{j.key} {j.status} planned {j.created_at} ts {_stamps(cadence, j.key)}"
            for j in jobs_of(cadence)
            if j.key in expected and copies.get(j.key, 0) > 1
        ],
    )


def _another_engagement(cadence: Cadence, n: int, people: list[str]) -> None:
    channel, name = f"C0MORE{n:03d}", f"Backlog {n + 1}"
    cadence.fake.add_channel(channel, name=f"backlog-{n + 1}")
    for user in people:
        cadence.fake.add_user(user, name=user.lower(), tz="Asia/Kolkata")
    with clock.fixed_at(SET_UP):
        create_engagement(cadence, name=name, channel=channel, vendor_contacts=people)
    schedule(cadence, SET_UP, handle=f"backlog-{n + 1}")


def _expected_pending(cadence: Cadence, expected: dict) -> list:
    return [j for j in jobs_of(cadence) if j.key in expected and j.status in ("pending", "claimed")]


def _unknown(cadence: Cadence) -> list:
    """Jobs still to run whose last attempt's outcome is unknown."""
    return [
        j
        for j in jobs_of(cadence)
        if j.status in ("pending", "claimed") and (j.error or "").startswith(jobs.OUTCOME_UNKNOWN)
    ]


def _stamps(cadence: Cadence, key: str) -> list[str]:
    return [
        m["ts"]
        for m in cadence.fake.messages()
        if ((m.get("metadata") or {}).get("event_payload") or {}).get("job") == key
    ]
