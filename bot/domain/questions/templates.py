"""Question templates to start from: what an experienced outsourcing lead asks, by occasion.

Applying one appends its questions to a cadence's (or an engagement's default) questions, as
ordinary questions the lead can then edit or remove (`editing.apply_template`). The security
review's answers raise the alarm on their own: an access review not done, an incident, patches
outside their SLA raise a high security concern owned by the vendor; a change of subprocessor
or data location alerts the leads (it may need the contract or the DPA looked at).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.questions.definition import NO, YES, OwnerRule, QuestionType, Rule, RuleAction
from bot.domain.questions.editing import QuestionDef

T = QuestionType


def _concern(answer: str, *, severity: str = "high", category: str) -> Rule:
    return Rule((answer,), RuleAction.CONCERN, severity, category, OwnerRule.VENDOR)


def _alert(*answers: str) -> Rule:
    return Rule(tuple(answers), RuleAction.ALERT)


@dataclass(frozen=True)
class Template:
    key: str
    name: str  # at most 75 characters: an option of the list's select
    about: str
    questions: tuple[QuestionDef, ...]


VENDOR_WEEKLY = Template(
    "vendor_weekly",
    "Vendor weekly status",
    "Service levels, incidents, scope, people and what the vendor needs from us.",
    (
        QuestionDef(
            "Were all agreed service levels met this week?",
            T.YES_NO,
            required=True,
            help="Availability, response and resolution times as the contract states them.",
            rule=_alert(NO),
        ),
        QuestionDef(
            "How many priority 1 or 2 incidents were there this week?",
            T.NUMBER,
            required=True,
            unit="incidents",
            target=0,
            tolerance=1,
            higher_is_better=False,
        ),
        QuestionDef(
            "How confident are you in the next milestone's date?",
            T.SINGLE_CHOICE,
            required=True,
            options=("On track", "Tight but achievable", "At risk", "Will slip"),
            rule=_concern("Will slip", category="delivery"),
        ),
        QuestionDef(
            "Is any work under way that is outside the agreed scope?",
            T.YES_NO,
            help="Work without an approved change request: say what, and who asked for it.",
            rule=_concern(YES, severity="medium", category="contractual"),
        ),
        QuestionDef(
            "Changes in the team: joiners, leavers, key people away",
            T.LONG_TEXT,
        ),
        QuestionDef(
            "Decisions or input you need from us, and by when",
            T.LONG_TEXT,
        ),
    ),
)

SPRINT_REVIEW = Template(
    "sprint_review",
    "Sprint review",
    "The sprint goal, what was committed against delivered, quality and carry-over.",
    (
        QuestionDef(
            "Was the sprint goal met?",
            T.SINGLE_CHOICE,
            required=True,
            options=("Fully", "Partly", "Not met"),
            rule=_alert("Not met"),
        ),
        QuestionDef(
            "Story points committed at sprint planning", T.NUMBER, required=True, unit="points"
        ),
        QuestionDef(
            "Story points delivered and accepted by the product owner",
            T.NUMBER,
            required=True,
            unit="points",
        ),
        QuestionDef(
            "Defects found after release (escaped) since the last review",
            T.NUMBER,
            unit="defects",
            target=0,
            tolerance=2,
            higher_is_better=False,
        ),
        QuestionDef("Was the increment demonstrated to the product owner?", T.YES_NO),
        QuestionDef("What carries over into the next sprint, and why?", T.LONG_TEXT),
    ),
)

STAKEHOLDER_PULSE = Template(
    "stakeholder_pulse",
    "Stakeholder pulse",
    "How the people the vendor serves see it: understanding, responsiveness, what to change.",
    (
        QuestionDef(
            "How well does the vendor understand your business needs?",
            T.RATING,
            required=True,
            help="1 poor, 5 excellent.",
        ),
        QuestionDef(
            "How responsive is the vendor when you raise something?",
            T.RATING,
            required=True,
            help="1 poor, 5 excellent.",
        ),
        QuestionDef(
            "Which areas need the most attention?",
            T.MULTI_CHOICE,
            options=(
                "Communication",
                "Quality of deliverables",
                "Meeting deadlines",
                "Technical expertise",
                "Documentation",
                "Security practices",
            ),
        ),
        QuestionDef(
            "Would you renew the contract with this vendor today?",
            T.SINGLE_CHOICE,
            required=True,
            options=("Yes", "Probably", "Not sure", "Probably not", "No"),
            rule=_alert("Probably not", "No"),
        ),
        QuestionDef("What should the vendor start, stop or keep doing?", T.LONG_TEXT),
    ),
)

SECURITY_REVIEW = Template(
    "security_review",
    "Security review",
    "Access reviews, incidents, patching and where our data lives; answers raise the alarm.",
    (
        QuestionDef(
            "Were this period's access reviews completed?",
            T.YES_NO,
            required=True,
            help="Leavers' accounts removed, privileged access re-approved, shared accounts "
            "accounted for.",
            rule=_concern(NO, category="security"),
        ),
        QuestionDef(
            "Any security incidents or suspected breaches since the last review?",
            T.YES_NO,
            required=True,
            help="Including near misses and incidents at your subprocessors.",
            rule=_concern(YES, category="security"),
        ),
        QuestionDef(
            "Were all critical security patches applied within the agreed SLA?",
            T.YES_NO,
            required=True,
            rule=_concern(NO, category="security"),
        ),
        QuestionDef(
            "Any change of subprocessors, or of where our data is stored or processed?",
            T.YES_NO,
            required=True,
            help="New subprocessors, hosting regions or support locations: the contract or "
            "the data processing agreement may need to change first.",
            rule=_alert(YES),
        ),
        QuestionDef(
            "Details: incidents, exceptions, overdue patches, changes",
            T.LONG_TEXT,
            help="What happened, what was done, and what is still open.",
        ),
    ),
)

TEMPLATES: dict[str, Template] = {
    t.key: t for t in (VENDOR_WEEKLY, SPRINT_REVIEW, STAKEHOLDER_PULSE, SECURITY_REVIEW)
}


def template(key: str) -> Template | None:
    return TEMPLATES.get(key)
