"""A database Cadence cannot use, said in one line that names the problem and the fix.

Every command that opens the database (serve, worker, tick, migrate, forget-workspace) turns
the driver's error into one of these lines instead of a traceback: an operator in their first
week meets these more than any other failure. The driver's wording is matched here, in one
place, because neither psycopg nor sqlite3 gives these cases error codes of their own before a
connection exists.
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy.engine import URL, make_url


def _server(url: URL) -> str:
    return f"{url.host or 'localhost'}:{url.port or 5432}"


def sqlite_path(database_url: str) -> Path | None:
    """The file of a SQLite URL (None for PostgreSQL or an in-memory database)."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)


def in_memory_warning(database_url: str) -> str | None:
    """A warning for an in-memory SQLite database (`sqlite://`, `sqlite:///`, `:memory:`,
    `mode=memory`): it works, and loses everything. Its data is gone when the process exits,
    no other process sees it, and SQLAlchemy gives each thread a database of its own."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        return None
    if url.database in (None, "", ":memory:") or url.query.get("mode") == "memory":
        return (
            f"DATABASE_URL {database_url} is an in-memory SQLite database: what Cadence stores "
            "is lost when this process exits, and no other process or thread sees it. Point "
            "it at a file, e.g. sqlite:///cadence.db."
        )
    return None


def before_connecting(database_url: str) -> str | None:
    """What can be told without connecting: a SQLite file whose folder does not exist (SQLite
    would only say "unable to open database file")."""
    path = sqlite_path(database_url)
    if path is not None and not path.parent.exists():
        return (
            f"The folder of the SQLite database {path} does not exist ({path.parent.resolve()}):"
            " create it, or point DATABASE_URL at a file in an existing folder."
        )
    return None


def explain(error: BaseException, database_url: str) -> str:
    """One line for a database error met at start (a connection that failed, mostly)."""
    url = make_url(database_url)
    cause = getattr(error, "orig", None) or error
    said = str(cause).strip()
    first = said.splitlines()[0] if said else type(cause).__name__
    if url.get_backend_name() == "sqlite":
        path = sqlite_path(database_url)
        folder_problem = before_connecting(database_url)
        if folder_problem:
            return folder_problem
        if "unable to open database file" in said:
            return (
                f"Cadence cannot open the SQLite database {path}: check that its folder is "
                "writable by this user, or point DATABASE_URL elsewhere."
            )
        if "not a database" in said:
            return (
                f"{path} is not a SQLite database: point DATABASE_URL at Cadence's database "
                "file (a new name creates one)."
            )
        if "locked" in said:
            return (
                f"The SQLite database {path} is locked by another process: stop it, or use "
                "PostgreSQL to run several processes."
            )
        return f"Cadence cannot use the SQLite database {path} ({first}): check DATABASE_URL."
    where = _server(url)
    name = url.database or "(none)"
    user = url.username or "(none)"
    if match := re.search(r'database "([^"]+)" does not exist', said):
        return (
            f'The PostgreSQL database "{match.group(1)}" does not exist on {where}: create it '
            f"(createdb {match.group(1)}), or fix the database name in DATABASE_URL."
        )
    if match := re.search(r'role "([^"]+)" does not exist', said):
        return (
            f'PostgreSQL on {where} has no user "{match.group(1)}": create it, or fix the user '
            "in DATABASE_URL."
        )
    if "password authentication failed" in said or "no password supplied" in said:
        return (
            f'PostgreSQL on {where} refused the password of user "{user}": fix the user or '
            "password in DATABASE_URL."
        )
    if "failed to resolve host" in said or "could not translate host name" in said:
        return f'The database host "{url.host}" is not known: fix the host name in DATABASE_URL.'
    if "Connection refused" in said:
        return (
            f"Nothing accepts connections at {where} (connection refused): start PostgreSQL "
            "there, or fix the host and port in DATABASE_URL."
        )
    if "timeout" in said.lower() or "timed out" in said.lower():
        return (
            f"PostgreSQL at {where} did not answer in time: check that the host and port in "
            "DATABASE_URL are right and reachable from here (network, firewall)."
        )
    if "no pg_hba.conf entry" in said:
        return (
            f"PostgreSQL on {where} does not let this host in as {user}: allow it in "
            f"pg_hba.conf, or connect as another user (database {name})."
        )
    return (
        f"Cadence cannot use the PostgreSQL database {name} on {where} ({first}): check "
        "DATABASE_URL and that the server is running."
    )
