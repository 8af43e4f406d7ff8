"""Slack's rate tiers (issue 20, items 1 and 3): the stand-in limits each method per workspace
as Slack's rate-limit page says, and Cadence meets those limits rather than fighting them.

- The stand-in: a Tier 4 method takes 100 calls in any minute per workspace, the 101st gets 429
  with Retry-After; another workspace and another method are not held back; chat.postMessage
  takes a short burst per channel, then about one a second; off unless asked (`rate_tiers`).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.demo.fake_slack import FakeSlack
from bot.demo.fake_slack.tiers import PER_MINUTE, POST_BURST

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
