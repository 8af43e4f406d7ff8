"""What no message Cadence sends may say (issue 22, item 4): "0/0" for nothing counted, a
percentage written another way than `moments.percent`'s `80%`, and a count whose noun
disagrees with its number ("1 updates", "3 update"). `faults` reads any text (a transcript, a
call's arguments); tests/test_wording.py proves it catches each, tests/test_demo.py runs it
over the demo's transcript."""

from __future__ import annotations

import re

# The nouns Cadence counts in its messages, singular and plural.
NOUNS = {
    "answer": "answers", "update": "updates", "status update": "status updates",
    "concern": "concerns", "deliverable": "deliverables", "week": "weeks", "day": "days",
    "working day": "working days", "hour": "hours", "minute": "minutes",
    "person": "people", "item": "items", "event": "events", "value": "values",
    "comment": "comments", "review": "reviews", "reminder": "reminders", "survey": "surveys",
    "engagement": "engagements", "message": "messages", "form": "forms", "file": "files",
    "check-in": "check-ins", "time": "times", "KPI": "KPIs", "KPI figure": "KPI figures",
    "slip": "slips", "re-plan": "re-plans", "blocker": "blockers", "question": "questions",
    "piece": "pieces", "finding": "findings", "round": "rounds", "digest": "digests",
    "feedback answer": "feedback answers", "more comment": "more comments",
}  # fmt: skip
SINGULAR = {plural: singular for singular, plural in NOUNS.items()}
WORD = "|".join(sorted((re.escape(w) for w in (*NOUNS, *SINGULAR)), key=len, reverse=True))
PLURAL = "|".join(sorted((re.escape(w) for w in SINGULAR), key=len, reverse=True))
# A count: a whole number not inside a date, a time, a version or a ratio, and its noun (not
# one that names the kind of what is counted: "12 survey answers", "8 KPI values").
COUNT = re.compile(rf"(?<![\d.,/:\-–])\b(\d+) ({WORD})\b(?![\-\w])(?! (?:{PLURAL})\b)")
DOUBLED = re.compile(rf"\b\d+ (?:{PLURAL})s\b")  # "5 answerss"
PERCENT = re.compile(r"\d[ \u00a0\u202f]+%")
NOTHING_COUNTED = re.compile(r"(?<![\d.])\b0/0\b|\b0 of 0\b")


def faults(text: str) -> list[str]:
    """Each place `text` breaks the rules above, quoted with a little of its context."""
    found: list[str] = []
    for match in NOTHING_COUNTED.finditer(text):
        found.append(f"nothing counted written as a ratio: {_around(text, match)}")
    for match in PERCENT.finditer(text):
        found.append(f"a percentage with a space: {_around(text, match)}")
    for match in DOUBLED.finditer(text):
        found.append(f"a plural made plural again: {_around(text, match)}")
    for match in COUNT.finditer(text):
        number, noun = int(match.group(1)), match.group(2)
        if number == 1 and noun in SINGULAR:
            found.append(f"one of a plural: {_around(text, match)}")
        elif number != 1 and noun in NOUNS and noun not in SINGULAR:
            found.append(f"several of a singular: {_around(text, match)}")
    return found


def _around(text: str, match: re.Match[str]) -> str:
    return repr(text[max(0, match.start() - 40) : match.end() + 20])
