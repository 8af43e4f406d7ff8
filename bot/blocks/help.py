"""The `/cadence help` message and the "here is the right form" reply for malformed input."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from slack_sdk.models.blocks import DividerBlock, HeaderBlock

from bot.blocks.common import (
    MAX_SECTION_TEXT,
    context,
    fit_text,
    message,
    pack_sections,
    section,
    shorten_quotes,
)
from bot.domain.command_reference import REFERENCE, CommandSpec
from bot.domain.figures import SCORE_FORMULA


def _line(spec: CommandSpec) -> str:
    return f"`/cadence {spec.usage}` — {spec.does}\n      e.g. `{spec.example}`"


def help_message() -> dict[str, Any]:
    """The help message: the same for everyone and for the life of the process (the reference
    is code), so it is built once and each request gets a fresh copy of it (a caller may
    change what it gets): building it with slack_sdk's block objects cost more CPU than the
    rest of the request together."""
    return json.loads(_help_json())


@cache
def _help_json() -> str:
    return json.dumps(_build_help())


def _build_help() -> dict[str, Any]:
    ready = [s for s in REFERENCE if s.available]
    coming = [s for s in REFERENCE if not s.available]
    blocks = [
        HeaderBlock(text="Cadence — /cadence"),
        section(
            "Cadence keeps a client–vendor engagement on a steady rhythm: scheduled check-ins, "
            "structured updates, a concern register and a weekly digest. An engagement is named "
            "by its handle, e.g. `acme-payments`."
        ),
        DividerBlock(),
        # As many sections as the reference needs, each within Slack's 3,000 characters.
        *pack_sections(["*Ready now*", *(_line(s) for s in ready)]),
    ]
    if coming:
        blocks.append(section("*Coming next in Cadence*\n" + "\n".join(_line(s) for s in coming)))
    blocks.append(
        context("Anything that needs several fields opens a form; short forms act at once.")
    )
    blocks.append(context(f"*Scorecard:* {SCORE_FORMULA}"))
    return message("Cadence commands: /cadence help", blocks)


def usage_reply(problem: str, spec: CommandSpec | None = None) -> dict[str, Any]:
    """One ephemeral reply: what was wrong, and the right form to type.

    `problem` may quote what someone typed, however long: quoted spans are shortened between
    words, then the problem is fitted so that the fix below it always shows, within Slack's
    3,000 characters for a section.
    """
    fix = ""
    if spec is not None:
        fix += f"\nThe form is `/cadence {spec.usage}`, e.g. `{spec.example}`."
    fix += "\n`/cadence help` lists every command."
    text = fit_text(shorten_quotes(problem), MAX_SECTION_TEXT - len(fix)) + fix
    return message(text, [section(text)])
