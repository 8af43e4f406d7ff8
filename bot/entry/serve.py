"""Serving: Socket Mode when SLACK_APP_TOKEN is set, otherwise HTTP under gunicorn.

The single process runs gunicorn in-process (one worker, threads) and starts the scheduler in
that worker once it is up, so listener and ticker share one process and one database.
"""

from __future__ import annotations

import logging

from gunicorn.app.base import BaseApplication

from bot.engine import ticker
from bot.entry.sizing import HTTP_THREADS
from bot.platform.services import Services

log = logging.getLogger(__name__)


class CadenceServer(BaseApplication):
    """gunicorn, configured from code rather than a command line."""

    def __init__(self, services: Services, *, with_scheduler: bool):
        self.services = services
        self.with_scheduler = with_scheduler
        super().__init__()

    def load_config(self) -> None:
        settings = self.services.settings
        self.cfg.set("bind", f"0.0.0.0:{settings.port}")
        self.cfg.set("workers", 1)
        self.cfg.set("worker_class", "gthread")
        self.cfg.set("threads", HTTP_THREADS)
        self.cfg.set("timeout", 60)
        self.cfg.set("graceful_timeout", 10)
        self.cfg.set("accesslog", None)
        self.cfg.set("loglevel", settings.log_level.lower())
        if self.with_scheduler:
            self.cfg.set("post_worker_init", self._start_scheduler)

    def _start_scheduler(self, _worker) -> None:
        ticker.start_background(self.services)
        log.info("scheduler started beside the HTTP listener")

    def load(self):
        from bot.entry.wsgi import CadenceWSGI

        return CadenceWSGI(self.services)


def serve(services: Services, *, with_scheduler: bool = True) -> None:
    settings = services.settings
    if settings.socket_mode:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        from bot.entry.app import build_app

        app = build_app(services)
        if with_scheduler:
            ticker.start_background(services)
        log.info("Cadence is connecting to Slack in Socket Mode")
        SocketModeHandler(app, settings.slack_app_token).start()
        return
    log.info("Cadence is serving HTTP on port %s (POST /slack/events, GET /healthz)", settings.port)
    CadenceServer(services, with_scheduler=with_scheduler).run()
