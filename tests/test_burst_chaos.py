"""The Monday burst under chaos (issue 21, item 6), shortened for CI: two `worker` and two `web`
processes (the Procfile's lines) on a PostgreSQL of the test's own while 150 prompts fall due at
once and Slack fails one call in five; a worker is SIGKILLed mid-burst (a replacement started)
and PostgreSQL restarted, while people use Cadence through the web processes. Nothing lost,
nothing twice (by the job each message's metadata names), every request acknowledged.

The scenario is bench/burst.py's; `bench/faults.py --only burst` runs it with 10,000 prompts.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import in_ci
from test_faults import PG_BIN

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))

import burst

# Starts a PostgreSQL server, gunicorn and workers, kills one; both tests read one burst, run
# once on one worker (`--dist loadgroup`; without the group each worker would run its own).
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("burst")]

PROMPTS = 150
WALL_CLOCK_S = 45  # then passes at later moments send what waits for a lease or a backoff


@pytest.fixture(scope="module")
def burst_run() -> Iterator[burst.Burst]:
    if not (PG_BIN / "initdb").exists():
        if in_ci():
            pytest.fail("initdb is needed for the burst under chaos")
        pytest.skip("no initdb here")
    root = Path(tempfile.mkdtemp(prefix="cadence-burst-"))
    result = burst.run(PROMPTS, root, latency=0.1, wall_clock_s=WALL_CLOCK_S)
    print("\n" + "\n".join(result.lines()) + f"\n(the processes' output: {root / 'logs'})")
    yield result
    if not result.lost and not result.duplicated:
        shutil.rmtree(root, ignore_errors=True)  # kept when something was lost or doubled


def said(result: burst.Burst) -> str:
    return "\n".join(result.lines())


def test_a_burst_with_a_killed_worker_and_a_database_restart_loses_and_doubles_nothing(burst_run):
    assert any("SIGKILLed" in e for e in burst_run.events), said(burst_run)
    assert any("PostgreSQL started again" in e for e in burst_run.events), said(burst_run)
    assert sum(burst_run.faults.values()) >= PROMPTS * 0.1, said(burst_run)  # faults happened
    assert len(burst_run.prompt_jobs) == PROMPTS, said(burst_run)
    assert burst_run.lost == [], said(burst_run)
    assert burst_run.duplicated == {}, said(burst_run)


def test_every_request_during_the_burst_is_acknowledged_within_3_s(burst_run):
    assert len(burst_run.requests) >= 50, said(burst_run)
    assert burst_run.acknowledged == len(burst_run.requests), said(burst_run)
