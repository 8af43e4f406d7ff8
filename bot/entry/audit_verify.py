"""`python -m bot audit verify [--team T]`: walk each workspace's audit chain and say whether it
holds (exit 0: "intact, N events") or where it first breaks (exit 1, the event's id and why):
an event edited, deleted or inserted outside Cadence. The chain itself is `storage/audit_chain.py`.

It prints each workspace's last hash too: kept somewhere else (a ticket, a signed note), it
shows later whether the chain was rewritten from its start by someone who also recomputed it.
"""

from __future__ import annotations

from bot.platform.services import Services
from storage import audit_chain

EXIT_BROKEN = 1


def audit_verify(services: Services, team_id: str | None) -> int:
    """Returns the process exit status."""
    with services.db.read_session() as session:
        teams = [team_id.strip()] if team_id else audit_chain.teams(session)
        verdicts = [audit_chain.verify(session, team) for team in teams]
    broken = [v for v in verdicts if v.broken]
    for verdict in verdicts:
        if verdict.broken is None:
            print(
                f"{verdict.team_id}: intact, {verdict.events} events "
                f"(last hash {verdict.last_hash or 'none'})"
            )
        else:
            where = verdict.broken
            at = f"audit event {where.event_id}" if where.event_id is not None else "its head"
            print(
                f"{verdict.team_id}: BROKEN at {at}: {where.reason} "
                f"({verdict.events} events hold before it)"
            )
    if broken:
        return EXIT_BROKEN
    total = sum(v.events for v in verdicts)
    print(f"intact, {total} events")
    return 0
