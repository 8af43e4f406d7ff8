"""index.html: the transcript as a Slack-like timeline, one page that needs nothing else (its
style inline, the digest charts embedded as data URIs, its own marks for the messages' emoji
from `page_marks`, since no emoji font can be counted on), so it opens anywhere, offline. Below
700 px the sidebar becomes a block of links on top, so a phone's column is the page's width."""

from __future__ import annotations

import base64
import hashlib
import html
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.demo.page_marks import marked, symbols
from bot.demo.slack_text import Line, Names, to_html, to_plain
from bot.demo.transcript import BOT_NAME, Entry, SavedFile, Transcript

ZONE = ZoneInfo("Europe/Berlin")
COLOURS = ("#e01e5a", "#2eb67d", "#36c5f0", "#ecb22e", "#4a154b", "#1264a3", "#e8912d", "#7c3085")

STYLE = """
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.46 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
  sans-serif; color: #1d1c1d; }
nav { background: #3f0e40; color: #cfc3cf; position: fixed; top: 0; bottom: 0; left: 0;
  width: 260px; overflow-y: auto; padding: 16px 0; }
nav h1 { color: #fff; font-size: 18px; margin: 0 16px 16px; }
nav h2 { font-size: 13px; font-weight: 600; margin: 16px 16px 4px; color: #bcabbc; }
nav a { display: block; color: #cfc3cf; text-decoration: none; padding: 2px 16px 2px 26px; }
nav a:hover { background: #350d36; color: #fff; }
nav .count { float: right; font-size: 12px; opacity: .7; }
main { margin-left: 260px; padding: 0 28px 60px; max-width: 1360px; }
header.intro { padding: 20px 0 8px; border-bottom: 1px solid #ddd; }
header.intro h1 { font-size: 22px; margin: 0 0 6px; }
header.intro p, header.intro li { color: #616061; margin: 4px 0; }
section.conversation { margin-top: 28px; }
section.conversation > h2 { font-size: 18px; margin: 0 0 6px; padding: 10px 0;
  border-bottom: 1px solid #ddd; position: sticky; top: 0; background: #fff; z-index: 1; }
.day { text-align: center; margin: 14px 0 6px; font-size: 13px; font-weight: 700; color: #616061; }
.msg { display: grid; grid-template-columns: 36px 1fr; gap: 8px; padding: 6px 8px;
  border-radius: 6px; }
.msg:hover { background: #f8f8f8; }
.avatar { width: 36px; height: 36px; border-radius: 6px; color: #fff; font-weight: 700;
  font-size: 13px; display: flex; align-items: center; justify-content: center; }
.meta { font-size: 15px; }
.author { font-weight: 900; margin-right: 6px; }
.app { background: #e8e8e8; color: #616061; font-size: 10px; font-weight: 700; padding: 1px 4px;
  border-radius: 3px; margin-right: 6px; }
time { color: #616061; font-size: 12px; }
.note { color: #616061; font-size: 13px; }
.only { color: #616061; font-size: 12px; font-style: italic; }
.msg.ephemeral, .msg.private { background: #f4f1f8; }
.msg.thread { margin-left: 44px; border-left: 3px solid #ddd; }
.body .header { font-weight: 900; font-size: 16px; margin: 4px 0; }
.body .text { margin: 2px 0; }
.body .fields { display: grid; grid-template-columns: 1fr 1fr; gap: 2px 16px; margin: 4px 0; }
.body .context { color: #616061; font-size: 13px; margin: 2px 0; }
.body hr { border: 0; border-top: 1px solid #ddd; margin: 8px 0; }
.button { display: inline-block; border: 1px solid #bbb; border-radius: 4px; padding: 2px 10px;
  margin: 4px 6px 2px 0; font-size: 13px; font-weight: 700; background: #fff; }
.mention { background: #e8f5fa; color: #1264a3; border-radius: 3px; padding: 0 2px; }
.quote { display: block; border-left: 4px solid #ddd; padding-left: 8px; color: #444; }
code { background: #f4f4f4; border: 1px solid #e0e0e0; border-radius: 3px; padding: 0 3px;
  font-size: 13px; color: #e01e5a; }
.modal { border: 1px solid #ccc; border-radius: 8px; margin: 4px 0; max-width: 640px;
  background: #fff; box-shadow: 0 1px 3px rgba(0,0,0,.08); }
.modal .title { font-weight: 900; padding: 8px 12px; border-bottom: 1px solid #eee; }
.modal dl { margin: 0; padding: 8px 12px; display: grid; grid-template-columns: 38% 1fr;
  gap: 4px 12px; }
.modal dt { color: #616061; font-size: 13px; }
.modal dd { margin: 0; white-space: pre-wrap; }
figure { margin: 6px 0; }
figure.headline { margin: 14px 0 6px; max-width: 900px; }
figure img { max-width: 100%; border: 1px solid #ddd; border-radius: 6px; }
figcaption { color: #616061; font-size: 12px; }
a.file { display: inline-block; border: 1px solid #ccc; border-radius: 6px; padding: 6px 12px;
  margin: 4px 0; color: #1264a3; text-decoration: none; }
.content { min-width: 0; overflow-wrap: anywhere; }
svg.mark { width: 1.1em; height: 1.1em; vertical-align: -0.18em; margin: 0 .08em; }
svg.marks { position: absolute; width: 0; height: 0; overflow: hidden; }
@media (max-width: 700px) {
  nav { position: static; width: auto; padding: 10px 0 8px; }
  nav h1 { margin: 0 12px 6px; font-size: 16px; }
  nav h2 { margin: 6px 12px 2px; }
  nav .links { display: flex; flex-wrap: wrap; gap: 4px; padding: 0 12px; }
  nav a { padding: 2px 8px; border: 1px solid #5c2c5d; border-radius: 12px; font-size: 13px; }
  nav .count { float: none; margin-left: 4px; }
  main { margin-left: 0; padding: 0 12px 40px; }
  .msg { grid-template-columns: 28px 1fr; gap: 6px; padding: 6px 2px; }
  .avatar { width: 28px; height: 28px; font-size: 11px; }
  .msg.thread { margin-left: 12px; }
  .body .fields, .modal dl { grid-template-columns: 1fr; }
}
"""


