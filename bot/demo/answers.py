"""What the people of the story write, week by week: the vendors' status updates and the
stakeholders' survey ratings, eight weeks of each (the story's MAX_WEEKS).

One entry per week, never a cycle: a story that replays itself would fail a cutover it has
done and raise again a blocker it has cleared. Weeks 1-4: Payments' certification and pilot
behind a firewall blocker, the warehouse's failed rehearsal and its cutover, Umbrella silent.
Weeks 5-8 go on from there: the pilot grows to all card traffic through a payment provider's
year-end freeze (a new blocker, cleared), the warehouse's first year-end close on the new
system (a rounding blocker, cleared) and its old system switched off, and Umbrella answering
at last, with the crash behind the escalated concern fixed.

Pure data (no steps, no moments): `script.py` says who sends which, and when.
"""

from __future__ import annotations

from typing import Any

FIREWALL = "Waiting for the client's firewall change (ticket NET-311)"
LOAD_TEST = "Load-test environment shared with another team"
CREDENTIALS = "Source-system credentials expire every day"
PSP_FREEZE = "The PSP's year-end change freeze, until Fri 08 Jan"
ROUNDING = "Finance has not yet agreed the rounding rule for three EUR reports"
STORE_REVIEW = "Apple's review of release 4.3"

FIRST_MOBILE_ANSWER = 5
"""Umbrella's first status update: until then Mia answers nothing (reminded, overdue,
escalated), which is the story's first month."""


def _week(table: tuple[dict[str, Any], ...], week: int, first: int = 1) -> dict[str, Any]:
    """A copy of week `week`'s answer (1-based; `first` is the week the table starts)."""
    if not first <= week < first + len(table):
        raise ValueError(f"no answer written for week {week}")
    return dict(table[week - first])


PAYMENTS = (
    {
        "rag": "amber",
        "reason": "The PSP certification passing on Thursday.",
        "summary": "Card tokenisation is live in staging; the PSP certification slipped a week.",
        "accomplishments": "Tokenisation service deployed\nLoad test at 2x peak passed",
        "next_steps": "PSP certification on Thursday",
        "blockers": FIREWALL,
        "confidence": "3",
        "kpi:Uptime": "99.95",
        "kpi:Mean time to resolve": "10",
    },
    {
        "rag": "amber",
        "reason": "The firewall change, then the certification.",
        "summary": "Certification rehearsed; still waiting for the firewall change.",
        "accomplishments": "PSP test cases green\nRunbook reviewed with operations",
        "next_steps": "Certification as soon as NET-311 is done",
        "still_blocking": [FIREWALL],
        "blockers": LOAD_TEST,
        "confidence": "3",
        "kpi:Uptime": "99.7",
        "kpi:Mean time to resolve": "7.5",
    },
    {
        "rag": "green",
        "reason": None,  # filled in from last time; green needs none
        "summary": "Certification passed; rollout plan agreed.",
        "accomplishments": "PSP certification passed\nRollout plan signed off",
        "next_steps": "Pilot with 5% of card traffic",
        "still_blocking": [FIREWALL],
        "confidence": "4",
        "kpi:Uptime": "99.93",
        "kpi:Mean time to resolve": "6",
    },
    {
        "rag": "green",
        "reason": None,
        "summary": "Pilot running on 5% of card traffic without incident.",
        "accomplishments": "Pilot live\nFirewall change done",
        "next_steps": "25% of traffic next week",
        "confidence": "5",
        "kpi:Uptime": "99.96",
        "kpi:Mean time to resolve": "5",
    },
    {
        "rag": "green",
        "reason": None,
        "summary": "25% of card traffic since Tuesday; one timeout spike, fixed the same day.",
        "accomplishments": "25% of card traffic live\nTimeout spike traced to a PSP retry setting",
        "next_steps": "50% of traffic once the PSP's freeze lifts",
        "blockers": PSP_FREEZE,
        "confidence": "4",
        "kpi:Uptime": "99.92",
        "kpi:Mean time to resolve": "6.5",
    },
    {
        "rag": "amber",
        "reason": "The PSP lifting its freeze on Friday, so that 50% can start.",
        "summary": "Holding at 25% through the PSP's freeze; 50% is ready to switch on.",
        "accomplishments": "The switch to 50% rehearsed\nHolidays on call without an incident",
        "next_steps": "50% of card traffic on Monday 11 January",
        "still_blocking": [PSP_FREEZE],
        "confidence": "3",
        "kpi:Uptime": "99.8",
        "kpi:Mean time to resolve": "4.5",
    },
    {
        "rag": "green",
        "reason": None,
        "summary": "The freeze lifted: half of all card traffic on the new platform.",
        "accomplishments": "50% of card traffic live\nLegacy gateway's load halved",
        "next_steps": "All card traffic on Monday 18 January",
        "confidence": "4",
        "kpi:Uptime": "99.97",
        "kpi:Mean time to resolve": "4",
    },
    {
        "rag": "green",
        "reason": None,
        "summary": "All card traffic on the new platform; the legacy gateway is switched off.",
        "accomplishments": "100% of card traffic live\nLegacy gateway switched off",
        "next_steps": "Two weeks of hypercare, then the handover to operations",
        "confidence": "5",
        "kpi:Uptime": "99.98",
        "kpi:Mean time to resolve": "3.5",
    },
)

