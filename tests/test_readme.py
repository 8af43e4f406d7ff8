"""The README stays true to the code: its `/cadence` reference lists every command `/cadence
help` prints, and its configuration table every variable Cadence reads."""

from __future__ import annotations

from pathlib import Path

from bot.domain.command_reference import REFERENCE
from bot.platform.config import VARIABLES

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
ENV_EXAMPLE = (Path(__file__).resolve().parents[1] / ".env.example").read_text(encoding="utf-8")


def test_the_reference_lists_every_command_as_help_does():
    missing = [
        spec.usage
        for spec in REFERENCE
        if f"`/cadence {spec.usage.replace('|', chr(92) + '|')}`" not in README
    ]
    assert missing == [], f"README's /cadence reference lacks {missing}"


def test_the_configuration_table_and_env_example_name_every_variable():
    for variable in VARIABLES.values():
        assert f"`{variable}`" in README, f"README's configuration table lacks {variable}"
        assert variable in ENV_EXAMPLE, f".env.example lacks {variable}"
