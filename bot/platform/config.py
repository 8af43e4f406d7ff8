"""Settings from the environment and `.env`, validated once at start.

Every problem is reported as one line that names the variable and says what to put there, so
a person setting Cadence up for the first time can fix all of them in one go.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import dotenv_values
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

DEFAULT_DATABASE_FILE = "cadence.db"
DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_PORT = 3000
DEFAULT_TICK_SECONDS = 30
DEFAULT_CHANNEL_PACE_SECONDS = 1.0
DEFAULT_SEND_CONCURRENCY = 8
EMOJI = re.compile(r"^:[a-z0-9_+'-]+:$")
USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

WHERE_TO_FIND = {
    "SLACK_BOT_TOKEN": (
        "copy the Bot User OAuth Token (xoxb-…) from OAuth & Permissions in your Slack app "
        "settings (https://api.slack.com/apps) into .env"
    ),
    "SLACK_SIGNING_SECRET": (
        "copy it from Basic Information → App Credentials in your Slack app settings into .env"
    ),
}


class ConfigError(Exception):
    """The configuration cannot be used; `problems` holds one line per variable."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class Settings:
    """Validated configuration; build it with `load_settings`."""

    slack_bot_token: str = field(repr=False)
    slack_signing_secret: str = field(repr=False)
    slack_app_token: str | None = field(default=None, repr=False)
    database_url: str = f"sqlite:///{DEFAULT_DATABASE_FILE}"
    slack_api_url: str = DEFAULT_SLACK_API_URL
    port: int = DEFAULT_PORT
    log_level: str = "INFO"
    admins: frozenset[str] = frozenset()
    tick_seconds: int = DEFAULT_TICK_SECONDS
    channel_pace_seconds: float = DEFAULT_CHANNEL_PACE_SECONDS
    send_concurrency: int = DEFAULT_SEND_CONCURRENCY
    away_emoji: frozenset[str] = frozenset()

    @property
    def socket_mode(self) -> bool:
        return bool(self.slack_app_token)


def read_environment(env_file: str | Path | None = ".env") -> dict[str, str]:
    """The process environment over the values in `.env` (the process wins, as dotenv does)."""
    values: dict[str, str] = {}
    if env_file is not None and Path(env_file).is_file():
        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update(os.environ)
    return values


