"""The Slack Web API client, from one place, with retries; and whose token it carries.

slack_sdk's default client retries only connection errors, once. Cadence also retries rate
limits (honouring Retry-After) and server errors. Bolt copies `base_url` and the retry handlers
of the client given to `App` into every per-request client, so this is configured once, here.

One workspace (SLACK_BOT_TOKEN): every client carries that token. Several (OAuth): a client for a
workspace carries the bot token its installation stored (`BotTokens`, looked up by team id and
kept a minute), and a workspace without an installation gets a client that refuses every call
without reaching Slack, with the error Slack gives a call without a token (`not_authed`), so the
engine's failure policy applies and nothing reaches a workspace that uninstalled Cadence.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
import time
from collections.abc import Callable
from logging import Logger
from typing import Any
from urllib.error import URLError

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler
from slack_sdk.http_retry.builtin_handlers import ServerErrorRetryHandler
from slack_sdk.oauth.state_store import OAuthStateStore
from slack_sdk.web import SlackResponse

from bot.platform.config import Settings
from bot.platform.rate_limits import RateBudgets, WorkspaceRateLimits

SLACK_TIMEOUT_SECONDS = 15
TOKEN_TTL_SECONDS = 60.0  # how long a process trusts a workspace's token lookup
NOT_INSTALLED = "not_authed"  # Slack's error for a call that carries no token
log = logging.getLogger(__name__)


def retry_handlers() -> list:
    """Rate limits and server errors are retried here. Of connection errors, only those raised
    while the request was being sent (`URLError`: refused, reset before Slack had it all): a
    connection dropped or timed out while waiting for the answer may have reached Slack, and
    sending again would post twice. The engine settles those by looking for the message by
    its metadata (`bot.engine.lookups`) before it sends again."""
    return [
        ConnectionErrorRetryHandler(max_retry_count=2, error_types=[URLError]),
        RateLimitErrorRetryHandler(max_retry_count=3),
        ServerErrorRetryHandler(max_retry_count=2),
    ]


def without_rate_waits(client: WebClient) -> WebClient:
    """The same client without the rate-limit retries: for calls whose Retry-After should be
    handed back rather than slept through (a lookup under Tier 1 waits a minute: the engine
    plans it again instead of holding a pass)."""
    waits = (RateLimitErrorRetryHandler, WorkspaceRateLimits)
    handlers = [h for h in client.retry_handlers if not isinstance(h, waits)]
    if len(handlers) == len(client.retry_handlers):
        return client
    return WebClient(
        token=client.token,
        base_url=client.base_url,
        timeout=client.timeout,
        headers=client.headers,
        retry_handlers=handlers,
    )


class BotTokens:
    """Each workspace's bot token (OAuth mode), looked up by team id and kept TOKEN_TTL_SECONDS:
    a pass or a burst of requests asks the database once per workspace, and a token deleted by
    an uninstall in another process stops being used within the minute (at once in this one,
    through `forget`)."""

    def __init__(
        self,
        lookup: Callable[[str], str | None],
        *,
        ttl: float = TOKEN_TTL_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._lookup = lookup
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._known: dict[str, tuple[float, str | None]] = {}

    def __call__(self, team_id: str) -> str | None:
        now = self._clock()
        with self._lock:
            found = self._known.get(team_id)
        if found is not None and now - found[0] < self._ttl:
            return found[1]
        token = self._lookup(team_id)
        with self._lock:
            self._known[team_id] = (now, token)
        return token

    def forget(self, team_id: str) -> None:
        """The workspace's installation changed (installed, uninstalled): look it up again."""
        with self._lock:
            self._known.pop(team_id, None)


class NotInstalledClient(WebClient):
    """The client of a workspace that has no installation: every call fails at once, as Slack
    answers a call without a token, and nothing leaves the process."""

    def __init__(self, team_id: str, **kwargs):
        super().__init__(token=None, **kwargs)
        self.team_id = team_id

    def api_call(self, api_method: str, **_kwargs) -> SlackResponse:  # type: ignore[override]
        log.debug("not calling %s: workspace %s has no installation", api_method, self.team_id)
        response = SlackResponse(
            client=self,
            http_verb="POST",
            api_url=f"{self.base_url}{api_method}",
            req_args={},
            data={"ok": False, "error": NOT_INSTALLED},
            headers={},
            status_code=200,
        )
        raise SlackApiError(f"workspace {self.team_id} has no installation", response)


