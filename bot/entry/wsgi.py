"""The WSGI application: `POST /slack/events` (Bolt) and `GET /healthz`; with several workspaces
also Slack's install flow, `GET /slack/install` and `GET /slack/oauth_redirect` (Bolt's).

`web` processes run it under gunicorn (`gunicorn 'bot.entry.wsgi:create_app()'`); the single-process
`python -m bot` serves the same application under gunicorn with the scheduler beside it.
"""

from __future__ import annotations

import io
import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from contextvars import copy_context
from datetime import datetime
from typing import Any

from slack_bolt import App, BoltRequest, BoltResponse
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.adapter.wsgi.http_request import WsgiHttpRequest
from slack_sdk.signature import SignatureVerifier
from sqlalchemy.orm import configure_mappers

from bot.engine import heartbeat
from bot.engine.outbox_sender import Outbox
from bot.entry.app import INSTALL_PATH, REDIRECT_PATH, build_app, finish_listeners
from bot.entry.db_problems import in_memory_warning
from bot.entry.rotate_key import unreadable_secrets
from bot.platform import clock
from bot.platform.config import ConfigError, configure_logging, load_settings
from bot.platform.logs import keep_bodies_out
from bot.platform.services import Services
from bot.platform.signing import signing_secrets
from storage.db import Database

log = logging.getLogger(__name__)
SLACK_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
# The largest body Cadence reads. Slack's payloads are a few kilobytes (the largest, a modal's
# view with its state, stays well under 100 KiB), so 1 MiB is never a real request. Bolt reads
# and parses a whole body before it checks the signature: without a bound, one unsigned POST
# of 200 MiB grew a process by 1 GiB before its 401 (measured before the bound).
MAX_BODY_BYTES = 1024 * 1024


class CadenceWSGI:
    """Routes the two paths Cadence serves; everything else is 404."""

    def __init__(self, services: Services):
        keep_bodies_out()
        # Every model's mapper by now, on the thread that builds the app (the statements some
        # modules build at import configure them already), never in the first request that
        # queries (59 ms): its thread would hold them in a heap of its own, 1.1 MB more for an
        # idle `web` worker (tests/test_web_memory.py). A mapping error stops the start.
        configure_mappers()
        self.services = services
        self.outbox = Outbox(services)
        self.bolt = build_app(services, self.outbox)
        self.slack = CadenceRequestHandler(
            self.bolt,
            path=SLACK_PATH,
            verifier=signing_secrets(services.settings),
        )
        self.health_probe = HealthProbe(services)

    def close(self) -> None:
        """Let the work after each ack finish, then the messages it sends at once (what is left,
        the next pass sends): a listener still running would otherwise reach an outbox that
        takes nothing more, or a Slack that is gone."""
        finish_listeners(self.bolt)
        self.outbox.shutdown()

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == SLACK_PATH:
            if method != "POST":
                return _json(start_response, 405, {"error": "POST only"})
            if refused := bound_body(environ):
                return _json(start_response, *refused)
            # The log context the request sets (handlers/context.py) ends with it.
            return copy_context().run(self.slack, environ, start_response)
        if path in (INSTALL_PATH, REDIRECT_PATH) and self.services.settings.oauth:
            if method != "GET":
                return _json(start_response, 405, {"error": "GET only"})
            if refused := bound_body(environ):  # Bolt reads a GET's body too, if it has one
                return _json(start_response, *refused)
            return self.slack(environ, start_response)  # Slack's install flow (several workspaces)
        if path == HEALTH_PATH and method in ("GET", "HEAD"):
            status, body = health(self.services, self.health_probe)
            return _json(start_response, status, body)
        return _json(start_response, 404, {"error": "not found"})


