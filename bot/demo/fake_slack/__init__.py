"""A fake Slack Web API served on 127.0.0.1, for tests.

Only Slack is faked, at its HTTP boundary: the app's real ``slack_sdk.WebClient`` (with
``base_url=fake.base_url``) talks to it unchanged, retry handlers included. Answers follow the
shapes and error codes of the real Web API for the methods Cadence uses; anything else answers
``unknown_method`` and is recorded so a test can spot it.

Usage::

    with FakeSlack() as fake:
        fake.add_channel("C0GENERAL", name="general", members=["U0LEAD"])
        fake.join("C0GENERAL")
        client = WebClient(token="xoxb-test", base_url=fake.base_url)
        client.chat_postMessage(channel="C0GENERAL", text="hi")
        fake.wait_for("chat.postMessage")

Several workspaces: ``add_team`` another, ``authorize`` stands for a person approving the install
on Slack's page (a one-time code for the app's redirect URL), ``oauth.v2.access`` trades the code
for a bot token of that workspace, and every call then acts as the workspace of its token
(``auth.test``, who may be sent a DM, the views' team); ``uninstall`` revokes its tokens. A token
the fake did not issue acts for the default workspace.

The parts, each readable alone:

- ``blocks.py``: Block Kit validation (`validate_message_blocks`, `validate_view`), pure
  functions the tests also call directly;
- ``records.py``: what Slack heard (`Call`, `ResponsePost`, ``calls_to``, ``wait_for``);
- ``faults.py``: faults on demand (``fail``, ``rate_limit``, ``server_error``, ``drop``,
  ``time_out``, ``hold``, ``delay``, ``chaos``; `CHAOS_KINDS`);
- ``tiers.py``: Slack's rate tiers per method and workspace over a sliding minute
  (``rate_tiers``: off by default, on in the fault suites and benchmarks; `rate_limited_calls`);
- ``state.py``: the workspaces (people, channels, DMs, messages, views, triggers, files,
  teams and tokens), set up and read back by tests;
- ``methods/``: the Web API methods, a module per family (``oauth``, ``chat``,
  ``conversations``, ``users``, ``views``, ``files``, ``functions``: Workflow Builder steps'
  executions; ``base`` what they share);
- ``server.py``: the HTTP server, and how one request is answered (``handle_api``).

`FakeSlack` below is those parts put together, and what each starts with.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable

from bot.demo.fake_slack.blocks import validate_message_blocks, validate_view
from bot.demo.fake_slack.faults import CHAOS_KINDS, Faults
from bot.demo.fake_slack.methods import Methods
from bot.demo.fake_slack.records import Call, Records, ResponsePost
from bot.demo.fake_slack.server import Server
from bot.demo.fake_slack.state import State
from bot.demo.fake_slack.tiers import Tiers

__all__ = [
    "CHAOS_KINDS",
    "Call",
    "FakeSlack",
    "ResponsePost",
    "validate_message_blocks",
    "validate_view",
]


class FakeSlack(Server, Records, Faults, Tiers, State, Methods):
    """A fake Slack Web API on 127.0.0.1 (see module docstring)."""

    def __init__(
        self,
        *,
        team_id: str = "T0CADENCE",
        team_name: str = "Acme",
        team_domain: str = "acme",
        bot_user_id: str = "U0CADBOT",
        bot_id: str = "B0CADBOT",
        app_id: str = "A0CADENCE",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.team_id = team_id
        self.team_name = team_name
        self.team_domain = team_domain
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.app_id = app_id
        self.clock = clock
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self._init_server()
        self._init_records()
        self._init_faults()
        self._init_tiers()
        self._init_state()
        self._init_functions()
        self.add_user(bot_user_id, name="cadence", is_bot=True, tz="America/Los_Angeles")