WAREHOUSE = (
    {
        "rag": "red",
        "reason": "A successful cutover rehearsal; it failed on Tuesday and was rolled back.",
        "summary": "The cutover rehearsal failed on data checks; we rolled back.",
        "accomplishments": "Rollback completed in 40 minutes",
        "next_steps": "Fix the currency mapping, rehearse again next Tuesday",
        "blockers": CREDENTIALS,
        "confidence": "2",
        "kpi:Data quality": "95.2",
    },
    {
        "rag": "amber",
        "reason": "A second clean rehearsal.",
        "summary": "Second rehearsal passed with two warnings.",
        "accomplishments": "Currency mapping fixed",
        "next_steps": "Final rehearsal",
        "still_blocking": [CREDENTIALS],
        "confidence": "3",
        "kpi:Data quality": "97.1",
    },
    {
        "rag": "amber",
        "reason": "Sign-off from finance.",
        "summary": "Final rehearsal clean; waiting for finance to sign off.",
        "accomplishments": "Final rehearsal clean",
        "next_steps": "Cutover after sign-off",
        "confidence": "4",
        "kpi:Data quality": "98.4",
    },
    {
        "rag": "green",
        "reason": None,
        "summary": "Cutover done; the old warehouse is read-only.",
        "accomplishments": "Cutover on Tuesday night",
        "next_steps": "Decommission plan",
        "confidence": "4",
        "kpi:Data quality": "99.1",
    },
    {
        "rag": "green",
        "reason": None,
        "summary": "First full week on the new warehouse: every nightly load on time.",
        "accomplishments": "Nightly loads on time, 5 of 5\nOld warehouse kept read-only for audit",
        "next_steps": "The decommission plan to Lena this week",
        "confidence": "4",
        "kpi:Data quality": "99.3",
    },
    {
        "rag": "amber",
        "reason": "Finance agreeing the rounding rule, so the three reports match.",
        "summary": "Year-end close ran on the new warehouse; three EUR reports differ by rounding.",
        "accomplishments": "Year-end close loaded in 3 hours\nDecommission plan submitted",
        "next_steps": "Apply finance's rounding rule to the three reports",
        "blockers": ROUNDING,
        "confidence": "3",
        "kpi:Data quality": "98.2",
    },
    {
        "rag": "green",
        "reason": None,
        "summary": "Rounding rule agreed and applied; finance signed the year-end close off.",
        "accomplishments": "Three EUR reports reconciled\nFinance's sign-off received",
        "next_steps": "Switch the old warehouse off on Friday",
        "confidence": "4",
        "kpi:Data quality": "99.5",
    },
    {
        "rag": "green",
        "reason": None,
        "summary": "Old warehouse switched off; its archive snapshot is verified.",
        "accomplishments": "Old warehouse switched off\nArchive snapshot restored and checked",
        "next_steps": "Handover to the data platform team",
        "confidence": "5",
        "kpi:Data quality": "99.7",
    },
)

