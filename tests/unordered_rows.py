"""Every SQLite connection the tests open returns the rows of a query without ORDER BY in
reverse (SQLite's `PRAGMA reverse_unordered_selects`, made for finding exactly this).

Without an ORDER BY, neither database promises an order. A new SQLite file or PostgreSQL copy
happens to give rows in the order they were written, and PostgreSQL stops doing so once a
table has had rows updated and deleted: in production, and in a test database reused after
another test (`postgres_copies.py`). A test or a view that leans on the order it happened to
get fails here at once, not some day on PostgreSQL. Processes the tests start (gunicorn, tick)
are not affected; they run the app as shipped.
"""

from __future__ import annotations

import sqlite3

from sqlalchemy import event
from sqlalchemy.engine import Engine


def install() -> None:
    event.listen(Engine, "connect", _reverse_unordered_selects)


def _reverse_unordered_selects(dbapi_connection: object, _record: object) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.execute("PRAGMA reverse_unordered_selects = ON")
