"""`python -m bot forget-workspace <team_id> [--yes]`: an admin deletes everything Cadence keeps
about a workspace (an uninstall keeps the data until this is run).

It shows what it would delete and asks for the team id to be typed back (unless `--yes`), then
deletes every row with that team id, children before parents, in one transaction (all or
nothing), and prints what it deleted.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.entry.confirmation import typed_back
from bot.platform.services import Services
from storage import installations

EXIT_REFUSED = 1


def forget_workspace(
    services: Services,
    team_id: str,
    *,
    confirmed: bool,
    ask: Callable[[str], str] = input,
) -> int:
    """Returns the process exit status."""
    team_id = team_id.strip()
    with services.db.read_session() as session:
        held = installations.rows_of(session, team_id=team_id)
    if not held:
        print(f"Cadence keeps nothing about workspace {team_id}: nothing to delete.")
        return 0
    print(f"Cadence keeps {sum(held.values())} rows about workspace {team_id}:")
    _print_counts(held)
    if held.get("slack_bots"):
        print(
            f"Workspace {team_id} still has Cadence installed: its installation goes too, and "
            "its requests are refused until someone there installs Cadence again."
        )
    if not confirmed and not typed_back(
        ask,
        team_id,
        f"Type {team_id} to delete them all for good (anything else keeps them): ",
        "Nothing was deleted.",
    ):
        return EXIT_REFUSED
    with services.db.session() as session:
        deleted = installations.forget(session, team_id=team_id)
    services.tokens.forget(team_id)
    print(f"Deleted {sum(deleted.values())} rows of workspace {team_id}:")
    _print_counts(deleted)
    return 0


def _print_counts(counts: dict[str, int]) -> None:
    for table, count in sorted(counts.items()):
        print(f"  {table}: {count}")
