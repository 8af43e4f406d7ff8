"""The request context: one Bolt middleware tells every listener who and where, once.

Listeners read `Request.of(context)` instead of recomputing the workspace and the actor and
threading settings, database and clock through every call. Its `change()` is the one way a
listener writes: it records the delivery (a retried request acts once), and after the commit it
hands the messages the change planned to the outbox.

Both `read()` and `change()` run within the request's deadline (`storage.deadline.Deadline`, set when
the request arrives): Slack waits 3 s for an answer, so a database that is away or hangs makes
them raise `DatabaseUnavailable` in time for the guard to apologise, or for a form to say
"could not save" while it is still open, instead of waiting the engine's longer limits.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_bolt import Ack, BoltContext, BoltRequest, BoltResponse, Respond
from slack_bolt.middleware import Middleware
from slack_sdk import WebClient
from sqlmodel import Session

from bot.domain import roles
from bot.domain.command_reference import CommandSpec
from bot.engine.outbox_sender import Outbox
from bot.platform.logs import set_log_context
from bot.platform.services import Services
from bot.platform.slack import quick_user_info
from storage import jobs
from storage.db import Database
from storage.deadline import Deadline
from storage.requests import first_time

CONTEXT_KEY = "cadence_request"


class AlreadyDone(Exception):
    """This delivery was acted on before (Slack retried it): acknowledge, do nothing more."""


@dataclass(frozen=True)
class Request:
    """Who asks, in which workspace, at what moment; and the services to answer with."""

    team_id: str
    user_id: str
    now: datetime
    services: Services
    outbox: Outbox
    delivery: str  # names this delivery: a modal's view id, else a hash of timestamp+signature
    retried: bool  # Slack says it is a retry (X-Slack-Retry-Num)
    deadline: Deadline | None = None  # when this request's database work must be over
    user_team: str = ""  # the asker's own workspace, as the payload names it ("" unknown)

    @staticmethod
    def of(context: BoltContext) -> Request:
        return context[CONTEXT_KEY]

    @property
    def admins(self) -> frozenset[str]:
        """The Cadence admins of this workspace (never another workspace's, under OAuth)."""
        return self.services.admins_of(self.team_id)

    @property
    def is_admin(self) -> bool:
        return self.user_id in self.admins

    def actor(self, client: WebClient, *, user: dict[str, Any] | None = None) -> roles.Actor:
        """Who asks, for the workspace-wide rules (`bot/domain/roles.py`): their Slack
        standing as last learned, asked of Slack (briefly, outside any transaction) when it is
        older than `roles.ROLE_FRESH_FOR`. A Cadence admin needs no lookup. `user`: what
        users.info just said of them, when the caller asked already (for their time zone)."""
        role = None
        if not self.is_admin and self.user_id:
            if user is None:
                with self.read() as session:
                    role = roles.known_role(
                        session, team_id=self.team_id, user_id=self.user_id, now=self.now
                    )
            if role is None:
                user = user or quick_user_info(client, self.user_id)
                if user is not None:
                    with self.services.db.session(deadline=self.deadline) as session:
                        role = roles.remember_role(
                            session, team_id=self.team_id, user_id=self.user_id, user=user,
                            now=self.now,
                        )  # fmt: skip
        return roles.Actor(
            user_id=self.user_id,
            cadence_admin=self.is_admin,
            from_elsewhere=self.from_elsewhere,
            slack_role=role,
        )

    @property
    def from_elsewhere(self) -> bool:
        """The asker belongs to another organisation (Slack Connect: their payloads name their
        own workspace, not the one Cadence is installed in)."""
        return bool(self.user_team) and self.user_team != self.team_id

    @property
    def only_for(self) -> str | None:
        """Whose engagements a list shows: everyone's to the installed workspace's members
        and Cadence admins; to a person of another organisation, only those they are on."""
        return self.user_id if self.from_elsewhere and not self.is_admin else None

    @property
    def db(self) -> Database:
        return self.services.db

    @contextmanager
    def read(self) -> Iterator[Session]:
        with self.services.db.read_session(deadline=self.deadline) as session:
            yield session

    @contextmanager
    def change(self) -> Iterator[Session]:
        """A write transaction that acts once per delivery.

        The delivery is recorded in the same transaction as the change, so a retry of it
        (X-Slack-Retry-Num, the same view or the same signed request) raises AlreadyDone instead
        of acting twice; a change that fails records nothing. After the commit, the jobs the
        change planned (its messages) are sent at once, off the request thread.
        """
        with self.services.db.session(deadline=self.deadline) as session:
            if not first_time(session, team_id=self.team_id, key=self.delivery, now=self.now):
                raise AlreadyDone(self.delivery)
            yield session
            planned = jobs.planned_keys(session)
        self.outbox.send_soon(planned, self.now)


@dataclass(frozen=True)
class Command:
    """One `/cadence …` request, routed: `words` matched a reference form, `args` follow."""

    words: tuple[str, ...]
    args: tuple[str, ...]
    spec: CommandSpec
    ack: Ack
    respond: Respond
    client: WebClient
    body: dict[str, Any]
    req: Request

    @property
    def rest(self) -> str:
        return " ".join(self.args).strip()


def delivery_key(body: dict[str, Any], headers: dict[str, Any]) -> str:
    """What names one delivery: a modal's view id names one submission; otherwise the signed
    request's timestamp and signature name one delivery (Slack's retries repeat both)."""
    view = body.get("view") or {}
    if body.get("type") == "view_submission" and view.get("id"):
        return f"view:{view['id']}"
    if body.get("event_id"):
        return f"event:{body['event_id']}"
    stamp = _header(headers, "x-slack-request-timestamp")
    signature = _header(headers, "x-slack-signature")
    digest = hashlib.sha256(f"{stamp}:{signature}".encode()).hexdigest()[:40]
    return f"request:{digest}"


def actor_of(body: dict[str, Any]) -> str:
    """Who asks: Slack's user ids are strings. Anything else (a number, a list: a forged or
    broken payload) is no actor, which every listener refuses politely, rather than a value
    that reaches the database (a huge number overflows SQLite's integers)."""
    user = body.get("user")
    event = body.get("event")
    for candidate in (
        user.get("id") if isinstance(user, dict) else None,
        body.get("user_id"),
        event.get("user") if isinstance(event, dict) else None,
    ):
        if candidate:
            return candidate if isinstance(candidate, str) else ""
    return ""


def user_team_of(body: dict[str, Any]) -> str:
    """The asker's own workspace: `user.team_id` in an interaction, `team_id` in a slash
    command (Slack names the invoking person's team there), `user_team` in an event."""
    user, event = body.get("user"), body.get("event")
    if isinstance(user, dict):
        team = user.get("team_id")
    elif body.get("command"):
        team = body.get("team_id")
    else:
        team = event.get("user_team") if isinstance(event, dict) else None
    return team if isinstance(team, str) else ""


def workspace_of(context: BoltContext, body: dict[str, Any]) -> str:
    """The workspace Cadence is installed in (from the bot token), not the payload's team.

    In a Slack Connect channel, a person from another organisation sends payloads whose team_id
    is their own workspace; Cadence's rows belong to the installed workspace.
    """
    authorized = context.authorize_result
    if authorized is not None and authorized.team_id:
        return authorized.team_id
    return (
        context.team_id
        or (body.get("view") or {}).get("app_installed_team_id")
        or (body.get("team") or {}).get("id")
        or body.get("team_id")
        or ""
    )


class RequestContext(Middleware):
    """The global middleware that builds the Request for every listener. A `Middleware` of
    its own, not a function: Bolt builds a function middleware's arguments by name at every
    request (`build_required_kwargs`), a third of what Cadence added to `/cadence help`."""

    def __init__(self, services: Services, outbox: Outbox) -> None:
        self.services = services
        self.outbox = outbox

    def process(
        self, *, req: BoltRequest, resp: BoltResponse, next: Callable[[], BoltResponse]
    ) -> BoltResponse | None:
        context, body = req.context, req.body
        headers = req.headers or {}
        request = context[CONTEXT_KEY] = Request(
            team_id=workspace_of(context, body),
            user_id=actor_of(body),
            now=self.services.clock(),
            services=self.services,
            outbox=self.outbox,
            delivery=delivery_key(body, headers),
            retried=bool(_header(headers, "x-slack-retry-num")),
            deadline=Deadline.after(self.services.request_seconds),
            user_team=user_team_of(body),
        )
        # Every line logged for this delivery names it: Bolt's listener threads and the outbox's
        # inherit it (`logs.ContextExecutor`); each request runs in a context of its own (wsgi).
        set_log_context(workspace=request.team_id, request=request.delivery)
        return next()


def request_context(services: Services, outbox: Outbox) -> RequestContext:
    """The request-context middleware for `app.middleware`."""
    return RequestContext(services, outbox)


def _header(headers: dict[str, Any], name: str) -> str:
    value = headers.get(name) or headers.get(name.title()) or ""
    return value[0] if isinstance(value, list | tuple) and value else str(value or "")
