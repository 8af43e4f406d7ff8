"""One compiled-SQL cache for every engine the test process makes of one kind of database.

SQLAlchemy keeps the SQL it compiled per engine, keyed by the engine's dialect object, and the
suite makes a new engine for nearly every test (a fresh database each, and each in-process
`tick` builds its own services): every test compiled every statement it ran again, a fifth of
the fast loop's CPU (py-spy). A production process makes one engine and compiles each statement
once; here the engines of one kind of database share one cache, keyed by what compiling depends
on (the dialect's class, the server's version and the parameter style), so a test's SQL is
still the SQL that kind of database gets, compiled once per worker.

Installed by `tests/conftest.py`; the app's code is not changed by it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, event
from sqlalchemy.orm import configure_mappers
from sqlalchemy.util import LRUCache
from sqlmodel import SQLModel

# Statements of a whole suite on both databases, with room: SQLAlchemy's default is 500 per
# engine, and evicting here would only compile again.
SIZE = 20_000


class SharedCompiledCache:
    """A compiled cache whose keys name the dialect by what its compiling depends on rather
    than by the object, so engines on databases of one kind and version find each other's SQL."""

    def __init__(self, size: int = SIZE) -> None:
        self._lru: LRUCache[Any, Any] = LRUCache(size)

    @staticmethod
    def _key(key: tuple[Any, ...]) -> tuple[Any, ...]:
        dialect, *rest = key
        kind = (
            type(dialect),
            dialect.server_version_info,
            dialect.paramstyle,
            dialect.positional,
            dialect.max_identifier_length,
            dialect.label_length,
        )
        return (kind, *rest)

    def get(self, key: tuple[Any, ...], default: Any = None) -> Any:
        return self._lru.get(self._key(key), default)

    def __setitem__(self, key: tuple[Any, ...], value: Any) -> None:
        self._lru[self._key(key)] = value


STATEMENTS = SharedCompiledCache()  # what engines execute (their `_compiled_cache`)
FLUSHES = SharedCompiledCache()  # what the ORM's unit of work writes (each mapper's own cache)


def _share(connection: Connection) -> None:
    engine = connection.engine
    if engine._compiled_cache is not None and engine._compiled_cache is not STATEMENTS:
        engine._compiled_cache = STATEMENTS  # type: ignore[assignment]


def install() -> None:
    """Every engine's first connection adopts the shared cache; every mapper's flushes too."""
    if not event.contains(Engine, "engine_connect", _share):
        event.listen(Engine, "engine_connect", _share)
    configure_mappers()
    for mapper in SQLModel._sa_registry.mappers:  # type: ignore[attr-defined]
        mapper.__dict__["_compiled_cache"] = FLUSHES  # SQLAlchemy memoizes it there
