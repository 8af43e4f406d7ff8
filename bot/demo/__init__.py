"""`python -m bot demo`: the whole product against a local stand-in for Slack.

No Slack account and no configuration: a SQLite database in a temporary folder, a made-up
token and signing secret, the real app and engine, and the stand-in Slack the tests use
(`fake_slack/`). The story (`script.py`) is played by `player.py`; what Slack would have
shown is gathered by `transcript.py` and written as text and as a page (`render_*.py`,
`outputs.py`).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

DEFAULT_WEEKS = 4
DEFAULT_OUT = "cadence-demo"  # .gitignore lists it (tests/test_demo_arguments.py)
EXIT_ARGUMENTS = 2  # as the CLI's configuration problems


def weeks_argument(given: object) -> int | str:
    """`--weeks` as a number of weeks, or the one line saying what is wrong with it."""
    from bot.demo.script import MAX_WEEKS

    if given is None:
        return DEFAULT_WEEKS
    text = str(given).strip()
    if not text.isdigit() or not 1 <= int(text) <= MAX_WEEKS:
        return f"--weeks must be a whole number of weeks from 1 to {MAX_WEEKS}, not {text!r}"
    return int(text)


def run(args: argparse.Namespace) -> int:
    """Play the demo; returns the process exit status. Its arguments are checked first, each
    problem in one line, before a minute is spent playing."""
    weeks = weeks_argument(getattr(args, "weeks", None))
    if isinstance(weeks, str):
        print(weeks, file=sys.stderr)
        return EXIT_ARGUMENTS
    from bot.demo import outputs

    folder = Path(getattr(args, "out", None) or DEFAULT_OUT)
    if problem := outputs.refuse(folder):
        print(problem, file=sys.stderr)
        return EXIT_ARGUMENTS
    return play(weeks, folder)


def play(weeks: int, folder: Path) -> int:
    """The demo itself, once its arguments are known to be good."""
    from bot.demo import cast, outputs, render_html, render_markdown, script, summary, transcript
    from bot.demo.player import DemoError, Player
    from bot.demo.progress import Progress
    from bot.demo.slack_text import Names
    from bot.platform.logs import setup

    setup(level="WARNING", fmt="text")  # the story's own chatter would drown the progress
    started = time.monotonic()
    progress = Progress(weeks)
    steps = script.story(weeks)
    start, end = steps[0].at, script.end_of(weeks)

    def moved(moment: datetime) -> None:
        week = sum(1 for n in range(1, weeks + 1) if script.week_start(n) <= moment)
        fraction = (moment - start) / (end - start)
        progress.show(fraction, week, f"{moment.astimezone(script.ZONE):%a %d %b %H:%M}")

    names = Names(
        people={p.user_id: p.name for p in cast.PEOPLE},
        channels={c.channel_id: c.name for c in cast.CHANNELS},
    )
    try:
        with (
            tempfile.TemporaryDirectory(prefix="cadence-demo-") as workdir,
            Player(Path(workdir), on_moment=moved) as player,
        ):
            player.play(steps, end)
            files = outputs.uploaded_files(player.fake)
            told = transcript.build(
                player.fake.stamps,
                workspace=cast.TEAM_NAME,
                names=names,
                dm_owners=player.fake.dm_owners(),
                replies_to=player.replies_to,
                files=files,
                channel_order=[c.channel_id for c in cast.CHANNELS],
            )
            intro = summary.lines(player.services.db, told, cast.DIGEST.channel_id)
    except DemoError as e:
        progress.finish()
        print(f"The demo stopped: {e}", file=sys.stderr)
        return 1
    progress.finish()
    written = outputs.write(
        folder,
        told,
        render_markdown.render(told, intro=intro),
        render_html.render(told, intro=intro),
        list(files.values()),
    )
    seconds = time.monotonic() - started
    played = f"{weeks} simulated week{'s' if weeks > 1 else ''}"
    print(f"Cadence played {played} in {seconds:.1f} s against a stand-in Slack.")
    for line in intro:
        print(f"  {line}")
    print(f"\nWritten to {folder}/:")
    for line in outputs.describe(written):
        print(f"  {line}")
    return 0