def load_settings(env: Mapping[str, str] | None = None, *, need_slack: bool = True) -> Settings:
    """Validate the environment once; raise ConfigError listing every problem found.

    `need_slack=False` is for commands that only touch the database (`migrate`).
    """
    env = read_environment() if env is None else env
    problems: list[str] = []

    def get(name: str) -> str:
        return (env.get(name) or "").strip()

    bot_token = get("SLACK_BOT_TOKEN")
    signing_secret = get("SLACK_SIGNING_SECRET")
    if need_slack:
        if not bot_token:
            problems.append(f"SLACK_BOT_TOKEN is not set: {WHERE_TO_FIND['SLACK_BOT_TOKEN']}")
        elif not bot_token.startswith("xoxb-"):
            problems.append(
                "SLACK_BOT_TOKEN must be a bot token starting with xoxb-: "
                + WHERE_TO_FIND["SLACK_BOT_TOKEN"]
            )
        if not signing_secret:
            problems.append(
                f"SLACK_SIGNING_SECRET is not set: {WHERE_TO_FIND['SLACK_SIGNING_SECRET']}"
            )

    app_token = get("SLACK_APP_TOKEN") or None
    if app_token and not app_token.startswith("xapp-"):
        problems.append(
            "SLACK_APP_TOKEN must be an app-level token starting with xapp-: create one with the "
            "connections:write scope under Basic Information → App-Level Tokens, or leave it "
            "empty to serve HTTP"
        )

    database_url = get("DATABASE_URL") or f"sqlite:///{DEFAULT_DATABASE_FILE}"
    try:
        url = make_url(database_url)
        if url.get_backend_name() not in ("sqlite", "postgresql"):
            problems.append(
                "DATABASE_URL must be sqlite:///path.db or postgresql+psycopg://user@host/db, "
                f"not {url.get_backend_name()}"
            )
        elif url.get_backend_name() == "postgresql" and url.drivername != "postgresql+psycopg":
            database_url = url.set(drivername="postgresql+psycopg").render_as_string(
                hide_password=False
            )
    except ArgumentError:
        problems.append(
            "DATABASE_URL is not a database URL: use sqlite:///cadence.db or "
            "postgresql+psycopg://user:password@host:5432/dbname"
        )

    api_url = get("SLACK_API_URL") or DEFAULT_SLACK_API_URL
    if not re.match(r"^https?://[^/\s]+", api_url):
        problems.append(
            "SLACK_API_URL must be an http(s) URL such as https://slack.com/api/ (leave it unset "
            "to talk to Slack)"
        )
    elif not api_url.endswith("/"):
        api_url += "/"

    port = _integer(get("PORT"), "PORT", DEFAULT_PORT, 1, 65535, problems, "a TCP port")
    tick_seconds = _integer(
        get("CADENCE_TICK_SECONDS"),
        "CADENCE_TICK_SECONDS",
        DEFAULT_TICK_SECONDS,
        1,
        3600,
        problems,
        "seconds between scheduler passes",
    )

    concurrency = _integer(
        get("CADENCE_SEND_CONCURRENCY"),
        "CADENCE_SEND_CONCURRENCY",
        DEFAULT_SEND_CONCURRENCY,
        1,
        64,
        problems,
        "messages sent to different channels at once",
    )
    pace = DEFAULT_CHANNEL_PACE_SECONDS
    if get("CADENCE_CHANNEL_PACE_SECONDS"):
        try:
            pace = float(get("CADENCE_CHANNEL_PACE_SECONDS"))
            if not 0 <= pace <= 60:
                raise ValueError
        except ValueError:
            problems.append(
                "CADENCE_CHANNEL_PACE_SECONDS must be seconds from 0 to 60 between two messages "
                f"to one channel (Slack allows about 1 per second), not "
                f"{get('CADENCE_CHANNEL_PACE_SECONDS')}"
            )
    away_emoji = [e.strip() for e in get("CADENCE_AWAY_EMOJI").split(",") if e.strip()]
    bad_emoji = [e for e in away_emoji if not EMOJI.match(e)]
    if bad_emoji:
        problems.append(
            "CADENCE_AWAY_EMOJI must be Slack emoji codes separated by commas, like "
            ":palm_tree:,:face_with_thermometer:, not " + ", ".join(bad_emoji)
        )

    log_level = (get("LOG_LEVEL") or "INFO").upper()
    if log_level not in LOG_LEVELS:
        problems.append(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not {log_level}")

    admins = [a.strip() for a in get("CADENCE_ADMINS").split(",") if a.strip()]
    bad_admins = [a for a in admins if not USER_ID.match(a)]
    if bad_admins:
        problems.append(
            "CADENCE_ADMINS must be Slack member IDs separated by commas (like U012ABCDEF; "
            "Profile → ⋮ → Copy member ID), not " + ", ".join(bad_admins)
        )

    if problems:
        raise ConfigError(problems)
    return Settings(
        slack_bot_token=bot_token,
        slack_signing_secret=signing_secret,
        slack_app_token=app_token,
        database_url=database_url,
        slack_api_url=api_url,
        port=port,
        log_level=log_level,
        admins=frozenset(admins),
        tick_seconds=tick_seconds,
        channel_pace_seconds=pace,
        send_concurrency=concurrency,
        away_emoji=frozenset(away_emoji),
    )


def _integer(
    raw: str, name: str, default: int, low: int, high: int, problems: list[str], what: str
) -> int:
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        problems.append(f"{name} must be a whole number from {low} to {high} ({what}), not {raw}")
        return default
    return value


def configure_logging(level: str) -> None:
    """One format for every process; slack_sdk's debug output never reaches INFO logs."""
    logging.basicConfig(
        level=getattr(logging, level, logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
