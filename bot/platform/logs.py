"""Logging for every process, set up in one place (`LOG_LEVEL`, `LOG_FORMAT`)."""

from __future__ import annotations

import logging


def setup(*, level: str, fmt: str) -> None:
    """One format for every process; slack_sdk's debug output never reaches INFO logs."""
    logging.basicConfig(
        level=getattr(logging, level, logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
