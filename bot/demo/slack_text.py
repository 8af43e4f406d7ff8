"""What a person reads in a Slack message, as Markdown or HTML: Block Kit into lines, Slack's
mrkdwn (`*bold*`, `<@U123>`, `<#C123>`, `<url|label>`, `&amp;`) into either format.

Pure functions, so the transcript and the page show exactly the same words.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

ENTITY = re.compile(r"<([^<>\n]+)>")
CODE = re.compile(r"`([^`\n]+)`")
BOLD = re.compile(r"(?<![\w*])\*(?!\s)([^*\n]+?)(?<!\s)\*(?![\w*])")
ITALIC = re.compile(r"(?<![\w_])_(?!\s)([^_\n]+?)(?<!\s)_(?![\w_])")
STRIKE = re.compile(r"(?<![\w~])~(?!\s)([^~\n]+?)(?<!\s)~(?![\w~])")
PLACEHOLDER = re.compile("\x00(\\d+)\x00")
EMOJI = {  # Slack's short codes for the emoji Cadence's messages use, as Slack shows them
    ":large_green_circle:": "🟢",
    ":large_orange_circle:": "🟠",
    ":red_circle:": "🔴",
    ":large_yellow_circle:": "🟡",
    ":white_circle:": "⚪",
    ":white_check_mark:": "✅",
    ":x:": "❌",
    ":warning:": "⚠️",
    ":rotating_light:": "🚨",
    ":information_source:": "ℹ️",
    ":question:": "❓",
    ":hourglass_flowing_sand:": "⏳",
    ":alarm_clock:": "⏰",
    ":clipboard:": "📋",
}


@dataclass(frozen=True)
class Line:
    """One visible part of a message: `kind` is header, text, fields, context, buttons,
    divider or image; `texts` holds its mrkdwn (one item, or several for fields and buttons)."""

    kind: str
    texts: tuple[str, ...] = ()


@dataclass(frozen=True)
class Names:
    """How people and channels are shown (Slack shows names where the text has IDs)."""

    people: Mapping[str, str]
    channels: Mapping[str, str]

    def person(self, user_id: str) -> str:
        return self.people.get(user_id, user_id)

    def channel(self, channel_id: str) -> str:
        return self.channels.get(channel_id, channel_id)


# --- Block Kit → lines -------------------------------------------------------------------------


def _text(obj: Any) -> str:
    if isinstance(obj, dict):
        return str(obj.get("text") or "")
    return str(obj or "")


def _element_label(element: dict[str, Any]) -> str | None:
    kind = element.get("type")
    if kind == "button":
        return _text(element.get("text"))
    if kind == "overflow":
        return "⋯"
    if kind in ("static_select", "users_select", "conversations_select", "channels_select"):
        return f"{_text(element.get('placeholder')) or 'Choose'} ▾"
    return None


def lines_of(message: Mapping[str, Any]) -> list[Line]:
    """The message as Slack lays it out: its blocks in order, or its text when it has none
    (with blocks, the top-level text is only the notification's)."""
    blocks = message.get("blocks") or []
    if not blocks:
        text = str(message.get("text") or "")
        return [Line("text", (text,))] if text else []
    lines: list[Line] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "header":
            lines.append(Line("header", (_text(block.get("text")),)))
        elif kind == "section":
            if block.get("text"):
                lines.append(Line("text", (_text(block["text"]),)))
            if block.get("fields"):
                lines.append(Line("fields", tuple(_text(f) for f in block["fields"])))
            accessory = block.get("accessory")
            label = _element_label(accessory) if isinstance(accessory, dict) else None
            if label:
                lines.append(Line("buttons", (label,)))
        elif kind == "context":
            parts = [_text(e) for e in block.get("elements") or [] if e.get("type") != "image"]
            if parts:
                lines.append(Line("context", (" · ".join(p for p in parts if p),)))
        elif kind == "actions":
            labels = [_element_label(e) for e in block.get("elements") or []]
            if any(labels):
                lines.append(Line("buttons", tuple(label for label in labels if label)))
        elif kind == "divider":
            lines.append(Line("divider"))
        elif kind == "image":
            lines.append(Line("image", (str(block.get("alt_text") or "image"),)))
        elif kind == "rich_text":
            lines.append(Line("text", (_rich_text(block),)))
    return lines


def _rich_text(block: Mapping[str, Any]) -> str:
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "text":
                out.append(str(node.get("text") or ""))
            for child in node.get("elements") or []:
                walk(child)

    walk(block)
    return "".join(out)


def plain(message: Mapping[str, Any]) -> str:
    """Every word of a message in one string (its text and every block's), for finding it."""
    parts = [str(message.get("text") or "")]
    parts += [text for line in lines_of(message) for text in line.texts]
    return "\n".join(parts)


# --- mrkdwn → Markdown / HTML ------------------------------------------------------------------


def _convert(
    text: str,
    names: Names,
    *,
    escape: Callable[[str], str],
    link: Callable[[str, str], str],
    mention: Callable[[str], str],
    code: Callable[[str], str],
    bold: str,
    italic: str,
    strike: str,
) -> str:
    """Slack's entities become placeholders (so formatting never reaches inside them), the
    rest is unescaped, escaped for the target, formatted, and the placeholders put back."""
    kept: list[str] = []

    def keep(rendered: str) -> str:
        kept.append(rendered)
        return f"\x00{len(kept) - 1}\x00"

    def entity(match: re.Match[str]) -> str:
        inner = match.group(1)
        target, _, label = inner.partition("|")
        label = html.unescape(label)
        if target.startswith("@"):
            return keep(mention("@" + (label or names.person(target[1:]))))
        if target.startswith("#"):
            return keep(mention("#" + (label or names.channel(target[1:]))))
        if target.startswith("!date^"):  # Slack shows the date; its fallback is our words
            return label or target
        if target.startswith("!"):
            word = target[1:].split("^")[0]
            return keep(mention(label or "@" + word))
        return keep(link(html.unescape(target), label or html.unescape(target)))

    text = ENTITY.sub(entity, text)
    text = CODE.sub(lambda m: keep(code(html.unescape(m.group(1)))), text)
    for short, emoji in EMOJI.items():
        text = text.replace(short, emoji)
    text = escape(html.unescape(text))
    text = BOLD.sub(lambda m: f"{bold}{m.group(1)}{_closing(bold)}", text)
    text = ITALIC.sub(lambda m: f"{italic}{m.group(1)}{_closing(italic)}", text)
    text = STRIKE.sub(lambda m: f"{strike}{m.group(1)}{_closing(strike)}", text)
    return PLACEHOLDER.sub(lambda m: kept[int(m.group(1))], text)


def _closing(opening: str) -> str:
    return opening.replace("<", "</") if opening.startswith("<") else opening


def to_markdown(text: str, names: Names) -> str:
    return _convert(
        text,
        names,
        escape=lambda s: s,
        link=lambda url, label: f"[{label}]({url})",
        mention=lambda name: f"**{name}**",
        code=lambda s: f"`{s}`",
        bold="**",
        italic="_",
        strike="~~",
    )


def to_html(text: str, names: Names) -> str:
    converted = _convert(
        text,
        names,
        escape=lambda s: html.escape(s, quote=False),
        link=lambda url, label: (
            f'<a href="{html.escape(url)}">{html.escape(label, quote=False)}</a>'
        ),
        mention=lambda name: f'<span class="mention">{html.escape(name, quote=False)}</span>',
        code=lambda s: f"<code>{html.escape(s, quote=False)}</code>",
        bold="<b>",
        italic="<i>",
        strike="<s>",
    )
    lines = []
    for line in converted.split("\n"):
        if line.startswith("&gt; ") or line == "&gt;":
            lines.append(f'<span class="quote">{line[5:]}</span>')
        else:
            lines.append(line)
    return "<br>".join(lines)


def to_plain(text: str, names: Names) -> str:
    """The words alone: names for IDs, link labels, no formatting marks."""
    return _convert(
        text,
        names,
        escape=lambda s: s,
        link=lambda _url, label: label,
        mention=lambda name: name,
        code=lambda s: s,
        bold="",
        italic="",
        strike="",
    )