def bound_body(environ: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
    """Refuse a body over MAX_BODY_BYTES before Bolt reads any of it: (status, body) to answer,
    or None to go on.

    A declared Content-Length over the bound is refused without reading a byte (a client that
    declares 200 MiB and sends little gets its 413 at once, instead of a thread waiting for the
    rest). A body without one (chunked) is read here, at most the bound and one byte, when the
    server says where it ends (`wsgi.input_terminated`: gunicorn decodes chunked bodies), and
    handed on with its length, so Bolt reads exactly what was read. Without either, Bolt reads
    nothing, as it always did (it reads Content-Length bytes)."""
    declared = (environ.get("CONTENT_LENGTH") or "").strip()
    if declared:
        if not declared.isdigit():
            return 400, {"error": "bad Content-Length"}
        if int(declared) > MAX_BODY_BYTES:
            return _too_large(int(declared))
        return None
    stream = environ.get("wsgi.input")
    if stream is None or not environ.get("wsgi.input_terminated"):
        return None
    body = stream.read(MAX_BODY_BYTES + 1)
    if len(body) > MAX_BODY_BYTES:
        return _too_large(None)
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return None


def _too_large(declared: int | None) -> tuple[int, dict[str, Any]]:
    size = f"{declared} bytes" if declared is not None else "a chunked body"
    log.warning("refused a request of %s: Cadence reads at most %d", size, MAX_BODY_BYTES)
    return 413, {"error": f"request body over {MAX_BODY_BYTES} bytes"}


class CadenceRequestHandler(SlackRequestHandler):
    """Bolt's WSGI adapter, except that a payload Bolt itself cannot read is acknowledged.

    Bolt reads the envelope of every payload (its view, user, channel, enterprise, team and
    response_urls) before any listener or middleware of Cadence's runs: building the request's
    context outside its own error handling, matching listeners inside it. A signed payload of
    a shape Slack never sends (a view that is null or has no type, a user that is `false`,
    response_urls that is null) then raised out of the adapter (the server's HTTP 500) or came
    back as Bolt's own 500, and Slack showed the person an error. Such a payload is answered
    200 with an empty body (nothing can be done with it) and logged in one line, naming the
    error's type but never the body; one that is not signed still gets 401."""

    def __init__(self, app: App, path: str, verifier: SignatureVerifier):
        super().__init__(app, path=path)
        self.verifier = verifier
        self.failures = SignatureFailures()

    def dispatch(self, request: WsgiHttpRequest) -> BoltResponse:
        body = request.get_body()
        headers = request.get_headers()
        try:
            bolt_request = BoltRequest(body=body, query=request.query_string, headers=headers)
            response = self.app.dispatch(bolt_request)
        except Exception as e:
            return self._unreadable(body, headers, type(e).__name__)
        if response.status == 500:  # an exception inside Bolt's dispatch, logged by Bolt
            return self._unreadable(body, headers, "error in Bolt's dispatch")
        if response.status == 401 and not self._signed(body, headers):
            self.failures.failed(_header(headers, "x-slack-request-timestamp"))
        return response

    def _signed(self, body: str, headers: dict[str, Any]) -> bool:
        timestamp = _header(headers, "x-slack-request-timestamp")
        signature = _header(headers, "x-slack-signature")
        if not (timestamp.strip().isdigit() and signature):  # is_valid raises on these
            return False
        return self.verifier.is_valid(body, timestamp, signature)

    def _unreadable(self, body: str, headers: dict[str, Any], what: str) -> BoltResponse:
        if not self._signed(body, headers):
            self.failures.failed(_header(headers, "x-slack-request-timestamp"))
            return BoltResponse(status=401, body={"error": "invalid request"})
        log.warning("acknowledged a signed Slack request Bolt could not read (%s)", what)
        return BoltResponse(status=200, body="")


def _header(headers: dict[str, Any], name: str) -> str:
    value = headers.get(name) or ""
    return str(value[0] if isinstance(value, list | tuple) and value else value)


# Slack signs each request with the app's signing secret and refuses nothing itself: a wrong
# SLACK_SIGNING_SECRET shows only as every request answered 401, which Slack's side reports as
# "dispatch_failed" or a timeout. Slack's timestamps are checked within five minutes of the
# receiver's clock (https://api.slack.com/authentication/verifying-requests-from-slack).
SIGNATURE_WARNING_EVERY_S = 60.0
TIMESTAMP_WINDOW_S = 5 * 60


class SignatureFailures:
    """Requests to /slack/events refused for their signature, said at most once a minute (an
    attacker's flood, or every request of a misconfigured app, is one line a minute, not one a
    request), with the likely cause and how many there were. Never the secret, the signature
    or the body."""

    def __init__(
        self,
        every_s: float = SIGNATURE_WARNING_EVERY_S,
        monotonic: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ):
        self.every_s = every_s
        self.monotonic = monotonic
        self.wall = wall
        self._lock = threading.Lock()
        self._unsaid = 0
        self._said_at: float | None = None

    def failed(self, timestamp: str) -> None:
        """A request with this X-Slack-Request-Timestamp failed its signature check."""
        with self._lock:
            self._unsaid += 1
            now = self.monotonic()
            if self._said_at is not None and now - self._said_at < self.every_s:
                return
            count, self._unsaid, self._said_at = self._unsaid, 0, now
        refused = f"{count} refused with 401 since the last warning; at most one a minute"
        log.warning(self.likely_cause(timestamp), refused)

    def likely_cause(self, timestamp: str) -> str:
        """The warning's text, with `%s` where the count goes."""
        if not timestamp.strip().isdigit():
            return (
                f"Requests without Slack's signature reach {SLACK_PATH} (%s): not sent by "
                "Slack, or through a proxy that drops the X-Slack-* headers?"
            )
        skew = self.wall() - int(timestamp)
        if abs(skew) > TIMESTAMP_WINDOW_S:
            return (
                "Slack requests fail their signature check (%s): their timestamp is "
                f"{abs(skew):.0f} s {'behind' if skew > 0 else 'ahead of'} this machine's clock "
                "(Slack allows 5 minutes): is the clock right (NTP)?"
            )
        return (
            "Slack requests fail their signature check (%s): is SLACK_SIGNING_SECRET the app's "
            "Signing Secret (Basic Information → App Credentials)?"
        )


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
        return heartbeat.last_heartbeat(self.services.db)


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
        limit = heartbeat.stale_after(services.settings.tick_seconds)
        if age > limit:
            body["scheduler"]["problem"] = (
                f"no scheduler pass has finished for {age.total_seconds():.0f} s (more than "
                f"{limit.total_seconds():.0f} s): check that the worker process runs and its log"
            )
            return 503, body
    return 200, body


def _json(start_response: Callable, status: int, body: dict[str, Any]) -> list[bytes]:
    reasons = {
        200: "OK",
        400: "Bad Request",
        404: "Not Found",
        405: "Method Not Allowed",
        413: "Content Too Large",
        503: "Service Unavailable",
    }
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
    if warning := in_memory_warning(settings.database_url):
        log.warning(warning)
    services = Services(
        settings=settings,
        db=Database.from_url(
            settings.database_url, prepared_statements=settings.database_prepared_statements
        ),
    )
    if problem := unreadable_secrets(services):
        raise SystemExit(f"Cadence cannot start. {problem}")
    return CadenceWSGI(services)
