"""Which workspaces have Cadence installed, with which bot token; and what uninstalling,
reinstalling and forgetting a workspace do to the stored rows.

With several workspaces (OAuth), slack_sdk's SQLAlchemy installation store keeps each
installation in `slack_installations` and `slack_bots` (tables in `storage/models.py`, created by
migration 0013). The engine has no request to authorize, so it finds a workspace's token here by
its team id. An uninstalled workspace keeps its data (engagements, history) but loses its tokens,
its pending jobs and its place in planning (`workspace.uninstalled_at`) until it installs
Cadence again; `forget` deletes every row it has, for an admin who asks.

The tokens are stored encrypted (`storage/encryption.py`): the store seals and opens them in
its own statements (`SealedInstallationStore`, in `oauth_stores.py`: only the install flow
opens a store), `bot_of` and `bot_token` open what they read. A token no key
opens, or one in plain text, is refused loudly: logged as an error, and the workspace is served
as if it had no installation (nothing is sent with a value that is not its token).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, Engine, delete, desc, exists, func, select, update
from sqlmodel import Session, SQLModel, col

from storage.encryption import Keys, UnreadableSecret, where
from storage.jobs import JobStatus
from storage.models import SLACK_BOTS, SLACK_INSTALLATIONS, Engagement, ScheduledJob, Workspace
from storage.sqlite_locking import READ_ONLY

log = logging.getLogger(__name__)


def bot_token(engine: Engine, *, client_id: str, team_id: str, keys: Keys) -> str | None:
    """The latest bot token of the app `client_id` in workspace `team_id`, decrypted (None: not
    installed, or its token cannot be opened, which is logged as an error).

    Unlike the store's `find_bot`, whatever Enterprise Grid org the workspace belongs to: the
    engine knows a workspace by its team id alone.
    """
    bot = bot_of(engine, client_id=client_id, team_id=team_id, keys=keys)
    return None if bot is None else bot.bot_token


@dataclass(frozen=True)
class InstalledBot:
    """Who Cadence's bot is in one workspace, as its install stored it (its token decrypted)."""

    team_id: str
    enterprise_id: str | None
    bot_token: str
    bot_id: str | None
    bot_user_id: str | None
    bot_scopes: list[str]


def teams_of_channel(engine: Engine, *, channel_id: str) -> list[str]:
    """The workspaces whose active engagement's channel is `channel_id`: one is where a
    command sent there belongs, two (at most two are read) are a choice Cadence never makes.
    One query on `ix_engagement_channel_id`, in a read-only transaction as `bot_of`."""
    engagement = Engagement.__table__.c
    query = (
        select(engagement.team_id)
        .where(engagement.channel_id == channel_id)
        .where(engagement.archived_at.is_(None))
        .distinct()
        .limit(2)
    )
    with engine.execution_options(**{READ_ONLY: True}).begin() as connection:
        return list(connection.execute(query).scalars())


def bot_of(engine: Engine, *, client_id: str, team_id: str, keys: Keys) -> InstalledBot | None:
    """The latest bot installed in workspace `team_id` (None: Cadence is not installed there, or
    its stored token cannot be opened, which is logged as an error), by team id alone: a request
    from a Slack Connect channel may name another organisation's enterprise.

    A read-only transaction: on SQLite it takes neither the write lock nor the process's turn to
    write, so a long write elsewhere (a pass, a request) never holds up finding a token."""
    bots = SLACK_BOTS.c
    query = (
        select(
            bots.id,
            bots.enterprise_id,
            bots.bot_token,
            bots.bot_id,
            bots.bot_user_id,
            bots.bot_scopes,
        )
        .where(bots.client_id == client_id)
        .where(bots.team_id == team_id)
        .where(bots.bot_token.is_not(None))
        .order_by(desc(bots.installed_at), desc(bots.id))
        .limit(1)
    )
    with engine.execution_options(**{READ_ONLY: True}).begin() as connection:
        row = connection.execute(query).first()
    if row is None:
        return None
    try:
        token = keys.open(row.bot_token, where=where(SLACK_BOTS, "bot_token", row.id, team_id))
    except UnreadableSecret as e:
        log.error("refused a stored token: %s", e)
        return None
    return InstalledBot(
        team_id=team_id,
        enterprise_id=row.enterprise_id,
        bot_token=token,
        bot_id=row.bot_id,
        bot_user_id=row.bot_user_id,
        bot_scopes=[s for s in (row.bot_scopes or "").split(",") if s],
    )


def installed(team_id_column: ColumnElement) -> ColumnElement[bool]:
    """A filter for planning queries: rows of workspaces that have not uninstalled Cadence."""
    return ~exists(
        select(Workspace.id)
        .where(col(Workspace.team_id) == team_id_column)
        .where(col(Workspace.uninstalled_at).is_not(None))
    )


@dataclass(frozen=True)
class Uninstalled:
    """What uninstalling stopped: pending jobs cancelled and stored token rows deleted."""

    jobs_cancelled: int
    tokens_deleted: int


def uninstall(session: Session, *, team_id: str, now: datetime) -> Uninstalled:
    """The workspace uninstalled Cadence (or revoked its bot token): mark it so planning skips
    it, cancel its pending jobs, delete its installation's tokens. Its data stays."""
    session.execute(
        update(Workspace)
        .where(col(Workspace.team_id) == team_id)
        .where(col(Workspace.uninstalled_at).is_(None))
        .values(uninstalled_at=now)
    )
    cancelled = cancel_pending(session, team_id=team_id, now=now)
    deleted = 0
    for table in (SLACK_BOTS, SLACK_INSTALLATIONS):
        deleted += session.execute(delete(table).where(table.c.team_id == team_id)).rowcount
    return Uninstalled(jobs_cancelled=cancelled, tokens_deleted=deleted)


def cancel_pending(session: Session, *, team_id: str, now: datetime) -> int:
    """Cancel every pending job of workspace `team_id` (its retries too); how many."""
    return session.execute(
        update(ScheduledJob)
        .where(col(ScheduledJob.team_id) == team_id)
        .where(col(ScheduledJob.status) == JobStatus.PENDING)
        .values(status=JobStatus.CANCELLED, updated_at=now, error="workspace uninstalled")
    ).rowcount


def reinstalled(session: Session, *, team_id: str) -> bool:
    """The workspace installed Cadence again: planning takes it up again. True if it had been
    uninstalled."""
    return bool(
        session.execute(
            update(Workspace)
            .where(col(Workspace.team_id) == team_id)
            .where(col(Workspace.uninstalled_at).is_not(None))
            .values(uninstalled_at=None)
        ).rowcount
    )


def forget(session: Session, *, team_id: str) -> dict[str, int]:
    """Delete every row that belongs to workspace `team_id`, children before parents (the
    reverse of the tables' dependency order); how many rows each table lost, by table name.
    Nothing of another workspace is touched: every statement is filtered by this team id."""
    counts: dict[str, int] = {}
    for table in reversed(SQLModel.metadata.sorted_tables):
        if "team_id" not in table.c:
            continue
        deleted = session.execute(delete(table).where(table.c.team_id == team_id)).rowcount
        if deleted:
            counts[table.name] = deleted
    return counts


def rows_of(session: Session, *, team_id: str) -> dict[str, int]:
    """How many rows each table holds for workspace `team_id` (for the confirmation)."""
    counts: dict[str, int] = {}
    for table in SQLModel.metadata.sorted_tables:
        if "team_id" not in table.c:
            continue
        found = session.execute(
            select(func.count()).select_from(table).where(table.c.team_id == team_id)
        ).scalar_one()
        if found:
            counts[table.name] = found
    return counts
