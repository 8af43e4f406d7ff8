"""The demo's stand-in Slack: the tests' fake, with each call stamped with the simulated moment.

The fake records calls at wall-clock time; the demo plays weeks in seconds, so the transcript
needs the moment the story was at when Slack would have shown each thing. The demo moves time
only when nothing is in flight (`Player.settle`), so the moment read here is the right one
(and between steps the story's clock stays where it was).
People's own actions (a command typed, a form sent) are stamped the same way by the player.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.demo.fake_slack import Call, FakeSlack
from bot.platform import clock


@dataclass(frozen=True)
class Stamp:
    """One thing that happened, at a simulated moment; `seq` orders things at one moment."""

    at: datetime
    seq: int
    call: Call | None = None  # a Web API call the app made
    response: tuple[str, dict[str, Any]] | None = None  # (response_url name, body) it posted
    action: Action | None = None  # what a person did


@dataclass(frozen=True)
class Action:
    """What a person did in Slack, as the transcript shows it."""

    user: str
    where: str  # the channel (or DM channel) it happened in
    kind: str  # "command" | "click" | "submit"
    text: str  # the command line, the button's label, or the form's title
    fields: tuple[tuple[str, str], ...] = ()  # a submitted form: label, value as shown
    answer: dict[str, Any] | None = field(default=None, compare=False)  # inline HTTP answer


class RecordingSlack(FakeSlack):
    """FakeSlack that also keeps `stamps`: every call, response_url post and person's action,
    in order, each with the simulated moment."""

    def __init__(self, *, moment: Callable[[], datetime] = clock.now, **kwargs: Any) -> None:
        """`moment`: where the story is (the player's simulated now)."""
        super().__init__(**kwargs)
        self.moment = moment
        self.stamps: list[Stamp] = []
        self._seq = itertools.count()
        self._stamp_lock = threading.Lock()

    def stamp(self, **what: Any) -> None:
        with self._stamp_lock:
            self.stamps.append(Stamp(at=self.moment(), seq=next(self._seq), **what))

    def _record(self, call: Call) -> None:
        super()._record(call)
        self.stamp(call=call)

    def handle_response_url(self, name: str, body: dict[str, Any]) -> tuple[int, str]:
        status, text = super().handle_response_url(name, body)
        if status == 200:
            self.stamp(response=(name, body))
        return status, text

    def activity(self) -> int:
        """How many things have happened so far (the player waits for this to stand still)."""
        with self._stamp_lock:
            return len(self.stamps)

    def file_bytes(self, file_id: str) -> tuple[str, bytes] | None:
        """(filename, bytes) of an uploaded file."""
        for fid, name, data, _ in self.uploaded_files():
            if fid == file_id:
                return name, data
        return None

    def dm_owners(self) -> dict[str, str]:
        """DM channel id → the person it is with."""
        with self._lock:
            return {dm: user for user, dm in self._dms.items()}
