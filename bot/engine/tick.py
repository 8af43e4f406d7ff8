"""The engine: one pass over what is due. `tick(now)` is the only thing that decides.

A pass (1) learns the time zones it needs from Slack, (2) plans due cadence occurrences into
check-ins and jobs, and due digests, (3) claims due jobs in batches and runs them, (4) records
a heartbeat. It can run in any number of processes at once: planning and claiming are made
safe by row locks and unique keys, never by there being one scheduler.

After sending it prunes the engine's own bookkeeping (finished jobs a month old, request
receipts, gone processes' heartbeats: `storage/pruning.py`) in bounded batches, and says how
many rows it deleted in its report.

Two clocks meet here. `now` is the moment the pass acts at: the wall clock for the ticker, a
simulated moment for `python -m bot tick --now`. The heartbeat says when a process last
*finished* a pass, for `/healthz`, so it is always the wall clock: the caller passes it in
(`wall_clock`), because the engine may not read the clock module (the import contract) and
`services.clock` is the simulated one while `tick --now` runs. Without one, `services.clock`
is used: in a running process it is never fixed, so it is the wall clock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from bot.engine import delivery, digest_plans, planner, retention_jobs, runner
from bot.engine.heartbeat import process_name, record_heartbeat
from bot.platform.services import Services
from storage import pruning


@dataclass
class TickReport:
    """What a pass did (`python -m bot tick` prints it): occurrences planned, then what each
    job it ran came to. `failed` names the sends that failed for good in this pass (not those
    left for a retry), so `tick` can exit non-zero for cron to alert."""

    at: datetime
    planned: list[str] = field(default_factory=list)
    outcomes: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    pruned: pruning.Pruned = field(default_factory=pruning.Pruned)

    @property
    def actions(self) -> list[str]:
        pruned = self.pruned.line(self.at)
        return [*self.planned, *self.outcomes, *([pruned] if pruned else [])]

    def lines(self) -> list[str]:
        return self.actions or [f"{self.at.isoformat()} nothing due"]


@dataclass
class Watch:
    """A running pass as its ticker sees it: which phase it is in and how many outcomes it has
    had (unchanged for too long: the pass hangs), and the way to ask it to stop early."""

    phase: str = "starting"
    sender: delivery.Sender | None = None
    stopping: threading.Event = field(default_factory=threading.Event)

    def progress(self) -> tuple[str, int]:
        return self.phase, len(self.sender.outcomes) if self.sender is not None else 0

    def stop(self) -> None:
        """Claim and start nothing more: the Slack calls in flight finish and are recorded,
        and the jobs claimed but not started are handed back (`runner.run_due`), so the pass
        ends holding no lease; planning stops after the batch it is in (`planner.plan_due`),
        and learning zones after the person it is asking Slack about."""
        self.stopping.set()


def tick(
    services: Services,
    now: datetime,
    *,
    wall_clock: Callable[[], datetime] | None = None,
    watch: Watch | None = None,
) -> TickReport:
    """One pass at `now`; the heartbeat is stamped with `wall_clock()` (see the module's
    docstring); `watch` lets a ticker see the pass's progress and stop it."""
    watch = watch or Watch()
    sender = delivery.Sender.for_services(services, now, owner=f"{process_name()}:tick")
    watch.sender = sender
    watch.phase = "refreshing people (time zones)"
    planner.refresh_people(
        services.db, sender.client_for, now, stopping=watch.stopping, budgets=sender.budgets
    )
    # Sending starts while planning goes on, so the first prompts are not held back by the
    # last occurrences to be planned.
    planning = threading.Event()
    failures: list[BaseException] = []

    def send_all() -> None:
        try:
            runner.run_due(sender, planning, stopping=watch.stopping)
        except BaseException as e:  # re-raised in the ticking thread below
            failures.append(e)

    sending = threading.Thread(target=send_all, name="cadence-sending")
    watch.phase = "planning and sending"
    sending.start()
    try:
        planned = planner.plan_due(services.db, now, stopping=watch.stopping)
        if not watch.stopping.is_set():  # stopping: digests are planned by the next pass
            planned += digest_plans.plan_due(services.db, now)
            planned += retention_jobs.plan_due(services.db, now)
    finally:
        planning.set()
        sending.join()
    if failures:
        raise failures[0]
    wall = (wall_clock or services.clock)()
    pruned = pruning.Pruned()
    if not watch.stopping.is_set():  # stopping: the next pass prunes
        watch.phase = "pruning finished jobs, receipts and heartbeats"
        pruned = pruning.prune(services.db, now=now, wall=wall)
    watch.phase = "recording the heartbeat"
    record_heartbeat(services.db, now, at=wall)
    return TickReport(
        at=now,
        planned=planned,
        outcomes=list(sender.outcomes),
        failed=list(sender.failed),
        pruned=pruned,
    )
