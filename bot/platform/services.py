"""What listeners and the engine share: settings, the database and the clock (built once per
process), and the way to Slack for each workspace."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property

from slack_sdk import WebClient

from bot.platform import clock as _clock
from bot.platform.config import Settings
from bot.platform.rate_limits import RateBudgets
from bot.platform.slack import BotTokens, web_client
from storage import installations
from storage.audit_keys import AuditKeys
from storage.db import REQUEST_SECONDS, Database
from storage.encryption import Keys


@dataclass(frozen=True)
class Services:
    settings: Settings
    db: Database
    clock: Callable[[], datetime] = _clock.now
    """Where the engine's "now" comes from (`clock.now`, which `tick --now` and tests can fix)."""
    request_seconds: float = REQUEST_SECONDS
    """How long a Slack request's database work may take from its arrival: 2 s, as Slack waits
    3 s for the answer. Only tests on a shared, loaded machine give more (where a PostgreSQL
    that other tests keep busy stalls for seconds); the deadline's own tests keep 2 s."""

    def __post_init__(self) -> None:
        # Audit events are linked with the deployment's audit keys (storage/audit_keys.py):
        # derived from CADENCE_ENCRYPTION_KEYS, the retired ones verifying only.
        self.db.audit_keys = AuditKeys.of(self.settings.encryption_keys, self.settings.retired_keys)

    @cached_property
    def keys(self) -> Keys:
        """The keys of the secrets Cadence stores (CADENCE_ENCRYPTION_KEYS: required with
        several workspaces, checked at start; `ValueError` when none is set)."""
        return Keys(self.settings.encryption_keys)

    @cached_property
    def tokens(self) -> BotTokens:
        """Each workspace's bot token from its installation (OAuth mode), kept briefly."""
        client_id = self.settings.slack_client_id or ""

        def lookup(team_id: str) -> str | None:
            return installations.bot_token(
                self.db.engine, client_id=client_id, team_id=team_id, keys=self.keys
            )

        return BotTokens(lookup)

    @cached_property
    def rate_budgets(self) -> RateBudgets:
        """What this process may still ask Slack per workspace and method (rate_limits.py)."""
        return RateBudgets()

    def slack_client(self, team_id: str) -> WebClient:
        """The Web API client that speaks for Cadence in workspace `team_id` (the engine's one
        way to Slack): the deployment's token, or with several workspaces that workspace's
        installation's token (a client that refuses every call when it has none). Its 429s
        are kept in `rate_budgets`."""
        return web_client(
            self.settings, team_id=team_id, tokens=self.tokens, budgets=self.rate_budgets
        )

    def admins_of(self, team_id: str) -> frozenset[str]:
        """Cadence admins of workspace `team_id` (CADENCE_ADMINS, per workspace under OAuth)."""
        return self.settings.admins_of(team_id)
