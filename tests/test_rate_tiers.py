"""Slack's rate tiers (issue 20, items 1 and 3): the stand-in limits each method per workspace
as Slack's rate-limit page says, and Cadence meets those limits rather than fighting them.

- The stand-in: a Tier 4 method takes 100 calls in any minute per workspace, the 101st gets 429
  with Retry-After; another workspace and another method are not held back; chat.postMessage
  takes a short burst per channel, then about one a second; off unless asked (`rate_tiers`).
- Cadence: a 429 with a long Retry-After is handed back at once (no thread sleeps on it) and
  holds back that workspace and method only; a busy Monday across two workspaces publishes
  every Home within views.publish's tier (the rest put off, never refused), sends every
  prompt once, and the quiet workspace is not slowed by the busy one; where Slack grants less,
  each 429 is waited out and nothing is lost or doubled; zones are learnt at users.info's tier.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, timedelta

import pytest
from conftest import LEAD, TEAM
from engine_flows import jobs_of, utc
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from test_workspaces import (
    B_LEAD,
    BRAVO,
    CREATED,
    create_engagement_in,
    install,
    oauth_tick,
    schedule_in,
    serving_workspaces,
)

from bot.demo.fake_slack import FakeSlack
from bot.demo.fake_slack.tiers import PER_MINUTE, POST_BURST
from bot.domain import home
from bot.engine.lookups import JOB_EVENT
from bot.platform import clock as app_clock
from bot.platform.config import DEFAULT_SEND_CONCURRENCY
from bot.platform.rate_limits import RateBudgets, WorkspaceRateLimits
from storage.db import Database

OTHER = "T0GLOBEX"


class Clock:
    """The stand-in's monotonic clock, moved by the test."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fake(clock: Clock) -> Iterator[FakeSlack]:
    with FakeSlack(team_id="T0CADENCE", clock=clock) as fake:
        fake.add_user("U0ANNA", name="anna")
        fake.add_channel("C0ONE", name="one", bot_is_member=True)
        fake.add_channel("C0TWO", name="two", bot_is_member=True)
        fake.add_team(OTHER, name="Globex")
        fake.add_user("U0GLOB", name="glob", team_id=OTHER)
        yield fake


def client(fake: FakeSlack, token: str = "xoxb-test") -> WebClient:
    """A client that does not retry: every 429 is seen."""
    return WebClient(token=token, base_url=fake.base_url, retry_handlers=[])


def other_workspace(fake: FakeSlack) -> WebClient:
    code = fake.authorize(OTHER, installer="U0GLOB")
    token = WebClient(base_url=fake.base_url).oauth_v2_access(
        client_id="1.2", client_secret="s", code=code
    )["access_token"]
    return client(fake, token)


def refused(call) -> int:
    """The Retry-After of a call Slack answers 429."""
    with pytest.raises(SlackApiError) as refusal:
        call()
    assert refusal.value.response.status_code == 429
    assert refusal.value.response["error"] == "ratelimited"
    return int(refusal.value.response.headers["Retry-After"])


def test_a_tier_4_method_takes_100_calls_a_minute_per_workspace(fake: FakeSlack, clock: Clock):
    fake.rate_tiers = True
    acme, globex = client(fake), other_workspace(fake)
    for _ in range(PER_MINUTE[4]):
        clock.now += 0.1
        assert acme.users_info(user="U0ANNA")["ok"]
    wait = refused(lambda: acme.users_info(user="U0ANNA"))
    assert wait == 51  # the first call, 9.9 s ago, leaves the window in 50.1 s: 51 whole seconds
    # Per workspace and per method: Globex and another method of Acme are not held back.
    assert globex.users_info(user="U0GLOB")["ok"]
    assert acme.chat_getPermalink(channel="C0ONE", message_ts=post(acme))["ok"]
    # Once the oldest call has left the sliding minute, one more is taken.
    clock.now += wait
    assert acme.users_info(user="U0ANNA")["ok"]
    assert [r[:3] for r in fake.rate_limited_calls()] == [("T0CADENCE", "users.info", 51)]


def post(acme: WebClient, channel: str = "C0ONE") -> str:
    return acme.chat_postMessage(channel=channel, text="hi")["ts"]


