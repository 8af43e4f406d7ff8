"""What listeners and the engine share: settings, the database and the clock (built once per
process)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from slack_sdk import WebClient

from bot.platform import clock as _clock
from bot.platform.config import Settings
from bot.platform.slack import web_client
from storage.db import Database


@dataclass(frozen=True)
class Services:
    settings: Settings
    db: Database
    clock: Callable[[], datetime] = _clock.now
    """Where the engine's "now" comes from (`clock.now`, which `tick --now` and tests can fix)."""

    def slack_client(self, team_id: str) -> WebClient:
        """The Web API client that speaks for Cadence in workspace `team_id` (the engine's one
        way to Slack; with several workspaces, that workspace's installation's token)."""
        return web_client(self.settings, team_id=team_id)

    @property
    def admins(self) -> frozenset[str]:
        return self.settings.admins
