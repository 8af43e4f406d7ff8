"""`python -m bot`: the command line lives in `bot/entry/cli.py`."""

import sys

from bot.entry.cli import main

if __name__ == "__main__":
    sys.exit(main())
