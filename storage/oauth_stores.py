"""slack_sdk's SQLAlchemy installation and state stores over Cadence's database, for Slack's
install flow (several workspaces: `bot/entry/app.py` builds them only then). Their tables are
Alembic's (`storage/oauth_tables.py`), not created here. Apart from `installations.py` because
importing the stores imports `sqlalchemy.ext.asyncio` and greenlet, which a process with one
workspace never needs (tests/test_web_memory.py).

The tokens are stored encrypted (`storage/encryption.py`): the store seals and opens them in
its own statements. A token no key opens, or one in plain text, is refused loudly: logged as
an error, and the workspace is served as if it had no installation.
"""

from __future__ import annotations

import logging

from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import SQLAlchemyOAuthStateStore
from sqlalchemy import Engine

from storage.encryption import Keys, UnreadableSecret, seal_columns

STATE_EXPIRATION_SECONDS = 600  # an install started and not finished within ten minutes is void
log = logging.getLogger(__name__)


class SealedInstallationStore(SQLAlchemyInstallationStore):
    """slack_sdk's SQLAlchemy store with its secret columns sealed: what `save` writes is
    encrypted, what `find_*` reads is decrypted. A stored token it cannot open makes the
    workspace look not installed (Bolt refuses its requests) and is logged as an error."""

    def __init__(self, client_id: str, engine: Engine, keys: Keys):
        super().__init__(client_id=client_id, engine=engine, logger=log)
        seal_columns((self.bots, self.installations), keys)

    def find_bot(self, **kwargs):  # type: ignore[override]
        try:
            return super().find_bot(**kwargs)
        except UnreadableSecret as e:
            log.error("refused a stored token: %s", e)
            return None

    def find_installation(self, **kwargs):  # type: ignore[override]
        try:
            return super().find_installation(**kwargs)
        except UnreadableSecret as e:
            log.error("refused a stored token: %s", e)
            return None


def installation_store(engine: Engine, client_id: str, keys: Keys) -> SealedInstallationStore:
    """slack_sdk's store over Cadence's database (its tables are Alembic's, not created here),
    its tokens encrypted with `keys`."""
    return SealedInstallationStore(client_id=client_id, engine=engine, keys=keys)


def state_store(engine: Engine) -> SQLAlchemyOAuthStateStore:
    return SQLAlchemyOAuthStateStore(expiration_seconds=STATE_EXPIRATION_SECONDS, engine=engine)
