"""How many threads serve Slack in one process, and the database pool that goes with them.

A request holds a gunicorn thread until its ack (10–50 ms), then a Bolt listener thread for the
work after the ack, mostly waiting on Slack (0.1–0.3 s). One process does about 100 requests a
second on two cores, so by Little's law 16 HTTP threads and 32 listener threads keep an ack from
waiting behind another request's Slack call (Bolt's default of 5 made acks 13–20× slower at 50
clients). The pool (10 open, up to 30 more) is sized for connections in use at once, not
threads: no session spans a Slack call. PostgreSQL must allow 40 connections a process; with
several web processes raise `max_connections` or put a transaction-mode pooler in front.
"""

from __future__ import annotations

HTTP_THREADS = 16
"""gunicorn gthread threads per process (the Procfile's `--threads` says the same)."""

LISTENER_THREADS = 32
"""Bolt listener executor threads per process."""
