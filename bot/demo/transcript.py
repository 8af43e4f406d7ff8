"""What Slack would have shown, conversation by conversation, in time order: built from the
stand-in Slack's stamped record (the app's calls, its response_url answers) and the people's
actions. The Markdown and HTML renderings (`render_markdown.py`, `render_html.py`) read this.

A conversation is a channel or a person's DM with Cadence. A person's own screen (the forms
they sent, the answers only they see) is shown where it happened, marked as only theirs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.demo.recorder import Action, Stamp
from bot.demo.slack_text import Line, Names, lines_of, to_plain

BOT_NAME = "Cadence"


@dataclass(frozen=True)
class SavedFile:
    """A file the app uploaded, as written into the demo's folder."""

    file_id: str
    name: str  # its name in the output folder
    title: str
    is_image: bool
    data: bytes = field(repr=False, compare=False)
    alt: str = ""  # the alt text the app gave it


@dataclass
class Entry:
    """One thing in a conversation.

    `kind`: message (by Cadence), edit (Cadence changed one of its messages), ephemeral (an
    answer only `to` sees), command, click or form (what a person did), file (an upload).
    """

    at: datetime
    seq: int
    kind: str
    author: str
    lines: list[Line] = field(default_factory=list)
    title: str = ""
    fields: Sequence[tuple[str, str]] = ()
    to: str = ""
    thread: str = ""  # a reply in the thread of the message that starts with this
    file: SavedFile | None = None


@dataclass
class Conversation:
    key: str
    title: str
    kind: str  # "channel" | "dm"
    entries: list[Entry] = field(default_factory=list)


@dataclass
class Transcript:
    workspace: str
    conversations: list[Conversation]
    names: Names
    start: datetime
    end: datetime
    files: list[SavedFile]

    def entries(self) -> list[Entry]:
        return [e for c in self.conversations for e in c.entries]

    def conversation(self, key: str) -> Conversation | None:
        return next((c for c in self.conversations if c.key == key), None)


def build(
    stamps: Sequence[Stamp],
    *,
    workspace: str,
    names: Names,
    dm_owners: Mapping[str, str],
    replies_to: Mapping[str, tuple[str, str]],
    files: Mapping[str, SavedFile],
    channel_order: Sequence[str],
) -> Transcript:
    """The transcript of `stamps` (in the order they happened)."""
    builder = _Builder(names, dm_owners, replies_to, files)
    for stamp in sorted(stamps, key=lambda s: (s.at, s.seq)):
        builder.add(stamp)
    conversations = [c for c in builder.conversations.values() if c.entries]
    order = {key: i for i, key in enumerate(channel_order)}
    conversations.sort(
        key=lambda c: (c.kind != "channel", order.get(c.key, len(order)), c.title.lower())
    )
    moments = [s.at for s in stamps if s.call is None or s.call.method != "auth.test"]
    return Transcript(
        workspace=workspace,
        conversations=conversations,
        names=names,
        start=min(moments) if moments else datetime.min,
        end=max(moments) if moments else datetime.min,
        files=list(files.values()),
    )


