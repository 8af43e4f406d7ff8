"""Settings from the environment and `.env`, validated once at start.

Every problem is reported as one line that names the variable and says what to put there, so
a person setting Cadence up for the first time can fix all of them in one go.

`Settings` is a pydantic-settings model: each field is read from the variable named by its
alias, from the process environment over `.env` (the process wins). An empty value means the
default. Ranges, choices and URLs are pydantic's own constraints (`Field(ge=, le=)`, `Literal`,
`AnyHttpUrl`), worded for people by `PROBLEMS`; what pydantic cannot say (a token's prefix, the
rules between variables) is a validator raising `_problem(...)`. `load_settings` turns the
`ValidationError` into those lines: pydantic's wording never reaches the person.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AnyHttpUrl,
    BeforeValidator,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

DEFAULT_DATABASE_FILE = "cadence.db"
DEFAULT_DATABASE_URL = f"sqlite:///{DEFAULT_DATABASE_FILE}"
DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_PORT = 3000
DEFAULT_TICK_SECONDS = 30
DEFAULT_CHANNEL_PACE_SECONDS = 1.0
DEFAULT_SEND_CONCURRENCY = 8
EMOJI = re.compile(r"^:[a-z0-9_+'-]+:$")
USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
# A Cadence admin of one workspace: "T0123:U0456" (several workspaces need the team named).
TEAM_ADMIN = re.compile(r"^(?P<team>[TE][A-Z0-9]{2,}):(?P<user>[UW][A-Z0-9]{2,})$")
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
LogFormat = Literal["text", "json"]
LOG_LEVELS = LogLevel.__args__
LOG_FORMATS = LogFormat.__args__
PROBLEM = "cadence_config"  # the pydantic error type of a problem worded by Cadence

WHERE_TO_FIND = {
    "SLACK_BOT_TOKEN": (
        "copy the Bot User OAuth Token (xoxb-…) from OAuth & Permissions in your Slack app "
        "settings (https://api.slack.com/apps) into .env"
    ),
    "SLACK_SIGNING_SECRET": (
        "copy it from Basic Information → App Credentials in your Slack app settings into .env"
    ),
    "OAUTH": (
        "Cadence installs itself in several workspaces when SLACK_CLIENT_ID, SLACK_CLIENT_SECRET "
        "(Basic Information → App Credentials) and SLACK_STATE_SECRET (any long random text) "
        "are all set; set the rest, or none for one workspace with SLACK_BOT_TOKEN"
    ),
}
NEW_KEY_HINT = "make one with `python -m bot new-key`"
OAUTH_VARIABLES = {
    "slack_client_id": "SLACK_CLIENT_ID",
    "slack_client_secret": "SLACK_CLIENT_SECRET",
    "slack_state_secret": "SLACK_STATE_SECRET",
}


class ConfigError(Exception):
    """The configuration cannot be used; `problems` holds one line per variable."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


def _problem(line: str) -> PydanticCustomError:
    """A problem with one variable, worded for the person who sets it (the whole line)."""
    return PydanticCustomError(PROBLEM, "{line}", {"line": line})


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _shown(raw: str, limit: int = 60) -> str:
    """A value echoed in a problem line, shortened so the line stays one line."""
    return raw if len(raw) <= limit else raw[: limit - 1] + "…"


def _with_slash(url: AnyHttpUrl) -> str:
    text = str(url)
    return text if text.endswith("/") else text + "/"


# A bad value of a constrained field, in Cadence's words ({shown}: the value as given).
PROBLEMS = {
    "slack_api_url": "SLACK_API_URL must be an http(s) URL such as https://slack.com/api/ (leave "
    "it unset to talk to Slack)",
    "port": "PORT must be a whole number from 1 to 65535 (a TCP port), not {shown}",
    "log_level": f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not {{shown}}",
    "log_format": f"LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}, not {{shown}}",
    "tick_seconds": "CADENCE_TICK_SECONDS must be a whole number from 1 to 3600 (seconds between "
    "scheduler passes), not {shown}",
    "channel_pace_seconds": "CADENCE_CHANNEL_PACE_SECONDS must be seconds from 0 to 60 between "
    "two messages to one channel (Slack allows about 1 per second), not {shown}",
    "send_concurrency": "CADENCE_SEND_CONCURRENCY must be a whole number from 1 to 64 (messages "
    "sent to different channels at once), not {shown}",
}


