"""How many threads serve Slack in one process, and why; the database pool that goes with them.

A request holds two threads in turn. A gunicorn thread (`HTTP_THREADS`, gthread) reads it,
checks its signature, authorizes it (with OAuth: a read of the installation store) and waits
for the listener's ack (Bolt polls every 10 ms), then writes the answer. The listener runs on
Bolt's listener executor (`LISTENER_THREADS`) and keeps that thread for the work it does after
the ack, which is mostly waiting for Slack (`respond`, `views.open`, `views.publish`: 100–300 ms
each on the real Slack) and a few milliseconds of reading (every list is a fixed number of
queries: the engagement and cadence lists, paged in the query, take 5–30 ms with 1,000
engagements).

Sized by Little's law on two cores: one process does at most about 100 requests a second (CPU,
under the GIL). An HTTP thread is held until the ack, 10–50 ms (a form's save comes before its
ack), so 100/s needs about 5 of them; 16 leave room for a burst (a channel clicking one button)
without requests queueing inside gunicorn. A listener is held 0.1–0.3 s, so 100/s keeps about
30 busy; 32 mean an ack never waits for a thread that another request holds while it talks to
Slack after its own ack: the starvation Bolt's default of 5 caused (issue 10: answers 13–20×
slower than a bare Bolt app at 50 concurrent clients). A thread that waits on a socket costs
only its stack; more would not go faster, since the CPU is the limit.

The database pool (`storage/db.py`: 10 kept open, up to 30 more) is sized for the connections
in use at once, not for the threads: no session spans a Slack call, so a thread holds a
connection only for a read or a change (milliseconds). Forty cover every listener in a database
section at the same moment plus the outbox's two threads, the /healthz probe and some HTTP
threads authorizing; past that a thread waits for the few milliseconds a section takes, within
its request's deadline (2.2 s). `python -m bot` also runs the ticker in the same process: a
pass uses about ten more (its thread, the planner, `CADENCE_SEND_CONCURRENCY` senders).

PostgreSQL must allow every process its pool: 40 a process, so the default max_connections of
100 holds one web process and the worker with room to spare; with more web processes raise it
or put a transaction-mode pooler (PgBouncer) in front.
"""

from __future__ import annotations

HTTP_THREADS = 16
"""gunicorn gthread threads per process (the Procfile's `--threads` says the same)."""

LISTENER_THREADS = 32
"""Bolt listener executor threads per process."""
