"""The same-minute digest benchmark still runs: `bench/digest_minute.py` with 3 small workspaces
seeds them, runs the engine's real tick against the stand-in Slack in a child process, and
exits 0 only when every workspace's digest and its chart were taken by the stand-in."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # starts the stand-in Slack in a child process

ROOT = Path(__file__).resolve().parents[1]


def test_three_workspaces_digests_due_at_the_same_minute_all_go_out_with_their_charts() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "digest_minute.py"), "--workspaces", "3",
         "--engagements", "2,4"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    out = done.stdout
    assert done.returncode == 0, out[-3000:] + done.stderr[-3000:]
    assert "digest out after" in out and "(3 of 3)" in out, out[-3000:]
    assert out.count("(3 of 3)") == 2, out[-3000:]  # every digest and every chart
    assert "not recorded in bench/results.json" in out  # small sizes never replace the figures