def test_chat_post_message_takes_a_short_burst_per_channel_then_one_a_second(
    fake: FakeSlack, clock: Clock
):
    fake.rate_tiers = True
    acme = client(fake)
    for _ in range(POST_BURST):
        post(acme)
    assert refused(lambda: post(acme)) >= 1
    post(acme, "C0TWO")  # another channel is its own
    clock.now += 1.0
    post(acme)  # one more a second
    assert refused(lambda: post(acme)) == 1


def test_tiers_are_off_unless_a_test_asks(fake: FakeSlack):
    acme = client(fake)
    for _ in range(PER_MINUTE[4] + 20):
        acme.users_info(user="U0ANNA")
    assert fake.rate_limited_calls() == []


def test_outside_the_marketplace_history_is_one_request_a_minute_whatever_the_switch(
    fake: FakeSlack, clock: Clock
):
    fake.marketplace_app = False
    acme, globex = client(fake), other_workspace(fake)
    acme.conversations_history(channel="C0ONE")
    assert 1 <= refused(lambda: acme.conversations_history(channel="C0ONE")) <= 60
    fake.rate_tiers = True  # Tier 3 would allow 50: the regime still allows one
    clock.now += 30
    assert 30 <= refused(lambda: acme.conversations_history(channel="C0TWO")) <= 31
    clock.now += 31
    assert acme.conversations_history(channel="C0ONE")["ok"]
    globex_dm = globex.conversations_open(users="U0GLOB")["channel"]["id"]
    assert globex.conversations_history(channel=globex_dm)["ok"]


# --- Cadence meeting them -------------------------------------------------------------------------


@pytest.mark.slow  # 429s waited out
def test_a_long_retry_after_is_handed_back_at_once_and_holds_that_workspace_only(fake: FakeSlack):
    """slack_sdk's own handler would sleep 30 s on a pass's thread; Cadence's records the wait
    for the workspace and method and hands the 429 back (the job is planned again after it)."""
    budgets = RateBudgets()
    acme = WebClient(
        token="xoxb-test",
        base_url=fake.base_url,
        retry_handlers=[WorkspaceRateLimits(budgets, "T0CADENCE")],
    )
    fake.rate_limit("views.publish", retry_after=30)
    started = time.monotonic()
    with pytest.raises(SlackApiError) as refusal:
        acme.views_publish(user_id="U0ANNA", view={"type": "home", "blocks": []})
    assert refusal.value.response.status_code == 429
    assert time.monotonic() - started < 5  # not slept through
    assert 28 <= budgets.wait("T0CADENCE", "views.publish") <= 30
    assert budgets.wait("T0CADENCE", "users.info") == 0  # another method
    assert budgets.wait(OTHER, "views.publish") == 0  # another workspace
    # A short one (a channel's one a second) is waited out and the call made again.
    fake.rate_limit("chat.postMessage", retry_after=1)
    assert acme.chat_postMessage(channel="C0ONE", text="hi")["ok"]
    assert [c.status for c in fake.calls_to("chat.postMessage")] == [429, 200]


class SimulatedClock:
    """The stand-in's clock following the app's simulated moments (`tick --now`): each moment
    the app fixes, plus the real seconds since it was fixed (calls within a pass are apart)."""

    def __init__(self, fake: FakeSlack):
        self.fake = fake
        self.moment = None
        self.since = 0.0

    def __call__(self) -> float:
        moment = self.fake.wall_now()
        if moment != self.moment:
            self.moment, self.since = moment, time.monotonic()
        return moment + (time.monotonic() - self.since)


BUSY = 4  # Acme's engagements on Monday …
CONTACTS = 30  # … each with this many vendor contacts, every one of whom has opened Home
MON = utc(2026, 11, 30, 8, 0)  # Monday 09:00 in Berlin
EARLIEST = utc(2026, 11, 29, 19, 0)  # Monday 09:00 at UTC+14, where a local-time cadence starts


