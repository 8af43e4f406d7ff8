"""The Monday benchmark still runs: `bench/monday.py` at 3 workspaces of 4 engagements installs
each through OAuth, runs the two worker processes over each zone's Monday 09:00 and Friday
16:00, and every prompt and digest reaches the stand-in Slack (its "all" lines say PASS)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.postgres]  # worker processes, on PostgreSQL

ROOT = Path(__file__).resolve().parents[1]


def test_a_small_monday_and_friday_deliver_everything(postgres_server_url: str) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "monday.py"), "--workspaces", "3",
         "--engagements", "4", "--postgres-url", postgres_server_url],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "CADENCE_BENCH_RESULTS": os.devnull},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    lines = done.stdout.splitlines()
    sent = next(line for line in lines if "prompts sent" in line)
    assert "12 of 12" in sent and sent.rstrip().endswith("PASS"), sent
    digests = next(line for line in lines if "digests posted" in line)
    assert "3 of 3" in digests and digests.rstrip().endswith("PASS"), digests
    assert "not recorded in bench/results.json" in done.stdout  # a small run records nothing
