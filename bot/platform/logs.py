"""Logging for every process, set up in one place (`LOG_LEVEL`, `LOG_FORMAT`).

What an operator reads at INFO is Cadence's own account of what it did; the libraries' routine
lines are kept out of it:
- Alembic's plugin set-up and its "Context impl …" / "Will assume …" lines (its "Running
  upgrade …" lines stay: they say what `migrate` changed);
- APScheduler's per-pass "Running job …" / "… executed successfully" and its start lines;
- Bolt's warnings that a `token` will be unused or ignored: Cadence always gives Bolt its own
  client (and an installation store in OAuth mode), so SLACK_BOT_TOKEN in the environment is
  expected, not a mistake;
- slack_sdk's and urllib3's request lines (they carry request bodies) below WARNING, and
  slack_sdk's ERROR line for a connection that failed (the caller handles it and says so);
- APScheduler's warning that a pass is still running when the next interval comes.
Alembic's "Running upgrade …" lines quote a migration's docstring, line breaks and all: they are
joined into one line each (`OneLine`), so every event is one line in the text format too.
At DEBUG the rest of the libraries' lines reach the log, with one exception at every level:

What a request carried never reaches the log (`keep_bodies_out`): Bolt's signature check quotes
the whole body of a forged request at INFO; slack_sdk quotes each Web API call's body and
answer, and each response_url, at DEBUG; SQLAlchemy each statement's parameters at INFO (when
its engine logger is enabled) and each row at DEBUG. These are what people typed (concern
titles, updates, notes) and the URLs that let anyone answer them. A filter on those loggers
themselves, not a level cap: a level is whatever the last caller set (Bolt sets its loggers'
levels from the root's, a debugging person sets them all to DEBUG) and a handler filter
misses handlers added later (a log collector's, pytest's caplog); a logger's own filter sees
every record it makes, whatever the levels and handlers. Bolt's line is kept without the body
(a forged request is worth knowing about), SQLAlchemy's statements are kept with their
parameters replaced, slack_sdk's lines below WARNING are dropped (each is a body or an answer).

`LOG_FORMAT=json` writes one JSON object per line (time, level, logger, message, and the
exception with its traceback when there is one), for log collectors.

Every line names what it was logged for (`LogContext`): the workspace, the Slack delivery
(`request`, set by the request middleware in handlers/context.py) and the job (set by the
runner while it runs one), so one workspace's trouble can be followed through a busy log. They
are context variables: `ContextExecutor` carries them into the threads that finish a request.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import threading
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import Context, ContextVar, copy_context
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any

# `context` is " [workspace=… request=… job=…]" when a line has any, else empty.
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s%(context)s"
CONTEXT_FIELDS = ("workspace", "request", "job")
# Never changed in place: each `log_context` sets a new mapping.
_CONTEXT: ContextVar[Mapping[str, str]] = ContextVar(
    "cadence_log_context", default=MappingProxyType({})
)


@contextmanager
def log_context(**fields: str | None) -> Iterator[None]:
    """Lines logged within name these fields too (added to the ones already set; empty
    values are left out): `workspace`, `request`, `job`."""
    token = _CONTEXT.set({**_CONTEXT.get(), **{k: v for k, v in fields.items() if v}})
    try:
        yield
    finally:
        _CONTEXT.reset(token)


def set_log_context(**fields: str | None) -> None:
    """Lines logged from now on in this context name these fields, and only these: for a Bolt
    middleware, which cannot wrap the listeners it precedes. Its caller runs in a context of
    its own (`contextvars.copy_context().run`), so nothing outlives its request."""
    _CONTEXT.set(MappingProxyType({k: v for k, v in fields.items() if v}))


class LogContext(logging.Filter):
    """Puts the current log context on each record: one attribute per field (None when not
    set) and `context`, the text format's suffix."""

    def filter(self, record: logging.LogRecord) -> bool:
        current = _CONTEXT.get()
        for name in CONTEXT_FIELDS:
            setattr(record, name, current.get(name))
        named = " ".join(f"{k}={current[k]}" for k in CONTEXT_FIELDS if current.get(k))
        record.context = f" [{named}]" if named else ""
        return True


class ContextExecutor(ThreadPoolExecutor):
    """A thread pool whose tasks run in the log context of whoever submitted them (a plain
    pool's threads start with none): a listener Bolt runs after the ack, the outbox sending
    what a request planned. It knows when it has nothing queued or running (`wait_idle`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._unfinished = 0
        self._idle = threading.Condition()

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future:
        with self._idle:
            self._unfinished += 1
        try:
            return super().submit(self._run, copy_context(), fn, *args, **kwargs)
        except BaseException:  # shut down: nothing was queued
            self._finished()
            raise

    def _run(self, context: Context, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        try:
            return context.run(fn, *args, **kwargs)
        finally:
            self._finished()

    def _finished(self) -> None:
        with self._idle:
            self._unfinished -= 1
            self._idle.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until no task is queued or running; False if that took longer than `timeout`
        seconds. For a harness that moves a simulated clock: work left in flight across a jump
        would meet Slack, or the database, at the new moment, as no real process would."""
        with self._idle:
            return self._idle.wait_for(lambda: self._unfinished == 0, timeout)


# Loggers whose INFO lines are routine (per pass, per request, per start): WARNING and above
# still show.
QUIET_AT_INFO = (
    "alembic.runtime.plugins",
    "apscheduler.executors",
    "apscheduler.scheduler",
    "slack_sdk",
    "slack_bolt",
    "urllib3",
)
# Single lines of chatter from loggers whose other lines matter, at any level: slack_sdk logs
# every connection failure at ERROR although the caller handles it (the engine retries and
# says so; a request's guard reports it), and APScheduler warns at every interval that a long
# pass is still running (the ticker's own watch says when a pass hangs).
CHATTER_PREFIXES = {
    "alembic.runtime.migration": ("Context impl ", "Will assume "),
    "slack_sdk.web.base_client": ("Failed to send a request to Slack API server",),
    "apscheduler.scheduler": ("Execution of job ",),
}


