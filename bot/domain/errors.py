"""Errors a person can fix, carrying the message for that person.

Handlers turn `FieldErrors` into inline modal errors (`response_action: errors`) and
`UserError` into an ephemeral reply. Anything else is unexpected: logged, and the person gets a
short apology with a reference.
"""

from __future__ import annotations


class UserError(Exception):
    """Something the person asked for cannot be done as asked; `message` says how to fix it."""

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


class NotAllowed(UserError):
    """The person may not do this (checked on the server for every action)."""


class NotFound(UserError):
    """What the person named does not exist in this workspace."""


class FieldErrors(UserError):
    """Problems with specific modal fields, keyed by the field's name (its action_id)."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(errors.values()))