def _comma_list(value: Any) -> list[str]:
    if isinstance(value, frozenset | set | list | tuple):
        return [_text(v) for v in value if _text(v)]
    return [part.strip() for part in _text(value).split(",") if part.strip()]


class Settings(BaseSettings):
    """Validated configuration; build it with `load_settings`."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        case_sensitive=True,
        enable_decoding=False,  # lists are comma-separated text, not JSON
        extra="ignore",  # .env may hold other programs' variables
        frozen=True,
        validate_default=True,  # an unset required variable is reported like an empty one
    )

    # Several workspaces (Slack's OAuth install) when all three are set; listed first so that
    # the bot token's check knows whether it is needed.
    slack_client_id: str | None = Field(None, validation_alias="SLACK_CLIENT_ID")
    slack_client_secret: str | None = Field(
        None, validation_alias="SLACK_CLIENT_SECRET", repr=False
    )
    slack_state_secret: str | None = Field(None, validation_alias="SLACK_STATE_SECRET", repr=False)
    # The keys that encrypt the secrets Cadence stores (storage/encryption.py): the first
    # encrypts, every one decrypts. Needed with several workspaces (their tokens are stored).
    encryption_keys: tuple[str, ...] = Field(
        (), validation_alias="CADENCE_ENCRYPTION_KEYS", repr=False
    )
    # Keys taken out of CADENCE_ENCRYPTION_KEYS, kept only so the audit links they keyed still
    # verify (storage/audit_keys.py); never used to encrypt or open a secret.
    retired_keys: tuple[str, ...] = Field((), validation_alias="CADENCE_RETIRED_KEYS", repr=False)
    slack_bot_token: str = Field("", validation_alias="SLACK_BOT_TOKEN", repr=False)
    slack_signing_secret: str = Field("", validation_alias="SLACK_SIGNING_SECRET", repr=False)
    # A rotation of the signing secret: the one Slack used before, accepted beside the new one
    # until the moment given (or until it is removed).
    slack_signing_secret_previous: str | None = Field(
        None, validation_alias="SLACK_SIGNING_SECRET_PREVIOUS", repr=False
    )
    slack_signing_secret_previous_until: datetime | None = Field(
        None, validation_alias="SLACK_SIGNING_SECRET_PREVIOUS_UNTIL"
    )
    slack_app_token: str | None = Field(None, validation_alias="SLACK_APP_TOKEN", repr=False)
    database_url: str = Field(DEFAULT_DATABASE_URL, validation_alias="DATABASE_URL")
    # Off by default: behind a transaction-mode pooler a statement prepared in one server
    # session is missing in the next (storage/db.py, docs/operations.md).
    database_prepared_statements: bool = Field(
        False, validation_alias="DATABASE_PREPARED_STATEMENTS"
    )
    slack_api_url: Annotated[AnyHttpUrl, AfterValidator(_with_slash)] = Field(
        DEFAULT_SLACK_API_URL, validation_alias="SLACK_API_URL"
    )
    port: int = Field(DEFAULT_PORT, ge=1, le=65535, validation_alias="PORT")
    log_level: Annotated[LogLevel, BeforeValidator(lambda v: str(v).upper())] = Field(
        "INFO", validation_alias="LOG_LEVEL"
    )
    log_format: Annotated[LogFormat, BeforeValidator(lambda v: str(v).lower())] = Field(
        "text", validation_alias="LOG_FORMAT"
    )
    admins: frozenset[str] = Field(frozenset(), validation_alias="CADENCE_ADMINS")
    tick_seconds: int = Field(
        DEFAULT_TICK_SECONDS, ge=1, le=3600, validation_alias="CADENCE_TICK_SECONDS"
    )
    channel_pace_seconds: float = Field(
        DEFAULT_CHANNEL_PACE_SECONDS,
        ge=0,
        le=60,
        allow_inf_nan=False,
        validation_alias="CADENCE_CHANNEL_PACE_SECONDS",
    )
    send_concurrency: int = Field(
        DEFAULT_SEND_CONCURRENCY, ge=1, le=64, validation_alias="CADENCE_SEND_CONCURRENCY"
    )
    away_emoji: frozenset[str] = Field(frozenset(), validation_alias="CADENCE_AWAY_EMOJI")

    @property
    def socket_mode(self) -> bool:
        return bool(self.slack_app_token)

    @property
    def oauth(self) -> bool:
        """Several workspaces: Slack's OAuth install flow, a token per installing workspace."""
        return bool(self.slack_client_id and self.slack_client_secret and self.slack_state_secret)

    def __repr_args__(self) -> Iterator[tuple[str | None, Any]]:
        """The tokens are left out (repr=False); a password in the database URL is hidden."""
        for name, value in super().__repr_args__():
            if name == "database_url":
                value = _hide_password(value)
            yield name, value

    # --- validators, in the order the problems are listed ------------------------------------

    @model_validator(mode="before")
    @classmethod
    def _empty_means_default(cls, values: Any) -> Any:
        """A variable set to nothing (or spaces) is as good as unset; the rest is stripped."""
        if not isinstance(values, dict):
            return values
        return {
            name: value.strip() if isinstance(value, str) else value
            for name, value in values.items()
            if not (isinstance(value, str) and not value.strip())
        }

    @field_validator("slack_client_id", "slack_client_secret", "slack_state_secret", mode="before")
    @classmethod
    def _oauth_part(cls, value: Any) -> str | None:
        return _text(value) or None

    @field_validator("encryption_keys", mode="before")
    @classmethod
    def _encryption_keys(cls, value: Any, info: ValidationInfo) -> tuple[str, ...]:
        keys = _encryption_keys(value)
        if not keys and all(info.data.get(name) for name in OAUTH_VARIABLES):
            raise _problem(
                "CADENCE_ENCRYPTION_KEYS is not set: with several workspaces Cadence stores each "
                f"one's bot token encrypted with it; {NEW_KEY_HINT}"
            )
        return keys

    @field_validator("retired_keys", mode="before")
    @classmethod
    def _retired_keys(cls, value: Any) -> tuple[str, ...]:
        return _encryption_keys(value, variable="CADENCE_RETIRED_KEYS")

    @field_validator("slack_bot_token", mode="before")
    @classmethod
    def _bot_token(cls, value: Any, info: ValidationInfo) -> str:
        token = _text(value)
        oauth_missing = [var for name, var in OAUTH_VARIABLES.items() if not info.data.get(name)]
        if 0 < len(oauth_missing) < len(OAUTH_VARIABLES):
            raise _problem(
                f"{' and '.join(oauth_missing)} {'is' if len(oauth_missing) == 1 else 'are'} "
                f"not set: {WHERE_TO_FIND['OAUTH']}"
            )
        if not token and not oauth_missing:
            return ""  # several workspaces: each installation brings its own token
        if not token:
            raise _problem(f"SLACK_BOT_TOKEN is not set: {WHERE_TO_FIND['SLACK_BOT_TOKEN']}")
        if not token.startswith("xoxb-"):
            raise _problem(
                "SLACK_BOT_TOKEN must be a bot token starting with xoxb-: "
                + WHERE_TO_FIND["SLACK_BOT_TOKEN"]
            )
        return token

    @field_validator("slack_signing_secret", mode="before")
    @classmethod
    def _signing_secret(cls, value: Any) -> str:
        secret = _text(value)
        if not secret:
            raise _problem(
                f"SLACK_SIGNING_SECRET is not set: {WHERE_TO_FIND['SLACK_SIGNING_SECRET']}"
            )
        return secret

    @field_validator("slack_signing_secret_previous", mode="before")
    @classmethod
    def _previous_signing_secret(cls, value: Any) -> str | None:
        return _text(value) or None

    @field_validator("slack_signing_secret_previous_until", mode="before")
    @classmethod
    def _previous_until(cls, value: Any, info: ValidationInfo) -> datetime | None:
        text = _text(value)
        if not text:
            return None
        try:
            until = datetime.fromisoformat(text)
        except ValueError:
            until = None
        if until is None or until.tzinfo is None:
            raise _problem(
                "SLACK_SIGNING_SECRET_PREVIOUS_UNTIL must be a moment with its offset, like "
                f"2026-12-31T18:00:00+00:00, not {_shown(text)}"
            )
        if not info.data.get("slack_signing_secret_previous"):
            raise _problem(
                "SLACK_SIGNING_SECRET_PREVIOUS_UNTIL is set but SLACK_SIGNING_SECRET_PREVIOUS is "
                "not: set the signing secret Slack used before the rotation, or neither"
            )
        return until

    @field_validator("slack_app_token", mode="before")
    @classmethod
    def _app_token(cls, value: Any, info: ValidationInfo) -> str | None:
        token = _text(value) or None
        if token and not token.startswith("xapp-"):
            raise _problem(
                "SLACK_APP_TOKEN must be an app-level token starting with xapp-: create one with "
                "the connections:write scope under Basic Information → App-Level Tokens, or "
                "leave it empty to serve HTTP"
            )
        if token and all(info.data.get(name) for name in OAUTH_VARIABLES):
            raise _problem(
                "SLACK_APP_TOKEN cannot be used with SLACK_CLIENT_ID: installing Cadence in "
                "several workspaces needs HTTP (/slack/install), so leave SLACK_APP_TOKEN empty"
            )
        return token

    @field_validator("database_url", mode="before")
    @classmethod
    def _database_url(cls, value: Any) -> str:
        database_url = _text(value) or DEFAULT_DATABASE_URL
        try:
            url = make_url(database_url)
            backend = url.get_backend_name()
        except (ArgumentError, ValueError):
            raise _problem(
                "DATABASE_URL is not a database URL: use sqlite:///cadence.db or "
                "postgresql+psycopg://user:password@host:5432/dbname"
            ) from None
        if backend not in ("sqlite", "postgresql"):
            raise _problem(
                "DATABASE_URL must be sqlite:///path.db or postgresql+psycopg://user@host/db, "
                f"not {backend}"
            )
        if backend == "postgresql" and url.drivername != "postgresql+psycopg":
            return url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
        return database_url

    @field_validator("admins", mode="before")
    @classmethod
    def _admins(cls, value: Any, info: ValidationInfo) -> frozenset[str]:
        admins = _comma_list(value)
        bad = [a for a in admins if not (USER_ID.match(a) or TEAM_ADMIN.match(a))]
        if bad:
            raise _problem(
                "CADENCE_ADMINS must be Slack member IDs separated by commas (like U012ABCDEF; "
                "Profile → ⋮ → Copy member ID), not " + _shown(", ".join(bad))
            )
        several = all(info.data.get(name) for name in OAUTH_VARIABLES)
        bare = [a for a in admins if USER_ID.match(a)]
        if several and bare:
            # A bare member ID would make that person an admin of every workspace that
            # installs Cadence, including through a Slack Connect channel of theirs.
            raise _problem(
                "CADENCE_ADMINS must name each admin's workspace when Cadence serves several "
                f"(SLACK_CLIENT_ID is set): write T0123ABC:{bare[0]}, not {_shown(bare[0])}"
            )
        return frozenset(admins)

    def admins_of(self, team_id: str) -> frozenset[str]:
        """The Cadence admins of one workspace: `T…:U…` entries for that team, and (one
        workspace only: validation refuses them with OAuth) the bare member IDs."""
        chosen = set()
        for entry in self.admins:
            qualified = TEAM_ADMIN.match(entry)
            if qualified is None:
                chosen.add(entry)
            elif qualified["team"] == team_id:
                chosen.add(qualified["user"])
        return frozenset(chosen)

    @field_validator("away_emoji", mode="before")
    @classmethod
    def _away_emoji(cls, value: Any) -> frozenset[str]:
        emoji = _comma_list(value)
        bad = [e for e in emoji if not EMOJI.match(e)]
        if bad:
            raise _problem(
                "CADENCE_AWAY_EMOJI must be Slack emoji codes separated by commas, like "
                ":palm_tree:,:face_with_thermometer:, not " + _shown(", ".join(bad))
            )
        return frozenset(emoji)


