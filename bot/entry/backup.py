"""`python -m bot backup <file>` and `python -m bot restore-mark`: a backup taken while Cadence
runs, and the one step a restored database needs before it sends anything.

A backup is a moment: everything Cadence sent after it is in Slack but not in the restored
database, which still holds those jobs as due (or would plan them again). Sending them blindly
would post them twice. `restore-mark` plans what fell due since (without sending), then marks
every job due by now as of unknown outcome: each is looked for in Slack by the job named in its
message's metadata (`bot/engine/delivery.py`) and sent only if Slack does not have it.

- SQLite: the online backup API (`sqlite3.Connection.backup`), a consistent copy while
  Cadence writes (a reader of the WAL, holding no writer back).
- PostgreSQL: `pg_dump --format=custom` when the binary is on the PATH (the password passed
  in its environment, never on its command line); otherwise the command to run.
docs/operations.md gives the restore commands.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from contextlib import closing
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from bot.engine import digest_plans, planner
from bot.entry import db_problems
from bot.platform.services import Services
from storage import jobs

EXIT_CONFIG = 2
EXIT_DATABASE = 3


def missing_source(database_url: str) -> str | None:
    """A SQLite file that does not exist has nothing to back up (and opening it would create
    it): the line that says so."""
    path = db_problems.sqlite_path(database_url)
    if path is not None and not path.exists():
        return f"There is no SQLite database at {path} (DATABASE_URL): nothing to back up."
    return None


def backup(database_url: str, target: str) -> int:
    """Write a backup of the database to `target` (never over an existing file); the exit
    status."""
    path = Path(target)
    if path.exists():
        print(f"{path} exists: choose a new file for the backup.", file=sys.stderr)
        return EXIT_CONFIG
    if not path.parent.exists():
        print(f"The folder of {path} does not exist.", file=sys.stderr)
        return EXIT_CONFIG
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if db_problems.sqlite_path(database_url) is None:
            print("An in-memory database has nothing to back up.", file=sys.stderr)
            return EXIT_CONFIG
        with (
            closing(sqlite3.connect(url.database)) as source,
            closing(sqlite3.connect(path)) as copy,
        ):
            source.backup(copy)  # all pages in one step: one consistent moment
            copy.execute("PRAGMA journal_mode=DELETE")  # the file alone is the whole backup
        print(f"backed up {url.database} to {path}")
        return 0
    return _pg_dump(database_url, path)


def _pg_dump(database_url: str, path: Path) -> int:
    url = make_url(database_url)
    # libpq's URL, without the password (it goes in the environment, out of `ps`).
    # (URL.set leaves a part it is given None unchanged: the URL is built without it.)
    dsn = URL.create(
        "postgresql",
        username=url.username,
        host=url.host,
        port=url.port,
        database=url.database,
        query=url.query,
    ).render_as_string(hide_password=False)
    arguments = ["--format=custom", f"--file={path}", f"--dbname={dsn}"]
    binary = shutil.which("pg_dump")
    if binary is None:
        print(
            "pg_dump is not on the PATH (Debian: apt-get install postgresql-client, the "
            "server's major version or newer). Run it where it is:\n  "
            f"pg_dump --format=custom --file={path} --dbname='{dsn}'",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    env = {**os.environ, **({"PGPASSWORD": url.password} if url.password else {})}
    done = subprocess.run([binary, *arguments], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no message"])[-1]
        print(f"pg_dump failed (exit {done.returncode}): {last}", file=sys.stderr)
        path.unlink(missing_ok=True)
        return EXIT_DATABASE
    print(f"backed up {url.database} on {url.host or 'localhost'} to {path} (pg_dump, custom)")
    return 0


def restore_mark(services: Services, now: datetime) -> int:
    """Run once on a restored database, before any process ticks on it, with the deployment
    the backup came from stopped. Plans what fell due since the backup, then marks every job
    due by `now` as of unknown outcome; the exit status."""
    db = services.db
    with db.read_session() as session:
        since = jobs.last_change(session)
    if since is None:
        print("no jobs in this database: nothing to mark")
        return 0
    planned = planner.plan_due(db, now) + digest_plans.plan_due(db, now)
    with db.session() as session:
        marked = jobs.mark_restored(session, now=now, since=since)
    for line in planned:
        print(line)
    print(
        f"restored as of {since.isoformat()} (its last recorded job change): {marked} job(s) "
        f"due by {now.isoformat()} will be looked for in Slack by their metadata before any "
        "is sent again"
    )
    return 0
