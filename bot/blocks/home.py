"""The App Home tab: a person's engagements and what to do next (check-ins to answer,
deliverables to submit or accept, concerns of theirs, and for a lead the custom questions'
rules that fired in the last 7 days).

The engagements show the figures every view shares (`bot/domain/figures.py`: RAG now and its
trend, the scorecard's score, the on-time rate), as computed there, never again here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from bot.blocks import trend
from bot.blocks.assurance import home_blocks as evidence_blocks
from bot.blocks.checkins import ANSWER_ACTION, button_label
from bot.blocks.common import MAX_SECTION_TEXT, escape, fit_text
from bot.blocks.concerns import concern_age, headline
from bot.blocks.engagements import engagement_lines, fit_texts
from bot.blocks.kit import MAX_VIEW_BLOCKS, Block, button, context, divider, header, home, section
from bot.blocks.question_results import fired_line
from bot.blocks.roundup import notify_choice
from bot.domain import moments
from bot.domain.assurance.queries import Waiting as EvidenceWaiting
from bot.domain.checkin_kinds import title as kind_title
from bot.domain.checkins import CheckInStatus, WaitingCheckIn
from bot.domain.concerns import HomeConcerns
from bot.domain.deliverable_queue import ACCEPT, SUBMIT, Waiting
from bot.domain.engagements import EngagementDetails
from bot.domain.figures import Figures
from bot.domain.notifications import MODES
from bot.domain.updates.evidence import RAG_EMOJI

MAX_HOME_BLOCKS = MAX_VIEW_BLOCKS
MAX_HOME_ENGAGEMENTS = 100
"""The most engagements a Home tab reads (`engagements.page_for_person`, worst first): a dozen
sections at most, and figures for a hundred take milliseconds; the rest are counted."""
RAG_WORDS = {"green": "Green", "amber": "Amber", "red": "Red"}
RAG_ORDER = {"red": 0, "amber": 1, "green": 2}  # worst first; no update yet last
NO_RAG = "⚪ _No update yet_"


def rag_marker(rag: str | None) -> str:
    """A RAG as emoji and word (never colour alone)."""
    if rag is None or rag not in RAG_WORDS:
        return NO_RAG
    return f"{RAG_EMOJI[rag]} *{RAG_WORDS[rag]}*"


def figures_line(f: Figures) -> str:
    """RAG trend from its first week with data (✗ a week whose update was missed, – no update
    yet: `bot.blocks.trend`), score (and its change) and on-time rate in words (a missed
    update is never "0%")."""
    score = f.scorecard.now.score
    change = f.scorecard.change()
    score_text = "score —" if score is None else f"score {score}/100"
    if score is not None and change is not None:
        score_text += f" ({change:+d})"
    weeks = trend.weeks_of(f)
    return (
        f"{len(weeks)}-week trend `{trend.letters(weeks)}`{trend.key_of(weeks)} · {score_text}"
        f" · on time: {trend.on_time_words(f.on_time, f.missed)}"
    )


def status_marker(f: Figures | None) -> str:
    """The RAG as emoji and word, or, when the latest update due was missed, that in words:
    beside a RAG given before it, or instead of "no update yet"."""
    rag = rag_marker(f.rag_now if f else None)
    missed = trend.missed_words(f) if f else None
    if not missed:
        return rag
    said = f"{trend.MARKS[trend.MISSED]} *{missed}*"
    return said if f is None or f.rag_now is None else f"{rag} · {said}"


def engagement_entry(
    details: EngagementDetails, roles: Sequence[str], figures: Figures | None
) -> str:
    rag = status_marker(figures)
    line = f"{rag} · {engagement_lines(details.line)} · you: {', '.join(roles)}"
    return f"{line}\n{figures_line(figures)}" if figures is not None else line


def _fitted(lines: Sequence[str], budget: int, total: int) -> list[Block]:
    """As many of `lines` as fit in `budget` section blocks; the rest of `total` counted."""
    texts, shown = fit_texts(lines, budget)
    if shown == total:
        return [section(t) for t in texts]
    texts, shown = fit_texts(lines, budget - 1)  # room for the count
    more = context(
        f"…and {total - shown} more: `/cadence engagement list` followed by a word of a "
        "name finds any of them."
    )
    return [*map(section, texts), more]


def waiting_blocks(waiting: Sequence[WaitingCheckIn], reader_tz: str | None = None) -> list[Block]:
    """Each check-in waiting for the person, with the button that opens its form; its due time
    in the person's zone (`reader_tz`; while Slack has not told us theirs, Slack's own date,
    which shows them theirs, the cadence's zone as its fallback)."""
    blocks: list[Block] = [section(f"*Waiting for your answer* ({len(waiting)})")]
    for checkin in waiting:
        late = " _(overdue)_" if checkin.status == CheckInStatus.OVERDUE else ""
        due = (
            moments.moment(checkin.window_closes_at, reader_tz)
            if reader_tz
            else moments.for_everyone(checkin.window_closes_at, checkin.timezone)
        )
        text = (
            f"{kind_title(checkin.kind)} for *{escape(checkin.engagement_name)}*{late} · due {due}"
        )
        blocks.append(
            section(
                text,
                block_id=f"waiting-{checkin.id}",
                accessory=button(button_label(checkin.kind), ANSWER_ACTION, str(checkin.id)),
            )
        )
    return blocks


