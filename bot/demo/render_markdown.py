"""transcript.md: the transcript as text a person reads in any editor (and Markdown viewers
render): one section per channel and DM, each thing at its time, messages as their words."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.demo.slack_text import Line, Names, to_markdown, to_plain
from bot.demo.transcript import Entry, Transcript

ZONE = ZoneInfo("Europe/Berlin")


def when(moment: datetime) -> str:
    return moment.astimezone(ZONE).strftime("%a %d %b %H:%M")


def anchor(title: str) -> str:
    """GitHub's heading anchor for a title (lower case, spaces to dashes, punctuation gone)."""
    kept = "".join(c for c in title.lower() if c.isalnum() or c in " -_")
    return kept.replace(" ", "-")


def render(transcript: Transcript, *, intro: Sequence[str] = ()) -> str:
    names = transcript.names
    out = [
        "# Cadence demo: what Slack would have shown",
        "",
        f"Simulated from {when(transcript.start)} to {when(transcript.end)} "
        f"{transcript.end.astimezone(ZONE):%Y}, Berlin time. Each channel and each person's "
        "DM with Cadence is below, in time order; what only one person saw (their command, "
        "the forms they sent, Cadence's answers to them) is marked so.",
        "",
        *(f"- {line}" for line in intro),
        "",
        "## Contents",
        "",
    ]
    for conversation in transcript.conversations:
        count = len(conversation.entries)
        out.append(f"- [{conversation.title}](#{anchor(conversation.title)}) ({count})")
    out.append("")
    for conversation in transcript.conversations:
        out += ["", f"## {conversation.title}", ""]
        for entry in conversation.entries:
            out += _entry(entry, names)
    return "\n".join(out).rstrip() + "\n"


def _entry(entry: Entry, names: Names) -> list[str]:
    head = f"**{when(entry.at)} · {entry.author}**"
    if entry.kind == "command":
        return [f"{head} typed `{entry.title}` _(only they see it)_", ""]
    if entry.kind == "click":
        return [f"{head} clicked **[{entry.title}]**", ""]
    if entry.kind == "form":
        body = [f"{head} sent the form **{entry.title}** _(only they see it)_"]
        body += [f"> **{label}:** {_one_line(value)}  " for label, value in entry.fields]
        return [*body, ""]
    if entry.kind == "file" and entry.file is not None:
        body = [f"{head} shared the file **{entry.file.name}** ({entry.title})", ""]
        body += _quoted(entry.lines, names)
        if entry.file.is_image:
            alt = " ".join((entry.file.alt or entry.title).split())
            body += [f"![{alt}]({entry.file.name})", ""]
        return body
    if entry.kind == "ephemeral":
        note = f" _(only {entry.to} sees this)_" if entry.to else " _(only they see this)_"
        return [f"{head}{note}", *_quoted(entry.lines, names)]
    if entry.kind == "edit":
        edited = to_markdown(entry.title, names)
        return [
            f"{head} edited its message “{edited}”; it now reads:",
            *_quoted(entry.lines, names),
        ]
    if entry.thread:
        thread = to_plain(entry.thread, names)
        return [f"{head} ↳ in the thread of “{thread}”", *_quoted(entry.lines, names)]
    return [head, *_quoted(entry.lines, names)]


def _one_line(text: str) -> str:
    return " / ".join(part.strip() for part in text.splitlines() if part.strip())


def _quoted(lines: Sequence[Line], names: Names) -> list[str]:
    """The message's lines as a quote, each line of text kept as a line."""
    rows: list[str] = []
    for line in lines:
        if line.kind == "header":
            rows.append(f"**{to_plain(line.texts[0], names)}**")
        elif line.kind == "buttons":
            rows.append(" ".join(f"`[ {to_plain(t, names)} ]`" for t in line.texts))
        elif line.kind == "divider":
            rows.append("———")
        elif line.kind == "image":
            rows.append(f"[image: {line.texts[0]}]")
        elif line.kind == "context":
            rows += [f"_{t}_" if t else "" for t in to_markdown(line.texts[0], names).split("\n")]
        else:
            for text in line.texts:
                rows += to_markdown(text, names).split("\n")
    if not rows:
        return [""]
    # Two spaces end a line in Markdown: each line of the message stays a line.
    return [f"> {row}  " if row else ">" for row in rows] + [""]
