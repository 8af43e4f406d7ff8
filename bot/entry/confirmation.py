"""The one way a command that erases asks for confirmation: the operator types the id back."""

from __future__ import annotations

import sys
from collections.abc import Callable


def typed_back(ask: Callable[[str], str], expected: str, prompt: str, refused: str) -> bool:
    """Whether the operator typed `expected` at `prompt`. With no terminal to answer from the
    answer is no: nothing is ever erased without one. On a no, `refused` goes to stderr."""
    try:
        typed = ask(prompt)
    except EOFError:
        typed = ""
    if typed.strip() == expected:
        return True
    print(refused, file=sys.stderr)
    return False
