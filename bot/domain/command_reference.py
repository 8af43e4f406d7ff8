"""The `/cadence` reference: every subcommand, its form, what it does and an example.

`/cadence help` prints it, and malformed input points at the matching line. `available` marks
what this version can already do; the rest is listed as on its way rather than hidden.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass


@dataclass(frozen=True)
class CommandSpec:
    usage: str
    does: str
    example: str
    available: bool = False


REFERENCE: tuple[CommandSpec, ...] = (
    CommandSpec("help", "this list, with examples", "/cadence help", True),
    CommandSpec(
        "engagement new",
        "create an engagement (name, vendor, channel, people, time zone, KPIs, SLAs)",
        "/cadence engagement new",
        True,
    ),
    CommandSpec(
        "engagement list", "the engagements in this workspace", "/cadence engagement list", True
    ),
    CommandSpec(
        "engagement edit <eng>",
        "change an engagement (leads and admins)",
        "/cadence engagement edit acme-payments",
        True,
    ),
    CommandSpec(
        "engagement archive <eng>",
        "archive an engagement, with a confirmation (leads and admins)",
        "/cadence engagement archive acme-payments",
        True,
    ),
    CommandSpec(
        "schedule <eng>",
        "add a cadence: kind, rule, local time, window, reminder, escalation, audience",
        "/cadence schedule acme-payments",
        True,
    ),
    CommandSpec(
        "cadences [<eng>]",
        "cadences with their next run, and pause / resume / skip / delete buttons",
        "/cadence cadences acme-payments",
        True,
    ),
    CommandSpec(
        "pause|resume|skip|delete <cadence>",
        "the same as the buttons",
        "/cadence skip 12",
        True,
    ),
    CommandSpec(
        "update <eng>", "open the status-update form now", "/cadence update acme-payments", True
    ),
    CommandSpec(
        "feedback <eng>", "open the feedback survey now", "/cadence feedback acme-payments", True
    ),
    CommandSpec(
        "concern <eng> [title]",
        "raise a concern",
        "/cadence concern acme-payments VPN keys shared by email",
    ),
    CommandSpec(
        "concerns [<eng>]",
        "open concerns, oldest first, with acknowledge / resolve buttons",
        "/cadence concerns",
    ),
    CommandSpec(
        "away <from> <to> · away off",
        "mark yourself away: no prompts, shown as away, not missing",
        "/cadence away 2026-12-22 2027-01-02",
        True,
    ),
    CommandSpec("status <eng>", "the engagement's health card", "/cadence status acme-payments"),
    CommandSpec(
        "digest preview · digest send · digest schedule",
        "preview the executive digest to yourself; post it now; choose when it goes out",
        "/cadence digest preview",
    ),
    CommandSpec(
        "export <eng> [from] [to]",
        "CSV of updates, KPIs, feedback and concerns, sent to you as a file",
        "/cadence export acme-payments 2026-10-01 2026-12-31",
    ),
)


@dataclass(frozen=True)
class Invocation:
    """What someone typed after `/cadence`: the subcommand words and the rest."""

    name: str
    args: tuple[str, ...]
    rest: str


def parse(text: str) -> Invocation:
    """Split the command text; quotes group words (`"Acme Payments"`) when they balance."""
    text = (text or "").strip()
    try:
        words = shlex.split(text)
    except ValueError:
        words = text.split()
    if not words:
        return Invocation("help", (), "")
    name = words[0].lower()
    rest = text[len(text.split(maxsplit=1)[0]) :].strip()
    return Invocation(name, tuple(words[1:]), rest)


def spec_for(prefix: str) -> CommandSpec | None:
    """The reference line for a subcommand (`engagement edit`, `status`, …)."""
    for spec in REFERENCE:
        if spec.usage.split(" <")[0].split(" [")[0] == prefix or spec.usage.startswith(prefix):
            return spec
    return None
