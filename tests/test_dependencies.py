"""Every dependency is bounded below the release that may break it, and what is installed fits
(issue 22, item 9: `python-dateutil` had no bound and 4.0.0 got installed unnoticed)."""

from __future__ import annotations

import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest
from packaging.requirements import Requirement

PYPROJECT = tomllib.loads(
    (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text(encoding="utf-8")
)
RUNTIME = PYPROJECT["project"]["dependencies"]
TEST = PYPROJECT["project"]["optional-dependencies"]["test"]
BUILD = PYPROJECT["build-system"]["requires"]
# Data, not an API: the newest zone database is always the right one (pyproject says why).
UNBOUNDED = {"tzdata"}


def has_upper_bound(requirement: Requirement) -> bool:
    return any(spec.operator in ("<", "<=", "==", "~=") for spec in requirement.specifier)


@pytest.mark.parametrize("line", RUNTIME + TEST + BUILD)
def test_each_dependency_has_an_upper_bound(line):
    requirement = Requirement(line)
    if requirement.name in UNBOUNDED:
        assert not has_upper_bound(requirement), f"{line}: pyproject says why it has none"
        return
    assert has_upper_bound(requirement), f"{line} needs an upper bound (its next major version)"


@pytest.mark.parametrize("line", RUNTIME + TEST)
def test_what_is_installed_fits_the_bounds(line):
    requirement = Requirement(line)
    try:
        installed = version(requirement.name)
    except PackageNotFoundError:
        pytest.fail(f"{requirement.name} is declared but not installed: pip install -e '.[test]'")
    assert requirement.specifier.contains(installed, prereleases=True), (
        f"{requirement.name} {installed} is installed, outside {requirement.specifier}: "
        "reinstall (pip install -e '.[test]'), or test it and move the bound"
    )


def test_the_dotenv_file_is_read_by_python_dotenv(tmp_path, monkeypatch):
    """README: settings come from `.env` too; pydantic-settings reads it with python-dotenv,
    which is why that is declared (its role is stated beside it in pyproject.toml)."""
    from dotenv import dotenv_values

    from bot.platform.config import Settings

    for variable in ("SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN"):
        monkeypatch.delenv(variable, raising=False)
    dotenv = tmp_path / ".env"
    dotenv.write_text(
        "SLACK_SIGNING_SECRET=from-dotenv\nSLACK_BOT_TOKEN=xoxb-1\n", encoding="utf-8"
    )
    assert dotenv_values(dotenv)["SLACK_SIGNING_SECRET"] == "from-dotenv"
    settings = Settings(_env_file=dotenv)
    assert settings.slack_signing_secret == "from-dotenv"
    assert "python-dotenv" in {Requirement(line).name for line in RUNTIME}
