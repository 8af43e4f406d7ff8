"""A PgBouncer of our own, in transaction pooling, in front of the test PostgreSQL server.

Debian's `pgbouncer` package (CI installs it: `.ci/run`). Each one gets its own ini in a
temporary directory, a free port, `auth_type = trust` and a wildcard database entry, so every
database of the server is reached through it by name, as the tests' copies are. A small
`default_pool_size` makes clients share server connections, which is what shows up anything
that leaks from one transaction to the next (session settings, prepared statements, session
locks). Used by tests/test_pooler.py, and open to bench/ (bench/monday.py through the pooler).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from storage.db import STATEMENT_TIMEOUT_MS

PGBOUNCER = Path("/usr/sbin/pgbouncer")
START_TIMEOUT_S = 15.0


@dataclass(frozen=True)
class PgBouncer:
    """A running PgBouncer: where it listens, and the way to send a URL through it."""

    host: str
    port: int
    log: Path
    pid: int  # its process (bench/pooler.py counts its CPU)

    def url_for(self, database_url: str) -> str:
        """`database_url` (on the server behind the pooler) reached through the pooler."""
        url = make_url(database_url).set(host=self.host, port=self.port)
        return url.render_as_string(hide_password=False)

    def admin(self, command: str) -> list[tuple]:
        """A command on PgBouncer's admin console (`SHOW POOLS`, `SHOW SERVERS` …)."""
        with closing(
            psycopg.connect(
                host=self.host, port=self.port, user="postgres", dbname="pgbouncer", autocommit=True
            )
        ) as conn:
            return conn.execute(command).fetchall()


def available() -> bool:
    return PGBOUNCER.exists()


def _free_port() -> int:
    with closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ini(*, port: int, server_host: str, server_port: int, pool_size: int, auth_file: Path) -> str:
    # query_wait_timeout: a client waiting for a server connection longer than any statement
    # may run is a fault (a pool too small, or a connection held across a wait), so it fails
    # loudly instead of hanging a test.
    return f"""\
[databases]
* = host={server_host} port={server_port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {auth_file}
admin_users = postgres
pool_mode = transaction
default_pool_size = {pool_size}
max_client_conn = 500
query_wait_timeout = {STATEMENT_TIMEOUT_MS // 1000 + 5}
"""


@contextmanager
def pgbouncer(
    server_url: str, *, pool_size: int = 4, prefix: str = "cadence-pgbouncer-"
) -> Iterator[PgBouncer]:
    """A PgBouncer in transaction mode in front of `server_url`'s server, stopped (and its
    directory removed) at the end. Run as the postgres user when we are root (it refuses
    root)."""
    server = make_url(server_url)
    root = Path(tempfile.mkdtemp(prefix=prefix))
    port = _free_port()
    auth_file = root / "users.txt"
    auth_file.write_text(f'"{server.username or "postgres"}" ""\n')
    ini = root / "pgbouncer.ini"
    ini.write_text(
        _ini(
            port=port,
            server_host=server.host or "127.0.0.1",
            server_port=server.port or 5432,
            pool_size=pool_size,
            auth_file=auth_file,
        )
    )
    command = [str(PGBOUNCER)]
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        for path in (auth_file, ini):
            shutil.chown(path, "postgres")
        command += ["-u", "postgres"]
    log = root / "pgbouncer.log"
    with log.open("w") as out:
        process = subprocess.Popen([*command, str(ini)], stdout=out, stderr=subprocess.STDOUT)
    bouncer = PgBouncer("127.0.0.1", port, log, process.pid)
    try:
        _wait_listening(bouncer, process)
        yield bouncer
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
        shutil.rmtree(root, ignore_errors=True)


def _wait_listening(bouncer: PgBouncer, process: subprocess.Popen) -> None:
    """Until its admin console answers (it is up), or it exits (say why)."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"pgbouncer exited at start: {bouncer.log.read_text()[-2000:]}")
        try:
            bouncer.admin("SHOW VERSION")
            return
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
