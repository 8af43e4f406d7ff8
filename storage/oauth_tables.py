"""Slack's OAuth tables, as slack_sdk's SQLAlchemy installation and state stores define them
(`SQLAlchemyInstallationStore.build_installations_table`, `build_bots_table`;
`SQLAlchemyOAuthStateStore.build_oauth_states_table`), written out on Cadence's metadata so
that Alembic owns them like every other table (migration 0013). The stores read and write
them (`storage/oauth_stores.py`).

Written out rather than built by the stores' class methods: importing those classes imports
`sqlalchemy.ext.asyncio` and greenlet (their async variants share the modules), 1.9 MB in
every process, and a `web` process with one workspace never opens a store
(tests/test_web_memory.py). tests/test_oauth_tables.py checks these against the stores' own
definitions, so a slack_sdk that changes them fails there.

Installations and bots carry `team_id`; the state of an install in progress belongs to no
workspace yet.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, Index, Integer, MetaData, String, Table, func

INSTALLATIONS_TABLE = "slack_installations"
BOTS_TABLE = "slack_bots"
STATES_TABLE = "slack_oauth_states"


def _id() -> Column:
    return Column("id", Integer, primary_key=True, autoincrement=True)


def _installed_at() -> Column:
    return Column("installed_at", DateTime, nullable=False, default=func.now())


def _bot_columns() -> list[Column]:
    """The bot's token and identity, in both tables (an installation row carries its bot's)."""
    return [
        Column("bot_token", String(200)),
        Column("bot_id", String(32)),
        Column("bot_user_id", String(32)),
        Column("bot_scopes", String(1000)),
        Column("bot_refresh_token", String(200)),
        Column("bot_token_expires_at", DateTime),
    ]


def installations_table(metadata: MetaData) -> Table:
    return Table(
        INSTALLATIONS_TABLE,
        metadata,
        _id(),
        Column("client_id", String(32), nullable=False),
        Column("app_id", String(32), nullable=False),
        Column("enterprise_id", String(32)),
        Column("enterprise_name", String(200)),
        Column("enterprise_url", String(200)),
        Column("team_id", String(32)),
        Column("team_name", String(200)),
        *_bot_columns(),
        Column("user_id", String(32), nullable=False),
        Column("user_token", String(200)),
        Column("user_scopes", String(1000)),
        Column("user_refresh_token", String(200)),
        Column("user_token_expires_at", DateTime),
        Column("incoming_webhook_url", String(200)),
        Column("incoming_webhook_channel", String(200)),
        Column("incoming_webhook_channel_id", String(200)),
        Column("incoming_webhook_configuration_url", String(200)),
        Column("is_enterprise_install", Boolean, default=False, nullable=False),
        Column("token_type", String(32)),
        _installed_at(),
        Index(
            f"{INSTALLATIONS_TABLE}_idx",
            "client_id",
            "enterprise_id",
            "team_id",
            "user_id",
            "installed_at",
        ),
    )


def bots_table(metadata: MetaData) -> Table:
    return Table(
        BOTS_TABLE,
        metadata,
        _id(),
        Column("client_id", String(32), nullable=False),
        Column("app_id", String(32), nullable=False),
        Column("enterprise_id", String(32)),
        Column("enterprise_name", String(200)),
        Column("team_id", String(32)),
        Column("team_name", String(200)),
        *_bot_columns(),
        Column("is_enterprise_install", Boolean, default=False, nullable=False),
        _installed_at(),
        Index(f"{BOTS_TABLE}_idx", "client_id", "enterprise_id", "team_id", "installed_at"),
    )


def states_table(metadata: MetaData) -> Table:
    return Table(
        STATES_TABLE,
        metadata,
        _id(),
        Column("state", String(200), nullable=False),
        Column("expire_at", DateTime, nullable=False),
    )
