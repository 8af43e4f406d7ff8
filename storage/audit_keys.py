"""The audit chain's secret: HMAC-SHA256 keys derived from the deployment's encryption keys, so a
person who can write to the database but has no key cannot recompute a link or the chain head.

Why derived and not a setting of its own: every deployment that stores secrets already keeps
CADENCE_ENCRYPTION_KEYS outside the database, rotates it with `rotate-key` and keeps a retired
one apart from the backups. One key per purpose is still kept: HKDF-SHA256 (RFC 5869, from
`cryptography`) with its own `info` turns each Fernet key into an audit key that is never used
to encrypt, and the Fernet key is never used as an HMAC key.

The first encryption key keys new links; every other key, and each key of CADENCE_RETIRED_KEYS
(keys taken out of service, kept only so what they keyed still verifies), verifies. A link names
its key by `key_id`: a one-way fingerprint of the audit key (never the key, never the Fernet
key). Without any key (one workspace, nothing secret stored) links are plain sha256, as they
were before keys existed: docs/security.md says what such a chain proves.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from dataclasses import dataclass, field

INFO = b"cadence audit chain hmac-sha256 v1"
SESSION_INFO = "cadence_audit_keys"  # a session's AuditKeys (`storage/db.py` gives them)
KEY_ID_LENGTH = 16


def derive(fernet_key: str) -> bytes:
    """The audit key of one Fernet key (44 characters of URL-safe base64, 32 bytes)."""
    # Imported here: a process without keys (a web process of one workspace) never needs the
    # library, which is 7 MB of its memory.
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    material = base64.urlsafe_b64decode(fernet_key.encode("ascii"))
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=INFO).derive(material)


def key_id(audit_key: bytes) -> str:
    """What a link records of its key: enough to find it, nothing to recompute it from."""
    return hmac.new(audit_key, b"cadence audit key id", hashlib.sha256).hexdigest()[:KEY_ID_LENGTH]


@dataclass(frozen=True)
class AuditKeys:
    """The keys at hand: `current` keys new links (None: plain sha256), `by_id` verifies."""

    current: str | None
    by_id: dict[str, bytes] = field(repr=False)  # secrets: never in a repr or a log

    @classmethod
    def of(cls, encryption_keys: Sequence[str], retired: Sequence[str] = ()) -> AuditKeys:
        by_id: dict[str, bytes] = {}
        current = None
        for n, fernet_key in enumerate([*encryption_keys, *retired]):
            audit_key = derive(fernet_key)
            kid = key_id(audit_key)
            by_id[kid] = audit_key
            if n == 0 and encryption_keys:
                current = kid
        return cls(current, by_id)

    @property
    def keyed(self) -> bool:
        return self.current is not None

    def mac(self, kid: str, text: str) -> str:
        """HMAC-SHA256 of `text` under key `kid` (KeyError: a key this process lacks)."""
        return hmac.new(self.by_id[kid], text.encode("utf-8"), hashlib.sha256).hexdigest()


NONE = AuditKeys(None, {})