MAX_HOME_CONCERNS = 15


def concern_blocks(page: HomeConcerns, now: datetime) -> list[Block]:
    """The open concerns a person owns or raised, worst first; the rest counted."""
    blocks: list[Block] = [section(f"*Your open concerns* ({page.total}): owned or raised by you")]
    for concern in page.rows[:MAX_HOME_CONCERNS]:
        blocks.append(
            section(
                fit_text(
                    f"{headline(concern)}\n{escape(concern.engagement_name)} · owner "
                    f"<@{concern.owner_user_id}> · {concern_age(concern, now)}"
                )
            )
        )
    rest = page.total - min(page.total, MAX_HOME_CONCERNS)
    if rest:
        blocks.append(context(f"…and {rest} more: `/cadence concerns mine` lists them all."))
    return blocks


MAX_HOME_DELIVERABLES = 10
ACTION_WORDS = {SUBMIT: "to submit (you own it)", ACCEPT: "to accept (submitted to you)"}


def deliverable_blocks(waiting: Waiting, now: datetime) -> list[Block]:
    """What the person must submit or accept, those to accept first, then soonest due; the
    rest counted."""
    blocks: list[Block] = [
        section(f"*Deliverables waiting on you* ({waiting.total}): submit or accept")
    ]
    for d in waiting.rows[:MAX_HOME_DELIVERABLES]:
        late = " · *overdue*" if d.what == SUBMIT and d.due_at <= now else ""
        blocks.append(
            section(
                fit_text(
                    f"*#{d.id} {escape(d.title)}* · {ACTION_WORDS[d.what]}\n"
                    f"{escape(d.engagement_name)} · due {moments.day(d.due_on)}{late}"
                )
            )
        )
    rest = waiting.total - min(waiting.total, MAX_HOME_DELIVERABLES)
    if rest:
        blocks.append(context(f"…and {rest} more: `/cadence deliverables mine` lists them all."))
    return blocks


MAX_HOME_RULES = 10
RULES_WITHIN = timedelta(days=7)


