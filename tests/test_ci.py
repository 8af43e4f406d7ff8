"""CI runs the README's test command, and that command is the whole suite in parallel: what a
contributor reads is what gates a change, and it stays within CI's time on a small machine."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")
CI = (ROOT / ".ci" / "run").read_text(encoding="utf-8")


def readme_test_command() -> str:
    development = README.split("## Development", 1)[1]
    block = re.search(r"```sh\n(.*?)```", development, re.S)
    assert block, "README's Development section has no shell block"
    (command,) = [line for line in block[1].splitlines() if " -m pytest" in line]
    return command.split("#", 1)[0].strip()


def test_ci_runs_the_readmes_test_command_which_runs_the_whole_suite_in_parallel():
    command = readme_test_command()
    assert command in CI.splitlines(), f".ci/run does not run {command!r}"
    options = shlex.split(command.split(" -m pytest", 1)[1])
    assert "-n" in options, f"{command!r} runs the suite on one core"
    assert "-m" not in options and "-k" not in options, f"{command!r} leaves tests out"
