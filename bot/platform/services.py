"""What listeners and the engine share: settings and the database (built once per process)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.platform.config import Settings
from storage.db import Database


@dataclass(frozen=True)
class Services:
    settings: Settings
    db: Database

    @property
    def admins(self) -> frozenset[str]:
        return self.settings.admins
