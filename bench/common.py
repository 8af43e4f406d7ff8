"""What the benchmarks share: scratch databases and rows seeded in bulk.

Every benchmark measures on databases of its own, migrated with Alembic and dropped at the end,
and seeds them with Core bulk inserts (executemany) shaped as the domain writes its rows:
driving thousands of engagements through Slack would take far longer than the measure.
"""

from __future__ import annotations

import tempfile
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from storage import migrate
from storage.db import Database


class Scratch:
    """Scratch databases, each migrated with Alembic; all dropped by close() (SQLite: files in a
    temporary folder; PostgreSQL, when `postgres_url` is given: databases created from it)."""

    def __init__(self, postgres_url: str | None, *, prefix: str) -> None:
        self.postgres_url = postgres_url
        self.prefix = prefix
        self.folder = tempfile.TemporaryDirectory(prefix=f"cadence-{prefix}-bench-")
        self.made: list[str] = []
        self.open: list[Database] = []

    def new(self, label: str) -> str:
        """A new database, migrated; its URL."""
        unique = f"{label}_{uuid.uuid4().hex[:8]}"
        if self.postgres_url is None:
            url = f"sqlite:///{Path(self.folder.name) / unique}.db"
        else:
            name = f"cadence_bench_{self.prefix}_{unique}"
            admin = create_engine(self.postgres_url, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            admin.dispose()
            self.made.append(name)
            url = make_url(self.postgres_url).set(database=name).render_as_string(False)
        migrate.upgrade(url)
        return url

    def database(self, url: str) -> Database:
        """A Database on `url`, disposed of by close()."""
        db = Database.from_url(url)
        self.open.append(db)
        return db

    @staticmethod
    def analyze(db: Database) -> None:
        """What autovacuum (PostgreSQL) or `PRAGMA optimize` would have done by now."""
        with db.engine.connect() as conn:
            conn.exec_driver_sql("ANALYZE")
            conn.commit()

    def close(self) -> None:
        for db in self.open:
            db.dispose()
        if self.made:
            admin = create_engine(self.postgres_url, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                for name in self.made:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
        self.folder.cleanup()


@dataclass
class Rows:
    """Rows to insert, per table, with ids assigned here (a fresh database: no clashes), all of
    one workspace."""

    team_id: str
    tables: dict[Any, list[dict[str, Any]]] = field(default_factory=dict)
    ids: dict[Any, int] = field(default_factory=dict)

    def add(self, model: Any, **row: Any) -> int:
        new_id = self.ids.get(model, 0) + 1
        self.ids[model] = new_id
        self.tables.setdefault(model, []).append({"id": new_id, "team_id": self.team_id, **row})
        return new_id

    def count(self) -> int:
        return sum(len(rows) for rows in self.tables.values())
