"""How many threads serve Slack in one process, decided in one place.

gunicorn's request threads accept Slack's requests; Bolt runs each listener on its listener
executor and answers Slack as soon as the listener acks. A listener keeps its executor thread
for the work it does after the ack, so with too few of them a slow listener delays every other
request's acknowledgement (Bolt's default is 5). The database pool (`storage/db.py`) must hold
at least one connection for each thread that may use one at the same time.
"""

from __future__ import annotations

HTTP_THREADS = 8
"""gunicorn gthread threads per process (the Procfile's `--threads` says the same)."""

LISTENER_THREADS = 16
"""Bolt listener executor threads per process."""
