"""`python -m bot rotate-key` and `python -m bot new-key`: the keys of the secrets Cadence
stores (storage/encryption.py), and the check that a process can read them before it starts.

Rotating a key: put a new key first in CADENCE_ENCRYPTION_KEYS and keep the old one after it
(every process now seals with the new one and still opens the old), run `rotate-key` (every
stored secret is re-encrypted under the new key, in one transaction, audited per workspace),
then move the old key to CADENCE_RETIRED_KEYS (the audit links it keyed still verify with
it). The first run after upgrading also encrypts the tokens stored in plain
text before encryption existed. A key that cannot open a stored secret stops it, in one line,
with nothing changed.
"""

from __future__ import annotations

import getpass
import sys

from bot.domain import audit
from bot.platform.services import Services
from storage import encryption

EXIT_CONFIG = 2
NO_KEYS = (
    "CADENCE_ENCRYPTION_KEYS is not set: it holds the keys of the secrets Cadence stores "
    "(make one with `python -m bot new-key`)"
)


def rotate_key(services: Services) -> int:
    """Re-encrypt every stored secret under the first key; the process exit status."""
    if not services.settings.encryption_keys:
        print(f"Cadence cannot rotate its key. {NO_KEYS}", file=sys.stderr)
        return EXIT_CONFIG
    now = services.clock()
    try:
        with services.db.session() as session:
            done = encryption.rotate_all(session, services.keys)
            for team_id, count in sorted(done.by_team.items()):
                audit.record(
                    session=session,
                    team_id=team_id,
                    actor=operator(),
                    entity_type="secrets",
                    entity_id=0,
                    action="key_rotated",
                    now=now,
                    after={"secrets": count, "were_plain_text": done.plain_by_team.get(team_id, 0)},
                )
    except encryption.UnreadableSecret as e:
        print(f"Nothing was re-encrypted: {e}. {KEEP_OLD_KEY}", file=sys.stderr)
        return EXIT_CONFIG
    print(
        f"Re-encrypted {done.total} stored secret(s) of {len(done.by_team)} workspace(s) under "
        f"the first key of CADENCE_ENCRYPTION_KEYS ({done.plain} of them were in plain text)."
    )
    if done.rewritten_meanwhile:
        print(
            f"{done.rewritten_meanwhile} secret(s) were rewritten by an install meanwhile and "
            "left as that wrote them: run rotate-key again once every process has the new key."
        )
    if len(services.settings.encryption_keys) > 1:
        print(
            "Once every process runs with the new key first, move the older key(s) to "
            "CADENCE_RETIRED_KEYS: they open no secret there, and the audit links they keyed "
            "still verify."
        )
    return 0


KEEP_OLD_KEY = (
    "Keep the key it was encrypted with in CADENCE_ENCRYPTION_KEYS, after the new one, "
    "until rotate-key has run"
)


def operator() -> str:
    """Who ran the command, for the audit trail (the system's name for them)."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a bare container)
        name = "unknown"
    return f"cli:{name}"[:32]


def new_key() -> int:
    print(encryption.new_key())
    return 0


def unreadable_secrets(services: Services) -> str | None:
    """Why a process that serves several workspaces must not start (one line), or None: a stored
    token in plain text, or one no key in CADENCE_ENCRYPTION_KEYS opens."""
    if not services.settings.oauth:
        return None
    with services.db.read_session() as session:
        found = encryption.unreadable(session, services.keys)
    if not found:
        return None
    plain = [e for e in found if e.plain_text]
    if plain:
        return (
            f"{len(plain)} stored secret(s) are in plain text, e.g. {plain[0].where}: run "
            "`python -m bot rotate-key` to encrypt them"
        )
    return (
        f"CADENCE_ENCRYPTION_KEYS cannot open {len(found)} stored secret(s), e.g. "
        f"{found[0].where}: set the key they were encrypted with (after the new one while "
        "rotating)"
    )
