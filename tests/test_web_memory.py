"""The web process stays small (issue 23, item 3): `bot.entry.wsgi` (what gunicorn's `web`
workers import) must not load matplotlib, numpy or PIL, which only the engine's chart jobs use.
They made an idle `web` worker (the Procfile's gunicorn line) 124 MB; without them it is 81 MB."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DRAWING = ("matplotlib", "numpy", "PIL")
PROBE = """
import json, sys
import {module}
loaded = sorted({{m.split(".")[0] for m in sys.modules}} & set({drawing!r}))
print(json.dumps(loaded))
"""


def loaded_by(module: str) -> list[str]:
    """The drawing libraries a fresh interpreter holds after importing `module`."""
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(module=module, drawing=DRAWING)],
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
