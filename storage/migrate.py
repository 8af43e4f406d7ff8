"""Bring a database's schema up to date with Alembic, from code (no alembic.ini needed)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from storage.sqlite_locking import READ_ONLY

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str) -> None:
    """Apply every pending migration (a no-op when the schema is current)."""
    command.upgrade(alembic_config(database_url), "head")


def pending(engine: Engine, database_url: str) -> bool:
    """True when the database is behind the newest migration.

    Read in a read-only transaction: on SQLite it neither takes the write lock nor waits for a
    writer (the CLI asks this before every tick, while a pass may be writing)."""
    with engine.execution_options(**{READ_ONLY: True}).begin() as conn:
        current = set(MigrationContext.configure(conn).get_current_heads())
    return current != newest()


@cache
def newest() -> frozenset[str]:
    """The head revisions of the code this process runs: read from the migration scripts once
    (Alembic loads every script to find them, 20 ms), not at every command."""
    return frozenset(ScriptDirectory.from_config(alembic_config("")).get_heads())
