"""Which signing secrets a request from Slack may be signed with: SLACK_SIGNING_SECRET, and
during a rotation also SLACK_SIGNING_SECRET_PREVIOUS (until SLACK_SIGNING_SECRET_PREVIOUS_UNTIL,
when that is set).

Slack signs every HTTP request with the app's signing secret (v0 HMAC-SHA256 of
`v0:timestamp:body`, https://api.slack.com/authentication/verifying-requests-from-slack).
Regenerating the secret in the app's settings and deploying it cannot happen at one instant:
processes that know both secrets accept either while the rollout runs, and the old one stops
being accepted at the moment set for it (or when it is removed). Each secret is checked exactly
as slack_sdk's `SignatureVerifier` checks one: the timestamp within five minutes, the signature
compared in constant time, so a stale or forged request is refused whichever secret it claims.
"""

from __future__ import annotations

import logging
from datetime import datetime

from slack_sdk.signature import Clock, SignatureVerifier

from bot.platform.config import Settings

log = logging.getLogger(__name__)


class SigningSecrets(SignatureVerifier):
    """slack_sdk's verifier over the current secret, falling back to the previous one while its
    window lasts (wall-clock time, as the request's timestamp is)."""

    def __init__(
        self,
        current: str,
        previous: str | None = None,
        previous_until: datetime | None = None,
        clock: Clock | None = None,
    ):
        super().__init__(signing_secret=current, clock=clock or Clock())
        self._previous = (
            SignatureVerifier(signing_secret=previous, clock=self.clock) if previous else None
        )
        self._until = previous_until.timestamp() if previous_until else None

    def previous_accepted(self) -> bool:
        return self._previous is not None and (
            self._until is None or self.clock.now() < self._until
        )

    def is_valid(self, body: str | bytes, timestamp: str | None, signature: str | None) -> bool:
        if super().is_valid(body, timestamp, signature):
            return True
        if self._previous is None or not self.previous_accepted():
            return False
        if self._previous.is_valid(body, timestamp, signature):
            log.info("a request signed with the previous signing secret was accepted")
            return True
        return False


def signing_secrets(settings: Settings) -> SigningSecrets:
    verifier = SigningSecrets(
        settings.slack_signing_secret,
        settings.slack_signing_secret_previous,
        settings.slack_signing_secret_previous_until,
    )
    if settings.slack_signing_secret_previous and not verifier.previous_accepted():
        log.warning(
            "SLACK_SIGNING_SECRET_PREVIOUS is no longer accepted (its window ended at %s): "
            "remove it",
            settings.slack_signing_secret_previous_until,
        )
    return verifier
