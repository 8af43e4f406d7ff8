"""`/healthz` answers within a second whatever the database does: a database that hangs (a
lock held by another process, here) is reported as 503 at once, not waited for."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from wsgiref.simple_server import make_server

import pytest
from conftest import HANG_BOUND_S
from sqlalchemy import text
from test_cli_and_serving import _QuietHandler

from bot.entry.wsgi import CadenceWSGI


def test_a_hanging_database_gets_503_within_a_second(cadence):
    if cadence.db.is_sqlite:
        pytest.skip("SQLite readers never wait for a writer (WAL); the hang is PostgreSQL's")
    server = make_server("127.0.0.1", 0, CadenceWSGI(cadence.services), handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            assert response.status == 200
        with cadence.db.begin() as holder:  # another process takes the heartbeat table
            holder.execute(text("LOCK TABLE tickerheartbeat IN ACCESS EXCLUSIVE MODE"))
            for _ in range(2):  # the second check does not queue behind the stuck probe
                started = time.monotonic()
                with pytest.raises(urllib.error.HTTPError) as raised:
                    urllib.request.urlopen(url, timeout=5)
                # A probe that waited for the lock would not answer before the client gave
                # up; that it answers within wsgi.HEALTH_TIMEOUT_S is bench/faults.py's figure.
                assert time.monotonic() - started < HANG_BOUND_S
                assert raised.value.code == 503
                assert "no answer" in json.loads(raised.value.read())["database"]
        # The lock released, the same server is healthy again without a restart.
        deadline = time.monotonic() + 5
        while True:
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    assert response.status == 200
                    break
            except urllib.error.HTTPError:
                assert time.monotonic() < deadline, "healthz did not recover"
                time.sleep(0.1)
    finally:
        server.shutdown()
        server.server_close()