class _SettingsWithoutSlack(Settings):
    """For commands that only touch the database (`migrate`): the Slack credentials may be
    missing or malformed. (A validator of the same name replaces the inherited one.)"""

    @field_validator("slack_bot_token", mode="before")
    @classmethod
    def _bot_token(cls, value: Any) -> str:
        return _text(value)

    @field_validator("slack_signing_secret", mode="before")
    @classmethod
    def _signing_secret(cls, value: Any) -> str:
        return _text(value)

    @field_validator("encryption_keys", mode="before")
    @classmethod
    def _encryption_keys(cls, value: Any) -> tuple[str, ...]:
        return _encryption_keys(value)  # checked, but `rotate-key` says when it is missing

    def __repr_name__(self) -> str:
        return "Settings"


def _encryption_keys(value: Any, variable: str = "CADENCE_ENCRYPTION_KEYS") -> tuple[str, ...]:
    """CADENCE_ENCRYPTION_KEYS: Fernet keys (32 bytes, URL-safe base64: 44 characters),
    comma-separated. A bad one is named by its place, never echoed (it is a secret)."""
    keys = _comma_list(value)
    for place, key in enumerate(keys, start=1):
        try:
            good = len(base64.urlsafe_b64decode(key.encode("ascii"))) == 32
        except (binascii.Error, ValueError, UnicodeEncodeError):
            good = False
        if not good:
            raise _problem(
                f"{variable}: key {place} of {len(keys)} is not an encryption key "
                f"(44 characters of URL-safe base64): {NEW_KEY_HINT}"
            )
    if len(set(keys)) != len(keys):
        raise _problem(f"{variable} names one key twice: list each key once")
    return tuple(keys)