@pytest.mark.slow  # 429s waited out
def test_a_busy_monday_in_one_workspace_meets_the_tiers_and_slows_no_other(
    fake_slack: FakeSlack, db: Database, database_url: str, monkeypatch
):
    """120 check-ins open in Acme at 09:00 and 120 Homes want refreshing, a few in Bravo: Acme's
    views.publish stays within Tier 4 (100 a minute: the rest put off a minute, none refused),
    Bravo's Homes are published in the first pass, every prompt is sent once and every Home
    republished."""
    fake = fake_slack
    with serving_workspaces(fake, db, database_url) as d:
        everyone = busy_monday(d, db)
        monday = monday_passes(d, monkeypatch, 4)

        assert fake.rate_limited_calls() == [], fake.rate_limited_calls()[:5]
        homes = assert_each_sent_once(d, everyone, monday)
        # The Homes: one job each at the end of 09:00's window; Acme's past the first 100 of
        # the minute put off to a later pass (their due moved), Bravo's none.
        window_end = home.window_of(MON) + home.HOME_WINDOW
        moved = Counter(j.team_id for j in homes if utc_of(j.due_at) != window_end)
        assert moved == {TEAM: BUSY * CONTACTS - PER_MINUTE[4]}


@pytest.mark.slow  # 429s waited out
def test_where_slack_grants_less_each_429_is_waited_out_and_nothing_is_lost(
    fake_slack: FakeSlack, db: Database, database_url: str, monkeypatch
):
    """Slack grants Acme's views.publish 40 a minute, not the 100 this process counts on (other
    processes of Cadence spend the same minute): the 429s that follow hold back Acme's Homes
    until their Retry-After (no call to the method meanwhile beyond those already in flight),
    Bravo's go at once, and every Home and prompt is delivered, once."""
    fake = fake_slack
    fake.per_minute[4] = 40
    with serving_workspaces(fake, db, database_url) as d:
        everyone = busy_monday(d, db)
        monday = monday_passes(d, monkeypatch, 8)

        refused = fake.rate_limited_calls("views.publish")
        assert refused and {team for team, *_ in refused} == {TEAM}
        calls = [(team, at, wait) for team, m, at, wait in fake.tier_log if m == "views.publish"]
        in_flight = DEFAULT_SEND_CONCURRENCY - 1  # the pass's other threads, each mid-call
        for team, at, wait in [c for c in calls if c[2]]:
            # Calls already in flight when Slack answered may arrive after it (a busy machine
            # delays them by seconds), each refused too; none beyond those is made meanwhile.
            meanwhile = [c for c in calls if c[0] == team and at < c[1] < at + wait]
            assert len(meanwhile) <= in_flight, (at, wait, meanwhile)
            assert all(refused_wait for *_, refused_wait in meanwhile), (at, wait, meanwhile)
        assert len(refused) <= 8 * 8  # at most the pass's threads, in each pass: no loop
        homes = assert_each_sent_once(d, everyone, monday)
        window_end = home.window_of(MON) + home.HOME_WINDOW
        assert {utc_of(j.due_at) for j in homes if j.team_id == BRAVO} == {window_end}


def test_zones_are_learnt_at_users_info_tier_in_each_workspace(
    fake_slack: FakeSlack, db: Database, database_url: str, monkeypatch
):
    """Prompts at each person's own 09:00: their zones are learnt in the hour before the first
    zone's 09:00, with users.info at Tier 4 per workspace: Acme's first 100 in one pass, the
    other 20 in the next, Bravo's all at once; Slack refuses nothing, nobody is asked twice."""
    fake = fake_slack
    with serving_workspaces(fake, db, database_url) as d:
        everyone = busy_monday(d, db, options=["recipient_local_time"])
        before = len(fake.calls)
        passes = []
        for n in range(2):
            moment = EARLIEST - timedelta(minutes=50 - 2 * n)
            passes.append(monday_passes(d, monkeypatch, 1, moment))
        asked = [
            Counter(fake.team_of(c.token) for c in calls if c.method == "users.info")
            for calls in passes
        ]
        assert asked == [{TEAM: PER_MINUTE[4], BRAVO: 3}, {TEAM: BUSY * CONTACTS - PER_MINUTE[4]}]
        assert fake.rate_limited_calls() == []
        learnt = Counter(c.args["user"] for c in fake.calls[before:] if c.method == "users.info")
        assert set(learnt) == set(everyone) and set(learnt.values()) == {1}


