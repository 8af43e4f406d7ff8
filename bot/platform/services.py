"""What listeners and the engine share: settings, the database and the clock (built once per
process)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.platform import clock as _clock
from bot.platform.config import Settings
from storage.db import Database


@dataclass(frozen=True)
class Services:
    settings: Settings
    db: Database
    clock: Callable[[], datetime] = _clock.now
    """Where the engine's "now" comes from (`clock.now`, which `tick --now` and tests can fix)."""

    @property
    def admins(self) -> frozenset[str]:
        return self.settings.admins
