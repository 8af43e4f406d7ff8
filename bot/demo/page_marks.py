"""The page's own marks for the emoji in Cadence's messages (RAG circles, severity squares,
ticks, crosses, envelopes…), drawn as inline SVG with a text label.

Slack draws emoji itself; a browser needs an emoji font, and where none is installed (CI's
Chromium, many Linux desktops) the RAG of every update shows as an empty box. So the page
swaps each emoji in its text for a small SVG symbol of its own, named by `aria-label` and a
`<title>` (what a screen reader says, what a hover shows). The messages themselves keep their
emoji, as Slack shows them; so does transcript.md, which is read in an editor.

Any emoji without a drawing of its own becomes a neutral rounded square named after the
character, never the font's empty box.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass

GREEN, AMBER, RED, YELLOW = "#2eb67d", "#e8912d", "#d0323c", "#ecb22e"
GREY, INK, BLUE, PAPER = "#9a9a9a", "#616061", "#1264a3", "#ffffff"


@dataclass(frozen=True)
class Drawing:
    """One mark: its symbol id, the words it stands for, and its SVG (a 16 by 16 box)."""

    key: str
    label: str
    svg: str


def _circle(colour: str) -> str:
    return f'<circle cx="8" cy="8" r="6.5" fill="{colour}"/>'


def _square(colour: str, stroke: str = "none") -> str:
    return f'<rect x="2" y="2" width="12" height="12" rx="2" fill="{colour}" stroke="{stroke}"/>'


def _cross(colour: str, width: float = 2.4) -> str:
    return (
        f'<path d="M4 4L12 12M12 4L4 12" stroke="{colour}" stroke-width="{width}" '
        'stroke-linecap="round" fill="none"/>'
    )


def _line(d: str, colour: str, width: float = 1.6) -> str:
    return (
        f'<path d="{d}" stroke="{colour}" stroke-width="{width}" fill="none" '
        'stroke-linecap="round" stroke-linejoin="round"/>'
    )


TICK = _square(GREEN) + _line("M4.5 8.3L7 10.8L11.6 5.4", PAPER, 2)
WARNING = (
    f'<path d="M8 1.6L15 14.2H1Z" fill="{YELLOW}" stroke-linejoin="round"/>'
    f'<rect x="7.2" y="5.6" width="1.6" height="4.8" rx=".6" fill="#1d1c1d"/>'
    f'<circle cx="8" cy="12.2" r=".95" fill="#1d1c1d"/>'
)
ENVELOPE = (
    f'<rect x="1.5" y="3.5" width="13" height="9" rx="1.2" fill="{PAPER}" stroke="{BLUE}" '
    'stroke-width="1.3"/>' + _line("M2 4.3L8 8.8L14 4.3", BLUE, 1.3)
)
CALENDAR = (
    f'<rect x="2" y="3" width="12" height="11" rx="1.5" fill="{PAPER}" stroke="{INK}"/>'
    f'<path d="M2 4.5a1.5 1.5 0 0 1 1.5-1.5h9a1.5 1.5 0 0 1 1.5 1.5V6.5H2Z" fill="{RED}"/>'
    + _line("M5 1.8V4M11 1.8V4", INK, 1.4)
)
DRAWINGS: dict[str, Drawing] = {
    # The RAG of an update, a week or an engagement, and "none".
    "🟢": Drawing("green", "green", _circle(GREEN)),
    "🟠": Drawing("amber", "amber", _circle(AMBER)),
    "🔴": Drawing("red", "red", _circle(RED)),
    "🟡": Drawing("yellow", "within the amber band", _circle(YELLOW)),
    "⚪": Drawing("none", "no status", _circle(PAPER).replace('"/>', f'" stroke="{GREY}"/>')),
    # A concern's severity.
    "🟥": Drawing("critical", "critical", _square(RED)),
    "🟧": Drawing("high", "high", _square(AMBER)),
    "🟨": Drawing("medium", "medium", _square(YELLOW)),
    "⬜": Drawing("low", "low", _square(PAPER, GREY)),
    # Met, missed, alarms.
    "✅": Drawing("tick", "done", TICK),
    "❌": Drawing("missed", "missed", _cross(RED, 2.8)),
    "✗": Drawing("cross", "missed", _cross(RED)),
    "✓": Drawing("check", "done", _line("M3.5 8.5L6.8 11.8L12.8 4.6", GREEN, 2.2)),
    "✕": Drawing("rejected", "rejected", _cross(INK)),
    "✖": Drawing("cancelled", "cancelled", _cross(INK, 2.8)),
    "⚠": Drawing("warning", "warning", WARNING),
    "⛔": Drawing(
        "expired",
        "expired",
        _circle(RED) + f'<rect x="3.5" y="6.8" width="9" height="2.4" fill="{PAPER}"/>',
    ),
    "🔺": Drawing("up", "rising", f'<path d="M8 2.5L14.5 13.5H1.5Z" fill="{RED}"/>'),
    "🚨": Drawing(
        "alarm",
        "alarm",
        f'<path d="M4 12V8a4 4 0 0 1 8 0v4Z" fill="{RED}"/>'
        f'<rect x="2.5" y="12" width="11" height="2.2" rx=".6" fill="{INK}"/>',
    ),
    "🔔": Drawing(
        "bell",
        "alert",
        f'<path d="M3 12h10l-1.5-2V7a3.5 3.5 0 0 0-7 0v3Z" fill="{YELLOW}"/>'
        f'<circle cx="8" cy="13.4" r="1.4" fill="{YELLOW}"/>',
    ),
    "❓": Drawing(
        "question",
        "question",
        _circle(BLUE)
        + _line("M6 6.2a2 2 0 1 1 2.6 1.9V9.4", PAPER, 1.6)
        + f'<circle cx="8.6" cy="11.6" r=".9" fill="{PAPER}"/>',
    ),
    "ℹ": Drawing(
        "info",
        "information",
        _square(BLUE) + f'<rect x="7.2" y="7" width="1.6" height="5" '
        f'fill="{PAPER}"/><circle cx="8" cy="4.8" r="1" fill="{PAPER}"/>',
    ),
    # Time.
    "⏳": Drawing(
        "waiting",
        "waiting",
        f'<path d="M4 2h8v1.2L9 8l3 4.8V14H4v-1.2L7 8L4 3.2Z" fill="{AMBER}"/>',
    ),
    "⏰": Drawing(
        "due",
        "due",
        f'<circle cx="8" cy="9" r="5.3" fill="{PAPER}" stroke="{RED}" '
        'stroke-width="1.6"/>' + _line("M8 6.2V9.2L10 10.4M2.6 3.6L4.4 2.2M13.4 3.6L11.6 2.2", RED),
    ),
    "🗓": Drawing("planned", "planned", CALENDAR),
    "📅": Drawing("date", "due soon", CALENDAR),
    # Papers, evidence, deliverables.
    "📋": Drawing(
        "clipboard",
        "check-in",
        f'<rect x="3" y="2.5" width="10" height="12" rx="1.5" '
        f'fill="#c79a5c"/><rect x="4.5" y="4" width="7" height="9.3" fill="{PAPER}"/>'
        f'<rect x="5.5" y="1.5" width="5" height="2.6" rx=".8" fill="{INK}"/>'
        + _line("M6 7H10M6 9.3H10M6 11.4H8.6", GREY, 1),
    ),
    "📨": Drawing("requested", "requested", ENVELOPE),
    "📬": Drawing(
        "received",
        "received",
        ENVELOPE.replace(f'fill="{PAPER}"', f'fill="{BLUE}"').replace(
            _line("M2 4.3L8 8.8L14 4.3", BLUE, 1.3), _line("M2 4.3L8 8.8L14 4.3", PAPER, 1.3)
        ),
    ),
    "📥": Drawing(
        "submitted",
        "submitted",
        f'<path d="M1.5 9H5l1 2h4l1-2h3.5v4.5h-13Z" fill="{BLUE}"/>'
        + _line("M8 1.8V7.5M5.6 5.3L8 7.7L10.4 5.3", BLUE),
    ),
    "📄": Drawing(
        "contract",
        "document",
        f'<path d="M3.5 1.5h6l3 3v10h-9Z" fill="{PAPER}" '
        f'stroke="{INK}"/>' + _line("M5.5 7H10.5M5.5 9.3H10.5M5.5 11.6H9", GREY, 1),
    ),
    "📎": Drawing(
        "attachment",
        "file",
        _line("M10.5 4.5v6.3a2.5 2.5 0 0 1-5 0V3.6a1.6 1.6 0 0 1 3.2 0V10", INK, 1.3),
    ),
    "↩": Drawing(
        "sent-back",
        "sent back",
        _line("M13 3.5V7.5a2 2 0 0 1-2 2H3.6M6.4 6.6L3.5 9.5L6.4 12.4", BLUE, 1.8),
    ),
    "↪": Drawing(
        "moved", "moved", _line("M3 3.5V7.5a2 2 0 0 0 2 2h7.4M9.6 6.6L12.5 9.5L9.6 12.4", BLUE, 1.8)
    ),
    "➖": Drawing(
        "waived", "waived", f'<rect x="2.5" y="7" width="11" height="2.2" rx="1" fill="{INK}"/>'
    ),
    "🔧": Drawing(
        "in-progress",
        "in progress",
        _line("M3.2 12.8L8.6 7.4", INK, 2.4)
        + f'<circle cx="10.8" cy="5.2" r="2.9" fill="none" stroke="{INK}" stroke-width="2"/>',
    ),
    "🔐": Drawing(
        "security",
        "security",
        f'<rect x="3" y="7" width="10" height="7.5" rx="1.5" '
        f'fill="{YELLOW}"/>' + _line("M5.2 7V5a2.8 2.8 0 0 1 5.6 0V7", INK),
    ),
    "🛡": Drawing(
        "risk-review",
        "risk review",
        f'<path d="M8 1.5L13.5 3.5V8c0 3.2-2.4 5.4-5.5 6.5'
        f'C4.9 13.4 2.5 11.2 2.5 8V3.5Z" fill="{BLUE}"/>',
    ),
    "🩹": Drawing(
        "mitigated",
        "mitigated",
        '<rect x="1.5" y="5.5" width="13" height="5" rx="2.5" '
        'fill="#e0b48a" transform="rotate(-35 8 8)"/>',
    ),
    "🆕": Drawing("new", "new", _square(BLUE) + _line("M4.8 10.5V5.5L11.2 10.5V5.5", PAPER, 1.5)),
}
OTHER = Drawing("other", "", _square("#e8e8e8", GREY))

# What needs an emoji font: pictographs and symbols (not arrows like → or shapes like ▲, which
# every text font has), with their variation selector.
EMOJI = re.compile(
    "(?:[\U0001f000-\U0001faff]|[\u2600-\u27bf]|[\u2b00-\u2bff]|[\u23e9-\u23fa]|[\u21a9\u21aa\u2139])"
    "\ufe0f?"
)
TAG = re.compile(r"(<[^>]*>)")


def drawing(emoji: str) -> Drawing:
    """The drawing for one emoji (its variation selector ignored)."""
    found = DRAWINGS.get(emoji.rstrip("\ufe0f"))
    if found is not None:
        return found
    name = unicodedata.name(emoji[0], "symbol").lower()
    return Drawing(OTHER.key, name, OTHER.svg)


def mark(emoji: str) -> str:
    """The inline mark for one emoji: a use of its symbol, labelled."""
    shown = drawing(emoji)
    label = html.escape(shown.label)
    return (
        f'<svg class="mark mark-{shown.key}" viewBox="0 0 16 16" role="img" '
        f'aria-label="{label}"><title>{label}</title><use href="#mark-{shown.key}"/></svg>'
    )


def marked(fragment: str) -> str:
    """`fragment` (HTML) with every emoji in its text (not in its tags' attributes) replaced
    by its mark. Slack's short codes (`:large_green_circle:`) are emoji by then: `slack_text`
    turns them into the characters Slack shows."""
    parts = TAG.split(fragment)
    for i in range(0, len(parts), 2):  # the text between tags
        parts[i] = EMOJI.sub(lambda m: mark(m.group(0)), parts[i])
    return "".join(parts)


def symbols(page: str) -> str:
    """The hidden SVG that defines each mark `page` uses, once (the marks `<use>` them)."""
    used = set(re.findall(r'href="#mark-([a-z-]+)"', page))
    drawings = {d.key: d for d in (*DRAWINGS.values(), OTHER) if d.key in used}
    defined = "".join(
        f'<symbol id="mark-{key}" viewBox="0 0 16 16">{d.svg}</symbol>'
        for key, d in sorted(drawings.items())
    )
    return f'<svg class="marks" aria-hidden="true" width="0" height="0">{defined}</svg>'
