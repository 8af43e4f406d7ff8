"""The wording rules every message keeps (issue 22, item 4), checked on the checker itself: it
must catch each fault the issue found, and let the sentences Cadence writes pass. The demo's
whole transcript is read with it in tests/test_demo.py."""

from __future__ import annotations

import pytest
from wording import faults

from bot.domain import moments


@pytest.mark.parametrize(
    ("text", "fault"),
    [
        ("Score *12* · KPIs on target 0/0 · SLAs met –", "nothing counted"),
        ("*KPIs against target* (0 of 0 reported on target)", "nothing counted"),
        ("on time 0 % · deliverables 50%", "a percentage with a space"),
        ("on time 80\u00a0%", "a percentage with a space"),
        ("1 updates, 3 concerns", "one of a plural"),
        ("slipped once (1 days)", "one of a plural"),
        ("3 people asked, 2 answer arrived", "several of a singular"),
        ("The record: 5 answerss, 4 concerns.", "made plural again"),
    ],
)
def test_each_fault_the_issue_found_is_caught(text: str, fault: str):
    found = faults(text)
    assert len(found) == 1 and fault in found[0], found


def test_the_way_cadence_writes_counts_and_shares_passes():
    written = ", ".join(
        [moments.counted(n, "status update") for n in (0, 1, 2)]
        + [moments.counted(12, "feedback answer"), moments.counted(3, "person", "people")]
        + [moments.percent(v) for v in (0.0, 0.5, 1.0, None)]
    )
    assert faults(written) == [], written
    # Numbers in dates, times, scores and kinds of things are not counts.
    assert faults("Fri 04 Dec 2026 16:00 CET · feedback 4.0/5 · 12 survey answers · "
                  "8 KPI values · 1 status update · 10 working days · v1.2 days") == []  # fmt: skip
