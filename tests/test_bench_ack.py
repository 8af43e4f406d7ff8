"""The ack latency benchmark still runs: `bench/ack.py --smoke` starts the web process as the
Procfile does and the bare Bolt app beside it, sends a few signed requests of every kind, one
at a time, at once and paced, and exits 0 only when every one was answered 200 within 3 s."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # starts the web processes

ROOT = Path(__file__).resolve().parents[1]


def test_every_kind_of_request_is_acknowledged_within_slacks_three_seconds() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "ack.py"), "--smoke"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "0 not answered 200 within 3 s" in done.stdout, done.stdout[-3000:]
    for label in ("/cadence help", "engagement list", "skip", "away", "block_actions",
                  "view_submission"):  # fmt: skip
        assert label in done.stdout, f"no {label} requests measured"
