"""One wrapper for every listener: no exception escapes after `ack()`.

An exception escaping a Bolt listener right after `ack()` can make Bolt answer Slack 404 (a race
in its thread runner), and Slack then shows the person an error. So expected errors
(`UserError`) become a message to the person, and unexpected ones are logged with context and
a reference, and the person gets a short apology with that reference, never a stack trace.
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Callable
from typing import Any

from bot.domain.errors import UserError

log = logging.getLogger("cadence.handlers")


def tell(kwargs: dict[str, Any], text: str) -> None:
    """Tell the person who made the request: ephemerally where Slack allows, else by DM."""
    body = kwargs.get("body") or {}
    respond = kwargs.get("respond")
    try:
        if respond is not None and body.get("response_url"):
            respond(text=text, response_type="ephemeral", replace_original=False)
            return
        client = kwargs.get("client")
        user = (body.get("user") or {}).get("id") or body.get("user_id")
        if client is not None and user:
            client.chat_postMessage(channel=user, text=text)
    except Exception:
        log.exception("could not tell the person about an error")


def _ensure_acked(kwargs: dict[str, Any]) -> None:
    ack = kwargs.get("ack")
    if ack is not None and getattr(ack, "response", None) is None:
        ack()


def guarded(listener: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(listener)
    def wrapper(**kwargs: Any) -> Any:
        try:
            return listener(**kwargs)
        except UserError as e:
            _ensure_acked(kwargs)
            tell(kwargs, e.message)
        except Exception:
            reference = uuid.uuid4().hex[:8]
            body = kwargs.get("body") or {}
            log.exception(
                "listener %s failed (reference %s, team %s, user %s, type %s)",
                listener.__name__,
                reference,
                (body.get("team") or {}).get("id") or body.get("team_id"),
                (body.get("user") or {}).get("id") or body.get("user_id"),
                body.get("type") or body.get("command"),
            )
            _ensure_acked(kwargs)
            tell(
                kwargs,
                f"Sorry, something went wrong on Cadence's side (reference `{reference}`). "
                "Please try again; if it keeps happening, give your Cadence admin that reference.",
            )
        return None

    return wrapper
