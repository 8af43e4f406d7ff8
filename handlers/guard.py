"""One wrapper for every listener: no exception escapes after `ack()`.

An exception escaping a Bolt listener right after `ack()` can make Bolt answer Slack 404 (a race
in its thread runner), and Slack then shows the person an error. So expected errors
(`UserError`) become a message to the person, and unexpected ones are logged with context and
a reference, and the person gets a short apology with that reference, never a stack trace.

A database that is away or hangs (`DatabaseUnavailable`, raised within the request's deadline)
is no bug of Cadence's: the person gets a short apology in time (Slack waits 3 s), and a form
stays open with the message on it, keeping what was typed.
"""

from __future__ import annotations

import inspect
import logging
import uuid
from collections.abc import Callable
from typing import Any

from bot.domain.errors import UserError
from handlers.context import AlreadyDone
from handlers.forms import DATABASE_AWAY_ON_FORM, first_block
from storage.deadline import DatabaseUnavailable

log = logging.getLogger("cadence.handlers")
DATABASE_AWAY = "Sorry, Cadence's database did not answer in time. Please try again in a minute."


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


def _database_away(kwargs: dict[str, Any], listener: str, error: DatabaseUnavailable) -> None:
    """Say so in time: on the form if it is still open, else ephemerally or by DM (an event,
    which nobody waits for, is only logged)."""
    body = kwargs.get("body") or {}
    log.warning("%s: the database is unavailable (%s)", listener, error)
    ack = kwargs.get("ack")
    if ack is not None and getattr(ack, "response", None) is None:
        block = first_block(body) if body.get("type") == "view_submission" else None
        if block is not None:
            ack(response_action="errors", errors={block: DATABASE_AWAY_ON_FORM})
            return
        ack()
    if body.get("type") != "event_callback":
        tell(kwargs, DATABASE_AWAY)


def guarded(listener: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a listener so no exception escapes it.

    Bolt passes a listener the arguments its signature names. The guard asks for every one a
    Cadence listener may use (it needs ack, body, client and respond itself, to answer the
    person) and hands the listener those it names.
    """
    wanted = inspect.signature(listener).parameters

    def wrapper(ack, body, client, respond, context, view, event, payload) -> Any:
        kwargs = {"ack": ack, "body": body, "client": client, "respond": respond,
                  "context": context, "view": view, "event": event, "payload": payload}  # fmt: skip
        try:
            return listener(**{k: v for k, v in kwargs.items() if k in wanted})
        except AlreadyDone:  # Slack retried a request that already acted: say nothing more
            log.info("%s: a retried delivery was acted on before; acknowledged", listener.__name__)
            _ensure_acked(kwargs)
        except DatabaseUnavailable as e:
            _database_away(kwargs, listener.__name__, e)
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

    wrapper.__name__ = wrapper.__qualname__ = listener.__name__
    wrapper.__doc__ = listener.__doc__
    return wrapper
