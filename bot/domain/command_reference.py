"""The `/cadence` reference: every subcommand, its form, what it does and an example.

`/cadence help` prints it, and malformed input points at the matching line. `available` marks
what this version can already do; the rest is listed as on its way rather than hidden.

Also how the text someone typed is read (`parse`, `read_number`) and quoted back in a reply
(`echo`, `shorten`): any text, however odd, is read without an exception, and what is echoed is
short and cut only between words.
"""

from __future__ import annotations

import shlex
import unicodedata
from dataclasses import dataclass

ECHO_LIMIT = 80
"""The most characters of what someone typed that a reply quotes back."""
ELLIPSIS = "…"


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
        "engagement list [<word>]",
        "the engagements in this workspace (with a word: those whose name, handle or vendor "
        "holds it)",
        "/cadence engagement list acme",
        True,
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
        "questions <cadence> · questions <eng>",
        "a cadence's own questions (by its number), or an engagement's defaults for its new "
        "cadences: add, edit, reorder, remove, start from a template (leads and admins)",
        "/cadence questions 12",
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
        "raise a concern (also: the “Raise a concern” shortcut on any message)",
        "/cadence concern acme-payments VPN keys shared by email",
        True,
    ),
    CommandSpec(
        "concerns [<eng>] [severity] [category] [mine]",
        "open concerns, most severe and oldest first, with their SLA and actions",
        "/cadence concerns acme-payments security",
        True,
    ),
    CommandSpec(
        "deliverable <eng> [title]",
        "add a deliverable: what the vendor delivers by when, its owner and acceptors (leads "
        "and admins)",
        "/cadence deliverable acme-payments Cutover runbook",
        True,
    ),
    CommandSpec(
        "deliverables [<eng>] [mine|overdue] · deliverables <eng> chart",
        "deliverables, overdue and due soon first, with their slips, rework and actions; with "
        "`chart`, a picture of them on a time axis, planned against actual, sent to you",
        "/cadence deliverables acme-payments overdue",
        True,
    ),
    CommandSpec(
        "assurance [<eng>] · assurance <eng> add",
        "the vendor's security evidence, expired and rejected first, with its validity, each "
        "engagement's due diligence and actions; with `add`, ask the vendor for an item (leads "
        "and admins)",
        "/cadence assurance acme-payments",
        True,
    ),
    CommandSpec(
        "assurance requirements",
        "choose which evidence a new engagement asks its vendor for, by its criticality, and "
        "add kinds of your own (Cadence admins, Slack admins and owners)",
        "/cadence assurance requirements",
        True,
    ),
    CommandSpec(
        "away <from> <to> · away off",
        "mark yourself away: no prompts, shown as away, not missing",
        "/cadence away 2026-12-22 2027-01-02",
        True,
    ),
    CommandSpec(
        "status <eng>", "the engagement's health card", "/cadence status acme-payments", True
    ),
    CommandSpec(
        "digest preview · digest send · digest schedule",
        "preview the executive digest to yourself; post it now, or choose when and where it "
        "goes out (Cadence admins, Slack admins and owners)",
        "/cadence digest preview",
        True,
    ),
    CommandSpec(
        "retention [answers|audit <days>|forever]",
        "how long answers, resolved concerns and audit events are kept (default forever); "
        "change it (Cadence admins, Slack admins and owners)",
        "/cadence retention answers 730",
        True,
    ),
    CommandSpec(
        "export <eng> [from] [to]",
        "CSV files of updates, KPIs, feedback, concerns and the audit log, sent to you as a "
        "zip (leads and admins)",
        "/cadence export acme-payments 2026-10-01 2026-12-31",
        True,
    ),
)


@dataclass(frozen=True)
class Invocation:
    """What someone typed after `/cadence`: the subcommand words and the rest."""

    name: str
    args: tuple[str, ...]
    rest: str


def parse(text: str) -> Invocation:
    """Split the command text; quotes group words (`"Acme Payments"`) when they balance.

    Any Unicode space separates words (shlex alone knows only ASCII ones), and the subcommand
    is compared in its compatibility form, so full-width `ｓｋｉｐ` is `skip`.
    """
    # NUL is dropped: PostgreSQL refuses it in stored text, and no one means one.
    text = (text or "").replace("\x00", "").strip()
    spaced = "".join(" " if c.isspace() else c for c in text)
    try:
        words = shlex.split(spaced)
    except ValueError:  # unbalanced quotes or a trailing backslash: plain words
        words = spaced.split()
    if not words:
        return Invocation("help", (), "")
    name = unicodedata.normalize("NFKC", words[0]).lower()
    first, _, rest = spaced.partition(" ")
    return Invocation(name, tuple(words[1:]), text[len(first) :].strip() if rest else "")


def read_number(text: str) -> str | None:
    """The whole number someone typed (`12`, `#12`, `１２`, `١٢`, `¹²`) as ASCII digits without
    leading zeros, or None when it is not one. Digits of any script count as the same number
    (after NFKC, which also turns full-width, superscript and circled digits into digits).

    The digits are returned as text: a number may be too long for `int()` (4,300 digits) or for
    a database column, and the caller decides what that means.
    """
    digits = unicodedata.normalize("NFKC", text or "").strip().removeprefix("#").strip()
    if not digits or not digits.isdecimal():
        return None
    ascii_digits = "".join(str(unicodedata.decimal(c)) for c in digits)
    return ascii_digits.lstrip("0") or "0"


def shorten(text: str, limit: int) -> str:
    """`text` in at most `limit` characters, cut between words and ended with an ellipsis.

    A word is only cut when it alone does not fit beside the ellipsis; then as much of it as
    fits is kept (a reply that shows something beats one that shows nothing).
    """
    if len(text) <= limit:
        return text
    room = max(limit - len(ELLIPSIS), 0)
    head = text[:room]
    if not text[room].isspace():  # the cut falls inside a word: go back to its start
        start = max((i for i, c in enumerate(head) if c.isspace()), default=-1) + 1
        end = next((i for i in range(room, len(text)) if text[i].isspace()), len(text))
        if end - start <= room:
            head = head[:start]
    return head.rstrip() + ELLIPSIS if room else ELLIPSIS[:limit]


def echo(text: str, limit: int = ECHO_LIMIT) -> str:
    """What someone typed, to quote back in a reply: one line, at most `limit` characters."""
    return shorten(" ".join((text or "").split()), limit)


def spec_for(prefix: str) -> CommandSpec | None:
    """The reference line for a subcommand (`engagement edit`, `status`, …)."""
    for spec in REFERENCE:
        if spec.usage.split(" <")[0].split(" [")[0] == prefix or spec.usage.startswith(prefix):
            return spec
    return None
