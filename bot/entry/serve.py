"""Serving: Socket Mode when SLACK_APP_TOKEN is set, otherwise HTTP under gunicorn.

The single process runs gunicorn in-process (one worker, threads) and starts the scheduler in
that worker once it is up, so listener and ticker share one process and one database.

Stopping: gunicorn's arbiter turns SIGTERM into a graceful stop and SIGINT (Ctrl-C) into a
quick one; either way the worker's exit hook stops the scheduler (the pass in flight finishes
the jobs it holds) and lets the outbox finish the messages requests caused, within gunicorn's
graceful timeout. In Socket Mode both signals ask for the same clean stop, without a
traceback.
"""

from __future__ import annotations

import logging

from gunicorn.app.base import BaseApplication

from bot.engine import ticker
from bot.entry.sizing import HTTP_THREADS
from bot.platform.config import ConfigError
from bot.platform.logs import gunicorn_logger_class
from bot.platform.services import Services

log = logging.getLogger(__name__)
# How long a stop may take before gunicorn kills its worker; the scheduler's grace (20 s) fits
# in it. A process manager must wait longer than this before its own SIGKILL (docs/operations.md's
# systemd unit: TimeoutStopSec, checked by tests/test_operator_diagnostics.py).
GRACEFUL_TIMEOUT_S = 30


class CadenceServer(BaseApplication):
    """gunicorn, configured from code rather than a command line."""

    def __init__(self, services: Services, *, with_scheduler: bool):
        self.services = services
        self.with_scheduler = with_scheduler
        self.ticker: ticker.Ticker | None = None
        self.application = None
        super().__init__()

    def load_config(self) -> None:
        settings = self.services.settings
        self.cfg.set("bind", f"0.0.0.0:{settings.port}")
        self.cfg.set("workers", 1)
        self.cfg.set("worker_class", "gthread")
        self.cfg.set("threads", HTTP_THREADS)
        self.cfg.set("timeout", 60)
        self.cfg.set("graceful_timeout", GRACEFUL_TIMEOUT_S)
        # gunicorn ≥ 25.1 opens a control socket for `gunicornc` by default, under
        # $XDG_RUNTIME_DIR or ~/.gunicorn/; nothing of Cadence's uses it (the Procfile's `web`
        # line turns it off too), and a process should leave nothing behind in a home directory.
        self.cfg.set("control_socket_disable", True)
        self.cfg.set("accesslog", None)
        self.cfg.set("loglevel", settings.log_level.lower())
        self.cfg.set("logger_class", gunicorn_logger_class())
        if self.with_scheduler:
            self.cfg.set("post_worker_init", self._start_scheduler)
        self.cfg.set("worker_exit", self._stop)

    def _start_scheduler(self, _worker) -> None:
        self.ticker = ticker.start_background(self.services)
        log.info("scheduler started beside the HTTP listener")

    def _stop(self, _server, _worker) -> None:
        """The worker is exiting (SIGTERM or SIGINT to gunicorn): finish what is in hand."""
        if self.ticker is not None:
            self.ticker.stop()
        if self.application is not None:
            self.application.close()
        log.info("Cadence stopped")

    def load(self):
        from bot.entry.wsgi import CadenceWSGI

        self.application = CadenceWSGI(self.services)
        return self.application


def check_slack(services: Services) -> None:
    """Ask Slack who we are before serving, in this process: a token Slack refuses or a Slack
    that cannot be reached is one line (a ConfigError), not a traceback from gunicorn's worker.
    (In OAuth mode there is no one token to ask with; each installation's is checked on use.)"""
    from slack_sdk import WebClient
    from slack_sdk.errors import SlackApiError

    settings = services.settings
    if settings.oauth or not settings.slack_bot_token:
        return
    client = WebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url, timeout=10)
    try:
        client.auth_test()
    except SlackApiError as e:
        raise ConfigError(
            [
                f"SLACK_BOT_TOKEN was refused by Slack ({e.response.get('error')}): copy the Bot "
                "User OAuth Token from OAuth & Permissions in your Slack app settings into .env, "
                "and check that the app is installed in the workspace"
            ]
        ) from None
    except OSError as e:
        raise ConfigError(
            [
                f"Slack cannot be reached at {settings.slack_api_url} ({e}): check this "
                "machine's network (and SLACK_API_URL, which is normally left unset)"
            ]
        ) from None


def serve(services: Services, *, with_scheduler: bool = True) -> None:
    settings = services.settings
    check_slack(services)
    if settings.socket_mode:
        from slack_bolt.adapter.socket_mode import SocketModeHandler
        from slack_sdk.errors import SlackApiError

        from bot.engine.outbox_sender import Outbox
        from bot.entry.app import build_app, finish_listeners
        from bot.entry.stopping import stop_on_signals, wait_for

        stop = stop_on_signals()
        outbox = Outbox(services)
        app = build_app(services, outbox)
        log.info("Cadence is connecting to Slack in Socket Mode")
        handler = SocketModeHandler(app, settings.slack_app_token)
        try:
            handler.connect()
        except SlackApiError as e:
            raise ConfigError(
                [
                    f"SLACK_APP_TOKEN was refused by Slack ({e.response.get('error')}): create "
                    "an app-level token with the connections:write scope under Basic "
                    "Information → App-Level Tokens, and turn Socket Mode on for the app"
                ]
            ) from None
        running = ticker.start_background(services) if with_scheduler else None
        log.info("Cadence is connected to Slack in Socket Mode")
        try:
            wait_for(stop)
        finally:
            handler.close()
            if running is not None:
                running.stop()
            finish_listeners(app)
            outbox.shutdown()
            log.info("Cadence stopped")
        return
    log.info("Cadence is serving HTTP on port %s (POST /slack/events, GET /healthz)", settings.port)
    CadenceServer(services, with_scheduler=with_scheduler).run()
