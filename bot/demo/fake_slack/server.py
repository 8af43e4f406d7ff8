"""The stand-in Slack's HTTP side: a server on 127.0.0.1 and how one request is answered.

``POST /api/<method>`` is the Web API, its arguments form-encoded or JSON and its token a
Bearer header or a ``token`` argument, as Slack takes them
(https://docs.slack.dev/apis/web-api/); ``handle_api`` finds the workspace the token acts for,
serves the fault due (faults.py), else performs the method (methods/) and records the call.
``POST /response/<name>`` stands for a response_url, where Bolt's ``respond()`` posts
(https://docs.slack.dev/interactivity/handling-user-interaction); ``POST /upload/<file id>``
for the URL ``files.getUploadURLExternal`` hands out.
"""

from __future__ import annotations

import contextlib
import json
import select
import threading
import time
import urllib.parse
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from bot.demo.fake_slack.blocks import MESSAGE_TEXT_MAX, validate_message_blocks
from bot.demo.fake_slack.faults import DROPPED, LOST_ANSWERS
from bot.demo.fake_slack.methods.base import RateLimited
from bot.demo.fake_slack.records import Call, ResponsePost
from bot.demo.waiting import SERVE_POLL_SECONDS

if TYPE_CHECKING:
    from bot.demo.fake_slack import FakeSlack

# Form fields that Slack accepts as JSON-encoded strings.
_JSON_FIELDS = frozenset(
    {"blocks", "attachments", "view", "metadata", "files", "unfurls", "users", "channels"}
)