def busy_monday(d, db: Database, **cadence: object) -> list[str]:
    """Acme: BUSY engagements of CONTACTS vendor contacts each, one of Bravo with three, all
    checking in weekly on Monday at 09:00 Berlin (`cadence`: more of the schedule form);
    everyone has opened Home. Who they are."""
    fake = d.fake
    install(d, TEAM, installer=LEAD)
    install(d, BRAVO, installer=B_LEAD)
    people: dict[str, list[str]] = {TEAM: [], BRAVO: []}
    plan = [(d.acme, TEAM, LEAD, "a", e, CONTACTS) for e in range(BUSY)]
    plan.append((d.bravo, BRAVO, B_LEAD, "b", 0, 3))
    for workspace, team, lead, prefix, e, contacts in plan:
        channel = f"C0{prefix.upper()}MON{e}"
        fake.add_channel(channel, name=f"{prefix}-monday-{e}")
        vendors = [f"U0{prefix.upper()}{e}V{i:02d}" for i in range(contacts)]
        for user in vendors:
            fake.add_user(user, name=user.lower(), tz="Europe/Berlin", team_id=team)
        with app_clock.fixed_at(CREATED):
            create_engagement_in(
                workspace, user=lead, team_id=team, name=f"{prefix} Monday {e}",
                channel=channel, vendor_contacts=vendors, stakeholders=[], kpis="",
            )  # fmt: skip
        schedule_in(workspace, f"{prefix}-monday-{e}", user=lead, escalation_to=[lead], **cadence)
        people[team] += vendors
    with db.session() as session:  # each has opened Home before (as tests/test_home.py)
        for team, users in people.items():
            for user in users:
                home.opened(session, team_id=team, user_id=user, now=CREATED)
    return people[TEAM] + people[BRAVO]


def monday_passes(d, monkeypatch, passes: int, start=MON) -> list:
    """Slack's tiers on, on the stand-in's clock following the passes' simulated moments; the
    worker's passes two minutes apart from `start`; the calls Slack heard meanwhile."""
    d.fake.rate_tiers = True
    d.fake.clock = SimulatedClock(d.fake)
    before = len(d.fake.calls)
    for n in range(passes):
        oauth_tick(d, monkeypatch, start + timedelta(minutes=2 * n))
    return d.fake.calls[before:]


def assert_each_sent_once(d, everyone: list[str], monday: list) -> list:
    """Every Home published again, each prompt sent once; the Home jobs of Monday."""
    published = {c.args["user_id"] for c in monday if c.method == "views.publish" and c.ok}
    assert published == set(everyone)
    sent = Counter(
        m["metadata"]["event_payload"]["job"]
        for m in d.fake.messages()
        if (m.get("metadata") or {}).get("event_type") == JOB_EVENT
    )
    prompts = jobs_of(d.acme, "prompt")
    assert len(prompts) == len(everyone)
    assert {j.status for j in prompts} == {"sent"}
    assert [j.key for j in prompts if sent[j.key] != 1] == []
    homes = [j for j in jobs_of(d.acme, "home") if utc_of(j.due_at) >= MON]
    assert len(homes) == len(everyone) and {j.status for j in homes} == {"sent"}
    return homes


def utc_of(moment):
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@pytest.mark.slow  # 429s waited out
def test_a_long_retry_after_holds_no_listener_thread(cadence):
    """A person's request whose views.open Slack answers 429 with a Retry-After longer than
    the short wait: the listener does not sleep it through and call again (slack_sdk's own
    handler did, so a burst of clicks past the tier left every listener thread asleep and
    Bolt answered the requests after them 404; bench/burst.py). The trigger is dead by then."""
    cadence.fake.rate_limit("views.open", retry_after=3)
    reply = cadence.sim.command("engagement new")
    assert reply.status == 200 and reply.elapsed < 3, reply.body
    cadence.fake.wait_for("views.open")
    time.sleep(4)  # past the Retry-After: a sleeping listener would have called again by now
    calls = cadence.fake.calls_to("views.open")
    assert len(calls) == 1 and calls[0].response.get("error") == "ratelimited", calls