MOBILE = (
    {
        "rag": "red",
        "reason": "Release 4.2.1, with the crash fix, through the stores' review.",
        "summary": "Found the crash: an Android 14 keystore change. Release 4.2.1 fixes it.",
        "accomplishments": "Root cause found and reproduced\nFix in release 4.2.1",
        "next_steps": "Staged rollout of 4.2.1 from Wednesday",
        "confidence": "2",
        "kpi:Crash-free sessions": "97.9",
    },
    {
        "rag": "amber",
        "reason": "A full week with crash-free sessions above 99.5%.",
        "summary": "4.2.1 reached half of Android users; crashes fell sharply.",
        "accomplishments": "4.2.1 rolled out to 50%\nCrash alerts wired to our on-call",
        "next_steps": "4.2.1 to every Android user",
        "confidence": "3",
        "kpi:Crash-free sessions": "99.1",
    },
    {
        "rag": "green",
        "reason": None,
        "summary": "4.2.1 on every Android device; crash-free sessions back above target.",
        "accomplishments": "4.2.1 at 100%\nRelease checklist now includes Android 14 devices",
        "next_steps": "Release 4.3 (card controls) to beta",
        "confidence": "4",
        "kpi:Crash-free sessions": "99.6",
    },
    {
        "rag": "green",
        "reason": None,
        "summary": "Release 4.3 passed beta without a crash regression.",
        "accomplishments": "4.3 beta with 2,000 users\nNo new crash signatures",
        "next_steps": "4.3 to the stores once Apple's review passes",
        "blockers": STORE_REVIEW,
        "confidence": "4",
        "kpi:Crash-free sessions": "99.7",
    },
)


def payments_update(week: int) -> dict[str, Any]:
    """Globex's update: amber with a missed KPI and the firewall blocker carried over twice,
    green through the pilot; then the rollout, held at 25% by the PSP's freeze, to all
    traffic."""
    return _week(PAYMENTS, week)


def warehouse_update(week: int) -> dict[str, Any]:
    """Initech's update: red with a missed KPI, then amber, the cutover green; then the first
    year-end close on the new warehouse (amber for a rounding rule) and the old one off."""
    return _week(WAREHOUSE, week)


def mobile_update(week: int) -> dict[str, Any]:
    """Umbrella's update, from its first in week 5: red while the crash fix is in review,
    amber while it rolls out, then green."""
    return _week(MOBILE, week, first=FIRST_MOBILE_ANSWER)


RATINGS = ("communication", "quality", "timeliness", "overall")
SURVEY_RATINGS: dict[str, tuple[tuple[int, int, int, int], ...]] = {
    # Weeks 1-4 happier each week; in weeks 5-8 the PSP's freeze, told late, costs timeliness
    # for a while.
    "Sam": ((4, 3, 2, 3), (5, 4, 3, 4), (5, 5, 4, 5), (5, 5, 5, 5),
            (4, 5, 3, 4), (4, 5, 4, 4), (5, 5, 4, 4), (5, 5, 4, 5)),
    "Priya": ((5, 4, 3, 4), (5, 5, 4, 5), (5, 5, 5, 5), (5, 5, 5, 5),
              (5, 5, 4, 4), (4, 4, 3, 4), (5, 4, 4, 5), (5, 5, 4, 5)),
    "Kai": ((3, 3, 2, 2), (4, 4, 3, 3), (5, 5, 4, 4), (5, 5, 5, 5),
            (4, 4, 3, 4), (4, 4, 4, 4), (5, 4, 4, 4), (5, 5, 4, 5)),
}  # fmt: skip
SURVEY_COMMENTS: dict[tuple[str, int], str] = {
    ("Sam", 1): "Releases keep slipping without notice.",
    ("Priya", 1): "Great demos and clear notes.",
    ("Sam", 5): "We heard of the PSP's freeze late; tell us sooner next time.",
    ("Kai", 6): "Better: the freeze's plan came a week ahead this time.",
    ("Priya", 7): "The switch to 50% was smooth.",
    ("Sam", 8): "Glad to see the legacy gateway gone.",
}


def survey_answer(first_name: str, week: int) -> dict[str, Any]:
    """A stakeholder's survey answer in week `week`: the four ratings and any comment."""
    ratings = SURVEY_RATINGS[first_name]
    if not 1 <= week <= len(ratings):
        raise ValueError(f"no survey answer written for week {week}")
    form: dict[str, Any] = dict(zip(RATINGS, map(str, ratings[week - 1]), strict=True))
    if comment := SURVEY_COMMENTS.get((first_name, week)):
        form["comment"] = comment
    return form
