"""Slack's side of a request to the app, for the tests: the simulator lives in the package
(`bot/demo/slack_sim.py`) because `python -m bot demo` drives the app the same way."""

from bot.demo.slack_sim import (
    INITIAL_KEYS,
    VALUE_KEYS,
    VERIFICATION_TOKEN,
    Reply,
    SlackSim,
    build_block_action,
    build_view_state,
    build_view_submission,
    find_element,
    sign,
)

__all__ = [
    "INITIAL_KEYS",
    "VALUE_KEYS",
    "VERIFICATION_TOKEN",
    "Reply",
    "SlackSim",
    "build_block_action",
    "build_view_state",
    "build_view_submission",
    "find_element",
    "sign",
]
