"""`python -m bot audit verify [--team T] [--adopt]`: walk each workspace's audit chain and say
whether it holds (exit 0: "intact, N events") or where it first breaks (exit 1, the event's id
and why): an event edited, deleted or inserted outside Cadence. A link keyed by a key this
process does not have cannot be checked: exit 2, naming what to set. The chain itself is
`storage/audit_chain.py`, its keys `storage/audit_keys.py`.

It prints each workspace's last hash too: kept somewhere else (a ticket, a signed note), it
shows later whether the chain was rewritten or rolled back to an earlier copy, which even a
keyed chain cannot show by itself.

`--adopt` is an operator vouching for what the database holds now: events written without a
link (a release before the chain, during a rolling deploy) are chained at the end in id order,
and a head no key holds yet (keys set since its last event) is sealed, by an audit event
`audit`/`adopted` naming them. Only a chain otherwise intact is adopted.
"""

from __future__ import annotations

from bot.entry.rotate_key import operator
from bot.platform.services import Services
from storage import audit_chain

EXIT_BROKEN = 1
EXIT_NEEDS_KEY = 2


def audit_verify(services: Services, team_id: str | None, *, adopt: bool = False) -> int:
    """Returns the process exit status."""
    keys = services.db.audit_keys
    with services.db.read_session() as session:
        teams = [team_id.strip()] if team_id else audit_chain.teams(session)
        verdicts = [audit_chain.verify(session, team, keys) for team in teams]
    if adopt:
        verdicts = [_adopt(services, verdict) for verdict in verdicts]
    for verdict in verdicts:
        if verdict.broken is None:
            scheme = "keyed" if verdict.keyed else "plain sha256, no key"
            print(
                f"{verdict.team_id}: intact, {verdict.events} events, {scheme} "
                f"(last hash {verdict.last_hash or 'none'})"
            )
        else:
            where = verdict.broken
            at = f"audit event {where.event_id}" if where.event_id is not None else "its head"
            state = "CANNOT VERIFY" if where.needs_key else "BROKEN"
            print(
                f"{verdict.team_id}: {state} at {at}: {where.reason} "
                f"({verdict.events} events hold before it)"
            )
    if any(v.broken and v.broken.needs_key for v in verdicts):
        return EXIT_NEEDS_KEY
    if any(v.broken for v in verdicts):
        return EXIT_BROKEN
    total = sum(v.events for v in verdicts)
    print(f"intact, {total} events")
    return 0


def _adopt(services: Services, verdict: audit_chain.Verdict) -> audit_chain.Verdict:
    """Adopt what the workspace's chain lacks, when that is all it lacks; its new verdict."""
    if not audit_chain.adoptable(verdict):
        return verdict
    with services.db.session() as session:
        ids = audit_chain.adopt(session, verdict, actor=operator(), now=services.clock())
    print(f"{verdict.team_id}: adopted {len(ids)} unchained event(s) {ids}")
    with services.db.read_session() as session:
        return audit_chain.verify(session, verdict.team_id, services.db.audit_keys)
