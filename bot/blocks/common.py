"""Shared pieces of Block Kit: text helpers and the message envelope with Slack's limits."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    InputBlock,
    MarkdownTextObject,
    PlainTextInputElement,
    SectionBlock,
)

from bot.blocks import kit
from bot.domain.command_reference import ECHO_LIMIT, shorten

MAX_MESSAGE_BLOCKS = 50
MAX_SECTION_TEXT = kit.MAX_SECTION_TEXT
MAX_FALLBACK_TEXT = 4000
QUOTED = re.compile(r"(`)([^`]*)(`)|(“)([^”]*)(”)")
"""Where a reply quotes what someone typed: an inline code span, or “curly quotes”."""


def mentions(user_ids: Iterable[str]) -> str:
    """People by ID (works for Slack Connect people too; names would go stale)."""
    return ", ".join(f"<@{u}>" for u in user_ids) or "—"


def channel_link(channel_id: str | None) -> str:
    return f"<#{channel_id}>" if channel_id else "—"


def escape(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def shorten_quotes(text: str, limit: int = ECHO_LIMIT) -> str:
    """`text` with every quoted span (`code` or “quotes”) longer than `limit` shortened between
    words: a reply that echoes thousands of typed characters keeps its own words whole."""

    def fit(match: re.Match[str]) -> str:
        opening, inside, closing = (g for g in match.groups() if g is not None)
        return opening + shorten(inside, limit) + closing

    return QUOTED.sub(fit, text)


def fit_text(text: str, limit: int = MAX_SECTION_TEXT) -> str:
    """`text` within `limit` characters, cut between words; an inline code span left open by
    the cut is closed, so the rest of a message does not turn into code."""
    if len(text) <= limit:
        return text
    fitted = shorten(text, limit - 1)
    return fitted + "`" if fitted.count("`") % 2 else fitted


def section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=text))


def context(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=text)])


def pack_sections(lines: Sequence[str], *, separator: str = "\n") -> list[SectionBlock]:
    """As few section blocks as hold `lines` within Slack's 3,000 characters per section."""
    return [section(t) for t in pack_texts(lines, separator=separator)]


def pack_texts(lines: Sequence[str], *, separator: str = "\n") -> list[str]:
    """The texts of `pack_sections`, for builders of plain-dict blocks (`bot/blocks/kit.py`)."""
    texts: list[str] = []
    current = ""
    for line in lines:
        line = fit_text(line)
        candidate = f"{current}{separator}{line}" if current else line
        if len(candidate) > MAX_SECTION_TEXT:
            texts.append(current)
            current = line
        else:
            current = candidate
    if current:
        texts.append(current)
    return texts


def message(text: str, blocks: Sequence[Block | dict[str, Any]] = ()) -> dict[str, Any]:
    """A message payload: fallback text plus blocks, within Slack's 50-block limit.

    Builders that may produce many blocks must fit them first; this refuses rather than letting
    Slack reject the message later.
    """
    rendered = [b.to_dict() if isinstance(b, Block) else b for b in blocks]
    if len(rendered) > MAX_MESSAGE_BLOCKS:
        raise ValueError(
            f"a message holds at most {MAX_MESSAGE_BLOCKS} blocks, not {len(rendered)}"
        )
    payload: dict[str, Any] = {"text": shorten(text, MAX_FALLBACK_TEXT)}
    if rendered:
        payload["blocks"] = rendered
    return payload


def plain_message(text: str) -> dict[str, Any]:
    """A message of one section (a plain dict: most replies are one, and slack_sdk's objects
    cost more than the rest of building them); text past a section's limit: no blocks."""
    return message(text, [kit.section(text)] if 0 < len(text) <= MAX_SECTION_TEXT else [])


def timezone_block_id(timezone: str) -> str:
    """A time zone field's block_id carries its value: Slack keeps what a person typed in an
    input across `views.update` when block_id and action_id stay the same, so a new default
    (from `users.info`, after the modal opened) needs a new block_id to show."""
    return f"timezone:{timezone}"


def timezone_input(zone: str, *, hint: str) -> InputBlock:
    """The time zone field of a form (the engagement's, the digest schedule's): an IANA name,
    pre-filled with `zone`; its action id is `timezone` whatever its block id."""
    return InputBlock(
        block_id=timezone_block_id(zone),
        label="Time zone",
        hint=f"An IANA name such as Europe/Berlin or America/New_York.{hint}",
        element=PlainTextInputElement(
            action_id="timezone",
            placeholder="Europe/Berlin",
            max_length=64,
            initial_value=zone or None,
        ),
    )
