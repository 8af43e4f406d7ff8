"""Under OAuth, which installation answers a request: the workspace Cadence is installed in,
never the one a person of another organisation belongs to.

Bolt finds a request's bot token by the team its own reader names
(`slack_bolt.request.internals.extract_team_id`: `view.app_installed_team_id`, else the payload's
`team`, else `authorizations[0]`, …) together with the payload's `enterprise`. In a Slack Connect
channel a person of another organisation sends payloads that name THEIR workspace and
organisation (`team.id`, `user.team_id`, `enterprise`): Bolt then looks for an installation
that never existed and refuses them, or, had their workspace installed Cadence too, acts in the
wrong one; and an installed workspace of an Enterprise Grid organisation is missed whenever the
payload's enterprise is the other party's.

Here the fields that say where Cadence is installed come first, in this order:
- `view.app_installed_team_id`: a modal or Home tab opened through Cadence's installation
  (view_submission, view_closed, block_actions in a view;
  https://docs.slack.dev/reference/interaction-payloads/view-interactions-payload);
- `authorizations[].team_id`: the installations an event is delivered for
  (https://docs.slack.dev/apis/events-api/#authorizations);
- `message.team` when the message is Cadence's own (`message.app_id` is the payload's
  `api_app_id`): the workspace whose installation posted what was clicked;
- then what the payload names as its team (`team.id`, `team_id`, `context_team_id`,
  `view.team_id`), as Bolt would.
The first that has an installation answers, looked up by team id alone (as the engine finds a
workspace's token: `storage.installations.bot_token`), whatever organisation the payload names.

A slash command names only the team the person was in
(https://docs.slack.dev/interactivity/implementing-slash-commands: `team_id`), so a person of
another organisation typing `/cadence` in a shared engagement channel names their own
workspace. When none of its teams installed Cadence, the command's `channel_id` decides: the
channel of an active engagement of exactly one workspace (`installations.teams_of_channel`, one
indexed query) is served as that workspace, the person checked as one of another organisation
(`Request.only_for`); a DM, another channel, or a channel two workspaces' engagements use (never
a guess between them) is not.

A payload none of whose teams installed Cadence is refused by Bolt with its apology (200, never
a 500). An organisation-wide install (`is_enterprise_install`) is not supported: Cadence's rows
belong to workspaces.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import BoltContext
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.authorize import Authorize
from sqlalchemy import Engine

from storage import installations
from storage.encryption import Keys

log = logging.getLogger(__name__)
CANDIDATES_KEY = "cadence_installed_teams"
COMMAND_CHANNEL_KEY = "cadence_command_channel"


def installed_teams(body: dict[str, Any]) -> tuple[str, ...]:
    """The teams a payload names, those that say where the app is installed first (see the
    module's docstring); each once, strings only (a forged payload's odd values are skipped)."""
    found: list[str] = []

    def add(value: Any) -> None:
        if isinstance(value, str) and value and value not in found:
            found.append(value)

    view = body.get("view") if isinstance(body.get("view"), dict) else {}
    add(view.get("app_installed_team_id"))
    authorizations = body.get("authorizations")
    for authorization in authorizations if isinstance(authorizations, list) else []:
        if isinstance(authorization, dict):
            add(authorization.get("team_id"))
    message = body.get("message")
    if (
        isinstance(message, dict)
        and message.get("app_id")
        and (message.get("app_id") == body.get("api_app_id"))
    ):
        add(message.get("team"))
    team = body.get("team")
    add(team.get("id") if isinstance(team, dict) else team)
    add(body.get("team_id"))
    add(body.get("context_team_id"))
    add(view.get("team_id"))
    return tuple(found)


def before_authorize(context: BoltContext, body: dict[str, Any], next: Callable) -> Any:
    """Bolt's `before_authorize` middleware: hands the payload's teams to the authorize below
    (Bolt gives an authorize the context, not the body)."""
    body = body if isinstance(body, dict) else {}
    context[CANDIDATES_KEY] = installed_teams(body)
    context[COMMAND_CHANNEL_KEY] = command_channel(body)
    return next()


def command_channel(body: dict[str, Any]) -> str | None:
    """The channel a slash command was sent in (None for any other payload)."""
    channel = body.get("channel_id")
    return channel if body.get("command") and isinstance(channel, str) and channel else None


class InstalledWorkspaceAuthorize(Authorize):
    """Bolt's `authorize` for several workspaces: the bot of the first team in the payload that
    installed Cadence (bot tokens only; no `auth.test`, the stored row says who the bot is)."""

    def __init__(self, engine: Engine, client_id: str, keys: Keys) -> None:
        self.engine = engine
        self.client_id = client_id
        self.keys = keys  # the stored tokens are encrypted (storage/encryption.py)

    def __call__(
        self,
        *,
        context: BoltContext,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None,
        **_: Any,
    ) -> AuthorizeResult | None:
        teams = context.get(CANDIDATES_KEY) or ((team_id,) if team_id else ())
        for team in teams:
            bot = installations.bot_of(
                self.engine, client_id=self.client_id, team_id=team, keys=self.keys
            )
            if bot is not None:
                return self._as(bot, user_id)
        channel = context.get(COMMAND_CHANNEL_KEY)
        if channel:
            owners = installations.teams_of_channel(self.engine, channel_id=channel)
            if len(owners) == 1:
                bot = installations.bot_of(
                    self.engine, client_id=self.client_id, team_id=owners[0], keys=self.keys
                )
                if bot is not None:
                    return self._as(bot, user_id)
            elif owners:
                log.warning("a command in %s, an engagement channel of several workspaces "
                            "(%s): served by none", channel, ", ".join(owners))  # fmt: skip
        log.info("no installation of Cadence in any team the request names (%s)", teams)
        return None

    @staticmethod
    def _as(bot: installations.InstalledBot, user_id: str | None) -> AuthorizeResult:
        return AuthorizeResult(
            enterprise_id=bot.enterprise_id,
            team_id=bot.team_id,
            bot_id=bot.bot_id,
            bot_user_id=bot.bot_user_id,
            bot_token=bot.bot_token,
            bot_scopes=bot.bot_scopes,
            user_id=user_id,
        )
