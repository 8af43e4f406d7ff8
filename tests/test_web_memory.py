"""The web process stays small (issue 23, item 3): `bot.entry.wsgi` (what gunicorn's `web`
workers import) must not load matplotlib, numpy or PIL, which only the engine's chart jobs use,
nor APScheduler (a cron rule read) and cryptography (sealed secrets, audit keys), which are
imported where they are used. The drawing libraries made an idle `web` worker (the Procfile's
gunicorn line) 124 MB; without them it was 81 MB, and 77 MB without the other two
(`bench/profile_requests.py --rss`)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DRAWING = ("matplotlib", "numpy", "PIL")
WHERE_USED = ("apscheduler", "cryptography")
PROBE = """
import json, sys
import {module}
loaded = sorted({{m.split(".")[0] for m in sys.modules}} & set({drawing!r}))
print(json.dumps(loaded))
"""


def loaded_by(module: str, libraries: tuple[str, ...] = DRAWING) -> list[str]:
    """Which of `libraries` a fresh interpreter holds after importing `module`."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(module=module, drawing=libraries)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_the_web_process_starts_without_matplotlib():
    assert loaded_by("bot.entry.wsgi") == []


def test_drawing_a_chart_still_loads_matplotlib():
    """The probe can fail: the chart's own module loads matplotlib once it draws."""
    assert loaded_by(
        "bot.blocks.chart; from datetime import datetime, UTC; "
        "bot.blocks.chart.digest_chart([], now=datetime(2026, 12, 4, tzinfo=UTC), weeks=8)"
    ) == ["PIL", "matplotlib", "numpy"]


def test_the_web_process_starts_without_apscheduler_or_cryptography():
    assert loaded_by("bot.entry.wsgi", WHERE_USED) == []


def test_a_cron_rule_and_a_sealed_secret_still_load_them_where_used():
    """The probe can fail: each library is imported where it is used."""
    assert loaded_by(
        "bot.domain.recurrence as r; from datetime import datetime, time, UTC; "
        "r.next_occurrence(r.Rule(kind='cron', cron='0 9 * * 1'), time(9), 'UTC', "
        "datetime(2026, 12, 7, tzinfo=UTC))",
        WHERE_USED,
    ) == ["apscheduler"]
    assert loaded_by("storage.encryption as e; e.Keys([e.new_key()]).seal('x')", WHERE_USED) == [
        "cryptography"
    ]
