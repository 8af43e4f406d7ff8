"""Block Kit for an engagement's health card (`/cadence status <eng>`, and the button the digest
and other views show to open it): RAG now and its trend, the last update, the next check-in,
KPIs against target, open concerns, deliverables (and how to get their timeline picture),
the assurance evidence (due diligence coverage, what is expiring or expired) and the contract's
next date, feedback, the custom questions' trends and the last rule that fired, and the vendor
scorecard, with buttons.

Every number is read from `figures.Figures` as computed; nothing here recomputes one, so the
card says what the digest, the Home tab and the export say.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from slack_sdk.models.blocks import ActionsBlock, ButtonElement, DividerBlock, HeaderBlock

from bot.blocks import trend
from bot.blocks.common import (
    context,
    escape,
    fit_text,
    mentions,
    message,
    pack_sections,
    section,
)
from bot.blocks.concerns import SEVERITY_EMOJI
from bot.blocks.contract import upcoming_line
from bot.blocks.question_results import card_lines
from bot.domain import checkin_kinds, moments
from bot.domain.assurance.types import name_of as kind_name
from bot.domain.command_reference import shorten
from bot.domain.concerns import WAITING_FOR_ACK
from bot.domain.engagements import format_number
from bot.domain.feedback import MIN_ANSWERS
from bot.domain.figures import (
    EXPIRING_DAYS,
    FEEDBACK_SCORES,
    MAX_SLIPS,
    SCORE_FORMULA,
    SCORE_WEEKS,
    AssuranceFigures,
    AssuranceRow,
    ConcernRow,
    DeliverableRow,
    Figures,
    KpiFigure,
    Rate,
)
from bot.domain.health import Health
from bot.domain.updates.evidence import RAG_EMOJI, KpiOutcome

HEALTH_ACTION = "health_card"  # opens an engagement's health card; the engagement id as value
UPDATE_BUTTON = f"{HEALTH_ACTION}:update"  # the card's buttons, the engagement id as value
CONCERN_BUTTON = f"{HEALTH_ACTION}:concern"
CONCERNS_BUTTON = f"{HEALTH_ACTION}:concerns"
NO_RAG = "⚪"
OUTCOME_MARKS = {KpiOutcome.MET: "✅", KpiOutcome.WITHIN: "🟡", KpiOutcome.MISSED: "❌"}
OUTCOME_WORDS = {
    KpiOutcome.MET: "met",
    KpiOutcome.WITHIN: "within tolerance",
    KpiOutcome.MISSED: "missed",
}
MAX_SUMMARY = 300  # of the last update's summary, quoted on the card
PART_LABELS = {
    "on_time": "On-time updates",
    "kpis": "KPIs on target",
    "delivery": "Deliverables (on time, accepted first time)",
    "sla": "Concern SLAs met",
    "feedback": "Feedback",
    "assurance": "Assurance (required evidence valid)",
}
MAX_EVIDENCE = 5  # evidence items named on the card (expired, then expiring); the rest counted


def health_button(engagement_id: int, text: str = "Health card") -> ButtonElement:
    """The button that opens an engagement's health card (the digest shows one per engagement)."""
    return ButtonElement(text=text, action_id=HEALTH_ACTION, value=str(engagement_id))


# --- small pieces (pure) -----------------------------------------------------------------------


