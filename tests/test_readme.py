"""The README stays true to the code: its `/cadence` reference lists every command `/cadence
help` prints, its configuration table every variable Cadence reads, and its command line table
every `python -m bot` command."""

from __future__ import annotations

from pathlib import Path

from bot.domain.command_reference import REFERENCE
from bot.entry.cli import build_parser
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


def test_the_command_line_table_lists_every_command():
    """Each `python -m bot` command (the parser's own list) has its row."""
    (commands,) = [a for a in build_parser()._actions if a.dest == "command"]
    missing = [name for name in commands.choices if f"| `python -m bot {name}" not in README]
    assert missing == [], f"README's command line table lacks {missing}"
