"""Assembly: build the Bolt app for a configuration and register every listener.

One workspace (SLACK_BOT_TOKEN): Bolt checks the token with `auth.test` when the app is built.
Several (SLACK_CLIENT_ID, SLACK_CLIENT_SECRET, SLACK_STATE_SECRET): Bolt serves Slack's OAuth
install (`GET /slack/install`, `GET /slack/oauth_redirect`), keeps each installation in slack_sdk's
SQLAlchemy installation store in Cadence's database, and authorizes each request with the bot
token of the workspace Cadence is installed in (`installed_workspace.py`: in a Slack Connect
channel, not the workspace of a person of another organisation); a signed request naming no
workspace with an installation is refused.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.error import BoltError
from slack_bolt.middleware.request_verification import RequestVerification
from slack_bolt.oauth.callback_options import CallbackOptions, FailureArgs, SuccessArgs
from slack_bolt.oauth.oauth_settings import OAuthSettings

from bot.engine.outbox_sender import Outbox
from bot.entry import installed_workspace
from bot.entry.sizing import LISTENER_THREADS
from bot.platform.config import ConfigError, Settings
from bot.platform.logs import ContextExecutor
from bot.platform.services import Services
from bot.platform.signing import SigningSecrets, signing_secrets
from bot.platform.slack import SignedStates, web_client
from handlers import register_listeners
from storage import installations

log = logging.getLogger(__name__)
INSTALL_PATH = "/slack/install"
REDIRECT_PATH = "/slack/oauth_redirect"
# The bot scopes an install asks for: the same as manifest.yml's (tests/test_workspaces.py).
BOT_SCOPES = (
    "commands",
    "chat:write",
    "channels:read",
    "groups:read",
    "channels:join",
    "users:read",
    "im:write",
    "files:write",
    "channels:history",
    "groups:history",
    "im:history",
)


def finish_listeners(app: App) -> None:
    """Wait for the work Bolt runs after each ack (each step of it has a time limit, so this
    ends), and take no more: a process stopping lets a person's request finish before the
    outbox it writes to stops."""
    app.listener_runner.listener_executor.shutdown(wait=True)


def build_app(services: Services, outbox: Outbox | None = None) -> App:
    """The Bolt app. With one token, building it calls `auth.test`, so a wrong token fails here,
    clearly.

    `outbox` sends what requests cause (one per process; a new one when not given)."""
    settings: Settings = services.settings
    executor = ContextExecutor(  # a listener logs in its request's context
        max_workers=LISTENER_THREADS, thread_name_prefix="cadence-listener"
    )
    # What both ways of building the App share. Named, so Bolt does not read the source of every
    # frame on the stack (inspect.stack()) to name the app after its caller's file: 10 ms of
    # every app built. Bolt's own signature check knows one secret: Cadence's, in its place
    # (before authorization), also accepts the previous one during a rotation
    # (bot/platform/signing.py).
    shared = {
        "name": "cadence",
        "signing_secret": settings.slack_signing_secret,
        "request_verification_enabled": False,
        "before_authorize": EitherSigningSecret(
            signing_secrets(settings),
            then=installed_workspace.before_authorize if settings.oauth else None,
        ),
    }
    if settings.oauth:
        app = App(
            client=web_client(settings),
            **shared,
            oauth_settings=oauth_settings(services),
            authorize=installed_workspace.InstalledWorkspaceAuthorize(
                services.db.engine, settings.slack_client_id or "", services.keys
            ),
            process_before_response=False,
            listener_executor=executor,
        )
    else:
        try:
            app = App(
                client=web_client(settings),
                **shared,
                # Ack first: Bolt answers Slack as soon as a listener acks and keeps working after.
                process_before_response=False,
                listener_executor=executor,
            )
        except BoltError as e:
            raise ConfigError(
                [
                    f"SLACK_BOT_TOKEN was refused by Slack ({e}): copy the Bot User OAuth Token "
                    "from OAuth & Permissions in your Slack app settings into .env, and check "
                    "that the app is installed in the workspace"
                ]
            ) from e
    register_listeners(app, services, outbox or Outbox(services))

    @app.error
    def on_error(error: Exception, body: dict) -> None:
        log.error(
            "unhandled error in a Slack request (type %s): %r",
            body.get("type") or body.get("command"),
            error,
        )

    return app


class EitherSigningSecret(RequestVerification):
    """Bolt's request verification (401 for a request not signed by Slack, skipped in Socket
    Mode) with Cadence's verifier: the signing secret, or the previous one during a rotation.
    Bolt takes one `before_authorize`: a verified request goes on to `then` (under OAuth, the
    installed workspace's middleware), so nothing unsigned reaches it."""

    def __init__(self, verifier: SigningSecrets, then: Callable | None = None):
        super().__init__(verifier.signing_secret, base_logger=log)
        self._verifier = verifier
        self._then = then

    def process(self, *, req: BoltRequest, resp: BoltResponse, next: Callable) -> BoltResponse:
        then = self._then
        if then is None:
            return super().process(req=req, resp=resp, next=next)
        return super().process(
            req=req, resp=resp, next=lambda: then(context=req.context, body=req.body, next=next)
        )


def oauth_settings(services: Services) -> OAuthSettings:
    """Slack's install flow with its installations and states in Cadence's database."""
    # Imported here, with several workspaces only: the stores import sqlalchemy.ext.asyncio.
    from storage import oauth_stores

    settings = services.settings
    engine = services.db.engine
    client_id = settings.slack_client_id or ""
    return OAuthSettings(
        client_id=client_id,
        client_secret=settings.slack_client_secret,
        scopes=list(BOT_SCOPES),
        user_scopes=[],
        install_path=INSTALL_PATH,
        redirect_uri_path=REDIRECT_PATH,
        installation_store=oauth_stores.installation_store(engine, client_id, services.keys),
        installation_store_bot_only=True,
        state_store=SignedStates(
            oauth_stores.state_store(engine), settings.slack_state_secret or ""
        ),
        state_expiration_seconds=oauth_stores.STATE_EXPIRATION_SECONDS,
        callback_options=CallbackOptions(
            success=lambda args: _installed(services, args),
            failure=_install_failed,
        ),
        logger=log,
    )


def _installed(services: Services, args: SuccessArgs) -> BoltResponse:
    """An install finished: a workspace that had uninstalled Cadence is taken up again."""
    team_id = args.installation.team_id or ""
    with services.db.session() as session:
        again = installations.reinstalled(session, team_id=team_id)
    services.tokens.forget(team_id)
    log.info(
        "Cadence was %s in workspace %s (%s)",
        "installed again" if again else "installed",
        team_id,
        args.installation.team_name,
    )
    return args.default.success(args)


def _install_failed(args: FailureArgs) -> BoltResponse:
    log.warning("an install did not finish: %s", args.reason)
    return args.default.failure(args)