VARIABLES: dict[str, str] = {
    name: str(field.validation_alias) for name, field in Settings.model_fields.items()
}
"""Field name → the environment variable it is read from."""
FIELDS = {variable: name for name, variable in VARIABLES.items()}


def load_settings(env: Mapping[str, str] | None = None, *, need_slack: bool = True) -> Settings:
    """Validate the configuration once; raise ConfigError listing every problem found.

    With `env=None` the process environment is read over `.env`; a mapping replaces both
    entirely (tests pass their own). `need_slack=False` is for commands that only touch the
    database (`migrate`).
    """
    model = Settings if need_slack else _SettingsWithoutSlack
    try:
        if env is None:
            return model()
        # Every variable is given, so nothing falls through to the environment or `.env`.
        return model(_env_file=None, **{var: env.get(var) or "" for var in VARIABLES.values()})
    except ValidationError as e:
        raise ConfigError(_problems(e)) from None


def _problems(error: ValidationError) -> list[str]:
    """One line per variable, in Cadence's words."""
    aliases = {alias: alias for alias in VARIABLES.values()}
    problems: list[str] = []
    for item in error.errors(include_url=False):
        where = str(item["loc"][0]) if item["loc"] else ""
        variable = VARIABLES.get(where) or aliases.get(where) or "the configuration"
        if item["type"] == PROBLEM:
            line = item["ctx"]["line"]
        elif (field := FIELDS.get(where, where)) in PROBLEMS:
            line = PROBLEMS[field].format(shown=_shown(_text(item.get("input"))))
        else:  # a check Cadence did not word itself: still name the variable and the fix
            line = f"{variable} has a value Cadence cannot use: see .env.example for its form"
        if line not in problems:
            problems.append(line)
    return problems


def _hide_password(database_url: str) -> str:
    try:
        return make_url(database_url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError):
        return "<unreadable URL>"


def configure_logging(settings: Settings) -> None:
    """One format for every process (`bot/platform/logs.py`)."""
    from bot.platform.logs import setup

    setup(level=settings.log_level, fmt=settings.log_format)