class Server:
    """FakeSlack's lifecycle (``start``, ``stop``, its URLs) and the answer to each request."""

    def _init_server(self) -> None:
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> FakeSlack:
        if self._server is not None:
            return self
        fake = self

        class Handler(_Handler):
            pass

        Handler.fake = fake
        server = _CountingServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": SERVE_POLL_SECONDS}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def drain(self, timeout: float = 10.0) -> None:
        """Wait until every request that reached the stand-in has been answered, and none waits
        to be accepted: after a test kills a caller mid-call, what it had sent is performed
        before the test moves the simulated clock on (in real time Slack would have performed
        it within seconds, long before another worker takes the job over)."""
        server = self._server
        if server is None:
            return
        deadline = time.monotonic() + timeout
        quiet_since = None
        while time.monotonic() < deadline:
            if server.busy():
                quiet_since = None
            elif quiet_since is None:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= 0.05:
                return
            time.sleep(0.01)
        raise TimeoutError(f"the stand-in Slack was still answering after {timeout} s")

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakeSlack is not started")
        return self._server.server_address[1]

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        """Web API base URL (with trailing slash, as WebClient requires)."""
        return f"{self.root_url}/api/"

    def response_url(self, name: str) -> str:
        return f"{self.root_url}/response/{urllib.parse.quote(name, safe='')}"

    def handle_api(
        self, method: str, args: dict[str, Any], headers: dict[str, str]
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        """Answer one Web API call: (status, json body, extra headers). Records it."""
        # The moment the call arrived is the moment its message is stamped with, even when it
        # is performed later (a hold, a delay, a loaded machine): Slack stamps what it
        # receives, and a caller killed mid-call made it at its own moment, not a later one.
        self._caller.arrived = self.wall_now()
        with self._lock:
            delay = self._delays.get(method, 0)
            hold = self._holds.get(method)
        if hold is not None:
            released, reaches_slack = hold
            with self._lock:
                self.held.append(Call(method, args, dict(headers), time.time(), 0, {}))
            released.wait(timeout=60)
            if not reaches_slack:
                return 503, {"ok": False, "error": "service_unavailable"}, {}
        if delay:
            time.sleep(delay)
        status, body, extra_headers = 200, {}, {}
        token = None
        auth = headers.get("Authorization") or headers.get("authorization") or ""
        if auth.startswith("Bearer "):
            token = auth[len("Bearer ") :].strip()
        token = token or args.get("token")
        self._caller.team_id = self.team_of(token)
        if method == "oauth.v2.access":  # the app's credentials, not a token
            body = self._oauth_v2_access(args, auth)
        elif not token:
            body = {"ok": False, "error": "not_authed"}
        elif token in self._revoked:
            body = {"ok": False, "error": "token_revoked"}
        elif not str(token).startswith(("xoxb-", "xoxp-")) and not self.knows_function_token(
            str(token)
        ):  # a step's execution token is good for its workspace (methods/functions.py)
            body = {"ok": False, "error": "invalid_auth"}
        else:
            fault = self._next_fault(method, args)
            if fault is not None and fault.kind in LOST_ANSWERS:
                return self._lost_answer(fault, method, args, headers)
            if fault is not None and fault.kind in ("rate", "server"):
                with self._lock:
                    self.injected.append((method, fault.kind))
            if fault is not None and fault.kind == "fail":
                body = {"ok": False, "error": fault.error, **fault.extra}
            elif fault is not None and fault.kind == "rate":
                status = 429
                extra_headers["Retry-After"] = str(fault.retry_after)
                body = {"ok": False, "error": "ratelimited"}
            elif fault is not None and fault.kind == "server":
                status = fault.status
                body = {"ok": False, "error": "fatal_error"}
            else:
                # The call's effect and its record under one lock: whoever waits on the one
                # (a Home tab's content) then finds the other (the views.publish call).
                with self._lock:
                    try:
                        self._check_tier(method, args)  # tiers.py: 429 past the method's tier
                        body = self._perform(method, args)
                    except RateLimited as limited:
                        status = 429
                        extra_headers["Retry-After"] = str(limited.retry_after)
                        body = {"ok": False, "error": "ratelimited"}
                    self._record(Call(method, args, dict(headers), time.time(), status, body))
                return status, body, extra_headers
        self._record(Call(method, args, dict(headers), time.time(), status, body))
        return status, body, extra_headers

    def handle_response_url(self, name: str, body: dict[str, Any]) -> tuple[int, str]:
        status, text = 200, "ok"
        errors = validate_message_blocks(body.get("blocks"))
        if len(str(body.get("text") or "")) > MESSAGE_TEXT_MAX:
            errors.append("msg_too_long")
        if errors:
            status, text = 400, "invalid_blocks"
            self._block_error(f"response_url:{name}", errors, body)
        with self._lock:
            self.responses.append(ResponsePost(name, body, status, time.time()))
        return status, text


def _decode_args(raw: bytes, content_type: str, query: str) -> dict[str, Any]:
    args: dict[str, Any] = {}
    for k, v in urllib.parse.parse_qsl(query, keep_blank_values=True):
        args[k] = v
    if not raw:
        pass
    elif "application/json" in content_type:
        try:
            body = json.loads(raw.decode("utf-8"))
        except ValueError:
            body = {}
        if isinstance(body, dict):
            args.update(body)
    else:
        for k, v in urllib.parse.parse_qsl(raw.decode("utf-8"), keep_blank_values=True):
            args[k] = v
    for k in _JSON_FIELDS & args.keys():
        v = args[k]
        if isinstance(v, str) and v[:1] in ("[", "{"):
            with contextlib.suppress(ValueError):
                args[k] = json.loads(v)
    return args


class _CountingServer(ThreadingHTTPServer):
    """A threading server that knows whether it is answering anything (`drain`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._answering = 0
        self._count_lock = threading.Lock()

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._count_lock:
            self._answering += 1
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._count_lock:
                self._answering -= 1

    def busy(self) -> bool:
        """A request is being answered, or a connection waits to be accepted."""
        with self._count_lock:
            if self._answering:
                return True
        waiting, _, _ = select.select([self.socket], [], [], 0)
        return bool(waiting)


class _Handler(BaseHTTPRequestHandler):
    fake: FakeSlack
    server_version = "FakeSlack/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _send(self, status: int, body: bytes, content_type: str, headers=None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        # the client may have given up (e.g. its timeout); the call is still recorded
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(body)

    def _send_json(self, status: int, payload: dict[str, Any], headers=None) -> None:
        body = json.dumps(payload).encode("utf-8")
        self._send(status, body, "application/json; charset=utf-8", headers)

    def _dispatch(self) -> None:
        parsed = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        path = parsed.path
        if path.startswith("/api/"):
            method = path[len("/api/") :]
            args = _decode_args(raw, self.headers.get("Content-Type") or "", parsed.query)
            status, payload, headers = self.fake.handle_api(method, args, dict(self.headers))
            if status == DROPPED:  # close the connection without a word
                self.close_connection = True
                return
            self._send_json(status, payload, headers)
        elif path.startswith("/response/") and self.command == "POST":
            name = urllib.parse.unquote(path[len("/response/") :])
            try:
                body = json.loads(raw.decode("utf-8") or "{}")
            except ValueError:
                body = {"_raw": raw.decode("utf-8", "replace")}
            status, text = self.fake.handle_response_url(name, body)
            self._send(status, text.encode(), "text/html")
        elif path.startswith("/upload/") and self.command == "POST":
            status, text = self.fake.handle_upload(path[len("/upload/") :], raw)
            self._send(status, text.encode(), "text/plain")
        else:
            self._send(HTTPStatus.NOT_FOUND, b"not found", "text/plain")

    def do_POST(self) -> None:
        self._dispatch()

    def do_GET(self) -> None:
        self._dispatch()