def rule_blocks(
    user_id: str,
    mine: Sequence[tuple[EngagementDetails, tuple[str, ...]]],
    figures: Mapping[int, Figures],
    now: datetime,
    reader_tz: str | None = None,
) -> list[Block]:
    """For a lead: the rules of custom questions that fired in the last 7 days on the
    engagements they lead (from the figures every view shares), newest first; the rest
    counted. Nothing for anyone else, or when none fired."""
    fired = [
        (r, details)
        for details, _ in mine
        if user_id in details.leads and (found := figures.get(details.id)) is not None
        for r in found.rules_fired
        if now - RULES_WITHIN < r.at <= now
    ]
    if not fired:
        return []
    fired.sort(key=lambda pair: pair[0].at, reverse=True)
    lines = [
        f"*{escape(details.engagement.name)}* · {fired_line(r)} · "
        f"{moments.short_day(moments.local_day(r.at, reader_tz or details.engagement.timezone))}"
        for r, details in fired[:MAX_HOME_RULES]
    ]
    blocks: list[Block] = [section(f"*Rules fired in the last 7 days* ({len(fired)})")]
    blocks += [section(fit_text(text)) for text in _joined(lines)]
    if len(fired) > MAX_HOME_RULES:
        blocks.append(
            context(
                f"…and {len(fired) - MAX_HOME_RULES} more: each engagement's health card "
                "(`/cadence status <engagement>`) names its last."
            )
        )
    return blocks


def _joined(lines: Sequence[str]) -> list[str]:
    """Lines as few section texts as Slack's 3,000 characters allow."""
    texts: list[str] = []
    for line in lines:
        if texts and len(texts[-1]) + 1 + len(line) <= MAX_SECTION_TEXT:
            texts[-1] += "\n" + line
        else:
            texts.append(line)
    return texts


def home_view(
    user_id: str,
    mine: Sequence[tuple[EngagementDetails, tuple[str, ...]]],
    waiting: Sequence[WaitingCheckIn] = (),
    concerns: HomeConcerns | None = None,
    now: datetime | None = None,
    figures: Mapping[int, Figures] | None = None,
    total: int | None = None,
    evidence: EvidenceWaiting | None = None,
    deliverables: Waiting | None = None,
    reader_tz: str | None = None,
    notify: str | None = None,
) -> dict[str, Any]:
    """The person's Home tab: what waits for their answer, their open concerns, their
    engagements worst first (RAG, trend, score, on-time rate from `figures`), within 100 blocks.
    `total`: how many engagements they have, when `mine` is only the first of them;
    `deliverables`: what they must submit or accept; `reader_tz`: the person's Slack zone, which
    its times are said in (None: each engagement's); `notify`: how they hear of answers that
    need a lead (shown to leads only: `roundup.notify_choice`)."""
    figures = figures or {}
    total = len(mine) if total is None else total
    blocks: list[Block] = [header("Cadence")]
    if waiting:
        blocks.extend(waiting_blocks(waiting, reader_tz))
        blocks.append(divider())
    if deliverables is not None and deliverables.total and now is not None:
        blocks.extend(deliverable_blocks(deliverables, now))
        blocks.append(divider())
    owed_or_to_review = evidence_blocks(evidence) if evidence is not None else []
    if owed_or_to_review:  # evidence the person owes, and evidence they review
        blocks.extend(owed_or_to_review)
        blocks.append(divider())
    if concerns is not None and concerns.total and now is not None:
        blocks.extend(concern_blocks(concerns, now))
        blocks.append(divider())
    fired = rule_blocks(user_id, mine, figures, now, reader_tz) if now is not None else []
    if fired:
        blocks.extend(fired)
        blocks.append(divider())
    if not mine:
        blocks.append(
            section(
                "You are not part of any engagement yet. A project lead creates one with "
                "`/cadence engagement new`; `/cadence help` lists every command."
            )
        )
    else:
        blocks.append(section(f"*Your engagements* ({total})"))

        def worst_first(entry: tuple[EngagementDetails, tuple[str, ...]]) -> tuple[int, str]:
            found = figures.get(entry[0].id)
            return RAG_ORDER.get(found.rag_now if found else "", 3), entry[0].engagement.name

        lines = [
            engagement_entry(d, roles, figures.get(d.id))
            for d, roles in sorted(mine, key=worst_first)
        ]
        blocks.extend(_fitted(lines, MAX_HOME_BLOCKS - len(blocks) - 4, total))
    blocks.append(divider())
    if notify is not None and any("lead" in roles for _, roles in mine):
        blocks.extend(notify_choice(MODES, notify))
    blocks.append(context("`/cadence help` lists every command."))
    return home(blocks[:MAX_HOME_BLOCKS])
