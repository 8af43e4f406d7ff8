"""What the digest's chart reads of each engagement's figures, and its form in a job's payload.

Why: the chart is uploaded by a job of its own (`DIGEST_CHART`) after the digest's message is
in Slack. It used to load and compute the figures again, a second full load for 1,000
engagements (issue 23). The post job has them already: it writes the few fields the chart
draws into the chart job's payload (planned in the transaction that records the post as sent,
the outbox rule), and the chart job draws from them alone. `bot/blocks/chart.py` always draws
from these rows, whether given figures or a payload, so both give the same picture.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.domain.figures import Figures, Rate


@dataclass(frozen=True)
class ChartRow:
    """One engagement as the chart and its alt text read it (the fields of `Figures` they use)."""

    engagement_id: int
    name: str
    handle: str
    rag_now: str | None
    rag_trend: tuple[str | None, ...]
    on_time_by_week: tuple[Rate, ...]
    missed_by_week: tuple[int, ...] = ()
    first_week: int | None = None


def row_of(f: Figures | ChartRow) -> ChartRow:
    if isinstance(f, ChartRow):
        return f
    return ChartRow(
        f.engagement_id,
        f.name,
        f.handle,
        f.rag_now,
        tuple(f.rag_trend),
        tuple(f.on_time_by_week),
        tuple(f.missed_by_week),
        f.first_week,
    )


def rows_of(figures: Sequence[Figures | ChartRow]) -> list[ChartRow]:
    """The rows to draw, in the order given (the digest's: worst first)."""
    return [row_of(f) for f in figures]


def to_payload(rows: Sequence[ChartRow]) -> list[list[Any]]:
    """The rows as JSON a job's payload keeps: one short list per engagement."""
    return [
        [
            r.engagement_id,
            r.name,
            r.handle,
            r.rag_now,
            list(r.rag_trend),
            [[rate.met, rate.counted] for rate in r.on_time_by_week],
            list(r.missed_by_week),
            r.first_week,
        ]
        for r in rows
    ]


def from_payload(data: Sequence[Sequence[Any]]) -> list[ChartRow]:
    """The rows `to_payload` wrote, as they were."""
    return [
        ChartRow(
            int(eid),
            name,
            handle,
            rag_now,
            tuple(rag_trend),
            tuple(Rate(int(met), int(counted)) for met, counted in on_time),
            tuple(int(m) for m in missed),
            None if first is None else int(first),
        )
        for eid, name, handle, rag_now, rag_trend, on_time, missed, first in data
    ]