def when(moment: datetime) -> str:
    return moment.astimezone(ZONE).strftime("%H:%M")


def day(moment: datetime) -> str:
    return moment.astimezone(ZONE).strftime("%A %d %B %Y")


def e(text: str) -> str:
    return html.escape(text, quote=True)


def avatar(name: str) -> str:
    if name == BOT_NAME:
        return '<div class="avatar" style="background:#4a154b">C</div>'
    initials = "".join(part[0] for part in name.split()[:2]).upper() or "?"
    colour = COLOURS[int(hashlib.sha256(name.encode()).hexdigest(), 16) % len(COLOURS)]
    return f'<div class="avatar" style="background:{colour}">{e(initials)}</div>'


def render(transcript: Transcript, *, intro: Sequence[str] = ()) -> str:
    names = transcript.names
    nav = [f"<h1>{e(transcript.workspace)}</h1>"]
    for heading, kind in (("Channels", "channel"), ("Direct messages", "dm")):
        links = [
            f'<a href="#c-{e(c.key)}">{e(c.title.split(" · ")[0])}'
            f'<span class="count">{len(c.entries)}</span></a>'
            for c in transcript.conversations
            if c.kind == kind
        ]
        if links:
            nav.append(f'<h2>{heading}</h2><div class="links">{"".join(links)}</div>')
    body = [
        '<header class="intro"><h1>Cadence demo: what Slack would have shown</h1>',
        f"<p>Simulated from {e(day(transcript.start))} {when(transcript.start)} to "
        f"{e(day(transcript.end))} {when(transcript.end)}, Berlin time. What only one person "
        "saw (their commands, the forms they sent, Cadence's answers to them) is shaded.</p>",
    ]
    if intro:
        body.append("<ul>" + "".join(f"<li>{e(line)}</li>" for line in intro) + "</ul>")
    charts = [f for f in transcript.files if f.is_image]
    if charts:
        body.append(
            f'<figure class="headline">{_image(charts[-1])}<figcaption>The last weekly '
            f"digest's chart ({e(charts[-1].name)}); every digest is in its channel below."
            "</figcaption></figure>"
        )
    body.append("</header>")
    for conversation in transcript.conversations:
        body.append(f'<section class="conversation" id="c-{e(conversation.key)}">')
        body.append(f"<h2>{e(conversation.title)}</h2>")
        shown_day = ""
        for entry in conversation.entries:
            if day(entry.at) != shown_day:
                shown_day = day(entry.at)
                body.append(f'<div class="day">{e(shown_day)}</div>')
            body.append(_entry(entry, names))
        body.append("</section>")
    page = marked(f"<nav>{''.join(nav)}</nav><main>{''.join(body)}</main>")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>Cadence demo</title>"
        f"<style>{STYLE}</style></head><body>{symbols(page)}{page}</body></html>\n"
    )


