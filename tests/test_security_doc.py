"""docs/security.md points each promise at the test that holds it: every test file and test it
names must exist (as tests/test_readme.py holds the README to the commands), or a promise
would point at nothing. A `…::name` is a test of the file named last before it."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SECURITY = (ROOT / "docs" / "security.md").read_text(encoding="utf-8")
NAMED = re.compile(r"`(tests/[\w/]+\.py|…)(?:::(\w+))?`")


def named_tests() -> list[tuple[str, str | None]]:
    found: list[tuple[str, str | None]] = []
    current = None
    for line in SECURITY.splitlines():
        for path, name in NAMED.findall(line):
            if path != "…":
                current = path
            assert current is not None, f"'…::{name}' names no file before it: {line[:80]}"
            found.append((current, name or None))
    return found


def test_every_test_named_in_security_md_exists():
    named = named_tests()
    assert len(named) > 40  # the page's tables are read
    missing = []
    for path, name in named:
        file = ROOT / path
        if not file.is_file():
            missing.append(path)
        elif name and not re.search(rf"^(async )?def {name}\(", file.read_text(), re.MULTILINE):
            missing.append(f"{path}::{name}")
    assert missing == [], f"docs/security.md names tests that do not exist: {missing}"


def test_security_md_is_linked_from_the_readme_and_the_page():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "(SECURITY.md)" in readme and "(../SECURITY.md)" in SECURITY
    assert "to be filled in by the maintainers" in (ROOT / "SECURITY.md").read_text()
