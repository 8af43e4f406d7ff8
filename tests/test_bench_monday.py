"""The Monday benchmark still runs: `bench/monday.py` at 3 workspaces of 4 engagements installs
each through OAuth, runs the two worker processes over each zone's Monday 09:00 and Friday
16:00, and every prompt and digest reaches the stand-in Slack (its "all" lines say PASS). With
`--pooler` the Monday runs directly and again through a PgBouncer of its own (the rest through
it), while a few clients answer the prompts through the Procfile's two web processes: their
acks are measured and none fails, and the pooler passes the transactions."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
import pgbouncer  # tests/pgbouncer.py
from conftest import in_ci

pytestmark = [pytest.mark.slow, pytest.mark.postgres]  # worker processes, on PostgreSQL

ROOT = Path(__file__).resolve().parents[1]


def test_a_small_monday_and_friday_deliver_everything(postgres_server_url: str) -> None:
    if not pgbouncer.available():
        reason = f"PgBouncer is not installed ({pgbouncer.PGBOUNCER}): apt-get install pgbouncer"
        if in_ci():
            pytest.fail(reason + " — CI=true requires it")
        pytest.skip(reason)
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "monday.py"), "--workspaces", "3",
         "--engagements", "4", "--postgres-url", postgres_server_url, "--pooler",
         "--clients", "4", "--think", "0.1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "CADENCE_BENCH_RESULTS": os.devnull},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    lines = done.stdout.splitlines()
    sent = [line for line in lines if line.lstrip().startswith("prompts sent")]
    assert len(sent) == 2, sent  # directly, then through PgBouncer
    assert all("12 of 12" in s and s.rstrip().endswith("PASS") for s in sent), sent
    digests = next(line for line in lines if "digests posted" in line)
    assert "3 of 3" in digests and digests.rstrip().endswith("PASS"), digests
    acks = [line for line in lines if "acks while 4 clients" in line]
    assert len(acks) == 2 and all(int(re.search(r": (\d+) requests", a)[1]) > 0 for a in acks)
    failed = [line for line in lines if "requests failed" in line]
    assert len(failed) == 2 and all(f.rstrip().endswith("PASS") for f in failed), failed
    passed = next(line for line in lines if "pooler: transactions," in line)
    assert int(re.search(r"\s(\d+), \d+/s", passed)[1]) > 0, passed
    assert len([line for line in lines if re.search(r"web-\d: CPU, peak RSS +\d", line)]) == 4
    assert "not recorded in bench/results.json" in done.stdout  # a small run records nothing
