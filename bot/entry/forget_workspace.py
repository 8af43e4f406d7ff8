"""`python -m bot forget-workspace <team_id>`: an admin deletes what Cadence keeps about a
workspace that uninstalled it (issue 11: data is kept after an uninstall until this is run)."""

from __future__ import annotations

from bot.platform.services import Services


def forget_workspace(services: Services, team_id: str, *, confirmed: bool) -> int:
    """Returns the process exit status."""
    print("forget-workspace is being built; it is not in this version yet.")
    return 1