def relative(moment: datetime, now: datetime) -> str:
    """`3 d ago`, `5 h ago`, `just now`, `in 2 d`: how far a moment is from now."""
    delta = now - moment
    future = delta < timedelta(0)
    seconds = abs(delta.total_seconds())
    if seconds < 3600:
        minutes = int(seconds // 60)
        if minutes < 1:
            return "now" if future else "just now"
        amount = f"{minutes} min"
    elif seconds < 48 * 3600:
        amount = f"{int(seconds // 3600)} h"
    else:
        amount = f"{int(seconds // 86400)} d"
    return f"in {amount}" if future else f"{amount} ago"


def age(span: timedelta) -> str:
    hours = int(span.total_seconds() // 3600)
    return f"{hours // 24} d" if hours >= 48 else f"{hours} h"


def rag_word(rag: str | None) -> str:
    if rag is None:
        return f"{NO_RAG} no update yet"
    return f"{RAG_EMOJI.get(rag, NO_RAG)} *{rag.capitalize()}*"


def trend_line(weeks: Sequence[trend.Week]) -> str:
    """One mark per week, oldest first, as colours and letters (never colour alone), a missed
    week as ❌ and ✗ (`bot.blocks.trend`), with the key of the marks beyond G, A and R."""
    marks = " ".join(trend.MARKS[w.state] for w in weeks)
    return f"{marks}  `{trend.letters(list(weeks))}`{trend.key_of(list(weeks))}"


def percent(value: float | None) -> str:
    """A share given out of 100, written as every message writes one (`moments.percent`)."""
    return moments.percent(None if value is None else value / 100, none="—")


def rate_text(rate: Rate) -> str:
    if rate.value is None:
        return "nothing to count"
    return f"{percent(100 * rate.value)} ({rate.met} of {rate.counted})"


def points(change: float | None) -> str:
    """A change in points with an arrow: `▲ +5 pts`, `▼ −12 pts`, `▬ 0 pts`."""
    if change is None:
        return ""
    rounded = round(change)
    if rounded > 0:
        return f" ▲ +{rounded} pts"
    if rounded < 0:
        return f" ▼ −{-rounded} pts"
    return " ▬ 0 pts"


def _unit(unit: str) -> str:
    return unit if unit == "%" else (f" {unit}" if unit else "")


def kpi_line(kpi: KpiFigure) -> str:
    """`✅ Uptime: *99.95%* (target ≥ 99.9%) · met · ↑ better than 99.9%`."""
    unit = escape(_unit(kpi.unit))
    op = "≥ " if kpi.higher_is_better else "≤ "
    target = f"{op}{format_number(kpi.target)}{unit}"
    if kpi.tolerance is not None:
        target += f", amber {op}{format_number(kpi.tolerance)}{unit}"
    if kpi.value is None or kpi.outcome is None:
        return f"▫️ {escape(kpi.name)}: not reported yet (target {target})"
    line = (
        f"{OUTCOME_MARKS[kpi.outcome]} {escape(kpi.name)}: *{format_number(kpi.value)}{unit}* "
        f"(target {target}) · {OUTCOME_WORDS[kpi.outcome]}"
    )
    if kpi.previous is None or kpi.direction is None:
        return line
    arrow = "↑" if kpi.value > kpi.previous else "↓" if kpi.value < kpi.previous else "→"
    if kpi.direction == "same":
        return f"{line} · {arrow} unchanged"
    return f"{line} · {arrow} {kpi.direction} than {format_number(kpi.previous)}{unit}"


def concern_line(row: ConcernRow, now: datetime) -> str:
    """`🟧 *#4 Keys in email* · high · security · open 3 d, past its SLA` (or the time left)."""
    title = escape(shorten(row.title, 150)) if row.title else "(untitled)"
    line = (
        f"{SEVERITY_EMOJI.get(row.severity, '⬜')} *#{row.concern_id} {title}* · {row.severity}"
        f"{f' · {row.category}' if row.category else ''} · open {age(now - row.raised_at)}"
    )
    if row.breached(now):
        return f"{line}, *past its SLA*"
    due = row.acknowledge_due_at if row.status in WAITING_FOR_ACK else row.resolve_due_at
    return f"{line}, {age(due - now)} left on its SLA" if due is not None else line


# --- the card's parts --------------------------------------------------------------------------


def _rag_section(f: Figures, h: Health, now: datetime) -> str:
    shown = trend.weeks_of(f)
    weeks = moments.counted(len(shown), "week")
    missed = trend.missed_words(f)
    if f.rag_now is None and missed:  # the worst news, in words: never "no update yet"
        lines = [
            f"*RAG* {trend.MARKS[trend.MISSED]} *{moments.counted(f.missed, 'update')} missed*,"
            " no RAG given yet"
        ]
    else:
        lines = [f"*RAG* {rag_word(f.rag_now)}"]
    if f.rag_as_of is not None:
        lines[0] += (
            f" as of {moments.moment(f.rag_as_of, h.timezone)} ({relative(f.rag_as_of, now)})"
        )
        if missed:
            lines.append(
                f"{trend.MARKS[trend.MISSED]} *{missed}* at the latest check-in: the RAG above "
                "is the last one given"
            )
    lines.append(f"Trend over {weeks}, oldest first: {trend_line(shown)}")
    lines.append(f"On-time updates over {weeks}: {trend.on_time_words(f.on_time, f.missed)}")
    changes = f.changes
    moved = (
        f"{rag_word(changes.rag_before)} → {rag_word(changes.rag_now)}"
        if changes.rag_changed
        else "RAG unchanged"
    )
    lines.append(
        f"Since {moments.moment(changes.since, h.timezone)}: {moved} · {changes.updates} "
        f"update{'s' if changes.updates != 1 else ''} · {changes.concerns_raised} concern"
        f"{'s' if changes.concerns_raised != 1 else ''} raised, {changes.concerns_resolved} "
        "resolved"
    )
    return "\n".join(lines)


def _update_section(h: Health, now: datetime) -> str:
    last = h.last_update
    if last is None:
        text = "*Last update* none yet"
    else:
        late = " _(late)_" if last.late else ""
        text = (
            f"*Last update* {RAG_EMOJI.get(last.rag, NO_RAG)} {last.rag} from "
            f"{mentions([last.author_user_id])} · {relative(last.submitted_at, now)} "
            f"({moments.moment(last.submitted_at, h.timezone)}){late}"
        )
        if last.summary.strip():
            quoted = shorten(" ".join(last.summary.split()), MAX_SUMMARY)
            text += f"\n> {escape(quoted)}"
    nxt = h.next_checkin
    if nxt is None:
        text += "\n*Next check-in* none scheduled (`/cadence schedule` adds one)"
    else:
        kind = checkin_kinds.title(nxt.kind)
        when = (
            f"{nxt.local_time} in each person's own time zone, from {moments.moment(nxt.at, 'UTC')}"
            if nxt.each_local_time
            else moments.moment(nxt.at, nxt.timezone)
        )
        soon = "due now" if nxt.at <= now else relative(nxt.at, now)
        text += f"\n*Next check-in* {kind} · {when} ({soon})"
    return text


def _kpi_lines(f: Figures, h: Health) -> list[str]:
    if not f.kpis:
        return ["*KPIs* none defined for this engagement"]
    met = sum(1 for k in f.kpis if k.outcome == KpiOutcome.MET)
    reported = sum(1 for k in f.kpis if k.outcome is not None)
    said = f"{met} of {reported} reported on target" if reported else "none reported yet"
    header = f"*KPIs against target* ({said})"
    return [header, *(kpi_line(k) for k in f.kpis)]


def _concern_lines(f: Figures, h: Health, now: datetime) -> list[str]:
    c = f.concerns
    if c.open_total == 0:
        return ["*Open concerns* none"]
    counts = " · ".join(
        f"{SEVERITY_EMOJI.get(s, '⬜')} {n} {s}" for s, n in c.open_by_severity.items()
    )
    oldest = f" · oldest {age(c.oldest_open_age)}" if c.oldest_open_age is not None else ""
    breaches = f" · *{c.breaches} past their SLA*" if c.breaches else " · none past its SLA"
    lines = [f"*Open concerns* {c.open_total}: {counts}{oldest}{breaches}"]
    lines += [concern_line(row, now) for row in c.worst]
    if c.open_total > len(c.worst):
        lines.append(f"_…and {c.open_total - len(c.worst)} more_")
    return lines


def deliverable_line(row: DeliverableRow, tz: str, now: datetime) -> str:
    """`*#7 Cutover runbook* · due Fri 11 Dec (4 d ago)`."""
    title = escape(shorten(row.title, 150))
    when = f"{moments.end_of_day(row.due_at, tz)} ({relative(row.due_at, now)})"
    return f"*#{row.deliverable_id} {title}* · due {when}"


def _deliverable_lines(f: Figures, h: Health, now: datetime) -> list[str]:
    d = f.deliverables
    weeks = len(f.rag_trend)
    if not (d.in_view or d.on_time.counted or d.first_time.counted):
        return [f"*Deliverables* none open or accepted in the last {weeks} weeks"]
    slip = (
        "—"
        if d.average_slip_days is None
        else f"{d.average_slip_days:.1f} d ({d.slipped} of {d.in_view} moved later)"
    )
    overdue = f"*{len(d.overdue)} overdue*" if d.overdue else "none overdue"
    lines = [
        f"*Deliverables* over {weeks} weeks: on time {rate_text(d.on_time)} · accepted first "
        f"time {rate_text(d.first_time)} · average slip {slip} · {overdue} · "
        f"{len(d.due_soon)} due in the next 7 days"
    ]
    lines += [f"⏰ {deliverable_line(row, h.timezone, now)}" for row in d.overdue[:MAX_SLIPS]]
    lines += [f"📅 {deliverable_line(row, h.timezone, now)}" for row in d.due_soon[:MAX_SLIPS]]
    for r in d.replans_since[:MAX_SLIPS]:
        lines.append(
            f"↪️ *#{r.deliverable_id} {escape(shorten(r.title, 150))}* moved "
            f"{moments.short_day(r.from_on)} → {moments.short_day(r.to_on)} (+{r.days} d), "
            f"{relative(r.at, now)}"
        )
    lines.append(
        f"🗓️ The timeline picture: `/cadence deliverables {escape(f.handle)} chart` sends it to "
        "your DM"
    )
    return lines


def assurance_summary(a: AssuranceFigures) -> str:
    """`due diligence 4 of 6 · 1 expiring in 30 days · 1 expired` (the card's and the
    digest's words for the same figures; a count of none is left out)."""
    parts = [f"due diligence {a.coverage.met} of {a.coverage.counted}"]
    if a.expiring:
        parts.append(f"{len(a.expiring)} expiring in {EXPIRING_DAYS} days")
    if a.expired:
        parts.append(f"*{len(a.expired)} expired*")
    return " · ".join(parts)


def evidence_name(row: AssuranceRow) -> str:
    """An item's title, or its kind's name when it has none (escaped)."""
    return escape(shorten(row.title or kind_name(row.type_key), 150))


def evidence_line(row: AssuranceRow, *, expired: bool) -> str:
    """`⛔ *SOC 2 Type II report* · due diligence · expired after Fri 04 Dec 2026` or
    `⏳ *ISO 27001 certificate* · valid until Fri 18 Dec 2026`."""
    required = " · due diligence" if row.required else ""
    if row.valid_until is None:
        return f"⛔ *{evidence_name(row)}*{required} · expired"
    when = moments.day(row.valid_until)
    if expired:
        return f"⛔ *{evidence_name(row)}*{required} · expired after {when}"
    return f"⏳ *{evidence_name(row)}*{required} · valid until {when}"


def _assurance_lines(f: Figures) -> list[str]:
    a = f.assurance
    lines: list[str] = []
    if a.items == 0:
        lines.append(
            "*Assurance* no evidence in the register yet "
            f"(`/cadence assurance {escape(f.handle)}` lists and adds it)"
        )
    else:
        lines.append(f"*Assurance* {assurance_summary(a)}")
        named = [evidence_line(r, expired=True) for r in a.expired]
        named += [evidence_line(r, expired=False) for r in a.expiring]
        lines += named[:MAX_EVIDENCE]
        if len(named) > MAX_EVIDENCE:
            lines.append(
                f"_…and {len(named) - MAX_EVIDENCE} more: `/cadence assurance {escape(f.handle)}`_"
            )
    if f.contract is not None:
        c = f.contract
        lines.append(upcoming_line(c.what, c.day, c.days_left, c.renews))
    return lines


def _answers(n: int) -> str:
    return f"{n} answer{'s' if n != 1 else ''}"


def _feedback_section(f: Figures) -> str:
    """Scores only as the figures give them: over whole surveys (or months) of MIN_ANSWERS
    answers or more; fewer are counted, never scored, whoever reads the card."""
    fb = f.feedback
    weeks = len(fb.overall_by_week)
    if fb.answers == 0 and fb.withheld == 0:
        return f"*Feedback* no answers in the last {weeks} weeks"
    withheld = (
        f"scores withheld: they are shown only over a survey (or a month of ad hoc answers) "
        f"with {MIN_ANSWERS} answers or more, so that nobody can be recognised"
    )
    if fb.answers == 0:
        return f"*Feedback* over the last {weeks} weeks: {_answers(fb.withheld)}, {withheld}"
    means = " · ".join(
        f"{s} {fb.means[s]:.1f}" for s in FEEDBACK_SCORES if fb.means.get(s) is not None
    )
    more = f" ({_answers(fb.withheld)} more, {withheld})" if fb.withheld else ""
    return (
        f"*Feedback* over the last {weeks} weeks ({_answers(fb.answers)}, out of 5): {means}{more}"
    )


def _scorecard_section(f: Figures) -> str:
    card = f.scorecard
    now = card.now
    changes = card.part_changes()
    parts = now.parts()
    score = "—" if now.score is None else f"{now.score}/100"
    change = card.change()
    versus = (
        f"{points(change).strip()} vs the {SCORE_WEEKS} weeks before"
        if change is not None
        else "no earlier score to compare"
    )
    lines = [f"*Scorecard* (last {SCORE_WEEKS} weeks): *{score}* · {versus}"]
    feedback = (
        "—" if now.feedback is None else f"{now.feedback:.1f}/5 ({percent(parts['feedback'])})"
    )
    shown = {
        "on_time": trend.on_time_words(now.on_time, trend.score_missed(f)),
        "kpis": rate_text(now.kpis_met),
        "delivery": rate_text(now.delivery),
        "sla": rate_text(now.sla),
        "feedback": feedback,
        "assurance": rate_text(now.assurance),
    }
    for name, label in PART_LABELS.items():
        lines.append(f"{label}: {shown[name]}{points(changes.get(name))}")
    return "\n".join(lines)


def _buttons(engagement_id: int) -> ActionsBlock:
    value = str(engagement_id)
    return ActionsBlock(
        block_id="health_card_actions",
        elements=[
            ButtonElement(
                text="Give an update", action_id=UPDATE_BUTTON, value=value, style="primary"
            ),
            ButtonElement(text="Raise a concern", action_id=CONCERN_BUTTON, value=value),
            ButtonElement(text="See concerns", action_id=CONCERNS_BUTTON, value=value),
        ],
    )


def health_card(f: Figures, h: Health, *, now: datetime, buttons: bool = True) -> dict[str, Any]:
    """The health card as a message payload (fallback text and blocks, within Slack's limits).

    `f`: the engagement's figures as `figures.compute` gave them; `h`: what else it shows
    (`health.load`); `buttons`: the update / concern buttons, for its people."""
    name = f.name or f.handle
    score = f.scorecard.now.score
    fallback = (
        f"Health of {escape(name)}: {f.rag_now or trend.missed_words(f) or 'no update yet'}, score "
        f"{'—' if score is None else score}/100, {f.concerns.open_total} open concern"
        f"{'s' if f.concerns.open_total != 1 else ''}"
    )
    archived = " · _archived_" if h.archived else ""
    blocks: list[Any] = [
        HeaderBlock(text=shorten(f"Health: {name}", 150)),
        context(
            fit_text(
                f"`{escape(f.handle)}` · vendor {escape(h.vendor)} · <#{h.channel_id}>{archived}"
            )
        ),
        section(fit_text(_rag_section(f, h, now))),
        section(fit_text(_update_section(h, now))),
        DividerBlock(),
        *pack_sections(_kpi_lines(f, h)),
        *pack_sections(_concern_lines(f, h, now)),
        *pack_sections(_deliverable_lines(f, h, now)),
        *pack_sections(_assurance_lines(f)),
        section(fit_text(_feedback_section(f))),
        *pack_sections(card_lines(f.questions, f.rules_fired)),
        DividerBlock(),
        section(fit_text(_scorecard_section(f))),
        context(fit_text(SCORE_FORMULA)),
    ]
    if buttons:
        blocks.append(_buttons(f.engagement_id))
    blocks.append(
        context(f"As of {moments.moment(now, h.timezone)} · `/cadence status {escape(f.handle)}`")
    )
    return message(fallback, blocks)


def refusal() -> dict[str, Any]:
    """Said to someone who may not see a card: nothing about the engagement, not even its name."""
    text = (
        "A health card is for the people on its engagement (its leads, vendor contacts and "
        "stakeholders) and Cadence admins, or for a click in the engagement's digest channel. "
        "Ask a lead to add you if you should see it."
    )
    return message(text, [section(text)])
