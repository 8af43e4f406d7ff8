"""The demo's progress on stderr: one line redrawn with \\r on a terminal, a line per simulated
week otherwise (a log, CI), so a newcomer sees the weeks go by."""

from __future__ import annotations

import sys
from typing import TextIO

WIDTH = 24


class Progress:
    """Shows how far the story is through its `weeks` simulated weeks."""

    def __init__(self, weeks: int, stream: TextIO | None = None) -> None:
        self.weeks = weeks
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._shown = ""
        self._week = -1

    def show(self, fraction: float, week: int, label: str) -> None:
        """`fraction` of the story is played; it is in `week` (0: the set-up), at `label`."""
        fraction = max(0.0, min(1.0, fraction))
        filled = round(WIDTH * fraction)
        bar = f"[{'#' * filled}{'.' * (WIDTH - filled)}]"
        where = "set-up" if week == 0 else f"week {week}/{self.weeks}"
        line = f"{bar} {where}  {label}"
        if self.tty:
            if line != self._shown:
                self.stream.write("\r" + line.ljust(72))
                self.stream.flush()
        elif week != self._week:
            self.stream.write(f"{bar} {where}\n")
            self.stream.flush()
        self._shown, self._week = line, week

    def finish(self) -> None:
        if self.tty and self._shown:
            self.stream.write("\n")
            self.stream.flush()
