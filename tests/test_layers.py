"""The layering holds: every import points down, and only entry points read the clock.

The contracts live in pyproject.toml (`[tool.importlinter]`); this runs import-linter's
`lint-imports` on them, so `pytest` fails with import-linter's own report, naming each import
that breaks a contract and its line.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def lint_imports(*config: Path) -> subprocess.CompletedProcess[str]:
    beside_python = Path(sys.executable).with_name("lint-imports")
    command = str(beside_python) if beside_python.exists() else shutil.which("lint-imports")
    if command is None:
        pytest.fail("lint-imports is missing: pip install -e '.[test]' installs import-linter")
    return subprocess.run(
        [command, "--no-cache", "--no-logo", *map(str, config)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_every_import_keeps_the_contracts_in_pyproject():
    result = lint_imports()
    if result.returncode != 0:
        pytest.fail(f"import-linter found broken contracts:\n{result.stdout}{result.stderr}")
    assert "0 broken" in result.stdout


def test_an_upward_import_is_reported_with_the_import_that_breaks_it(tmp_path):
    # Turn the stack upside down: storage "above" the domain, so every domain import of storage
    # points upwards. The check must fail and name one of them.
    config = tmp_path / ".importlinter"
    config.write_text(
        "[importlinter]\n"
        "root_packages =\n    bot\n    storage\n"
        "[importlinter:contract:upside-down]\n"
        "name = storage above the domain\n"
        "type = layers\n"
        "layers =\n    storage\n    bot.domain\n"
    )
    result = lint_imports(config)
    assert result.returncode != 0
    assert "BROKEN" in result.stdout
    assert "bot.domain.audit -> storage.models" in result.stdout
