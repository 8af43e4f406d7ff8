"""Secrets at rest: every secret Cadence stores is encrypted with a key from the environment.

The secrets are the tokens in slack_sdk's installation tables (`models.SEALED_COLUMNS`: each
workspace's bot token, and any refresh token, user token or webhook URL an install brings).
They are sealed with `cryptography`'s Fernet (AES-128-CBC with an HMAC-SHA256, a random IV
per value), through a MultiFernet over CADENCE_ENCRYPTION_KEYS: the first key encrypts, every
key decrypts, so a new key goes first while the old one still reads, and `rotate` re-encrypts
each value under the first key (`python -m bot rotate-key`).

A stored value that is not a Fernet token (a plain-text token written before encryption) is
never used as it is: opening it raises `UnreadableSecret`, as a value no key opens does. Only
`rotate` takes a plain-text value in, and seals it. Nothing here logs or words a secret's
value: an error names the table, the column, the row and its workspace.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import String, Table, TypeDecorator, select, update
from sqlalchemy.orm import Session

from storage.models import SEALED_COLUMNS

# Every Fernet token begins with its version byte 0x80 and a 64-bit timestamp whose top bytes
# are zero until the year 36812: base64 "gAAAAA". A Slack token begins "xox".
FERNET_PREFIX = "gAAAAA"


def is_sealed(stored: str) -> bool:
    return stored.startswith(FERNET_PREFIX)


class UnreadableSecret(Exception):
    """A stored secret Cadence cannot use: in plain text, or sealed by a key it does not have."""

    def __init__(self, where: str, *, plain_text: bool):
        self.where = where
        self.plain_text = plain_text
        why = (
            "is stored in plain text (run `python -m bot rotate-key` to encrypt it)"
            if plain_text
            else "was encrypted with a key CADENCE_ENCRYPTION_KEYS does not hold"
        )
        super().__init__(f"the secret in {where} {why}")


class Keys:
    """CADENCE_ENCRYPTION_KEYS at work: seal with the first key, open with any."""

    def __init__(self, keys: Sequence[str]):
        if not keys:
            raise ValueError("at least one key is needed")
        # Imported here, where keys are used: a web process of one workspace never seals
        # anything, and the library is 7 MB of its memory.
        from cryptography.fernet import Fernet, InvalidToken, MultiFernet

        self._fernet = MultiFernet([Fernet(key.encode("ascii")) for key in keys])
        self._invalid = InvalidToken

    def seal(self, plain: str) -> str:
        return self._fernet.encrypt(plain.encode()).decode("ascii")

    def open(self, stored: str, *, where: str) -> str:
        if not is_sealed(stored):
            raise UnreadableSecret(where, plain_text=True)
        try:
            return self._fernet.decrypt(stored.encode("ascii")).decode()
        except (self._invalid, UnicodeEncodeError):
            raise UnreadableSecret(where, plain_text=False) from None

    def rotate(self, stored: str, *, where: str) -> str:
        """The value sealed under the first key (a plain-text value is sealed too)."""
        if not is_sealed(stored):
            return self.seal(stored)
        try:
            return self._fernet.rotate(stored.encode("ascii")).decode("ascii")
        except (self._invalid, UnicodeEncodeError):
            raise UnreadableSecret(where, plain_text=False) from None


class Sealed(TypeDecorator):
    """A column whose values are sealed on the way in and opened on the way out (for slack_sdk's
    store, whose statements Cadence does not write). Not cached: the keys are part of the type."""

    impl = String
    cache_ok = False

    def __init__(self, keys: Keys, where: str):
        super().__init__()
        self.keys = keys
        self.where = where

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        return None if value is None else self.keys.seal(str(value))

    def process_result_value(self, value: Any, dialect: Any) -> str | None:
        return None if value is None else self.keys.open(value, where=self.where)


def seal_columns(tables: Sequence[Table], keys: Keys) -> None:
    """Make the secret columns of (copies of) Slack's installation tables `Sealed`."""
    names = {table.name: columns for table, columns in SEALED_COLUMNS.items()}
    for table in tables:
        for name in names.get(table.name, ()):
            table.c[name].type = Sealed(keys, f"{table.name}.{name}")


def where(table: Table, column: str, row_id: int, team_id: str | None) -> str:
    return f"{table.name}.{column} (row {row_id}, workspace {team_id or 'none'})"


@dataclass
class Rotation:
    """What `rotate_all` did: values re-encrypted per workspace, and of them how many were
    plain text; values left alone because another process rewrote them meanwhile."""

    by_team: dict[str, int] = field(default_factory=dict)
    plain_by_team: dict[str, int] = field(default_factory=dict)
    rewritten_meanwhile: int = 0

    @property
    def total(self) -> int:
        return sum(self.by_team.values())

    @property
    def plain(self) -> int:
        return sum(self.plain_by_team.values())


def rotate_all(session: Session, keys: Keys) -> Rotation:
    """Re-encrypt every stored secret under the first key, in the caller's transaction: one value
    no key opens raises `UnreadableSecret` and the caller's rollback keeps everything as it was.
    Each row is updated only if it still holds what was read (a reinstall meanwhile wins)."""
    done = Rotation()
    for table, columns in SEALED_COLUMNS.items():
        rows = session.execute(select(table.c.id, table.c.team_id, *table.c[columns])).all()
        for row in rows:
            values = dict(zip(columns, row[2:], strict=True))
            stored = {name: value for name, value in values.items() if value is not None}
            if not stored:
                continue
            new = {
                name: keys.rotate(value, where=where(table, name, row.id, row.team_id))
                for name, value in stored.items()
            }
            statement = update(table).where(table.c.id == row.id)
            for name, value in stored.items():
                statement = statement.where(table.c[name] == value)
            if session.execute(statement.values(**new)).rowcount != 1:
                done.rewritten_meanwhile += len(stored)
                continue
            team = row.team_id or ""
            done.by_team[team] = done.by_team.get(team, 0) + len(stored)
            plain = sum(1 for value in stored.values() if not is_sealed(value))
            if plain:
                done.plain_by_team[team] = done.plain_by_team.get(team, 0) + plain
    return done


def unreadable(session: Session, keys: Keys) -> list[UnreadableSecret]:
    """Every stored secret these keys cannot open (plain text or another key's), for a process
    that should not start without them."""
    found: list[UnreadableSecret] = []
    for table, columns in SEALED_COLUMNS.items():
        for row in session.execute(select(table.c.id, table.c.team_id, *table.c[columns])):
            for name, value in zip(columns, row[2:], strict=True):
                if value is None:
                    continue
                try:
                    keys.open(value, where=where(table, name, row.id, row.team_id))
                except UnreadableSecret as e:
                    found.append(e)
    return found


def new_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode("ascii")