def _entry(entry: Entry, names: Names) -> str:
    classes = ["msg"]
    note = ""
    content = ""
    if entry.kind == "command":
        classes.append("private")
        content = f'<div class="text">used <code>{e(entry.title)}</code></div>'
        note = '<div class="only">Only they see this</div>'
    elif entry.kind == "click":
        classes.append("private")
        content = f'<div class="text">clicked <span class="button">{e(entry.title)}</span></div>'
    elif entry.kind == "form":
        classes.append("private")
        rows = "".join(f"<dt>{e(label)}</dt><dd>{e(value)}</dd>" for label, value in entry.fields)
        content = (
            f'<div class="modal"><div class="title">{e(entry.title)}</div><dl>{rows}</dl></div>'
        )
        note = '<div class="only">Sent a form; only they see it</div>'
    elif entry.kind == "file" and entry.file is not None:
        content = _lines(entry.lines, names)
        if entry.file.is_image:
            content += f"<figure>{_image(entry.file)}<figcaption>{e(entry.file.name)}</figcaption></figure>"
        else:
            content += f'<a class="file" href="{e(entry.file.name)}">📎 {e(entry.file.name)}</a>'
    else:
        content = _lines(entry.lines, names)
        if entry.kind == "ephemeral":
            classes.append("ephemeral")
            who = f"Only {entry.to} sees this" if entry.to else "Only they see this"
            note = f'<div class="only">{e(who)}</div>'
        elif entry.kind == "edit":
            note = f'<div class="note">edited its message “{e(to_plain(entry.title, names))}”</div>'
        elif entry.thread:
            classes.append("thread")
            note = f'<div class="note">replied in the thread of “{e(entry.thread)}”</div>'
    app = '<span class="app">APP</span>' if entry.author == BOT_NAME else ""
    return (
        f'<div class="{" ".join(classes)}">{avatar(entry.author)}<div class="content">'
        f'<div class="meta"><span class="author">{e(entry.author)}</span>{app}'
        f'<time datetime="{entry.at.isoformat()}">{when(entry.at)}</time></div>'
        f'{note}<div class="body">{content}</div></div></div>'
    )


def _image(file: SavedFile) -> str:
    """The image itself in the page (a data URI): the page needs no other file."""
    data = base64.b64encode(file.data).decode()
    return f'<img src="data:image/png;base64,{data}" alt="{e(file.alt or file.title)}">'


def _lines(lines: Sequence[Line], names: Names) -> str:
    out: list[str] = []
    for line in lines:
        if line.kind == "header":
            out.append(f'<div class="header">{e(to_plain(line.texts[0], names))}</div>')
        elif line.kind == "fields":
            cells = "".join(f"<div>{to_html(t, names)}</div>" for t in line.texts)
            out.append(f'<div class="fields">{cells}</div>')
        elif line.kind == "context":
            out.append(f'<div class="context">{to_html(line.texts[0], names)}</div>')
        elif line.kind == "buttons":
            out.append(
                "<div>"
                + "".join(
                    f'<span class="button">{e(to_plain(t, names))}</span>' for t in line.texts
                )
                + "</div>"
            )
        elif line.kind == "divider":
            out.append("<hr>")
        elif line.kind == "image":
            out.append(f'<div class="context">[image: {e(line.texts[0])}]</div>')
        else:
            out.extend(f'<div class="text">{to_html(t, names)}</div>' for t in line.texts)
    return "".join(out)