def _bolt_token_warnings() -> frozenset[str]:
    """Bolt's own wording of its "`token` will be unused / ignored" warnings."""
    from slack_bolt.logger import messages

    return frozenset(
        {
            messages.warning_client_prioritized_and_token_skipped(),
            messages.warning_token_skipped(),
        }
    )


class LibraryChatter(logging.Filter):
    """Drops the library lines listed above unless the configured level is DEBUG."""

    def __init__(self, level: int):
        super().__init__()
        self.level = level
        self.bolt_warnings = _bolt_token_warnings()

    def filter(self, record: logging.LogRecord) -> bool:
        if self.level <= logging.DEBUG:
            return True
        name = record.name
        if record.levelno < logging.WARNING and name.startswith(QUIET_AT_INFO):
            return False
        prefixes = CHATTER_PREFIXES.get(name)
        message = record.getMessage()
        if prefixes and message.startswith(prefixes):
            return False
        return not (name.startswith("slack_bolt") and message in self.bolt_warnings)


# The loggers that quote request and response bodies (their names as the libraries make them:
# `get_bolt_logger(RequestVerification)`, `logging.getLogger(__name__)` in slack_sdk, and
# SQLAlchemy's class-level engine logger).
BODY_LOGGERS = (
    "slack_bolt.RequestVerification",
    "slack_sdk.web.base_client",
    "slack_sdk.web.legacy_base_client",
    "slack_sdk.web.slack_response",
    "slack_sdk.web.legacy_slack_response",
    "slack_sdk.webhook.client",
    "sqlalchemy.engine.Engine",
)
FORGED = "Invalid request signature detected"
NOT_LOGGED = "[parameters not logged]"


class NoBodies(logging.Filter):
    """Keeps what a request carried out of a library's lines (see the module's docstring)."""

    def filter(self, record: logging.LogRecord) -> bool:
        name = record.name
        if name == "slack_bolt.RequestVerification":
            if str(record.msg).startswith(FORGED):
                record.msg, record.args = f"{FORGED} (body and signature not logged)", None
            return True
        if name.startswith("slack_sdk"):
            return record.levelno >= logging.WARNING
        if name.startswith("sqlalchemy.engine"):
            return self._statement(record)
        return True

    @staticmethod
    def _statement(record: logging.LogRecord) -> bool:
        """SQL text stays (its values are bound, not inlined); the parameters line says only
        that there were some; rows (DEBUG) are dropped."""
        message = str(record.msg)
        if not record.args:
            return True
        if message.startswith("Row"):
            return False
        if message.startswith("[") and isinstance(record.args, tuple):
            record.msg, record.args = f"[%s] {NOT_LOGGED}", record.args[:1]
        return True


_NO_BODIES = NoBodies()
# Loggers whose messages carry text written over several lines for another reader: Alembic's
# "Running upgrade 0003 -> 0004, <the migration's docstring>" quotes its first paragraph,
# line breaks and all.
MULTILINE_LOGGERS = ("alembic.runtime.migration",)


class OneLine(logging.Filter):
    """A message's own line breaks become spaces, so each event is one line in the text format
    too (a traceback, kept apart in `exc_info`, still follows it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "\n" in message:
            record.msg, record.args = re.sub(r"[ \t]*\r?\n\s*", " ", message), None
        return True


_ONE_LINE = OneLine()


def keep_bodies_out() -> None:
    """Put the NoBodies filter on each logger that quotes bodies (idempotent). `setup` calls it
    for every process, and the web application again when it is built (a process embedding it
    without `setup`, as the tests do, gets the same protection)."""
    for name in BODY_LOGGERS:
        logger = logging.getLogger(name)
        if _NO_BODIES not in logger.filters:
            logger.addFilter(_NO_BODIES)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO-8601), level, logger, message, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        for name in CONTEXT_FIELDS:
            if value := getattr(record, name, None):
                entry[name] = value
        return json.dumps(entry, ensure_ascii=False)


def formatter(fmt: str) -> logging.Formatter:
    if fmt == "json":
        return JsonFormatter()
    return logging.Formatter(TEXT_FORMAT, defaults={"context": ""})


def setup(*, level: str, fmt: str) -> None:
    """One handler on the root logger, to stderr, for every process; called once at start
    (again, it replaces the handler: a test or a second start never doubles the lines)."""
    numeric = getattr(logging, level, logging.INFO)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter(fmt))
    handler.addFilter(LibraryChatter(numeric))
    handler.addFilter(LogContext())
    handler.set_name("cadence")
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == "cadence"]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(numeric)
    keep_bodies_out()
    for name in MULTILINE_LOGGERS:
        logger = logging.getLogger(name)
        if _ONE_LINE not in logger.filters:
            logger.addFilter(_ONE_LINE)


def gunicorn_logger_class() -> type:
    """A gunicorn logger whose lines go through the handler above (so `LOG_FORMAT=json` covers
    them too) instead of gunicorn's own handlers and format."""
    from gunicorn.glogging import Logger

    class CadenceGunicornLogger(Logger):
        def setup(self, cfg) -> None:
            super().setup(cfg)
            for log in (self.error_log, self.access_log):
                for handler in list(log.handlers):
                    log.removeHandler(handler)
                log.propagate = True

    return CadenceGunicornLogger
