"""The demo's story: what the people of Northwind Bank and their vendors do, and when.

Three engagements, set up on a Friday, with two deliverables agreed for the warehouse (a runbook
rejected once, then accepted; a report that slips twice); then each simulated week: the status
updates asked on Monday morning (Globex answers on time, Initech late or just in time, Umbrella
not at all), a feedback survey on Payments on Wednesday, concerns raised, acknowledged, resolved
and one left to run past its SLA, and the executive digest on Friday afternoon. Globex's security
evidence: the due diligence Payments' criticality asks for at its creation, a penetration test
report sent back, an ISO 27001 certificate that runs out on the Wednesday of week 1 (expired
and a security concern raised the next morning, closed when the renewal is accepted), and a
monthly security review whose "no" to access reviews raises a concern. Everything Cadence does
in between (prompts, reminders, overdue alerts, escalations, summaries, alerts, evidence
expiring, the digest and its chart) is the engine's, at the moments it decides.

Weeks 5 to 8 go on from there, never replaying a week: Umbrella acknowledges the escalated
concern and starts answering (red, amber, green as its crash fix rolls out) and the lead closes
the concern; Initech answers on time, a decommission plan is agreed, submitted and accepted,
and a rounding blocker raised as a concern is resolved the next week; Payments' rollout holds
through a payment provider's freeze (a new blocker, cleared) to all traffic; the penetration
test comes back in full scope and is accepted, January's security review is answered with
every control in place, and the SOC 2 report completes Payments' due diligence. What each
person writes each week is in `answers.py`.

The story only says what a person does; `Player` (bot/demo/player.py) does it through the app's
real entry points, as Slack would. Times are Berlin time, where the leads work.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from bot.demo.answers import (
    FIRST_MOBILE_ANSWER,
    mobile_update,
    payments_update,
    survey_answer,
    warehouse_update,
)
from bot.demo.cast import (
    DANA,
    DIGEST,
    KAI,
    LENA,
    MIA,
    MOBILE,
    OMAR,
    PAYMENTS,
    PRIYA,
    RAJ,
    SAM,
    VIC,
    WAREHOUSE,
    Person,
)

ZONE = ZoneInfo("Europe/Berlin")
SET_UP_ON = datetime(2026, 11, 27, tzinfo=ZONE)  # a Friday afternoon; week 1 starts on the Monday
MAX_WEEKS = 8

PAYMENTS_NAME, PAYMENTS_HANDLE = "Payments Platform", "payments-platform"
WAREHOUSE_NAME, WAREHOUSE_HANDLE = "Data Warehouse Migration", "data-warehouse-migration"
MOBILE_NAME, MOBILE_HANDLE = "Mobile Banking App", "mobile-banking-app"


class People(Protocol):
    """What a person can do in the story (the player does it through Slack's requests)."""

    def create_engagement(self, who: Person, channel: str, form: Mapping[str, Any]) -> None: ...

    def schedule(self, who: Person, channel: str, handle: str, form: Mapping[str, Any]) -> None: ...

    def schedule_digest(self, who: Person, channel: str, form: Mapping[str, Any]) -> None: ...

    def answer_checkin(self, who: Person, engagement: str, form: Mapping[str, Any]) -> None: ...

    def raise_concern(
        self, who: Person, channel: str, handle: str, title: str, form: Mapping[str, Any]
    ) -> None: ...

    def raise_blockers_as_concern(
        self, who: Person, channel: str, engagement: str, form: Mapping[str, Any]
    ) -> None: ...

    def acknowledge_concern(self, who: Person, channel: str, title: str) -> None: ...

    def resolve_concern(self, who: Person, channel: str, title: str, note: str) -> None: ...

    def open_health_card(self, who: Person, channel: str, engagement: str) -> None: ...

    def export(self, who: Person, channel: str, handle: str) -> None: ...

    def add_deliverable(
        self, who: Person, channel: str, handle: str, title: str, form: Mapping[str, Any]
    ) -> None: ...

    def deliverable_step(
        self,
        who: Person,
        channel: str,
        title: str,
        step: str,
        form: Mapping[str, Any] | None = None,
    ) -> None: ...

    def add_evidence(
        self, who: Person, channel: str, handle: str, form: Mapping[str, Any]
    ) -> None: ...

    def evidence_step(
        self, who: Person, channel: str, title: str, step: str, form: Mapping[str, Any]
    ) -> None: ...


@dataclass(frozen=True)
class Step:
    """One thing a person does at a moment."""

    at: datetime
    what: str
    do: Callable[[People], None]


def at(day: datetime, clock_time: str, days: int = 0) -> datetime:
    """`days` after `day`, at a Berlin wall-clock time like "09:30"."""
    hours, minutes = (int(part) for part in clock_time.split(":"))
    return datetime.combine((day + timedelta(days=days)).date(), time(hours, minutes), tzinfo=ZONE)


def week_start(week: int) -> datetime:
    """Monday 00:00 of week `week` (1-based)."""
    return at(SET_UP_ON, "00:00", days=3 + 7 * (week - 1))


def end_of(weeks: int) -> datetime:
    """When the story stops: the last Friday evening, after its digest and the export."""
    return at(week_start(weeks), "18:00", days=4)


# --- the set-up (Friday before week 1) ---------------------------------------------------------

WEEKLY_UPDATE = {
    "kind": "status_update",
    "rule_kind": "weekly",
    "rule_weekdays": ["0"],
    "rule_local_time": "09:00",
    "rule_timezone": "Europe/Berlin",
    "window_hours": "48",
    "reminder_hours": "24",
    "escalation_hours": "24",
    "escalation_to": [DANA.user_id],
    "audience": "vendor",
    "delivery": "dm",
}
WEEKLY_SURVEY = {
    "kind": "feedback_survey",
    "rule_kind": "weekly",
    "rule_weekdays": ["2"],
    "rule_local_time": "10:00",
    "rule_timezone": "Europe/Berlin",
    "window_hours": "48",
    "reminder_hours": "24",
    "audience": "stakeholders",
    "delivery": "dm",
}


def set_up() -> list[Step]:
    day = SET_UP_ON
    return [
        Step(
            at(day, "16:30"),
            "Lena sets up Payments Platform",
            lambda p: p.create_engagement(
                LENA,
                PAYMENTS.channel_id,
                {
                    "name": PAYMENTS_NAME,
                    "vendor": "Globex Consulting",
                    "channel": PAYMENTS.channel_id,
                    "vendor_contacts": [VIC.user_id],
                    "stakeholders": [SAM.user_id, PRIYA.user_id, KAI.user_id],
                    "digest_channel": DIGEST.channel_id,
                    "kpis": "Uptime (%) >= 99.9 (amber 99.5)\nMean time to resolve (hours) <= 8",
                },
            ),
        ),
        Step(
            at(day, "16:40"),
            "Lena sets up Data Warehouse Migration",
            lambda p: p.create_engagement(
                LENA,
                WAREHOUSE.channel_id,
                {
                    "name": WAREHOUSE_NAME,
                    "vendor": "Initech",
                    "channel": WAREHOUSE.channel_id,
                    "vendor_contacts": [RAJ.user_id],
                    "stakeholders": [PRIYA.user_id],
                    "digest_channel": DIGEST.channel_id,
                    "kpis": "Data quality (%) >= 98",
                },
            ),
        ),
        Step(
            at(day, "16:50"),
            "Omar sets up Mobile Banking App",
            lambda p: p.create_engagement(
                OMAR,
                MOBILE.channel_id,
                {
                    "name": MOBILE_NAME,
                    "vendor": "Umbrella Apps",
                    "channel": MOBILE.channel_id,
                    "vendor_contacts": [MIA.user_id],
                    "stakeholders": [KAI.user_id],
                    "digest_channel": DIGEST.channel_id,
                    "kpis": "Crash-free sessions (%) >= 99.5",
                },
            ),
        ),
        Step(
            at(day, "17:00"),
            "Lena schedules Payments' weekly update",
            lambda p: p.schedule(LENA, PAYMENTS.channel_id, PAYMENTS_HANDLE, WEEKLY_UPDATE),
        ),
        Step(
            at(day, "17:05"),
            "Lena schedules Payments' weekly feedback survey",
            lambda p: p.schedule(LENA, PAYMENTS.channel_id, PAYMENTS_HANDLE, WEEKLY_SURVEY),
        ),
        Step(
            at(day, "17:10"),
            "Lena schedules the warehouse's weekly update",
            lambda p: p.schedule(LENA, WAREHOUSE.channel_id, WAREHOUSE_HANDLE, WEEKLY_UPDATE),
        ),
        Step(
            at(day, "17:15"),
            "Omar schedules the app's weekly update",
            lambda p: p.schedule(OMAR, MOBILE.channel_id, MOBILE_HANDLE, WEEKLY_UPDATE),
        ),
        Step(
            at(day, "17:20"),
            "Dana (a Cadence admin) sends the digest on Fridays at 16:00",
            lambda p: p.schedule_digest(
                DANA,
                DIGEST.channel_id,
                {
                    "weekdays": ["4"],
                    "local_time": "16:00",
                    "timezone": "Europe/Berlin",
                    "channel": DIGEST.channel_id,
                },
            ),
        ),
    ]


# --- the weeks ---------------------------------------------------------------------------------


SURVEY_ANSWERS = (  # who answers Wednesday's survey, when, and whether anonymously
    (SAM, "12:00", 0, True),
    (PRIYA, "09:30", 1, False),
    (KAI, "11:00", 1, True),
)


def survey(week: int) -> list[Step]:
    """Wednesday's survey on Payments; all three stakeholders answer (answers.py: happier each
    week, then a dip while the PSP's freeze holds the rollout)."""
    wednesday = at(week_start(week), "00:00", days=2)
    steps = []
    for person, clock_time, days, anonymous in SURVEY_ANSWERS:
        form = survey_answer(person.name.split()[0], week)
        if anonymous:
            form["anonymous"] = ["anonymous"]
        steps.append(
            Step(
                at(wednesday, clock_time, days),
                f"{person.name} answers the survey",
                lambda p, who=person, form=form: p.answer_checkin(who, PAYMENTS_NAME, form),
            )
        )
    return steps


CRASH_RATE = "Crash rate tripled after release 4.2"


def concerns(week: int) -> list[Step]:
    """Week 1: a security concern raised, acknowledged and resolved, and a critical one on the
    app nobody answers (alerted and escalated); weeks 2-4: Globex's blockers as a concern,
    resolved once the firewall change is done. Week 5 on: Umbrella acknowledges the escalated
    concern and the lead closes it once the fix is out; Initech's rounding blocker becomes a
    concern, resolved the next week."""
    monday = week_start(week)
    if week == 1:
        return [
            Step(
                at(monday, "11:00", 1),
                "Sam raises a security concern",
                lambda p: p.raise_concern(
                    SAM,
                    PAYMENTS.channel_id,
                    PAYMENTS_HANDLE,
                    "VPN keys shared by email",
                    {
                        "severity": "high",
                        "category": "security",
                        "description": "Globex sent the VPN keys to six people in one email.",
                    },
                ),
            ),
            Step(
                at(monday, "13:00", 1),
                "Vic acknowledges it",
                lambda p: p.acknowledge_concern(VIC, PAYMENTS.channel_id, "VPN keys"),
            ),
            Step(
                at(monday, "11:00", 2),
                "Omar raises a critical concern nobody answers",
                lambda p: p.raise_concern(
                    OMAR,
                    MOBILE.channel_id,
                    MOBILE_HANDLE,
                    CRASH_RATE,
                    {
                        "severity": "critical",
                        "category": "quality",
                        "description": "Android crash-free sessions fell to 97.8%.",
                    },
                ),
            ),
            Step(
                at(monday, "15:00", 3),
                "Lena resolves the security concern",
                lambda p: p.resolve_concern(
                    LENA, PAYMENTS.channel_id, "VPN keys", "Keys rotated; the email was purged."
                ),
            ),
        ]
    if week == 2:
        return [
            Step(
                at(monday, "14:00"),
                "Lena turns Globex's blockers into a concern",
                lambda p: p.raise_blockers_as_concern(
                    LENA, PAYMENTS.channel_id, PAYMENTS_NAME, {"severity": "medium"}
                ),
            ),
            Step(
                at(monday, "16:00"),
                "Vic acknowledges it",
                lambda p: p.acknowledge_concern(VIC, PAYMENTS.channel_id, "firewall change"),
            ),
        ]
    if week == 4:
        return [
            Step(
                at(monday, "10:00"),
                "Vic resolves the firewall concern",
                lambda p: p.resolve_concern(
                    VIC,
                    PAYMENTS.channel_id,
                    "firewall change",
                    "NET-311 done; load tests moved to an environment of their own.",
                ),
            )
        ]
    if week == 5:
        return [
            Step(
                at(monday, "10:00"),
                "Mia acknowledges the escalated crash concern at last",
                lambda p: p.acknowledge_concern(MIA, MOBILE.channel_id, CRASH_RATE),
            )
        ]
    if week == 6:
        return [
            Step(
                at(monday, "10:00", 1),
                "Lena turns Initech's rounding blocker into a concern",
                lambda p: p.raise_blockers_as_concern(
                    LENA, WAREHOUSE.channel_id, WAREHOUSE_NAME, {"severity": "medium"}
                ),
            ),
            Step(
                at(monday, "12:00", 1),
                "Raj acknowledges it",
                lambda p: p.acknowledge_concern(RAJ, WAREHOUSE.channel_id, "rounding rule"),
            ),
        ]
    if week == 7:
        return [
            Step(
                at(monday, "12:00"),
                "Raj resolves the rounding concern",
                lambda p: p.resolve_concern(
                    RAJ,
                    WAREHOUSE.channel_id,
                    "rounding rule",
                    "Finance chose half-up rounding to the cent; the three reports match.",
                ),
            ),
            Step(
                at(monday, "10:00", 1),
                "Omar resolves the crash concern",
                lambda p: p.resolve_concern(
                    OMAR,
                    MOBILE.channel_id,
                    CRASH_RATE,
                    "Release 4.2.1 fixed the Android 14 keystore crash; crash-free sessions "
                    "are back above 99.5%.",
                ),
            ),
        ]
    return []


RUNBOOK = "Cutover runbook"
RECONCILIATION = "Reconciliation report"
DECOMMISSION_PLAN = "Decommission plan"


def agreed_deliverables() -> list[Step]:
    """Lena agrees two deliverables with Initech, both under the cutover milestone."""
    day = SET_UP_ON
    runbook = {
        "description": "Every step of the cutover night, with owners and timings.",
        "acceptance": "Rollback steps for every table; rehearsed once end to end.",
        "due_on": at(week_start(1), "00:00", days=3).date().isoformat(),  # week 1's Thursday
        "owner": RAJ.user_id,
        "milestone": "Cutover",
    }
    report = {
        "description": "Row counts and checksums, old warehouse against new.",
        "acceptance": "Every table reconciled, or its difference explained and signed off.",
        "due_on": at(week_start(1), "00:00", days=4).date().isoformat(),  # week 1's Friday
        "owner": RAJ.user_id,
        "acceptors": [PRIYA.user_id],
        "milestone": "Cutover",
    }
    return [
        Step(
            at(day, "17:25"),
            "Lena agrees the cutover runbook with Initech",
            lambda p: p.add_deliverable(
                LENA, WAREHOUSE.channel_id, WAREHOUSE_HANDLE, RUNBOOK, runbook
            ),
        ),
        Step(
            at(day, "17:30"),
            "Lena agrees the reconciliation report, accepted by Priya",
            lambda p: p.add_deliverable(
                LENA, WAREHOUSE.channel_id, WAREHOUSE_HANDLE, RECONCILIATION, report
            ),
        ),
    ]


def deliverables(week: int) -> list[Step]:
    """The runbook is rejected once, then accepted; the report slips twice, then is accepted;
    after the cutover (week 5 on) a decommission plan is agreed, submitted and accepted."""
    monday = week_start(week)
    channel = WAREHOUSE.channel_id

    def step(clock_time: str, days: int, what: str, who: Person, title: str, name: str,
             form: Mapping[str, Any] | None = None) -> Step:  # fmt: skip
        return Step(
            at(monday, clock_time, days),
            what,
            lambda p: p.deliverable_step(who, channel, title, name, form),
        )

    if week == 1:
        return [
            step("10:00", 1, "Raj starts the runbook", RAJ, RUNBOOK, "start"),
            step(
                "15:00",
                2,
                "Raj submits the runbook",
                RAJ,
                RUNBOOK,
                "submit",
                {"link": "https://wiki.initech.example/dwh/cutover-runbook"},
            ),
            step(
                "11:00",
                3,
                "Lena rejects it: rollback steps missing",
                LENA,
                RUNBOOK,
                "reject",
                {"reason": "No rollback steps for the currency tables."},
            ),
            step(
                "16:00",
                3,
                "Raj re-plans the report",
                RAJ,
                RECONCILIATION,
                "replan",
                {
                    "due_on": at(monday, "00:00", days=11).date().isoformat(),
                    "reason": "The second rehearsal's data comes on Tuesday.",
                },
            ),
        ]
    if week == 2:
        return [
            step(
                "12:00",
                0,
                "Raj submits the runbook again",
                RAJ,
                RUNBOOK,
                "submit",
                {"note": "Rollback steps added for every table, section 7."},
            ),
            step(
                "10:00",
                1,
                "Lena accepts the runbook",
                LENA,
                RUNBOOK,
                "accept",
                {"note": "Rehearsed with operations; thanks."},
            ),
            step(
                "15:00",
                3,
                "Raj re-plans the report again",
                RAJ,
                RECONCILIATION,
                "replan",
                {
                    "due_on": at(monday, "00:00", days=9).date().isoformat(),
                    "reason": "Finance moved their sign-off to Wednesday.",
                },
            ),
        ]
    if week == 3:
        return [
            step(
                "15:00",
                2,
                "Raj submits the report",
                RAJ,
                RECONCILIATION,
                "submit",
                {"link": "https://wiki.initech.example/dwh/reconciliation"},
            ),
            step("10:00", 3, "Priya accepts the report", PRIYA, RECONCILIATION, "accept", {}),
        ]
    if week == 5:
        plan = {
            "description": "What is switched off, archived and cancelled, in which order.",
            "acceptance": "An archive snapshot restored and checked before anything is deleted.",
            "due_on": at(monday, "00:00", days=11).date().isoformat(),  # week 6's Friday
            "owner": RAJ.user_id,
            "milestone": "Decommission",
        }
        return [
            Step(
                at(monday, "10:30"),
                "Lena agrees the decommission plan with Initech",
                lambda p: p.add_deliverable(
                    LENA, channel, WAREHOUSE_HANDLE, DECOMMISSION_PLAN, plan
                ),
            ),
            step("11:00", 1, "Raj starts the decommission plan", RAJ, DECOMMISSION_PLAN, "start"),
        ]
    if week == 6:
        return [
            step(
                "14:00",
                0,
                "Raj submits the decommission plan",
                RAJ,
                DECOMMISSION_PLAN,
                "submit",
                {"link": "https://wiki.initech.example/dwh/decommission-plan"},
            ),
            step(
                "10:00",
                3,
                "Lena accepts the decommission plan",
                LENA,
                DECOMMISSION_PLAN,
                "accept",
                {"note": "Archive first, as agreed; go ahead."},
            ),
        ]
    return []


INITECH_ON_TIME_FROM = 5  # the week Initech, its cutover behind it, starts answering on time


def raj_answers(n: int) -> Step:
    """Initech answers after the window in odd weeks and just in time in even ones, until the
    cutover is behind it; then on Monday afternoon."""
    monday = week_start(n)
    if n >= INITECH_ON_TIME_FROM:
        moment, what = at(monday, "15:00"), "Raj answers on time"
    elif n % 2 == 1:
        moment, what = at(monday, "14:00", 2), "Raj answers late"
    else:
        moment, what = at(monday, "16:00", 1), "Raj answers just in time"
    return Step(moment, what, lambda p: p.answer_checkin(RAJ, WAREHOUSE_NAME, warehouse_update(n)))


def week(n: int, last: bool) -> list[Step]:
    """Week `n`'s steps: the vendors' answers (Umbrella's from week 5), the survey, concerns,
    deliverables and evidence, and on the last Friday a health card and the export."""
    monday = week_start(n)
    steps = [
        Step(
            at(monday, "11:00"),
            "Vic answers on time",
            lambda p: p.answer_checkin(VIC, PAYMENTS_NAME, payments_update(n)),
        ),
        raj_answers(n),
        *survey(n),
        *concerns(n),
        *deliverables(n),
        *evidence(n),
    ]
    if n >= FIRST_MOBILE_ANSWER:
        steps.append(
            Step(
                at(monday, "14:00" if n == FIRST_MOBILE_ANSWER else "12:00"),
                "Mia answers" + (" for the first time" if n == FIRST_MOBILE_ANSWER else ""),
                lambda p: p.answer_checkin(MIA, MOBILE_NAME, mobile_update(n)),
            )
        )
    if last:
        steps += [
            Step(
                at(monday, "16:30", 4),
                "Dana opens a health card from the digest",
                lambda p: p.open_health_card(DANA, DIGEST.channel_id, MOBILE_NAME),
            ),
            Step(
                at(monday, "17:00", 4),
                "Lena exports Payments' record",
                lambda p: p.export(LENA, PAYMENTS.channel_id, PAYMENTS_HANDLE),
            ),
        ]
    return steps


# --- Globex's security evidence and its security review ----------------------------------------

ISO = "ISO 27001 certificate"
PEN_TEST = "Penetration test"
DPA = "Data processing agreement"
MONTHLY_SECURITY_REVIEW = {
    "kind": "security_review",
    "rule_kind": "monthly_day",
    "rule_month_day": "1",
    "rule_local_time": "10:00",
    "rule_timezone": "Europe/Berlin",
    "window_hours": "72",
    "reminder_hours": "24",
    "audience": "vendor",
    "delivery": "dm",
}
ACCESS_REVIEWS = "question:Were this period's access reviews completed?"
INCIDENTS = "question:Any security incidents"
PATCHES = "question:Were all critical security patches"
SUBPROCESSORS = "question:Any change of subprocessors"
DETAILS = "question:Details"
ACCESS_REVIEW_CONCERN = "access reviews completed? — No"  # the concern its answer raises


def evidence_set_up() -> list[Step]:
    """Payments' due diligence was requested of Vic when Lena created it (its criticality);
    Lena also asks for the ISO 27001 certificate, which Globex has, valid until Wednesday."""
    day = SET_UP_ON
    channel = PAYMENTS.channel_id
    return [
        Step(
            at(day, "17:35"),
            "Lena schedules Payments' monthly security review",
            lambda p: p.schedule(LENA, channel, PAYMENTS_HANDLE, MONTHLY_SECURITY_REVIEW),
        ),
        Step(
            at(day, "17:40"),
            "Lena asks Globex for its ISO 27001 certificate",
            lambda p: p.add_evidence(
                LENA, channel, PAYMENTS_HANDLE, {"type": "iso27001", "owner": VIC.user_id}
            ),
        ),
        Step(
            at(day, "17:50"),
            "Vic provides the certificate, valid until Wednesday",
            lambda p: p.evidence_step(
                VIC,
                channel,
                ISO,
                "provide",
                {
                    "link": "https://trust.globex.example/iso27001-2023.pdf",
                    "valid_from": "2023-12-03",
                    "valid_until": at(week_start(1), "00:00", days=2).date().isoformat(),
                    "note": "The recertification audit passed; the new certificate follows.",
                },
            ),
        ),
        Step(
            at(day, "18:00"),
            "Lena accepts it",
            lambda p: p.evidence_step(LENA, channel, ISO, "accept", {}),
        ),
    ]


def evidence(week: int) -> list[Step]:
    """Week 1: the DPA provided and accepted, the penetration test report sent back, the
    certificate expired on Thursday morning and its renewal accepted the same day; the
    security review answered with a "no" to access reviews, whose concern Vic acknowledges and
    resolves. Later weeks: `later_evidence`."""
    if week != 1:
        return later_evidence(week)
    monday = week_start(week)
    channel = PAYMENTS.channel_id
    return [
        Step(
            at(monday, "12:00"),
            "Vic provides the data processing agreement",
            lambda p: p.evidence_step(
                VIC,
                channel,
                DPA,
                "provide",
                {"link": "https://legal.globex.example/dpa-northwind-signed.pdf"},
            ),
        ),
        Step(
            at(monday, "16:00"),
            "Lena accepts it",
            lambda p: p.evidence_step(LENA, channel, DPA, "accept", {"note": "Signed by legal."}),
        ),
        Step(
            at(monday, "11:00", 1),
            "Vic provides the penetration test report",
            lambda p: p.evidence_step(
                VIC,
                channel,
                PEN_TEST,
                "provide",
                {
                    "link": "https://trust.globex.example/pentest-2026-q4.pdf",
                    "valid_until": "2027-11-30",
                    "findings": "3",
                },
            ),
        ),
        Step(
            at(monday, "15:00", 2),
            "Vic answers the security review: access reviews not done",
            lambda p: p.answer_checkin(
                VIC,
                PAYMENTS_NAME,
                {
                    "rag": "amber",
                    "reason": "Two leavers still have VPN access; removed by Friday.",
                    "summary": "Patching on time and no incidents; the quarterly access review "
                    "is late.",
                    ACCESS_REVIEWS: "No",
                    INCIDENTS: "No",
                    PATCHES: "Yes",
                    SUBPROCESSORS: "No",
                    DETAILS: "Two leavers' VPN accounts still active; the review finishes "
                    "on Friday.",
                },
            ),
        ),
        Step(
            at(monday, "10:00", 2),
            "Lena sends the penetration test report back",
            lambda p: p.evidence_step(
                LENA,
                channel,
                PEN_TEST,
                "reject",
                {"reason": "The payment API was out of scope; test it too and send the report."},
            ),
        ),
        Step(
            at(monday, "11:00", 3),
            "Vic provides the renewed certificate",
            lambda p: p.evidence_step(
                VIC,
                channel,
                ISO,
                "provide",
                {
                    "link": "https://trust.globex.example/iso27001-2026.pdf",
                    "valid_from": at(monday, "00:00", 3).date().isoformat(),
                    "valid_until": "2029-12-02",
                },
            ),
        ),
        Step(
            at(monday, "14:00", 3),
            "Lena accepts the renewal",
            lambda p: p.evidence_step(
                LENA, channel, ISO, "accept", {"note": "Same scope, three more years."}
            ),
        ),
        Step(
            at(monday, "10:00", 3),
            "Vic acknowledges the access review concern",
            lambda p: p.acknowledge_concern(VIC, channel, ACCESS_REVIEW_CONCERN),
        ),
        Step(
            at(monday, "11:00", 4),
            "Vic resolves it",
            lambda p: p.resolve_concern(
                VIC,
                channel,
                ACCESS_REVIEW_CONCERN,
                "Both leavers' accounts removed; the access review is complete.",
            ),
        ),
    ]


SOC2 = "SOC 2 Type II report"


def later_evidence(week: int) -> list[Step]:
    """Week 5: the penetration test, the payment API now in scope, provided again and accepted;
    the second monthly security review (the 1st of January) answered with every control in
    place. Week 7: the SOC 2 report provided and accepted, the last of Payments' due
    diligence."""
    monday = week_start(week)
    channel = PAYMENTS.channel_id
    if week == 5:
        return [
            Step(
                at(monday, "11:00", 1),
                "Vic provides the penetration test report again, the payment API in scope",
                lambda p: p.evidence_step(
                    VIC,
                    channel,
                    PEN_TEST,
                    "provide",
                    {
                        "link": "https://trust.globex.example/pentest-2026-q4-api.pdf",
                        "valid_until": "2027-12-28",
                        "findings": "0",
                        "note": "The payment API tested too; its two findings fixed and retested.",
                    },
                ),
            ),
            Step(
                at(monday, "10:00", 2),
                "Lena accepts it",
                lambda p: p.evidence_step(
                    LENA, channel, PEN_TEST, "accept", {"note": "Full scope, no open findings."}
                ),
            ),
            Step(
                at(monday, "14:00", 4),
                "Vic answers the security review: every control in place",
                lambda p: p.answer_checkin(
                    VIC,
                    PAYMENTS_NAME,
                    {
                        "rag": "green",
                        "summary": "Access reviews done on time, patches current, no incidents.",
                        ACCESS_REVIEWS: "Yes",
                        INCIDENTS: "No",
                        PATCHES: "Yes",
                        SUBPROCESSORS: "No",
                    },
                ),
            ),
        ]
    if week == 7:
        return [
            Step(
                at(monday, "11:00", 2),
                "Vic provides Globex's SOC 2 Type II report",
                lambda p: p.evidence_step(
                    VIC,
                    channel,
                    SOC2,
                    "provide",
                    {
                        "link": "https://trust.globex.example/soc2-type2-2026.pdf",
                        "valid_from": "2026-01-01",
                        "valid_until": "2027-06-30",
                    },
                ),
            ),
            Step(
                at(monday, "15:00", 3),
                "Lena accepts it",
                lambda p: p.evidence_step(
                    LENA, channel, SOC2, "accept", {"note": "No exceptions in the period."}
                ),
            ),
        ]
    return []


def story(weeks: int) -> list[Step]:
    """The whole story for `weeks` weeks (1 to MAX_WEEKS), in time order."""
    if not 1 <= weeks <= MAX_WEEKS:
        raise ValueError(f"the demo plays 1 to {MAX_WEEKS} weeks, not {weeks}")
    steps = set_up() + agreed_deliverables() + evidence_set_up()
    for n in range(1, weeks + 1):
        steps += week(n, last=n == weeks)
    return sorted(steps, key=lambda s: s.at)
