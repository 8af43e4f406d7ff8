"""The WSGI application: `POST /slack/events` (Bolt) and `GET /healthz`; with several workspaces
also Slack's install flow, `GET /slack/install` and `GET /slack/oauth_redirect` (Bolt's).

`web` processes run it under gunicorn (`gunicorn 'bot.entry.wsgi:create_app()'`); the single-process
`python -m bot` serves the same application under gunicorn with the scheduler beside it.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from typing import Any

from slack_bolt.adapter.wsgi import SlackRequestHandler

from bot.engine import tick as engine
from bot.engine.outbox import Outbox
from bot.entry.app import INSTALL_PATH, REDIRECT_PATH, build_app
from bot.platform import clock
from bot.platform.config import ConfigError, configure_logging, load_settings
from bot.platform.logs import keep_bodies_out
from bot.platform.services import Services
from storage.db import Database

log = logging.getLogger(__name__)
SLACK_PATH = "/slack/events"
HEALTH_PATH = "/healthz"


class CadenceWSGI:
    """Routes the two paths Cadence serves; everything else is 404."""

    def __init__(self, services: Services):
        keep_bodies_out()
        self.services = services
        self.outbox = Outbox(services)
        self.slack = SlackRequestHandler(build_app(services, self.outbox), path=SLACK_PATH)
        self.health_probe = HealthProbe(services)

    def close(self) -> None:
        """Let the messages being sent at once finish (what is left, the next pass sends)."""
        self.outbox.shutdown()

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == SLACK_PATH:
            if method != "POST":
                return _json(start_response, 405, {"error": "POST only"})
            return self.slack(environ, start_response)
        if path in (INSTALL_PATH, REDIRECT_PATH) and self.services.settings.oauth:
            if method != "GET":
                return _json(start_response, 405, {"error": "GET only"})
            return self.slack(environ, start_response)  # Slack's install flow (several workspaces)
        if path == HEALTH_PATH and method in ("GET", "HEAD"):
            status, body = health(self.services, self.health_probe)
            return _json(start_response, status, body)
        return _json(start_response, 404, {"error": "not found"})


HEALTH_TIMEOUT_S = 1.0


class HealthProbe:
    """Asks the database on a thread of its own and waits at most HEALTH_TIMEOUT_S: a database
    that hangs rather than refusing must not hang the health check (nor pile up threads: while
    one probe is stuck, later checks wait on that same probe)."""

    def __init__(self, services: Services):
        self.services = services
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="cadence-health")
        self._lock = threading.Lock()
        self._probe: Future[datetime | None] | None = None

    def last_heartbeat(self) -> datetime | None:
        """The scheduler's last pass; raises when the database fails or does not answer."""
        with self._lock:
            if self._probe is None or self._probe.done():
                self._probe = self._pool.submit(self._ask)
            probe = self._probe
        return probe.result(timeout=HEALTH_TIMEOUT_S)

    def _ask(self) -> datetime | None:
        self.services.db.ping()
        return engine.last_heartbeat(self.services.db)


def health(services: Services, probe: HealthProbe | None = None) -> tuple[int, dict[str, Any]]:
    """Database reachable within a second (else 503) and the age of the scheduler's last pass
    (503 when it is stale: no pass for three intervals, at least five minutes)."""
    body: dict[str, Any] = {"database": "ok", "scheduler": {"last_tick_at": None, "age_s": None}}
    try:
        last = (probe or HealthProbe(services)).last_heartbeat()
    except TimeoutError:
        log.warning("health check: the database did not answer within %s s", HEALTH_TIMEOUT_S)
        body["database"] = f"no answer within {HEALTH_TIMEOUT_S:g} s"
        return 503, body
    except Exception as e:
        log.warning("health check: database unreachable: %s", type(e).__name__)
        body["database"] = f"unreachable: {type(e).__name__}"
        return 503, body
    if last is not None:
        age = clock.now() - last  # heartbeats are wall-clock times; clock.now is never fixed here
        body["scheduler"] = {
            "last_tick_at": last.isoformat(),
            "age_s": round(age.total_seconds(), 1),
        }
        limit = engine.stale_after(services.settings.tick_seconds)
        if age > limit:
            body["scheduler"]["problem"] = (
                f"no scheduler pass has finished for {age.total_seconds():.0f} s (more than "
                f"{limit.total_seconds():.0f} s): check that the worker process runs and its log"
            )
            return 503, body
    return 200, body


def _json(start_response: Callable, status: int, body: dict[str, Any]) -> list[bytes]:
    reasons = {200: "OK", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"}
    data = json.dumps(body).encode()
    start_response(
        f"{status} {reasons.get(status, '')}",
        [("Content-Type", "application/json"), ("Content-Length", str(len(data)))],
    )
    return [data]


def create_app() -> CadenceWSGI:
    """gunicorn's factory for the `web` process: configuration from the environment."""
    try:
        settings = load_settings()
    except ConfigError as e:
        raise SystemExit("Cadence cannot start:\n" + str(e)) from None
    configure_logging(settings)
    return CadenceWSGI(Services(settings=settings, db=Database.from_url(settings.database_url)))