def web_client(
    settings: Settings,
    *,
    team_id: str | None = None,
    tokens: Callable[[str], str | None] | None = None,
    budgets: RateBudgets | None = None,
) -> WebClient:
    """The Web API client for a workspace (for the Bolt app: `team_id=None`, no token in OAuth
    mode, Bolt sets each request's).

    One workspace: SLACK_BOT_TOKEN. Several (OAuth): the token `tokens` finds for `team_id`,
    or a `NotInstalledClient` when it finds none. Only a short Retry-After is slept through
    (`WorkspaceRateLimits`): one throttled workspace holds no thread of a pass, and a burst of
    requests past a method's tier no listener thread. With `budgets` (the engine's clients),
    a 429 is recorded there for its workspace and method.
    """
    # A 429 is never slept through for long: not on a pass's thread, nor on a listener's.
    recorded = budgets is not None and team_id is not None
    handlers = [
        WorkspaceRateLimits(budgets if recorded else None, team_id if recorded else None)
        if isinstance(h, RateLimitErrorRetryHandler)
        else h
        for h in retry_handlers()
    ]
    options = {
        "base_url": settings.slack_api_url,
        "timeout": SLACK_TIMEOUT_SECONDS,
        "retry_handlers": handlers,
    }
    if not settings.oauth:
        return WebClient(token=settings.slack_bot_token, **options)
    if team_id is None:
        return WebClient(token=None, **options)
    token = tokens(team_id) if tokens is not None else None
    if token is None:
        return NotInstalledClient(team_id, **options)
    return WebClient(token=token, **options)


class SignedStates(OAuthStateStore):
    """The install flow's `state`: kept by slack_sdk's SQLAlchemy state store (once only, ten
    minutes) and signed with SLACK_STATE_SECRET, so a state Cadence did not issue is refused
    without a database read."""

    def __init__(self, store: OAuthStateStore, secret: str):
        self._store = store
        self._secret = secret.encode()

    @property
    def logger(self) -> Logger:
        return log

    def _signature(self, state: str) -> str:
        return hmac.new(self._secret, state.encode(), hashlib.sha256).hexdigest()[:32]

    def issue(self, *args, **kwargs) -> str:
        state = self._store.issue(*args, **kwargs)
        return f"{state}.{self._signature(state)}"

    def consume(self, state: str) -> bool:
        value, _, signature = (state or "").rpartition(".")
        if not value or not hmac.compare_digest(signature, self._signature(value)):
            log.warning("an install came back with a state Cadence did not sign")
            return False
        return self._store.consume(value)


# users.info while a person waits (who steers, who may create): Slack answers this Tier 4
# method in well under a second, and the whole request must be answered within 3 s.
QUICK_LOOKUP_SECONDS = 1.5


def quick_user_info(client: WebClient, user_id: str) -> dict[str, Any] | None:
    """users.info with a short time limit and no retry (a person is waiting), or None when
    Slack does not answer in time or refuses: the caller grants nothing it cannot confirm."""
    quick = WebClient(token=client.token, base_url=client.base_url, timeout=QUICK_LOOKUP_SECONDS)
    try:
        return quick.users_info(user=user_id)["user"]
    except SlackApiError as e:
        log.info("users.info for %s failed: %s", user_id, e.response.get("error"))
    except (OSError, TimeoutError) as e:  # urllib's timeouts and refused connections
        log.info("users.info for %s did not answer: %s", user_id, type(e).__name__)
    return None


def display_name(user: dict[str, Any]) -> str:
    """The name Slack shows for a users.info `user`: their display name, else their full name,
    else their handle (https://api.slack.com/types/user: `profile.display_name` may be empty)."""
    profile = user.get("profile") or {}
    for name in (profile.get("display_name"), profile.get("real_name"), user.get("real_name"),
                 user.get("name")):  # fmt: skip
        if name and str(name).strip():
            return str(name).strip()
    return ""


def user_timezone(client: WebClient, user_id: str) -> str | None:
    """A person's time zone from their Slack profile, or None if Slack will not say."""
    try:
        return client.users_info(user=user_id)["user"].get("tz") or None
    except SlackApiError as e:
        log.info("users.info for %s failed: %s", user_id, e.response.get("error"))
        return None
