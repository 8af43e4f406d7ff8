"""The executive digest: one message that says where to look, within Slack's limits.

An executive reads it on a phone once a week. So: a headline (how many engagements are green,
amber and red, and what changed), then the engagements that need attention, each with its RAG
and trend, scorecard figures, worst open concerns, deliverables overdue, due this week and
slipped, its assurance evidence (due diligence coverage, what expired since the last digest or
expires this week, worst first) and the contract's next date within 90 days, its custom
questions aggregated (a rating's mean, the options chosen most), and a button to its health
card; the rest
one line each; and past Slack's 50 blocks the remainder counted, never cut mid-sentence.
Every number comes from `bot.domain.figures` (the same numbers as the health card and Home).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from slack_sdk.models.blocks import (
    ButtonElement,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.blocks import trend
from bot.blocks.common import MAX_MESSAGE_BLOCKS, MAX_SECTION_TEXT, context, escape, message
from bot.blocks.contract import upcoming_line
from bot.blocks.health import HEALTH_ACTION, assurance_summary
from bot.blocks.question_results import digest_lines
from bot.domain import moments
from bot.domain.command_reference import shorten
from bot.domain.figures import MAX_SLIPS, SCORE_FORMULA, Figures, Rate
from bot.domain.updates.evidence import RAG_EMOJI

MAX_DETAILED = 12  # engagements given a section of their own; the rest get a line
NO_UPDATE = "⚪"
SEVERITY_WORDS = ("critical", "high", "medium", "low")
MAX_TITLE = 90  # a concern's title in a digest entry (the health card has it whole)
MAX_QUESTIONS = 4  # custom questions aggregated in a digest entry; the rest counted


@dataclass(frozen=True)
class DigestScope:
    """What a digest covers and who reads it: the period's end, where "changed" starts,
    whether it is the scheduled post or a private preview, and the zone its readers read its
    times in (the workspace's digest zone)."""

    now: datetime
    since: datetime
    preview: bool = False
    timezone: str = "UTC"


def attention_rank(f: Figures) -> tuple:
    """Red first, then whatever changed its RAG, then amber, no update, green; within a group
    the most breaches, the most open critical concerns, the lowest score, then by name."""
    if f.rag_now == "red":
        group = 0
    elif f.changes.rag_changed:
        group = 1
    else:
        group = {"amber": 2, None: 3}.get(f.rag_now, 4)
    score = f.scorecard.now.score
    return (
        group,
        -f.concerns.breaches,
        -f.concerns.open_by_severity.get("critical", 0),
        score if score is not None else 101,
        f.name.casefold(),
        f.engagement_id,
    )


def ordered(figures: Sequence[Figures]) -> list[Figures]:
    return sorted(figures, key=attention_rank)


def percent(rate: Rate) -> str:
    return moments.percent(rate.value)


def points(change: float | None) -> str:
    """A change in points: ▲5, ▼3, ＝ (nothing when not comparable)."""
    if change is None:
        return ""
    change = round(change)
    return " ▲" + str(change) if change > 0 else (" ▼" + str(-change) if change < 0 else " ＝")


def rag_marker(rag: str | None) -> str:
    """Emoji and word together: colour is never the only sign."""
    return f"{RAG_EMOJI[rag]} {rag}" if rag in RAG_EMOJI else f"{NO_UPDATE} no update yet"


def trend_letters(f: Figures) -> str:
    """From the first week with data, ✗ a week whose update was missed (`bot.blocks.trend`)."""
    return trend.letters(trend.weeks_of(f), sep="")


def _no_rag(f: Figures) -> str:
    """The mark of an engagement with no RAG: ❌ when its latest update was missed."""
    return trend.MARKS[trend.MISSED] if trend.missed_latest(f) else NO_UPDATE


def missed_marker(f: Figures) -> str:
    """` · ❌ 2 updates missed` when the latest update due was missed, else nothing."""
    missed = trend.missed_words(f)
    return f" · {trend.MARKS[trend.MISSED]} *{missed}*" if missed else ""


def age(delta: timedelta) -> str:
    days = delta.days
    if days >= 1:
        return f"{days} d"
    return f"{max(1, int(delta.total_seconds() // 3600))} h"


def name_of(f: Figures) -> str:
    """The engagement's name for bold mrkdwn (surrounding spaces would break the bold)."""
    return escape(" ".join(f.name.split()))


def change_phrase(f: Figures) -> str | None:
    """What changed in a few words, or None."""
    c = f.changes
    if not c.rag_changed:
        return None
    before = c.rag_before or "no update"
    return f"{before} → {c.rag_now or 'no update'}"


def score_line(f: Figures) -> str:
    card = f.scorecard
    changes = card.part_changes()
    now = card.now
    feedback = "–" if now.feedback is None else f"{now.feedback:.1f}/5"
    score = "–" if now.score is None else str(now.score)
    return (
        f"Score *{score}*{points(card.change())} · on time "
        f"{trend.on_time_brief(now.on_time, trend.score_missed(f))}"
        f"{points(changes['on_time'])} · KPIs on target {percent(now.kpis_met)}"
        f"{points(changes['kpis'])} · deliverables {percent(now.delivery)}"
        f"{points(changes['delivery'])} · SLAs met {percent(now.sla)}{points(changes['sla'])}"
        f" · feedback {feedback} · assurance {percent(now.assurance)}"
        f"{points(changes['assurance'])}"
    )


def concern_line(f: Figures, now: datetime) -> str:
    c = f.concerns
    if not c.open_total:
        return "No open concerns."
    counts = ", ".join(
        f"{c.open_by_severity[s]} {s}" for s in SEVERITY_WORDS if c.open_by_severity.get(s)
    )
    parts = [f"Open concerns: {counts}"]
    if c.oldest_open_age is not None:
        parts.append(f"oldest {age(c.oldest_open_age)}")
    if c.breaches:
        parts.append(f"*{c.breaches} past SLA*")
    lines = [" · ".join(parts)]
    for w in c.worst:
        late = " ⏰" if w.breached(now) else ""
        title = escape(shorten(" ".join(w.title.split()), MAX_TITLE))
        lines.append(f"  • [{w.severity}] {title}{late} ({age(now - w.raised_at)})")
    return "\n".join(lines)


def _titles(titles: Sequence[str]) -> str:
    shown = [escape(shorten(" ".join(t.split()), MAX_TITLE)) for t in titles[:MAX_SLIPS]]
    more = f" and {len(titles) - len(shown)} more" if len(titles) > len(shown) else ""
    return ", ".join(shown) + more


def deliverable_line(f: Figures) -> str | None:
    """Overdue and due this week, and what slipped since the last digest (re-planned later,
    or past its date unsubmitted); None for an engagement with nothing of either."""
    d = f.deliverables
    if not (d.overdue or d.due_soon or d.replans_since):
        return None
    parts = [
        f"Deliverables: *{len(d.overdue)} overdue*" if d.overdue else "Deliverables: 0 overdue"
    ]
    parts.append(f"{len(d.due_soon)} due this week")
    line = " · ".join(parts)
    slipped = [f"{r.title} (+{r.days} d)" for r in d.replans_since]
    slipped += [f"{row.title} (overdue)" for row in d.overdue_since]
    if slipped:
        line += f"\n  Slipped since the last digest: {_titles(slipped)}"
    return line


def assurance_line(f: Figures) -> str | None:
    """Due diligence coverage and what is expiring or expired, then what expired since the
    last digest or expires in the week ahead, worst first (None: no evidence registered)."""
    a = f.assurance
    if not a.items:
        return None
    line = f"Assurance: {assurance_summary(a)}"
    this_week = [f"{r.title} (expired)" for r in a.expired_since]
    this_week += [
        f"{r.title} (valid until {moments.day(r.valid_until)})"
        for r in a.expiring_week
        if r.valid_until is not None
    ]
    if this_week:
        line += f"\n  Expired since the last digest or expiring this week: {_titles(this_week)}"
    return line


def contract_line(f: Figures) -> str | None:
    """The contract's next date when within 90 days (`contract_clocks.SHOWN_WITHIN`)."""
    c = f.contract
    return upcoming_line(c.what, c.day, c.days_left, c.renews) if c is not None else None


def question_lines(f: Figures) -> list[str]:
    """The custom questions answered since the last digest, aggregated (a rating's mean, the
    options chosen most with their counts; a survey's only in groups of three or more), at
    most MAX_QUESTIONS, the rest counted."""
    lines = digest_lines(f.questions)
    if not lines:
        return []
    shown = [f"  • {line}" for line in lines[:MAX_QUESTIONS]]
    rest = len(lines) - len(shown)
    more = f" (and {rest} more on the health card)" if rest > 0 else ""
    return [f"Questions since the last digest{more}:", *shown]


def detailed_section(f: Figures, now: datetime) -> SectionBlock:
    changed = change_phrase(f)
    status = rag_marker(f.rag_now) + missed_marker(f)
    if f.rag_now is None and trend.missed_latest(f):  # missed, not "no update yet"
        status = missed_marker(f).removeprefix(" · ")
    head = f"{status} · *{name_of(f)}* `{f.handle}`"
    if changed:
        head += f" · _changed: {changed}_"
    weeks = f"Weeks (oldest first): `{trend_letters(f)}`"
    delivered = deliverable_line(f)
    evidence = assurance_line(f)
    contract = contract_line(f)
    tail = [line for line in (delivered, evidence, contract) if line]
    asked = question_lines(f)
    text = "\n".join([head, f"{score_line(f)}\n{weeks}", concern_line(f, now), *tail, *asked])
    if len(text) > MAX_SECTION_TEXT:  # long titles: drop them, keep whole sentences
        tail = [line.split("\n")[0] for line in (delivered, evidence, contract) if line]
        text = "\n".join(
            [head, f"{score_line(f)}\n{weeks}", concern_line(f, now).split("\n")[0], *tail]
        )
    return SectionBlock(
        block_id=f"digest-{f.engagement_id}",
        text=MarkdownTextObject(text=text),
        accessory=ButtonElement(
            text="Health card", action_id=HEALTH_ACTION, value=str(f.engagement_id)
        ),
    )


def summary_line(f: Figures) -> str:
    score = f.scorecard.now.score
    extra = f" · {f.concerns.open_total} open" if f.concerns.open_total else ""
    if f.deliverables.overdue:
        late = len(f.deliverables.overdue)
        extra += f" · {late} deliverable{'s' if late != 1 else ''} overdue"
    if f.assurance.expired:
        extra += f" · {len(f.assurance.expired)} evidence expired"
    changed = change_phrase(f)
    return (
        f"{RAG_EMOJI.get(f.rag_now or '', _no_rag(f))} *{name_of(f)}* `{f.handle}` · score "
        f"{'–' if score is None else score} · on time "
        f"{trend.on_time_brief(f.scorecard.now.on_time, trend.score_missed(f))}"
        f"{missed_marker(f)}{extra}" + (f" · _{changed}_" if changed else "")
    )


def headline(figures: Sequence[Figures]) -> str:
    counts: dict[str | None, int] = {k: 0 for k in (*RAG_EMOJI, trend.MISSED, None)}
    for f in figures:
        rag = f.rag_now if f.rag_now in RAG_EMOJI else None
        counts[rag or (trend.MISSED if trend.missed_latest(f) else None)] += 1
    parts = [f"{RAG_EMOJI[k]} {counts[k]} {k}" for k in ("red", "amber", "green")]
    if counts[trend.MISSED]:  # not "without an update": the update was due and missed
        parts.append(f"{trend.MARKS[trend.MISSED]} {counts[trend.MISSED]} missed their update")
    if counts[None]:
        parts.append(f"{NO_UPDATE} {counts[None]} without an update yet")
    n = len(figures)
    return f"*{n} engagement{'s' if n != 1 else ''}*: " + " · ".join(parts)


def changes_summary(figures: Sequence[Figures]) -> str:
    moved = [f for f in figures if f.changes.rag_changed]
    raised = sum(f.changes.concerns_raised for f in figures)
    resolved = sum(f.changes.concerns_resolved for f in figures)
    breaches = sum(f.concerns.breaches for f in figures)
    updates = sum(f.changes.updates for f in figures)
    worse = sum(1 for f in moved if _rank(f.changes.rag_now) < _rank(f.changes.rag_before))
    parts = [f"{updates} status update{'s' if updates != 1 else ''}"]
    if moved:
        parts.append(f"{len(moved)} changed RAG ({worse} worse)")
    parts.append(f"{raised} concern{'s' if raised != 1 else ''} raised, {resolved} resolved")
    slipped = sum(
        len(f.deliverables.replans_since) + len(f.deliverables.overdue_since) for f in figures
    )
    if slipped:
        parts.append(f"{slipped} deliverable{'s' if slipped != 1 else ''} slipped")
    if breaches:
        parts.append(f"*{breaches} past SLA now*")
    return "Since the last digest: " + " · ".join(parts) + "."


def _rank(rag: str | None) -> int:
    return {"red": 0, "amber": 1, "green": 2}.get(rag or "", 3)


def counted_line(rest: Sequence[Figures]) -> str:
    """The engagements with no room left, counted by RAG."""
    counts: dict[str, int] = {}
    for f in rest:
        key = f.rag_now if f.rag_now in RAG_EMOJI else "without an update"
        counts[key] = counts.get(key, 0) + 1
    parts = [f"{n} {k}" for k, n in counts.items()]
    return (
        f"…and {len(rest)} more ({', '.join(parts)}): `/cadence status <engagement>` shows any "
        "of them."
    )


def _line_sections(lines: Sequence[str], room: int) -> tuple[list[SectionBlock], int]:
    """Whole lines packed into at most `room` sections; how many lines fitted."""
    blocks: list[SectionBlock] = []
    current: list[str] = []
    used = 0
    for line in lines:
        candidate = "\n".join([*current, line])
        if len(candidate) <= MAX_SECTION_TEXT:
            current.append(line)
            used += 1
            continue
        if len(blocks) + 1 >= room:
            break
        blocks.append(SectionBlock(text=MarkdownTextObject(text="\n".join(current))))
        current = [line]
        used += 1
    if current and len(blocks) < room:
        blocks.append(SectionBlock(text=MarkdownTextObject(text="\n".join(current))))
    elif current:
        used -= len(current)
    return blocks, used


def digest_message(figures: Sequence[Figures], scope: DigestScope) -> dict[str, Any]:
    """The digest for the engagements given (in any order): a payload within Slack's limits."""
    now = scope.now
    rows = ordered(figures)
    title = "Cadence digest preview" if scope.preview else "Cadence weekly digest"
    tz = scope.timezone
    period = (
        f"Week to {moments.long_moment(now, tz)} · changes since {moments.moment(scope.since, tz)}"
    )
    top = headline(rows)
    blocks: list = [HeaderBlock(text=title), context(period)]
    if not rows:
        blocks.append(
            context("No engagements to report yet: `/cadence engagement new` starts one.")
        )
        return message(f"{title}: no engagements yet.", blocks)
    blocks += [
        SectionBlock(text=MarkdownTextObject(text=f"{top}\n{changes_summary(rows)}")),
        DividerBlock(),
    ]
    footer = [
        DividerBlock(),
        context(f"{SCORE_FORMULA} Weeks, from the first with data: {trend.KEY}."),
    ]
    needing = [f for f in rows if attention_rank(f)[0] < 4]  # everything but plain green
    detailed = needing[:MAX_DETAILED] if needing else rows[: min(3, len(rows))]
    room = MAX_MESSAGE_BLOCKS - len(blocks) - len(footer) - 1  # one kept for the count line
    detailed = detailed[:room]
    blocks += [detailed_section(f, now) for f in detailed]
    rest = _without(rows, detailed)
    if rest:
        room = MAX_MESSAGE_BLOCKS - len(blocks) - len(footer) - 1
        if room > 0:
            blocks.append(context("*The others*"))
            room -= 1
        sections, fitted = _line_sections([summary_line(f) for f in rest], room)
        blocks += sections
        if fitted < len(rest):
            blocks.append(context(counted_line(rest[fitted:])))
    blocks += footer
    return message(f"{title}: {_plain(top)}", blocks)


def _without(rows: Sequence[Figures], taken: Sequence[Figures]) -> list[Figures]:
    ids = {f.engagement_id for f in taken}
    return [f for f in rows if f.engagement_id not in ids]


def _plain(text: str) -> str:
    return text.replace("*", "")
