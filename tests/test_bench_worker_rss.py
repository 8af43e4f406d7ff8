"""bench/monday.py reports a worker's own peak RSS, not the benchmark process's.

Linux carries a parent's peak RSS over to its child at exec, and `ru_maxrss` (wait4) reports
it: a worker started by the benchmark process "peaked" at whatever that process had reached.
It grows over a run (it holds the stand-in Slack, which records every call), so the second
Monday's workers, the ones through PgBouncer, were reported at 396 MB against 129 MB directly
at 100 workspaces (174 against 121 at 20, where their own address space peaked at 126 MB
either way, sampled after every pass).
Here the parent's peak is raised on purpose, with a ballast it touches before it starts a
worker; the worker's reported peak must stay clear of it.
"""

from __future__ import annotations

import resource
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from monday import WorkerProcess  # bench/monday.py

pytestmark = pytest.mark.slow  # starts a worker process

BALLAST_MB = 256
PAGE = 4096


def test_a_workers_peak_rss_is_its_own_not_its_parents() -> None:
    ballast = bytearray(BALLAST_MB * 2**20)
    for i in range(0, len(ballast), PAGE):  # touched: resident, not just reserved
        ballast[i] = 1
    parent_peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    worker = WorkerProcess({})
    worker.close()  # no pass: its imports and its wait on stdin
    del ballast
    assert worker.peak_rss_mb > 0  # it said one
    # ru_maxrss would give at least parent_peak_mb; a worker that ran no pass holds its
    # imports, far less than the ballast.
    assert worker.peak_rss_mb < parent_peak_mb - BALLAST_MB / 2, (
        worker.peak_rss_mb,
        parent_peak_mb,
    )
