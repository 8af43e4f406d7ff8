"""Headless Chromium for the tests that look at the demo's page: the browser (a skip, or in CI
a failure, when it is not installed) and one run of it at a window size."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import in_ci

BROWSER_TIMEOUT_S = 90


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        reason = "Chromium is not installed (Debian: apt-get install -y chromium)"
        if in_ci():
            pytest.fail(reason + " — CI=true requires the browser test")
        pytest.skip(reason)
    return found


def browse(page: Path, window: tuple[int, int], *args: str) -> subprocess.CompletedProcess[str]:
    """Chromium on `page` in a window of `window` (width, height) CSS pixels, with `args`
    (--dump-dom, --screenshot=…)."""
    return subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            f"--window-size={window[0]},{window[1]}",
            *args,
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=BROWSER_TIMEOUT_S,
    )
