"""`python -m bot demo`: the whole product against a local stand-in for Slack (issue 11).

`fake_slack.py` is that stand-in, shared with the test suite: a Slack Web API server on
127.0.0.1 that records every call and answers like Slack.
"""

from __future__ import annotations

import argparse


def run(args: argparse.Namespace) -> int:
    """Play the demo; returns the process exit status."""
    print("python -m bot demo is being built; it is not in this version yet.")
    return 1