class _Builder:
    def __init__(
        self,
        names: Names,
        dm_owners: Mapping[str, str],
        replies_to: Mapping[str, tuple[str, str]],
        files: Mapping[str, SavedFile],
    ) -> None:
        self.names = names
        self.dm_owners = dm_owners
        self.replies_to = replies_to
        self.files = files
        self.conversations: dict[str, Conversation] = {}
        self.first_lines: dict[tuple[str, str], str] = {}  # (channel, ts) → its first words

    def conversation(self, channel: str) -> Conversation:
        if channel not in self.conversations:
            owner = self.dm_owners.get(channel)
            if owner is not None:
                title = f"{self.names.person(owner)} · DM with {BOT_NAME}"
                self.conversations[channel] = Conversation(channel, title, "dm")
            else:
                title = "#" + self.names.channel(channel)
                self.conversations[channel] = Conversation(channel, title, "channel")
        return self.conversations[channel]

    def add(self, stamp: Stamp) -> None:
        if stamp.action is not None:
            self.action(stamp, stamp.action)
        elif stamp.response is not None:
            self.response(stamp, *stamp.response)
        elif stamp.call is not None and stamp.call.ok:
            handler = getattr(self, "call_" + stamp.call.method.replace(".", "_"), None)
            if handler is not None:
                handler(stamp, stamp.call.args, stamp.call.response)

    def entry(self, channel: str, stamp: Stamp, kind: str, author: str, **kw: Any) -> Entry:
        made = Entry(at=stamp.at, seq=stamp.seq, kind=kind, author=author, **kw)
        self.conversation(channel).entries.append(made)
        return made

    # --- what people did ------------------------------------------------------------------------

    def action(self, stamp: Stamp, action: Action) -> None:
        who = self.names.person(action.user)
        if action.kind == "reply":
            lines = lines_of(action.answer or {})
            self.entry(action.where, stamp, "ephemeral", BOT_NAME, lines=lines, to=who)
        elif action.kind == "submit":
            self.entry(action.where, stamp, "form", who, title=action.text, fields=action.fields)
        else:
            self.entry(action.where, stamp, action.kind, who, title=action.text)

    def response(self, stamp: Stamp, name: str, body: dict[str, Any]) -> None:
        user, channel = self.replies_to.get(name, ("", ""))
        if not channel or body.get("delete_original"):
            return
        self.entry(
            channel,
            stamp,
            "ephemeral",
            BOT_NAME,
            lines=lines_of(body),
            to=self.names.person(user) if user else "",
        )

    # --- what the app made Slack show ----------------------------------------------------------

    def _thread(self, channel: str, args: Mapping[str, Any]) -> str:
        parent = str(args.get("thread_ts") or "")
        return self.first_lines.get((channel, parent), "an earlier message") if parent else ""

    def call_chat_postMessage(self, stamp: Stamp, args: dict, response: dict) -> None:
        channel = str(response.get("channel") or args.get("channel"))
        message = response.get("message") or args
        self.first_lines[(channel, str(response.get("ts")))] = _first_words(message, self.names)
        self.entry(
            channel,
            stamp,
            "message",
            BOT_NAME,
            lines=lines_of(message),
            thread=self._thread(channel, args),
        )

    def call_chat_update(self, stamp: Stamp, args: dict, response: dict) -> None:
        channel = str(response.get("channel") or args.get("channel"))
        message = response.get("message") or args
        edited = self.first_lines.get((channel, str(args.get("ts"))), "an earlier message")
        self.entry(channel, stamp, "edit", BOT_NAME, lines=lines_of(message), title=edited)

    def call_chat_postEphemeral(self, stamp: Stamp, args: dict, response: dict) -> None:
        channel = str(args.get("channel"))
        to = self.names.person(str(args.get("user")))
        self.entry(channel, stamp, "ephemeral", BOT_NAME, lines=lines_of(args), to=to)

    def call_files_completeUploadExternal(self, stamp: Stamp, args: dict, response: dict) -> None:
        for uploaded in response.get("files") or []:
            channels = uploaded.get("channels") or []
            saved = self.files.get(str(uploaded.get("id")))
            if not channels or saved is None:
                continue
            comment = str(args.get("initial_comment") or "")
            self.entry(
                channels[0],
                stamp,
                "file",
                BOT_NAME,
                lines=[Line("text", (comment,))] if comment else [],
                title=saved.title,
                file=saved,
            )


def _first_words(message: Mapping[str, Any], names: Names, limit: int = 70) -> str:
    """The start of a message, to name it (a thread's parent, an edited message)."""
    texts = [t for line in lines_of(message) for t in line.texts if t]
    words = " ".join(to_plain(texts[0] if texts else "", names).split())
    return words if len(words) <= limit else words[: limit - 1] + "…"
